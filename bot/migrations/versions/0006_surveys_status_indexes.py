"""surveys: (status, send_at) and (status, sent_at) for the scheduler's queries

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 03:40:00.000000
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index('ix_surveys_status_send_at', ['status', 'send_at'], unique=False)
        batch_op.create_index('ix_surveys_status_sent_at', ['status', 'sent_at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_surveys_status'))


def downgrade() -> None:
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_surveys_status'), ['status'], unique=False)
        batch_op.drop_index('ix_surveys_status_sent_at')
        batch_op.drop_index('ix_surveys_status_send_at')
