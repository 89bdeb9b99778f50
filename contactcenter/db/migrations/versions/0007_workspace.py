"""browser sessions, sign-in failures, macros, full-text search

Sessions and failure counts live in the database so every hub process agrees
on them; search indexes are kept current by the database itself (FTS5
triggers on SQLite, expression GIN indexes on PostgreSQL), in the same
transaction as whatever writes an interaction or a ticket.

Revision ID: 0003_workspace
Revises: 0003_reports
"""

from alembic import op
import sqlalchemy as sa

from contactcenter.search.schema import create_search_schema, drop_search_schema

revision = '0003_workspace'
down_revision = '0003_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'agent_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('password_stamp', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('user_agent', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_sessions_agent_id_agents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_agent_sessions_token_hash')),
    )
    op.create_index(op.f('ix_agent_sessions_agent_id'), 'agent_sessions', ['agent_id'], unique=False)
    op.create_table(
        'login_failures',
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_failures')),
    )
    op.create_table(
        'macros',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_macros_agent_id_agents')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_macros')),
    )
    op.create_index(op.f('ix_macros_agent_id'), 'macros', ['agent_id'], unique=False)
    create_search_schema(op.get_bind())


def downgrade() -> None:
    drop_search_schema(op.get_bind())
    op.drop_index(op.f('ix_macros_agent_id'), table_name='macros')
    op.drop_table('macros')
    op.drop_table('login_failures')
    op.drop_index(op.f('ix_agent_sessions_agent_id'), table_name='agent_sessions')
    op.drop_table('agent_sessions')
