"""deadlines.next_check_at: the scan reads only limits with something due

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 03:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import bot.models


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_check_at', bot.models.UTCDateTime(), nullable=True))
    # Every open limit is looked at once by the next scan, which works out its next check.
    op.execute("UPDATE deadlines SET next_check_at = started_at WHERE status = 'open' AND paused_at IS NULL")
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_deadlines_status_warn_at')
        batch_op.create_index('ix_deadlines_status_next_check_at', ['status', 'next_check_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_deadlines_status_next_check_at')
        batch_op.create_index('ix_deadlines_status_warn_at', ['status', 'warn_at'], unique=False)
        batch_op.drop_column('next_check_at')
