"""Alerts a manager acts on: leavers, working days only, one message per person and slot, every
line saying why, collections by due date, the funnel's honesty.

Each test enters the way production does: the cron job (scheduler/setup.run_job) on the injected
clock, or `salesbot jobs run-once` / `users deactivate`, then the notifier, and asserts on what
the fake channel received.
"""
from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import select

from bot.__main__ import main
from bot.app import App
from handlers import texts
from scheduler import jobs
from scheduler.setup import clock_jobs, run_job
from store.models import ActionItem, Contract, Customer, Deal, Notification
from tests.conftest import PG_URL, Bot, db_url, make_app, reset_postgres, seed_team
from tests.fakes import FakeChannel, FixedClock

TZ = ZoneInfo("Asia/Shanghai")
ZHANG, LI, WANG = 2, 3, 1  # conftest's team: zhang and li report to wang


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[App, FakeChannel, FixedClock]]:
    if PG_URL:
        reset_postgres()
    clock = FixedClock(at(2026, 3, 2, 8, 30))
    monkeypatch.setenv("SALESBOT_DATABASE_URL", db_url(tmp_path / "a.db"))  # the CLI's database too
    app, channel = make_app(tmp_path / "a.db", clock)
    seed_team(app)
    yield app, channel, clock
    app.svc.db.dispose()


def deal(app: App, customer_id: int, owner_id: int, last: datetime, amount: int | None = 100_000,
         stage: str = "needs", quote_sent: datetime | None = None) -> int:
    def add(s):  # type: ignore[no-untyped-def]
        d = Deal(customer_id=customer_id, owner_id=owner_id, title=f"deal {customer_id}", stage=stage,
                 amount=None if amount is None else Decimal(amount), last_activity_at=last, created_at=last,
                 quote_sent_at=quote_sent)
        s.add(d)
        s.flush()
        return d.id

    return app.svc.db.call(add)


def touch_customer(app: App, customer_id: int, last: datetime) -> None:
    def set_(s):  # type: ignore[no-untyped-def]
        c = s.get(Customer, customer_id)
        c.last_touch_at, c.created_at = last, min(c.created_at, last)
        s.add(c)

    app.svc.db.call(set_)


def cron(app: App, *names: str) -> int:
    """The cron jobs' ticks at the clock's time (rules, due_items, weekly_funnel)."""
    new = 0
    for job in clock_jobs(app.svc.settings):
        if job.name in names:
            new += asyncio.run(run_job(app.svc, job))
    return new


def deliver(app: App, channel: FakeChannel, clock: FixedClock, when: datetime) -> dict[str, list[str]]:
    """One notifier round at `when`: what each person received."""
    clock.current = when
    channel.sent.clear()
    asyncio.run(app.notifier.deliver_due(when))
    out: dict[str, list[str]] = {}
    for peer, reply in channel.sent:
        out.setdefault(peer.user_id, []).append(reply.text)
    return out


def test_a_leaver_gets_no_alert_and_her_manager_hears_of_her_unattended_customers(env, capsys) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    d = deal(app, 3, LI, at(2026, 2, 2))  # li's deal, idle for weeks
    touch_customer(app, 4, at(2026, 1, 20))  # li's customer, silent for 40 days
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False):  # the admin acts before the push
        assert main(["users", "deactivate", "李娜"]) == 0
    said = capsys.readouterr().out
    assert "李娜 已停用" in said and "2 个客户已放回公海" in said and "1 个进行中的商机" in said
    cron(app, "rules")
    got = deliver(app, channel, clock, at(2026, 3, 2, 9))
    assert "li" not in got  # nothing ever goes to her
    [manager] = got["wang"]
    assert texts.USER_LEFT_TITLE in manager  # told of the hand-over
    assert f"#{d} 康博生物" in manager and "李娜（已离职）" in manager  # her deal, reported to him
    assert manager.count(f"#{d} 康博") == 1  # one line, the owner's and the manager's level merged
    # freed customers are in the public pool: no silent-customer line for them
    assert app.svc.db.call(lambda s: s.get(Customer, 4).owner_id) is None


def test_deactivating_with_a_successor_hands_everything_over(env, capsys) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    d = deal(app, 3, LI, at(2026, 2, 2))
    assert main(["users", "deactivate", "li", "--to", "张伟"]) == 0
    assert "已转给 张伟" in capsys.readouterr().out
    assert app.svc.db.call(lambda s: (s.get(Deal, d).owner_id, s.get(Customer, 3).owner_id)) == (ZHANG, ZHANG)
    cron(app, "rules")
    got = deliver(app, channel, clock, at(2026, 3, 2, 9))
    assert f"#{d} 康博生物" in got["zhang"][0] and "li" not in got
    assert main(["users", "deactivate", "没这个人"]) == 2
    assert "没有在职用户 没这个人" in capsys.readouterr().err
    assert main(["users", "list"]) == 0
    assert "已停用" in capsys.readouterr().out


