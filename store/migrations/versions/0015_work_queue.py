"""procrastinate's work queue schema (PostgreSQL only): inbox jobs shared by several boxes

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _driver_execute(sql: str) -> None:
    """Run SQL text as is (no bind-parameter parsing: procrastinate's schema holds `::` and `%`)."""
    op.get_bind().connection.driver_connection.execute(sql)  # type: ignore[union-attr]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # one SQLite box processes its inbox in-process
    try:
        from procrastinate.schema import SchemaManager
    except ImportError as exc:
        raise RuntimeError("PostgreSQL needs the work queue: pip install 'salesbot[postgres]'") from exc
    _driver_execute(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # every object procrastinate's schema made: tables (their triggers go with them), functions, types
    _driver_execute("""
        DO $$ DECLARE r record; BEGIN
            FOR r IN SELECT tablename FROM pg_tables
                     WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
                EXECUTE 'DROP TABLE IF EXISTS ' || quote_ident(r.tablename) || ' CASCADE';
            END LOOP;
            FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                     WHERE p.proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || r.sig || ' CASCADE';
            END LOOP;
            FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                     WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
                       AND t.typtype IN ('e', 'c') LOOP
                EXECUTE 'DROP TYPE IF EXISTS ' || quote_ident(r.typname) || ' CASCADE';
            END LOOP;
        END $$;
    """)
