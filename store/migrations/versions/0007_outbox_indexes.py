"""outbox: one (status, next_attempt_at) index for delivery instead of three single-column ones

Each queued alert pays for every index of `notifications`; `rule` was never looked up, and the
due-notification query filters on status and next attempt together.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_notifications_due', 'notifications', ['status', 'next_attempt_at'], unique=False)
    op.drop_index('ix_notifications_status', table_name='notifications')
    op.drop_index('ix_notifications_next_attempt_at', table_name='notifications')
    op.drop_index('ix_notifications_rule', table_name='notifications')


def downgrade() -> None:
    op.create_index('ix_notifications_rule', 'notifications', ['rule'], unique=False)
    op.create_index('ix_notifications_next_attempt_at', 'notifications', ['next_attempt_at'], unique=False)
    op.create_index('ix_notifications_status', 'notifications', ['status'], unique=False)
    op.drop_index('ix_notifications_due', table_name='notifications')