def test_pushes_wait_over_a_holiday_for_the_first_working_days_push_time(env) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    d = deal(app, 1, ZHANG, at(2026, 9, 10))
    clock.current = at(2026, 10, 3, 8, 30)  # National Day: the cron still runs
    assert cron(app, "rules") >= 1
    for day in (at(2026, 10, 3, 10), at(2026, 10, 6, 15), at(2026, 10, 8, 8, 59)):
        assert deliver(app, channel, clock, day) == {}  # holiday, holiday, before the push time
    got = deliver(app, channel, clock, at(2026, 10, 8, 9))  # first working day after the break
    assert f"#{d} " in got["zhang"][0]
    # a weekend is a day off too, a make-up Saturday (调休) a working day
    deal(app, 2, ZHANG, at(2026, 9, 20))
    clock.current = at(2026, 10, 11, 8, 30)  # Sunday
    cron(app, "rules")
    assert deliver(app, channel, clock, at(2026, 10, 11, 9)) == {}
    assert "zhang" in deliver(app, channel, clock, at(2026, 10, 12, 9))
    clock.current = at(2026, 10, 10, 8, 30)  # a make-up working Saturday pushes as usual
    assert jobs.push_at(app.svc.settings, clock.current) == at(2026, 10, 10, 9)


def test_one_message_per_person_per_morning_each_deal_once_with_every_reason(env) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    # zhang: a deal both idle and with an unanswered quote; its customer also silent
    d = deal(app, 1, ZHANG, at(2026, 2, 2), quote_sent=at(2026, 2, 2))
    touch_customer(app, 1, at(2026, 2, 2))
    app.svc.db.call(lambda s: s.add(ActionItem(assignee_id=ZHANG, customer_id=2, text="寄样品",
                                               due=date(2026, 3, 2), owner_kind="self")))
    cron(app, "rules", "due_items")  # both crons at 08:30 by default
    assert deliver(app, channel, clock, at(2026, 3, 2, 8, 45)) == {}  # queued for the 09:00 push
    got = deliver(app, channel, clock, at(2026, 3, 2, 9))
    [msg] = got["zhang"]  # one message: rules and digest together
    assert msg.count(f"#{d} 苏州恒达") == 1
    line = next(x for x in msg.splitlines() if f"#{d} 苏州恒达" in x)
    assert "个工作日未更新（满3个工作日，一级）" in line and "报价已" in line and "小时未回复" in line
    assert "客户已27天未跟进（满15天，一级）" in line
    assert "寄样品" in msg and texts.ALERT_TODO in msg
    [team] = got["wang"]  # the manager: the second level, the owner named, once
    assert f"#{d} " in team and "二级·已报主管" in team and "张伟" in team


def test_a_long_list_stays_one_message_and_points_to_the_push_log(env) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    for _ in range(60):
        deal(app, 1, ZHANG, at(2026, 2, 2))
    cron(app, "rules")
    [msg] = deliver(app, channel, clock, at(2026, 3, 2, 9))["zhang"]
    assert len(msg.encode()) <= 2048  # one WeCom text message
    shown = sum(1 for x in msg.splitlines() if x.startswith("  #"))
    assert shown == texts.SECTION_SHOWN and msg.endswith(texts.DIGEST_SECTION_MORE.format(n=60 - shown))
    # several full sections: what does not fit one message is counted at the end
    for n in range(8):
        app.svc.db.call(lambda s, n=n: s.add(ActionItem(
            assignee_id=ZHANG, customer_id=2, text=f"把第{n}版技术方案和报价单整理好发给对方采购部门和技术部门的负责人确认",
            due=date(2026, 3, 3), owner_kind="self")))
        deal(app, 2, ZHANG, at(2026, 2, 2), quote_sent=at(2026, 2, 2))
    clock.current = at(2026, 3, 3, 8, 30)
    cron(app, "rules", "due_items")
    [msg] = deliver(app, channel, clock, at(2026, 3, 3, 9))["zhang"]
    assert len(msg.encode()) <= 2048 and "小时未回复（满48小时）" in msg  # quotes merged into their deals
    listed = sum(1 for x in msg.splitlines() if x.startswith("  #"))
    assert msg.endswith(texts.DIGEST_MORE.format(n=16 - listed)) and 0 < listed < 16
    assert app.svc.db.call(lambda s: len(list(s.exec(select(Notification).where(Notification.status == "sent"))))) \
        >= 60  # all recorded as sent: 提醒记录 lists them
    bot = Bot(app, channel, clock, Path("unused"))
    log = bot.say("zhang", "提醒记录")
    assert "商机停滞" in log and "一级" in log


