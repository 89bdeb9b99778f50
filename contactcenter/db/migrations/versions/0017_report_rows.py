"""report rows: one narrow row per ticket for reports, grouped by cohort

Revision ID: 0005_report_rows
Revises: 0005_portal (chained after the portal's, already on main)

Reports over a year of tickets read these instead of the tickets
(contactcenter/reports/rows.py keeps them; docs/benchmarks.md has why).
The rows start empty: the report worker of `contactcenter serve` fills them
from every ticket's updated_at, a batch per transaction.
"""

from alembic import op
import sqlalchemy as sa
import contactcenter.db.models

revision = '0005_report_rows'
down_revision = '0005_portal'
branch_labels = None
depends_on = None

UTC = contactcenter.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'report_cohorts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('tier', sa.String(length=20), nullable=False),
        sa.Column('segments', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('agent_id', 'tier', 'segments'),
    )
    op.create_table(
        'report_rows',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('created', sa.BigInteger(), nullable=False),
        sa.Column('resolved', sa.BigInteger(), nullable=True),
        sa.Column('created_quarter', sa.Integer(), nullable=False),
        sa.Column('resolved_quarter', sa.Integer(), nullable=True),
        sa.Column('queue_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('type', sa.String(length=20), nullable=False),
        sa.Column('first_response_seconds', sa.Integer(), nullable=True),
        sa.Column('resolution_seconds', sa.Integer(), nullable=True),
        sa.Column('sla_met', sa.Integer(), nullable=False),
        sa.Column('sla_breached', sa.Integer(), nullable=False),
        sa.Column('customer_value', sa.Float(), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('call_seconds', sa.Integer(), nullable=False),
        sa.Column('ticket_updated_at', UTC, nullable=False),
        sa.Column('customer_updated_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.PrimaryKeyConstraint('ticket_id'),
    )
    op.create_index('ix_report_rows_cohort_created', 'report_rows', ['cohort_id', 'created', 'queue_id', 'channel', 'type', 'first_response_seconds',
                    'resolution_seconds', 'sla_met', 'sla_breached', 'customer_value', 'calls', 'call_seconds'])
    op.create_index('ix_report_rows_cohort_resolved', 'report_rows', ['cohort_id', 'resolved_quarter', 'queue_id', 'channel', 'type'])
    op.create_index('ix_report_rows_created_quarter', 'report_rows', ['created_quarter', 'cohort_id', 'queue_id', 'channel', 'type'])
    op.create_index('ix_report_rows_resolved_quarter', 'report_rows', ['resolved_quarter', 'cohort_id', 'queue_id', 'channel', 'type'])
    op.create_index('ix_report_rows_channel_quarter', 'report_rows', ['channel', 'created_quarter', 'cohort_id', 'queue_id', 'type'])
    op.create_table(
        'report_marks',
        sa.Column('name', sa.String(length=20), nullable=False),
        sa.Column('at', UTC, nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_index('ix_tickets_updated_at', 'tickets', ['updated_at'])
    op.create_index('ix_customers_updated_at', 'customers', ['updated_at'])
    op.create_index('ix_audit_events_action_at', 'audit_events', ['action', 'at'])


def downgrade() -> None:
    op.drop_index('ix_audit_events_action_at', 'audit_events')
    op.drop_index('ix_customers_updated_at', 'customers')
    op.drop_index('ix_tickets_updated_at', 'tickets')
    op.drop_table('report_marks')
    op.drop_index('ix_report_rows_channel_quarter', 'report_rows')
    op.drop_index('ix_report_rows_resolved_quarter', 'report_rows')
    op.drop_index('ix_report_rows_created_quarter', 'report_rows')
    op.drop_index('ix_report_rows_cohort_resolved', 'report_rows')
    op.drop_index('ix_report_rows_cohort_created', 'report_rows')
    op.drop_table('report_rows')
    op.drop_table('report_cohorts')
