"""customers.last_touch_at stays equal to the newest interaction on every write path.

Each step checks the column against the definition recomputed from the rows (store/touch.py's
expression: greatest(newest active follow-up, newest deal activity), each defaulting to creation)
and against the value the step should produce.
"""
from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select as sa_select
from sqlmodel import select

from store import repos
from store.db import Database
from store.importer import import_customers
from store.models import Customer, Deal, FollowUp
from store.touch import newest_touch, refresh_last_touch
from tests.conftest import NOW, Bot

NOTE = "今天去苏州恒达见了采购部王总，他们想换一批数控车床，预算大概八十万，周五前我把报价发给他。"


def touches(db: Database) -> dict[int, datetime]:
    """Every customer's stored touch, after asserting it equals the one recomputed from the rows."""
    def read(s):  # type: ignore[no-untyped-def]
        c = Customer.__table__.c
        return s.execute(sa_select(c.id, c.last_touch_at, newest_touch(s.get_bind().dialect.name))).all()

    rows = db.call(read)
    assert [(cid, stored) for cid, stored, _ in rows] == [(cid, fresh) for cid, _, fresh in rows]
    return {cid: stored for cid, stored, _ in rows}


def created(bot: Bot, cid: int) -> datetime:
    return bot.db(lambda s: s.get(Customer, cid).created_at)


def backdate(bot: Bot, days: int = 30) -> datetime:
    """Seeded customers are created on the wall clock; move them before the test clock's NOW."""
    at = NOW - timedelta(days=days)
    bot.db(lambda s: [setattr(c, "created_at", at) for c in s.exec(select(Customer))])
    return at


def test_new_customer_starts_at_its_creation(bot: Bot) -> None:
    t = touches(bot.app.svc.db)
    assert t and all(t[cid] == created(bot, cid) for cid in t)


def test_note_then_undo(bot: Bot) -> None:
    db = bot.app.svc.db
    before = backdate(bot)
    assert touches(db)[1] == before
    bot.clock.advance(days=3)
    bot.say("zhang", NOTE)  # a follow-up and a new deal on 恒达 (#1)
    assert touches(db)[1] == bot.clock.now() > before
    bot.say("zhang", "撤销")  # the follow-up is revoked and the deal it created deleted
    assert touches(db)[1] == before


def test_undo_puts_an_existing_deals_activity_back(bot: Bot) -> None:
    db = bot.app.svc.db
    old = NOW - timedelta(days=20)
    bot.db(lambda s: s.add(Deal(customer_id=1, owner_id=2, title="恒达", stage="contacted", last_activity_at=old)))
    assert touches(db)[1] == created(bot, 1) > old  # a deal idle since before the customer existed
    bot.db(lambda s: setattr(s.get(Customer, 1), "created_at", NOW - timedelta(days=100)))  # back-dated
    assert touches(db)[1] == old
    bot.clock.advance(days=1)
    bot.say("zhang", "今天去苏州恒达，王总说我们的报价偏高，要再降五个点，周五前我把新报价发过去")
    assert touches(db)[1] == bot.clock.now()
    bot.say("zhang", "撤销")
    assert touches(db)[1] == old


def test_correction_moves_the_touch_between_customers(bot: Bot) -> None:
    db = bot.app.svc.db
    bot.db(lambda s: [setattr(s.get(Customer, cid), "created_at", NOW - timedelta(days=60)) for cid in (1, 2)])
    bot.clock.advance(hours=2)
    bot.say("zhang", NOTE)
    t = touches(db)
    assert t[1] == bot.clock.now() and t[2] == NOW - timedelta(days=60)
    bot.say("zhang", "改 客户 无锡宏远")  # the note (and its new deal) now belong to #2
    t = touches(db)
    assert t[2] == bot.clock.now() and t[1] == NOW - timedelta(days=60)


def test_stage_command_touches_the_customer(bot: Bot) -> None:
    db = bot.app.svc.db
    backdate(bot)
    bot.say("zhang", NOTE)
    assert touches(db)[1] == NOW
    deal = bot.db(repos.open_deal_for, 1)
    bot.clock.advance(days=2)
    bot.say("zhang", f"阶段 {deal.id} 谈判")
    assert touches(db)[1] == bot.clock.now()


