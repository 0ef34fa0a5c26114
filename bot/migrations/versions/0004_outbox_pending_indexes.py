"""partial indexes on the outbox's pending rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 03:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending_due', ['next_attempt_at', 'id'], unique=False,
                              postgresql_where=PENDING, sqlite_where=PENDING)
        batch_op.create_index('ix_outbox_pending_recipient', ['recipient', 'id'], unique=False,
                              postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending_recipient')
        batch_op.drop_index('ix_outbox_pending_due')
