"""合并客户 asks before it merges, 撤销合并 takes a merge back, 释放客户 takes a name: chat and CLI."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.__main__ import main
from bot.config import ConfigError, load_settings
from handlers.crm import normalized_name
from store import repos
from store.db import Database
from store.models import ActionItem, Contact, Customer, CustomerMerge, Deal, FollowUp
from tests.conftest import Bot

NOTE = "今天去苏州恒达见了采购部王总，他们想换一批数控车床，预算大概八十万，周五前我把报价发给他。"


def _customer(bot: Bot, cid: int) -> Customer:
    return bot.db(lambda s: s.get(Customer, cid))


def _add_customer(bot: Bot, name: str, owner: int | None, region: str | None = None,
                  aliases: tuple[str, ...] = ()) -> int:
    return bot.db(lambda s: repos.add_customer(s, name, normalized_name(name), owner, region, aliases).id)


def _add_contact(bot: Bot, customer_id: int, name: str, phone: str | None = None) -> None:
    bot.db(lambda s: s.add(Contact(customer_id=customer_id, name=name, phone=phone)))


def _contacts(bot: Bot, customer_id: int) -> dict[str, str | None]:
    rows = bot.db(lambda s: list(s.exec(select(Contact).where(Contact.customer_id == customer_id))))
    return {c.name: c.phone for c in rows}


def _merges(bot: Bot) -> list[CustomerMerge]:
    return bot.db(lambda s: list(s.exec(select(CustomerMerge).order_by(col(CustomerMerge.id)))))


def _add_admin(bot: Bot) -> None:
    bot.db(lambda s: repos.add_user(s, "管理员", "admin", None, {"console": "boss"}))


def test_merge_shows_both_cards_and_waits_for_the_requesters_confirmation(bot: Bot) -> None:
    dup = _add_customer(bot, "恒达精机", 2, None, ("恒达老厂",))
    _add_contact(bot, dup, "李工")
    _add_admin(bot)
    ask = bot.say("wang", "合并客户 苏州恒达精密机械有限公司 恒达精机")
    assert "【保留】苏州恒达精密机械有限公司 #1 · 苏州" in ask
    assert f"【并入（之后停用，名称变为别名）】恒达精机 #{dup} · 地区未填" in ask
    assert "负责人：张伟" in ask and "别名：恒达老厂" in ask
    assert "商机 0 个 · 联系人 1 个 · 跟进记录 0 条 · 未完成待办 0 条" in ask
    assert "回复「确认合并」" in ask
    assert _customer(bot, dup).merged_into_id is None  # nothing merged on the request alone

    assert "只对主管和管理员开放" in bot.say("zhang", "确认合并")
    assert "没有等待你确认的客户合并" in bot.say("boss", "确认合并")  # not the admin's merge to confirm
    assert _customer(bot, dup).merged_into_id is None

    done = bot.say("wang", "确认合并", msg_id="ok-1")
    assert "已把「恒达精机」并入「苏州恒达精密机械有限公司」" in done and "联系人 1 个" in done
    assert "合并 #1" in done and "撤销合并" in done
    assert _customer(bot, dup).merged_into_id == 1
    assert _contacts(bot, 1) == {"李工": None}

    # The same confirmation processed again, and a second 确认合并: neither merges anything again.
    assert "已经完成了" in bot.replay("ok-1")
    assert "没有等待你确认的客户合并" in bot.say("wang", "确认合并")
    assert [m.status for m in _merges(bot)] == ["done"]
    assert _customer(bot, 1).aliases == ["恒达精机", "恒达老厂"]


def test_pending_merge_expires_and_only_the_latest_request_counts(bot: Bot) -> None:
    a = _add_customer(bot, "恒达精机", 2)
    b = _add_customer(bot, "宏远数控二厂", 2)
    bot.say("wang", f"合并客户 1 {a}")
    bot.clock.advance(minutes=31)
    expired = bot.say("wang", "确认合并")
    assert "已超过 30 分钟，已失效，没有合并" in expired and f"合并客户 1 {a}" in expired
    assert _customer(bot, a).merged_into_id is None
    assert "没有等待你确认的客户合并" in bot.say("wang", "确认合并")

    bot.say("wang", f"合并客户 1 {a}", msg_id="ask-a")
    bot.say("wang", f"合并客户 2 {b}")  # the newer question replaces the older one
    assert "被更新的请求取代" in bot.replay("ask-a")  # and the older one, processed again, stays replaced
    assert "已把「宏远数控二厂」并入「无锡宏远数控设备有限公司」" in bot.say("wang", "确认合并")
    assert _customer(bot, a).merged_into_id is None and _customer(bot, b).merged_into_id == 2
    assert [m.status for m in _merges(bot)] == ["expired", "cancelled", "done"]


def test_undo_puts_back_everything_and_keeps_later_changes(bot: Bot) -> None:
    bot.say("zhang", NOTE)  # customer 1: a follow-up, a deal, a to-do and the contact 采购部王总
    keep = _add_customer(bot, "江苏精工设备集团", None, None, ("精工总部",))  # no owner, no region
    _add_contact(bot, keep, "采购部王总")
    _add_contact(bot, 1, "李工", "13800000000")
    deal = bot.db(repos.open_deal_for, 1)
    bot.say("wang", f"合并客户 {keep} 1")
    merged = bot.say("wang", "确认合并")
    assert "商机 1 个、联系人 1 个、跟进记录 1 条、待办 1 条" in merged
    k = _customer(bot, keep)
    assert (k.owner_id, k.region) == (2, "苏州")  # filled in from the dropped customer
    assert _contacts(bot, keep) == {"采购部王总": None, "李工": "13800000000"}  # the duplicate was deleted

    assert "【江苏精工设备集团】" in bot.say("wang", "查 苏州恒达精密机械有限公司")  # the name is an alias now
    assert "商务谈判" in bot.say("zhang", f"阶段 {deal.id} 谈判")  # a change after the merge
    undone = bot.say("wang", "撤销合并", msg_id="undo-1")
    assert "已撤销合并 #1：「苏州恒达精密机械有限公司」恢复为独立客户" in undone
    assert "商机 1 个、联系人 2 个、跟进记录 1 条、待办 1 条" in undone
    assert "去掉了别名 苏州恒达精密机械有限公司" in undone
    assert "负责人恢复为公海" in undone and "地区恢复为空" in undone

    d = bot.db(lambda s: s.get(Deal, deal.id))
    assert d.customer_id == 1 and d.stage == "negotiation"  # back home, still updated
    assert _contacts(bot, 1) == {"采购部王总": None, "李工": "13800000000"}  # the deleted duplicate is back
    assert _contacts(bot, keep) == {"采购部王总": None}
    [fu] = bot.db(lambda s: list(s.exec(select(FollowUp))))
    [item] = bot.db(lambda s: list(s.exec(select(ActionItem))))
    assert fu.customer_id == 1 and item.customer_id == 1
    c, k = _customer(bot, 1), _customer(bot, keep)
    assert c.merged_into_id is None and c.owner_id == 2 and c.region == "苏州"
    assert (k.aliases, k.owner_id, k.region) == (["精工总部"], None, None)
    assert "【苏州恒达精密机械有限公司】#1" in bot.say("zhang", "查 苏州恒达精密机械有限公司")  # its own again

    assert "已经撤销过了" in bot.say("wang", "撤销合并")
    assert "已经撤销过了" in bot.replay("undo-1")
    assert _customer(bot, 1).merged_into_id is None and _contacts(bot, keep) == {"采购部王总": None}


def test_undo_after_the_window_is_refused(bot: Bot) -> None:
    dup = _add_customer(bot, "恒达精机", 2)
    assert "没有可撤销的客户合并" in bot.say("wang", "撤销合并")
    bot.say("wang", f"合并客户 1 {dup}")
    bot.say("wang", "确认合并")
    assert "只对主管和管理员开放" in bot.say("zhang", "撤销合并")
    assert "用法" in bot.say("wang", "撤销合并 昨天的")
    assert "没有找到合并 #9" in bot.say("wang", "撤销合并 #9")
    bot.clock.advance(days=8)
    late = bot.say("wang", "撤销合并 #1")
    assert "超过了 7 天的撤销时限，不能再撤销" in late and "8天前" in late
    assert _customer(bot, dup).merged_into_id == 1


def test_merge_undo_window_is_validated() -> None:
    assert load_settings(env={"SALESBOT_APP_MERGE_UNDO_DAYS": "3"}).app.merge_undo_days == 3
    with pytest.raises(ConfigError, match="app.merge_undo_days"):
        load_settings(env={"SALESBOT_APP_MERGE_UNDO_DAYS": "0"})


def test_release_takes_a_name_within_the_managers_team(bot: Bot) -> None:
    other = _add_customer(bot, "深圳华强电子有限公司", 4)  # zhao's: outside wang's team
    assert "只对主管和管理员开放" in bot.say("zhang", "释放客户 宏远")
    assert "已把客户「无锡宏远数控设备有限公司」放回公海" in bot.say("wang", "释放客户 宏远")
    assert _customer(bot, 2).owner_id is None
    assert "已经在公海" in bot.say("wang", "释放客户 无锡宏远")
    assert "已把客户「苏州恒达精密机械有限公司」放回公海" in bot.say("wang", "释放客户 #1")
    assert "不是你负责的客户" in bot.say("wang", "释放客户 深圳华强")
    assert _customer(bot, other).owner_id == 4
    assert "没找到客户" in bot.say("wang", "释放客户 北极星航天")
    assert "用法" in bot.say("wang", "释放客户")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _cli_db(tmp_path: Path) -> tuple[str, Database]:
    db = str(tmp_path / "cli.db")
    assert main(["--db", db, "db", "upgrade"]) == 0
    store = Database(f"sqlite:///{db}")

    def seed(s):  # type: ignore[no-untyped-def]
        rep = repos.add_user(s, "张伟", "rep", None, {"console": "zhang"})
        a = repos.add_customer(s, "北京华信科技有限公司", normalized_name("北京华信科技有限公司"), rep.id, "北京")
        b = repos.add_customer(s, "华信科技", normalized_name("华信科技"), None)
        s.add(Contact(customer_id=a.id, name="刘总"))
        s.add(Contact(customer_id=b.id, name="刘总", phone="13900000000"))
        s.add(Contact(customer_id=b.id, name="赵工"))

    store.call(seed)
    return db, store


def test_cli_merge_asks_on_a_terminal_and_refuses_without_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    db, store = _cli_db(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped, not a terminal
    assert main(["--db", db, "customers", "merge", "1", "2"]) == 2
    cap = capsys.readouterr()
    assert "【保留】北京华信科技有限公司 #1 · 北京" in cap.out and "【并入" in cap.out
    assert "没有终端可以确认" in cap.err and "--yes" in cap.err
    monkeypatch.setattr("sys.stdin", _Tty("n\n"))
    assert main(["--db", db, "customers", "merge", "1", "2"]) == 1
    assert "确认合并？[y/N]" in capsys.readouterr().out
    assert store.call(lambda s: s.get(Customer, 2)).merged_into_id is None

    monkeypatch.setattr("sys.stdin", _Tty("y\n"))
    assert main(["--db", db, "customers", "merge", "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "已把「华信科技」并入「北京华信科技有限公司」" in out and "salesbot customers unmerge 1" in out
    assert store.call(lambda s: s.get(Customer, 2)).merged_into_id == 1
    assert main(["--db", db, "customers", "merge", "1", "2", "--yes"]) == 2  # already merged
    store.dispose()


def test_cli_unmerge_restores_and_says_when_it_is_too_late(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    db, store = _cli_db(tmp_path)
    assert main(["--db", db, "customers", "unmerge"]) == 2
    assert "没有可撤销的合并" in capsys.readouterr().err
    assert main(["--db", db, "customers", "merge", "1", "2", "--yes"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "customers", "unmerge"]) == 0
    out = capsys.readouterr().out
    assert "已撤销合并 #1：「华信科技」恢复为独立客户" in out and "联系人 2 个" in out

    def contacts(cid: int) -> dict[str, str | None]:
        return store.call(lambda s: {c.name: c.phone for c in s.exec(select(Contact).where(Contact.customer_id == cid))})

    assert contacts(2) == {"刘总": "13900000000", "赵工": None} and contacts(1) == {"刘总": None}
    assert main(["--db", db, "customers", "unmerge", "1"]) == 2
    assert "已经撤销过了" in capsys.readouterr().err

    assert main(["--db", db, "customers", "merge", "1", "2", "--yes"]) == 0
    from datetime import timedelta

    def age(s):  # type: ignore[no-untyped-def]
        m = s.get(CustomerMerge, 2)
        m.merged_at = m.merged_at - timedelta(days=30)
        s.add(m)

    store.call(age)
    capsys.readouterr()
    assert main(["--db", db, "customers", "unmerge", "2"]) == 2
    assert "超过了 7 天的撤销时限" in capsys.readouterr().err
    assert store.call(lambda s: s.get(Customer, 2)).merged_into_id == 1
    store.dispose()


def test_migration_0011_downgrades_and_upgrades(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from store.db import alembic_config

    store = Database(f"sqlite:///{tmp_path / 'm.db'}")
    store.upgrade()
    assert "customer_merges" in inspect(store.engine).get_table_names()
    cfg = alembic_config(store.url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    assert "customer_merges" not in inspect(store.engine).get_table_names()
    store.upgrade()
    assert "customer_merges" in inspect(store.engine).get_table_names()
    store.dispose()
