"""job_runs: one row per cron tick, so boxes sharing a database run each tick once

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'job_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('fire_time', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('box', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('job', 'fire_time', name='uq_job_runs_tick'),
    )


def downgrade() -> None:
    op.drop_table('job_runs')
