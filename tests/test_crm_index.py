"""The bot's match index follows customer writes from any process without being rebuilt."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from handlers.crm import CrmIndex, normalized_name
from store import changes, repos
from store.db import Database
from store.importer import import_customers


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    d = Database(f"sqlite:///{tmp_path / 'crm.db'}")
    d.ensure_schema()
    yield d
    d.dispose()


def _add(db: Database, name: str, region: str) -> int:
    cid = db.call(lambda s: repos.add_customer(s, name, normalized_name(name), None, region).id)
    assert cid is not None
    return int(cid)


def test_every_write_to_a_customers_identity_is_logged(db: Database, tmp_path: Path) -> None:
    start = db.call(changes.newest)
    cid = _add(db, "无锡盛和精密机械有限公司", "无锡")
    after_add = db.call(changes.newest)
    assert after_add > start

    def touch_owner_only(s):  # type: ignore[no-untyped-def]
        from store.models import Customer
        c = s.get(Customer, cid)
        c.external_id = "X-9"  # not something a match index reads
        s.add(c)

    db.call(touch_owner_only)
    assert db.call(changes.newest) == after_add

    def rename(s):  # type: ignore[no-untyped-def]
        from store.models import Customer
        c = s.get(Customer, cid)
        c.aliases = ["盛和精机"]
        s.add(c)

    db.call(rename)
    mark, changed = db.call(changes.changed_since, after_add)
    assert mark > after_add and [c.id for c in changed] == [cid]


def test_another_process_sees_new_renamed_merged_and_imported_customers_in_place(db: Database, tmp_path: Path) -> None:
    keep = _add(db, "无锡盛和精密机械有限公司", "无锡")
    other = CrmIndex(db)  # the index of a second box on the same database
    index = other.index()
    assert other.match("长沙康泰药房").best is None
    dup = _add(db, "长沙康泰医药连锁有限公司", "长沙")
    assert other.match("长沙康泰药房").best.id == str(dup)  # type: ignore[union-attr]
    db.call(repos.merge_customers, keep, dup)
    # the dropped name is now an alias
    assert other.match("长沙康泰药房").best.id == str(keep)  # type: ignore[union-attr]
    csv = tmp_path / "c.csv"
    csv.write_text("客户名称,地区\n厦门鹭岛餐饮管理有限公司,厦门\n", encoding="utf-8")
    db.call(import_customers, csv)
    m = other.index().find_mention("明天去鹭岛餐饮谈续约")
    assert m is not None and m.customer_id is not None
    assert other.index() is index  # never rebuilt


def _restore(db: Database, mark: int, keep: str) -> None:
    """What restoring a backup taken at change `mark` does: later customers and log entries go."""
    from sqlalchemy import text

    def work(s):  # type: ignore[no-untyped-def]
        s.execute(text("DELETE FROM customers WHERE name != :keep"), {"keep": keep})
        s.execute(text("DELETE FROM customer_changes WHERE id > :m"), {"m": mark})
        s.execute(text("UPDATE sqlite_sequence SET seq = :m WHERE name = 'customer_changes'"), {"m": mark})

    db.call(work)


def test_a_database_restored_from_a_backup_rebuilds_the_index(db: Database) -> None:
    _add(db, "无锡盛和精密机械有限公司", "无锡")
    mark = db.call(changes.newest)
    other = CrmIndex(db)
    _add(db, "长沙康泰医药连锁有限公司", "长沙")
    _add(db, "厦门鹭岛餐饮管理有限公司", "厦门")
    assert other.match("长沙康泰药房").best is not None
    _restore(db, mark, keep="无锡盛和精密机械有限公司")
    assert db.call(changes.newest) == mark
    assert other.match("长沙康泰药房").best is None
    assert other.match("无锡盛和精机").best is not None


def test_a_restored_backup_that_grew_past_the_old_log_is_still_noticed(db: Database) -> None:
    _add(db, "无锡盛和精密机械有限公司", "无锡")
    mark = db.call(changes.newest)
    other = CrmIndex(db)
    _add(db, "长沙康泰医药连锁有限公司", "长沙")
    assert other.match("长沙康泰药房").best is not None
    _restore(db, mark, keep="无锡盛和精密机械有限公司")
    _add(db, "厦门鹭岛餐饮管理有限公司", "厦门")  # the restored log reaches the old id again
    _add(db, "青岛启明医疗器械有限公司", "青岛")
    assert other.match("长沙康泰药房").best is None
    assert other.match("厦门鹭岛餐饮").best is not None
