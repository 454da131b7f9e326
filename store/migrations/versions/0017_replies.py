"""replies: each inbound message's answer is stored before it is sent (claimed, retried)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inbox_id', sa.Integer(), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('peer', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('claim_token', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column('claimed_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('in_doubt', sa.Boolean(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inbox_id'),
    )
    op.create_index('ix_replies_due', 'replies', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_replies_due', table_name='replies')
    op.drop_table('replies')
