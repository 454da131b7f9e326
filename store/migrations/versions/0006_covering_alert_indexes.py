"""covering indexes for the alert scans: open deals (partial), payments per contract

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_index('ix_deals_open_activity', 'deals',
                    ['status', 'last_activity_at', 'snoozed_until', 'owner_id', 'customer_id', 'stage', 'amount'],
                    unique=False, sqlite_where=OPEN, postgresql_where=OPEN)
    op.drop_index('ix_deals_status_activity', table_name='deals')
    op.create_index('ix_payments_contract_amount', 'payments', ['contract_id', 'amount'], unique=False)
    op.drop_index('ix_payments_contract_id', table_name='payments')


def downgrade() -> None:
    op.create_index('ix_payments_contract_id', 'payments', ['contract_id'], unique=False)
    op.drop_index('ix_payments_contract_amount', table_name='payments')
    op.create_index('ix_deals_status_activity', 'deals', ['status', 'last_activity_at'], unique=False)
    op.drop_index('ix_deals_open_activity', table_name='deals')
