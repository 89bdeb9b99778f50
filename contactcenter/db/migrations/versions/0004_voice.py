"""voice: wrap-up and softphone state of agents, do-not-call customers, the menu choice on tickets

Revision ID: 0003_voice
Revises: 0003_privacy
"""

from alembic import op
import sqlalchemy as sa

from contactcenter.db.models import UTCDateTime

revision = '0003_voice'
down_revision = '0003_privacy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agents') as table:
        table.add_column(sa.Column('wrap_up_until', UTCDateTime(timezone=True), nullable=True))
        table.add_column(sa.Column('softphone_seen_at', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('customers') as table:
        table.add_column(sa.Column('do_not_call', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('tickets') as table:
        table.add_column(sa.Column('ivr_choice', sa.String(length=20), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as table:
        table.drop_column('ivr_choice')
    with op.batch_alter_table('customers') as table:
        table.drop_column('do_not_call')
    with op.batch_alter_table('agents') as table:
        table.drop_column('softphone_seen_at')
        table.drop_column('wrap_up_until')
