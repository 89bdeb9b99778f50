"""customers.erased_at, interactions.redacted_at, sms_suppressions: erasure on request and retention

Revision ID: 0003_privacy
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
import contactcenter.db.models

revision = '0003_privacy'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sms_suppressions',
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('created_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('phone', name=op.f('pk_sms_suppressions'))
    )
    with op.batch_alter_table('customers') as table:
        table.add_column(sa.Column('erased_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('interactions') as table:
        table.add_column(sa.Column('redacted_at', contactcenter.db.models.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('interactions') as table:
        table.drop_column('redacted_at')
    with op.batch_alter_table('customers') as table:
        table.drop_column('erased_at')
    op.drop_table('sms_suppressions')
