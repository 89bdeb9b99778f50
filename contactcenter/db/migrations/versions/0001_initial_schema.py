"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 19:32:48.702114
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy import Text
import contactcenter.db.models
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('skills', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('capacity', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('presence', sa.String(length=20), nullable=False),
    sa.Column('presence_changed_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_assigned_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('on_call_since', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents')),
    sa.UniqueConstraint('email', name=op.f('uq_agents_email'))
    )
    op.create_table('attachment_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_attachment_blobs'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('subject_type', sa.String(length=50), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_subject', ['subject_type', 'subject_id'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('segments', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('lifetime_value', sa.Float(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('name_key', sa.String(length=200), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['customers.id'], name=op.f('fk_customers_merged_into_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('external_id', name=op.f('uq_customers_external_id'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_name_key'), ['name_key'], unique=False)

    op.create_table('mailbox_states',
    sa.Column('mailbox', sa.String(length=200), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('mailbox', name=op.f('pk_mailbox_states'))
    )
    op.create_table('queues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('skills', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('sla_policy', sa.String(length=100), nullable=False),
    sa.Column('calendar', sa.String(length=100), nullable=False),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queues')),
    sa.UniqueConstraint('name', name=op.f('uq_queues_name'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_api_tokens_agent_id_agents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    op.create_table('contact_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.String(length=320), nullable=False),
    sa.Column('raw_value', sa.String(length=320), nullable=False),
    sa.Column('extension', sa.String(length=20), nullable=False),
    sa.Column('group_key', sa.String(length=330), nullable=False),
    sa.Column('evidence', sa.String(length=10), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_contact_points_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_points')),
    sa.UniqueConstraint('kind', 'value', name=op.f('uq_contact_points_kind'))
    )
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_points_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_points_group_key'), ['group_key'], unique=False)

    op.create_table('merge_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('moved', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('undone_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['merged_id'], ['customers.id'], name=op.f('fk_merge_records_merged_id_customers')),
    sa.ForeignKeyConstraint(['survivor_id'], ['customers.id'], name=op.f('fk_merge_records_survivor_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merge_records'))
    )
    op.create_table('merge_suggestions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_a_id', sa.Integer(), nullable=False),
    sa.Column('customer_b_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_a_id'], ['customers.id'], name=op.f('fk_merge_suggestions_customer_a_id_customers')),
    sa.ForeignKeyConstraint(['customer_b_id'], ['customers.id'], name=op.f('fk_merge_suggestions_customer_b_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merge_suggestions')),
    sa.UniqueConstraint('customer_a_id', 'customer_b_id', name=op.f('uq_merge_suggestions_customer_a_id'))
    )
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('queue_id', sa.Integer(), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('source_address', sa.String(length=320), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_activity_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('assigned_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_due_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_responded_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sla_state', sa.String(length=20), nullable=False),
    sa.Column('sla_paused_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sla_resumed_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['agents.id'], name=op.f('fk_tickets_assignee_id_agents')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tickets_customer_id_customers')),
    sa.ForeignKeyConstraint(['parent_id'], ['tickets.id'], name=op.f('fk_tickets_parent_id_tickets')),
    sa.ForeignKeyConstraint(['queue_id'], ['queues.id'], name=op.f('fk_tickets_queue_id_queues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index('ix_tickets_customer_channel_status', ['customer_id', 'channel', 'status'], unique=False)
        batch_op.create_index('ix_tickets_queue_status_priority', ['queue_id', 'status', 'priority'], unique=False)

    op.create_table('interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('direction', sa.String(length=10), nullable=False),
    sa.Column('provider_id', sa.String(length=500), nullable=True),
    sa.Column('author_agent_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('matched_by', sa.String(length=320), nullable=False),
    sa.Column('match_evidence', sa.String(length=10), nullable=False),
    sa.Column('delivery_status', sa.String(length=20), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_agent_id'], ['agents.id'], name=op.f('fk_interactions_author_agent_id_agents')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_interactions_customer_id_customers')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_interactions_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interactions')),
    sa.UniqueConstraint('channel', 'provider_id', name=op.f('uq_interactions_channel'))
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index('ix_interactions_customer_created', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_interactions_ticket_created', ['ticket_id', 'created_at'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('content_type', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_id', sa.String(length=300), nullable=False),
    sa.Column('inline', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_attachments_interaction_id_interactions')),
    sa.ForeignKeyConstraint(['sha256'], ['attachment_blobs.sha256'], name=op.f('fk_attachments_sha256_attachment_blobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_interaction_id'), ['interaction_id'], unique=False)

    op.create_table('inbound_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('provider_id', sa.String(length=500), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=True),
    sa.Column('contact', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_inbound_records_interaction_id_interactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_records'))
    )
    with op.batch_alter_table('inbound_records', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_records_status', ['status'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('attempt_log', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('next_attempt_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('provider_id', sa.String(length=200), nullable=False),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_outbox_messages_interaction_id_interactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_interaction_id'), ['interaction_id'], unique=False)
        batch_op.create_index('ix_outbox_messages_status_next', ['status', 'next_attempt_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_status_next')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_interaction_id'))

    op.drop_table('outbox_messages')
    with op.batch_alter_table('inbound_records', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_records_status')

    op.drop_table('inbound_records')
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_interaction_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_ticket_created')
        batch_op.drop_index('ix_interactions_customer_created')

    op.drop_table('interactions')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_queue_status_priority')
        batch_op.drop_index('ix_tickets_customer_channel_status')
        batch_op.drop_index(batch_op.f('ix_tickets_assignee_id'))

    op.drop_table('tickets')
    op.drop_table('merge_suggestions')
    op.drop_table('merge_records')
    with op.batch_alter_table('contact_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_points_group_key'))
        batch_op.drop_index(batch_op.f('ix_contact_points_customer_id'))

    op.drop_table('contact_points')
    op.drop_table('api_tokens')
    op.drop_table('queues')
    op.drop_table('mailbox_states')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_name_key'))

    op.drop_table('customers')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_subject')

    op.drop_table('audit_events')
    op.drop_table('attachment_blobs')
    op.drop_table('agents')
