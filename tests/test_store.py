"""Schema via Alembic, SQLite WAL, inbox and outbox uniqueness, timestamps in UTC."""
from __future__ import annotations

from datetime import timezone
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from store import alerts, repos
from store.db import Database, ours
from store.models import User


def test_fresh_sqlite_file_upgrades_itself(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.ensure_schema()
    assert db.current_revision() == db.head_revision()
    names = set(inspect(db.engine).get_table_names())
    assert {"users", "user_identities", "customers", "contacts", "deals", "stage_history", "followups",
            "action_items", "contracts", "payments", "inbox", "notifications"} <= names
    with db.engine.connect() as conn:
        # The migrations produce exactly the models' schema.
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_name": ours}), SQLModel.metadata) == []
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    db.ensure_schema()  # idempotent
    db.dispose()


def test_inbox_and_outbox_deduplicate(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.ensure_schema()
    from datetime import datetime

    now = datetime.now(timezone.utc)
    first = db.call(repos.inbox_insert, "wecom", "m1", "u", "text", {"a": 1}, now)
    again = db.call(repos.inbox_insert, "wecom", "m1", "u", "text", {"a": 1}, now)
    other = db.call(repos.inbox_insert, "dingtalk", "m1", "u", "text", {}, now)
    assert first is not None and again is None and other not in (None, first)
    uid = db.call(lambda s: repos.add_user(s, "张伟").id)
    row = {"dedupe_key": "stale:deal:1:2026-W02", "rule": "stale_deal", "recipient_id": uid,
           "body": {"title": "t", "line": "x"}, "status": "pending", "attempts": 0,
           "next_attempt_at": now, "created_at": now}
    assert db.call(alerts.enqueue_many, [row]) == 1
    assert db.call(alerts.enqueue_many, [row]) == 0
    user = db.call(lambda s: s.get(User, uid))
    assert user.created_at.tzinfo is not None and user.created_at.utcoffset().total_seconds() == 0
    db.dispose()


def test_scope_follows_the_management_chain(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.ensure_schema()

    def build(s):  # type: ignore[no-untyped-def]
        boss = repos.add_user(s, "总监", "manager")
        lead = repos.add_user(s, "组长", "manager", boss)
        rep = repos.add_user(s, "销售", "rep", lead)
        admin = repos.add_user(s, "管理员", "admin")
        users = [boss, lead, rep, admin]
        assert repos.scopes_of(s, users) == {u.id: repos.scope_user_ids(s, u) for u in users}  # one read for all
        return (repos.scope_user_ids(s, boss), repos.scope_user_ids(s, lead),
                repos.scope_user_ids(s, rep), repos.scope_user_ids(s, admin), boss.id, lead.id, rep.id)

    boss_scope, lead_scope, rep_scope, admin_scope, b, l, r = db.call(build)
    assert boss_scope == {b, l, r} and lead_scope == {l, r} and rep_scope == {r}
    assert admin_scope is None
    db.dispose()
