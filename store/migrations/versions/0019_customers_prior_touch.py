"""customers.prior_touch_at: the last contact before the CRM (import), where silence starts

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE (SQLite has ADD/DROP COLUMN since 3.35): a batch copy of `customers` would
# drop a table other tables' foreign keys point at.
def upgrade() -> None:
    op.add_column('customers', sa.Column('prior_touch_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column('customers', 'prior_touch_at')
