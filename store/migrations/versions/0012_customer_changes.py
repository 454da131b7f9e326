"""customer_changes: a log of writes to customers' identity, so match indexes update in place

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'customer_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_customer_changes_customer_id'), 'customer_changes', ['customer_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_customer_changes_customer_id'), table_name='customer_changes')
    op.drop_table('customer_changes')
