"""deadlines: index (status, warn_at) for the scheduler's scan, replacing the
index on status alone

The scan asks for status = 'open' AND warn_at <= now. With an index on
status alone, PostgreSQL reads every open deadline (137,865 rows to return
1,121 with 100,000 open complaints, bench/scheduler_sweep.py); and as long as
that index exists the planner keeps choosing it, because it cannot tell that
open deadlines are mostly not yet due. The new index serves queries on
status alone as well.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 02:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import bot.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.create_index('ix_deadlines_status_warn_at', ['status', 'warn_at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_deadlines_status'))


def downgrade() -> None:
    with op.batch_alter_table('deadlines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadlines_status'), ['status'], unique=False)
        batch_op.drop_index('ix_deadlines_status_warn_at')