def _contract(app: App, deal_id: int, number: str, signed: date, due: date | None, amount: int) -> int:
    def add(s):  # type: ignore[no-untyped-def]
        c = Contract(deal_id=deal_id, number=number, signed_on=signed, amount=Decimal(amount), due_on=due)
        s.add(c)
        s.flush()
        return c.id

    return app.svc.db.call(add)


def test_collections_follow_the_due_date_and_snooze_by_contract_or_deal_number(env) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    d1 = deal(app, 1, ZHANG, at(2026, 3, 1), stage="won")
    d2 = deal(app, 3, LI, at(2026, 3, 1), stage="won")
    _contract(app, d1, "HT-101", date(2026, 1, 5), date(2026, 4, 20), 300_000)  # due in seven weeks
    _contract(app, d2, "HT-102", date(2026, 2, 2), date(2026, 3, 5), 200_000)  # due in three days
    _contract(app, d1, "HT-103", date(2026, 1, 5), date(2026, 2, 20), 100_000)  # ten days overdue
    cron(app, "rules")
    got = deliver(app, channel, clock, at(2026, 3, 2, 9))
    manager = got["wang"][0]
    assert "HT-101" not in manager  # not yet: no "请安排催收" weeks ahead
    assert "合同 HT-102" in manager and "应收日 3月5日(周四)，3天后到期" in manager and "李娜" in manager
    assert "合同 HT-103" in manager and "应收日 2月20日(周五)，已逾期10天" in manager
    assert f"商机 #{d1}" in manager  # the number the suggested 暂停提醒 reply needs
    assert "应收日 2月20日(周五)，已逾期10天（一级）" in got["zhang"][0]
    bot = Bot(app, channel, clock, Path("unused"))
    assert f"已暂停商机 #{d2}" in bot.say("wang", "暂停提醒 HT-102 10")  # by contract number
    assert f"已暂停商机 #{d1}" in bot.say("zhang", f"暂停提醒 {d1} 10")  # by deal number
    clock.current = at(2026, 3, 3, 8, 30)
    cron(app, "rules")
    assert deliver(app, channel, clock, at(2026, 3, 3, 9)) == {}  # both deals' contracts quiet
    assert "没有找到商机或合同" in bot.say("zhang", "暂停提醒 HT-999 3")


def test_the_weekly_funnel_is_honest_about_what_it_does_not_know(env) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    deal(app, 1, ZHANG, at(2026, 2, 27), amount=None)  # needs: amount unknown
    deal(app, 2, ZHANG, at(2026, 2, 27), amount=80_000, stage="quote")
    deal(app, 3, LI, at(2026, 2, 27), amount=None, stage="quote")
    clock.current = at(2026, 3, 2, 8, 30)  # Monday
    cron(app, "weekly_funnel")
    [msg] = deliver(app, channel, clock, at(2026, 3, 2, 9))["wang"]
    assert "王经理的团队 · 销售漏斗周报" in msg
    lines = msg.splitlines()
    needs = next(x for x in lines if x.startswith(app.svc.settings.stage_label("needs")))
    assert "未填" in needs and "0元" not in needs
    quote = next(x for x in lines if x.startswith(app.svc.settings.stage_label("quote")))
    assert "8万（另1个未填金额）" in quote
    won = next(x for x in lines if x.startswith(app.svc.settings.stage_label("won")))
    assert "（近90天）" in won and " · 0 · " in won and "%" not in won  # empty: no percentage
    assert "近90天" in lines[-1]
    assert channel.sent[-1][1].image is not None  # the chart, titled with the team (funnel_title)
    facts = app.svc.db.call(lambda s: s.exec(select(Notification.body).where(
        Notification.rule == "weekly_funnel")).one())
    assert texts.funnel_title(facts).startswith("王经理的团队")


def test_dry_run_names_people_and_says_why(env, capsys) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    deal(app, 1, ZHANG, at(2026, 2, 2))
    assert main(["jobs", "run-once", "--dry-run", "--now", "2026-03-02T08:30:00+08:00"]) == 0
    out = capsys.readouterr().out
    assert "→ 张伟" in out and "→ 王经理" in out and "用户 #" not in out
    assert "（满3个工作日，一级）" in out and "（满5个工作日，二级·已报主管）" in out
    assert main(["jobs", "run-once", "--now", "2026-03-02T08:30:00+08:00"]) == 0
    assert "2026-03-02T09:00:00+08:00 起发送" in capsys.readouterr().out