def test_merge_takes_the_newer_touch(bot: Bot) -> None:
    db = bot.app.svc.db

    def dup(s):  # type: ignore[no-untyped-def]
        from handlers.crm import normalized_name

        c = repos.add_customer(s, "恒达精机", normalized_name("恒达精机"), 2, "苏州")
        c.created_at = NOW - timedelta(days=10)
        s.get(Customer, 1).created_at = NOW - timedelta(days=50)
        return c.id

    dup_id = bot.db(dup)
    bot.db(lambda s: s.add(FollowUp(source_key="old", author_id=2, customer_id=dup_id, raw_text="x",
                                    created_at=NOW - timedelta(days=1))))
    t = touches(db)
    assert t[1] == NOW - timedelta(days=50) and t[dup_id] == NOW - timedelta(days=1)
    bot.db(repos.merge_customers, 1, dup_id)
    t = touches(db)
    assert t[1] == NOW - timedelta(days=1)  # the duplicate's follow-up is now #1's
    assert t[dup_id] == NOW - timedelta(days=10)  # the merged row keeps only its creation


def test_deleted_and_edited_rows(bot: Bot) -> None:
    db = bot.app.svc.db
    bot.db(lambda s: setattr(s.get(Customer, 3), "created_at", NOW - timedelta(days=80)))
    bot.db(lambda s: s.add(FollowUp(source_key="a", author_id=3, customer_id=3, raw_text="x",
                                    created_at=NOW - timedelta(days=5))))
    assert touches(db)[3] == NOW - timedelta(days=5)
    with db.session() as s:
        fu = s.exec(select(FollowUp).where(FollowUp.source_key == "a")).one()
        fu.created_at = NOW - timedelta(days=40)
        s.add(fu)
    assert touches(db)[3] == NOW - timedelta(days=40)
    with db.session() as s:
        fu = s.exec(select(FollowUp).where(FollowUp.source_key == "a")).one()
        fu.status = "revoked"
        s.add(fu)
    assert touches(db)[3] == NOW - timedelta(days=80)
    with db.session() as s:
        s.delete(s.exec(select(FollowUp).where(FollowUp.source_key == "a")).one())
    assert touches(db)[3] == NOW - timedelta(days=80)


def test_import_and_bulk_refresh(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'crm.db'}")
    db.ensure_schema()
    db.call(lambda s: repos.add_user(s, "张伟"))
    path = tmp_path / "c.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows([("客户名称", "地区", "负责人"), ("杭州云帆科技有限公司", "杭州", "张伟")])
    db.call(import_customers, path)
    [(cid, at)] = touches(db).items()
    assert at == db.call(lambda s: s.get(Customer, cid).created_at)
    with db.engine.begin() as conn:  # a bulk load that bypasses the ORM, then the refresh it needs
        conn.execute(Deal.__table__.insert(), [{"customer_id": cid, "owner_id": 1, "title": "d", "stage": "lead",
                                               "status": "open", "last_activity_at": at + timedelta(days=3),
                                               "created_at": at, "updated_at": at}])
        refresh_last_touch(conn)
    assert touches(db)[cid] == at + timedelta(days=3)
    db.dispose()


def test_migration_backfills_existing_customers(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import text

    from store.db import alembic_config

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")  # the schema before the column existed
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, name, role, active, created_at) "
                          "VALUES (1, 'u', 'rep', 1, '2026-01-01 00:00:00.000000')"))
        for cid in (1, 2, 3):
            conn.execute(text("INSERT INTO customers (id, name, normalized_name, aliases, owner_id, created_at, "
                              "updated_at) VALUES (:i, 'c', 'c', '[]', 1, '2026-01-01 00:00:00.000000', "
                              "'2026-01-01 00:00:00.000000')"), {"i": cid})
        conn.execute(text("INSERT INTO followups (source_key, author_id, customer_id, raw_text, audio, extracted, "
                          "confirmed, corrected, corrections, status, effects, created_at) VALUES "
                          "('a', 1, 1, 'x', '{}', '{}', 0, 0, '[]', 'active', '{}', '2026-02-01 00:00:00.000000'),"
                          "('b', 1, 1, 'x', '{}', '{}', 0, 0, '[]', 'revoked', '{}', '2026-03-01 00:00:00.000000')"))
        conn.execute(text("INSERT INTO deals (customer_id, owner_id, title, stage, status, last_activity_at, "
                          "created_at, updated_at) VALUES (2, 1, 'd', 'lead', 'open', '2026-02-15 00:00:00.000000', "
                          "'2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')"))
    db.ensure_schema()
    t = touches(db)
    assert [t[i].isoformat() for i in (1, 2, 3)] == [
        "2026-02-01T00:00:00+00:00", "2026-02-15T00:00:00+00:00", "2026-01-01T00:00:00+00:00"]
    with db.engine.begin() as conn:  # and back down, in place (customers is referenced by other tables)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert db.current_revision() == "0004"
    db.dispose()
