"""agent phone, language and time zone; customer language; ticket tags and resolution

The fields DESIGN.md §6 names for agents, customers and tickets, added in one
revision so the capabilities that use them (voice, people admin, ticket actions,
surveys, translations) share one schema.

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('agents') as table:
        table.add_column(sa.Column('phone', sa.String(length=20), nullable=False, server_default=''))
        table.add_column(sa.Column('language', sa.String(length=20), nullable=False, server_default='en'))
        table.add_column(sa.Column('timezone', sa.String(length=64), nullable=False, server_default=''))
    with op.batch_alter_table('customers') as table:
        table.add_column(sa.Column('language', sa.String(length=20), nullable=False, server_default=''))
    with op.batch_alter_table('tickets') as table:
        table.add_column(sa.Column('tags', JSON, nullable=False, server_default='[]'))
        table.add_column(sa.Column('resolution', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as table:
        table.drop_column('resolution')
        table.drop_column('tags')
    with op.batch_alter_table('customers') as table:
        table.drop_column('language')
    with op.batch_alter_table('agents') as table:
        table.drop_column('timezone')
        table.drop_column('language')
        table.drop_column('phone')