def test_imported_customers_start_their_silence_at_the_files_last_contact_and_arrive_as_a_summary(
        env, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    rows = ["客户名称,负责人,最后跟进"]
    rows += [f"常州第{n}精工机械有限公司,张伟,2026/1/{n + 2}" for n in range(12)]  # 40-51 days ago
    rows += ["扬州鼎盛包装材料有限公司,张伟,", "泰州华亿电气设备有限公司,张伟,下个月", "镇江远航船舶配件有限公司,张伟,2026-02-25"]
    sheet = tmp_path / "book.csv"
    sheet.write_text("\n".join(rows), encoding="utf-8")
    with time_machine.travel(at(2026, 3, 2, 8, 0), tick=False):
        assert main(["import", "customers", str(sheet)]) == 0
    out = capsys.readouterr().out
    assert "最后跟进日期「下个月」无法识别" in out
    cron(app, "rules")  # the first run after the import
    got = deliver(app, channel, clock, at(2026, 3, 2, 9))
    [msg] = got["zhang"]
    assert texts.ALERT_SILENT_OWNER.format(n=15) in msg
    silent = [x for x in msg.splitlines() if "未跟进（满15天" in x]
    assert len(silent) == texts.SECTION_SHOWN and "客户已" in silent[0]
    assert texts.DIGEST_SECTION_MORE.format(n=12 - texts.SECTION_SHOWN) in msg  # a summary, not a flood
    assert not any(n in msg for n in ("扬州鼎盛", "泰州华亿", "镇江远航"))  # imported today / 5 days ago
    [wang] = got["wang"]  # past 30 days too: the manager's level, one message, summarized
    assert texts.ALERT_SILENT_MGR.format(n=30) in wang and "张伟" in wang
    assert texts.DIGEST_SECTION_MORE.format(n=12 - texts.SECTION_SHOWN) in wang


def test_customers_silent_past_the_release_age_go_back_to_the_pool_and_both_people_are_told(
        env, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    app, channel, clock = env
    touch_customer(app, 1, at(2026, 1, 1))  # zhang's, 60 days silent
    touch_customer(app, 2, at(2026, 2, 20))  # zhang's, 10 days: stays
    cron(app, "rules")
    assert app.svc.db.call(lambda s: s.get(Customer, 1).owner_id) == ZHANG  # off by default
    app.svc.settings.alerts.release_silent_days = 45
    monkeypatch.setenv("SALESBOT_ALERTS_RELEASE_SILENT_DAYS", "45")  # the CLI's settings too
    clock.current = at(2026, 3, 3, 8, 30)
    assert main(["jobs", "run-once", "--dry-run", "--now", "2026-03-03T08:30:00+08:00"]) == 0
    assert texts.ALERT_RELEASED.format(n=45) in capsys.readouterr().out  # shown, nothing changed
    assert app.svc.db.call(lambda s: s.get(Customer, 1).owner_id) == ZHANG
    cron(app, "rules")
    assert app.svc.db.call(lambda s: (s.get(Customer, 1).owner_id, s.get(Customer, 2).owner_id)) == (None, ZHANG)
    got = deliver(app, channel, clock, at(2026, 3, 3, 9))
    for who in ("zhang", "wang"):
        msg = got[who][0]
        assert texts.ALERT_RELEASED.format(n=45) in msg and "#1 苏州恒达" in msg and "原负责人 张伟" in msg
        assert msg.count("#1 苏州恒达") == 1  # the silent line of the same customer merged into it
    clock.current = at(2026, 3, 4, 8, 30)
    cron(app, "rules")
    assert deliver(app, channel, clock, at(2026, 3, 4, 9)) == {}  # told once


def test_planned_pushes_never_reach_someone_who_left(env) -> None:  # type: ignore[no-untyped-def]
    from store import alerts
    from store.models import User

    app, channel, clock = env
    app.svc.db.call(lambda s: setattr(s.get(User, WANG), "active", False))
    row = {"dedupe_key": "k", "rule": "message", "body": {"line": "x"}, "status": "pending", "attempts": 0,
           "next_attempt_at": clock.current, "created_at": clock.current}
    assert app.svc.db.call(alerts.enqueue_many, [dict(row, recipient_id=WANG), dict(row, dedupe_key="k2",
                                                                                     recipient_id=ZHANG)]) == 1
