"""customer portal: one-time sign-in links and portal sessions

Revision ID: 0005_portal
Revises: 0004_append_only
"""

from alembic import op
import sqlalchemy as sa
import contactcenter.db.models

revision = '0005_portal'
down_revision = '0004_append_only'
branch_labels = None
depends_on = None

UTC = contactcenter.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('portal_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('used_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_portal_links_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_links_token_hash'))
    )
    op.create_index(op.f('ix_portal_links_customer_id'), 'portal_links', ['customer_id'], unique=False)
    op.create_index('ix_portal_links_email_created', 'portal_links', ['email', 'created_at'], unique=False)
    op.create_table('portal_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('revoked_at', UTC, nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_portal_sessions_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_sessions_token_hash'))
    )
    op.create_index(op.f('ix_portal_sessions_customer_id'), 'portal_sessions', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_table('portal_sessions')
    op.drop_table('portal_links')
