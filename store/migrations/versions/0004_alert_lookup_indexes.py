"""alert lookups: open deals by activity, newest touch per customer by index seek

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from typing import Sequence, Union

from alembic import op

revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_deals_status_activity', 'deals', ['status', 'last_activity_at'], unique=False)
    op.create_index('ix_deals_status_updated', 'deals', ['status', 'updated_at'], unique=False)
    op.create_index('ix_deals_customer_activity', 'deals', ['customer_id', 'last_activity_at'], unique=False)
    op.create_index('ix_followups_customer_status_created', 'followups', ['customer_id', 'status', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_followups_customer_status_created', table_name='followups')
    op.drop_index('ix_deals_customer_activity', table_name='deals')
    op.drop_index('ix_deals_status_updated', table_name='deals')
    op.drop_index('ix_deals_status_activity', table_name='deals')
