"""followups.focused_at: 修改 pressed on a record's card makes it the one later corrections mean

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE (SQLite has ADD/DROP COLUMN since 3.35): a batch copy of `followups` would
# drop a table other tables' foreign keys point at.
def upgrade() -> None:
    op.add_column('followups', sa.Column('focused_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column('followups', 'focused_at')
