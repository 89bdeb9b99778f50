"""satisfaction surveys, complaint follow-ups, reopened count

Revision ID: 0003_surveys
Revises: 0003_voice
"""

from alembic import op
import sqlalchemy as sa
import contactcenter.db.models

revision = '0003_surveys'
down_revision = '0003_voice'
branch_labels = None
depends_on = None

UTC = contactcenter.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('tickets') as table:
        table.add_column(sa.Column('reopened_count', sa.Integer(), nullable=False, server_default='0'))
    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=False),
    sa.Column('language', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('answered_by_channel', sa.String(length=10), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('sent_at', UTC, nullable=True),
    sa.Column('answered_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_surveys_customer_id_customers')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_surveys_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_surveys_ticket_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_surveys_token_hash'))
    )
    op.create_index('ix_surveys_customer_sent', 'surveys', ['customer_id', 'sent_at'], unique=False)
    op.create_index('ix_surveys_recipient_status', 'surveys', ['recipient', 'status'], unique=False)
    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('resolved_at', UTC, nullable=False),
    sa.Column('done_at', UTC, nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_follow_ups_agent_id_agents')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_follow_ups_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups'))
    )
    op.create_index('ix_follow_ups_agent_done', 'follow_ups', ['agent_id', 'done_at'], unique=False)
    op.create_index(op.f('ix_follow_ups_ticket_id'), 'follow_ups', ['ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_table('follow_ups')
    op.drop_table('surveys')
    with op.batch_alter_table('tickets') as table:
        table.drop_column('reopened_count')
