"""outbox rows by recipient and time: the acknowledgement caps count them per batch

Revision ID: 0005_speed
Revises: 0005_report_rows
"""

from alembic import op

revision = '0005_speed'
down_revision = '0005_report_rows'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outbox_messages_recipient_created', 'outbox_messages', ['recipient', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_messages_recipient_created', table_name='outbox_messages')
