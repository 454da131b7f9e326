"""customers.last_touch_at: newest interaction kept in the row, silent customers by range scan

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NOT_MERGED = sa.text('merged_into_id IS NULL')


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    # SQLite adds a NOT NULL column only with a constant default (rebuilding `customers` instead
    # would trip the foreign keys that point at it); every row is backfilled right below, and on
    # PostgreSQL the default is dropped again so a write that forgets the column fails.
    op.add_column('customers', sa.Column('last_touch_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False,
                                         server_default='1970-01-01 00:00:00.000000'))
    greatest = 'greatest' if postgres else 'max'  # SQLite's two-argument max() is scalar
    op.execute(
        f"UPDATE customers SET last_touch_at = {greatest}("
        "coalesce((SELECT max(f.created_at) FROM followups f"
        " WHERE f.customer_id = customers.id AND f.status = 'active'), customers.created_at), "
        "coalesce((SELECT max(d.last_activity_at) FROM deals d"
        " WHERE d.customer_id = customers.id), customers.created_at))"
    )
    if postgres:
        op.alter_column('customers', 'last_touch_at', server_default=None)
    op.create_index('ix_customers_live_touch', 'customers', ['last_touch_at', 'owner_id', 'created_at',
                                                             'merged_into_id'],
                    unique=False, sqlite_where=NOT_MERGED, postgresql_where=NOT_MERGED)


def downgrade() -> None:
    op.drop_index('ix_customers_live_touch', table_name='customers')
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35), not a batch rebuild of a table others point at.
    op.drop_column('customers', 'last_touch_at')
