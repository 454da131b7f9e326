"""customer_merges: 合并客户 asks first (pending), then records what it moved so 撤销合并 can put it back

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'customer_merges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('keep_id', sa.Integer(), nullable=False),
        sa.Column('drop_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('request_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('confirm_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('undo_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('effects', sa.JSON(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('merged_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('undone_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('undone_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['keep_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['drop_id'], ['customers.id']),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['undone_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('request_key'),
        sa.UniqueConstraint('confirm_key'),
        sa.UniqueConstraint('undo_key'),
    )
    op.create_index('ix_customer_merges_requester', 'customer_merges',
                    ['requested_by_id', 'status', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_customer_merges_requester', table_name='customer_merges')
    op.drop_table('customer_merges')
