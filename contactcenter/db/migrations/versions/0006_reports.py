"""report figures kept on tickets, and the indexes reports read through

Revision ID: 0003_reports
Revises: 0003_surveys
"""

from alembic import op
import sqlalchemy as sa

revision = '0003_reports'
down_revision = '0003_surveys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as table:
        table.add_column(sa.Column('first_response_seconds', sa.Integer(), nullable=True))
        table.add_column(sa.Column('resolution_seconds', sa.Integer(), nullable=True))
    op.create_index('ix_tickets_created_at', 'tickets', ['created_at'])
    op.create_index('ix_tickets_resolved_created', 'tickets', ['resolved_at', 'created_at'])
    op.create_index('ix_interactions_channel_created', 'interactions', ['channel', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_interactions_channel_created', 'interactions')
    op.drop_index('ix_tickets_resolved_created', 'tickets')
    op.drop_index('ix_tickets_created_at', 'tickets')
    with op.batch_alter_table('tickets') as table:
        table.drop_column('resolution_seconds')
        table.drop_column('first_response_seconds')
