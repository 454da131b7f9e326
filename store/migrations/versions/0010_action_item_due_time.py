"""action_items.due_time: the time of day written with a to-do's due date (明天下午三点)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('action_items', sa.Column('due_time', sa.Time(), nullable=True))


def downgrade() -> None:
    op.drop_column('action_items', 'due_time')
