"""contracts from chat: payment schedules (installments), the note and user behind a contract,
replay keys on contracts and payments; deals: amount kind and quote sent/answered facts

The quote alert now reads `deals.quote_sent_at` / `quote_answered_at` instead of the stage, so it
gets its own partial index over open deals with a quote out (a small slice of all deals).

Columns are added and dropped in place (ALTER TABLE, SQLite >= 3.35 for DROP COLUMN) rather
than by a batch rebuild: `deals` and `contracts` are referenced by other tables, and rebuilding
a referenced table trips the foreign keys (see 0005). The foreign keys of the new contract
columns are written inline (REFERENCES), which SQLite accepts in ADD COLUMN.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUOTE_OUT = sa.text("status = 'open' AND quote_sent_at IS NOT NULL")


def upgrade() -> None:
    op.add_column('deals', sa.Column('amount_kind', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.add_column('deals', sa.Column('quote_sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.add_column('deals', sa.Column('quote_answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_index('ix_deals_open_quote', 'deals',
                    ['quote_sent_at', 'quote_answered_at', 'snoozed_until', 'owner_id'],
                    unique=False, sqlite_where=QUOTE_OUT, postgresql_where=QUOTE_OUT)

    op.add_column('contracts', sa.Column('followup_id', sa.Integer(), sa.ForeignKey('followups.id'),
                                         nullable=True), inline_references=True)
    op.add_column('contracts', sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('users.id'),
                                         nullable=True), inline_references=True)
    op.add_column('contracts', sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_index('ix_contracts_followup_id', 'contracts', ['followup_id'], unique=False)
    op.create_index('ux_contracts_source_key', 'contracts', ['source_key'], unique=True)

    op.add_column('payments', sa.Column('source_key', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    op.create_index('ux_payments_source_key', 'payments', ['source_key'], unique=True)

    op.create_table(
        'installments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('amount', sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('label', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_installments_contract_due', 'installments', ['contract_id', 'due_on', 'seq', 'amount'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_installments_contract_due', table_name='installments')
    op.drop_table('installments')

    op.drop_index('ux_payments_source_key', table_name='payments')
    op.drop_column('payments', 'source_key')

    op.drop_index('ux_contracts_source_key', table_name='contracts')
    op.drop_index('ix_contracts_followup_id', table_name='contracts')
    op.drop_column('contracts', 'source_key')
    op.drop_column('contracts', 'created_by_id')
    op.drop_column('contracts', 'followup_id')

    op.drop_index('ix_deals_open_quote', table_name='deals')
    op.drop_column('deals', 'quote_answered_at')
    op.drop_column('deals', 'quote_sent_at')
    op.drop_column('deals', 'amount_kind')
