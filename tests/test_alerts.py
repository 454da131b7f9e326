"""Alert rules at and just below their thresholds, working days, quiet hours and delivery."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app import App
from bot.config import load_settings
from scheduler import jobs
from store import alerts, repos
from store.models import ActionItem, Contract, Deal, FollowUp, Notification, Payment
from tests.conftest import PG_URL, make_app, reset_postgres, seed_team
from tests.fakes import FakeChannel, FixedClock

TZ = ZoneInfo("Asia/Shanghai")
SETTINGS = load_settings(env={})


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture
def app(tmp_path: Path) -> App:
    if PG_URL:  # each test starts from an empty schema there too
        reset_postgres()
    app, _ = make_app(tmp_path / "a.db", FixedClock(at(2026, 1, 14)))
    seed_team(app)  # zhang (#2) and li (#3) report to wang (#1); customers 1-2 zhang's, 3-4 li's
    yield app
    app.svc.db.dispose()


def deal(app: App, customer_id: int, owner_id: int, last: datetime, stage: str = "needs",
         quote_sent: datetime | None = None, quote_answered: datetime | None = None) -> int:
    def add(s):  # type: ignore[no-untyped-def]
        d = Deal(customer_id=customer_id, owner_id=owner_id, title=f"deal {customer_id}", stage=stage,
                 amount=Decimal(100_000), last_activity_at=last, created_at=last,
                 quote_sent_at=quote_sent, quote_answered_at=quote_answered)
        s.add(d)
        s.flush()
        return d.id

    return app.svc.db.call(add)


def plan(app: App, now: datetime, *rules: str) -> list[jobs.Planned]:
    return app.svc.db.call(jobs.evaluate, SETTINGS, now, rules)


def keys(p: list[jobs.Planned]) -> set[tuple[str, int]]:
    return {(x.rule, x.recipient_id) for x in p}


def test_stale_deal_thresholds_in_working_days(app: App) -> None:
    now = at(2026, 1, 14)  # Wednesday
    deal(app, 1, 2, at(2026, 1, 12, 18))  # 2 working days: below
    assert plan(app, now, "stale_deals") == []
    d = deal(app, 2, 2, at(2026, 1, 11, 23, 59))  # Sunday night: Mon-Wed = 3 working days
    assert keys(plan(app, now, "stale_deals")) == {("stale_deal", 2)}
    app.svc.db.call(lambda s: setattr(s.get(Deal, d), "last_activity_at", at(2026, 1, 8, 9)))
    assert keys(plan(app, now, "stale_deals")) == {("stale_deal", 2)}  # 4 working days: rep only
    app.svc.db.call(lambda s: setattr(s.get(Deal, d), "last_activity_at", at(2026, 1, 7, 9)))
    assert keys(plan(app, now, "stale_deals")) == {("stale_deal", 2), ("stale_deal_team", 1)}


def test_statutory_holiday_and_make_up_working_day(app: App) -> None:
    # New Year 2026: Jan 1-3 off, Sunday Jan 4 is a make-up working day.
    now = at(2026, 1, 7)
    deal(app, 1, 2, at(2025, 12, 31, 12))  # Jan 4, 5, 6, 7 = 4 working days (Mon-Fri alone would say 5)
    assert keys(plan(app, now, "stale_deals")) == {("stale_deal", 2)}
    deal(app, 3, 3, at(2025, 12, 30, 12))  # 5 working days: the manager too
    assert ("stale_deal_team", 1) in keys(plan(app, now, "stale_deals"))
    app.svc.db.call(lambda s: s.add(ActionItem(assignee_id=2, text="送样品", due=date(2026, 1, 1))))
    assert plan(app, at(2026, 1, 3, 9), "due_items") == []  # holiday: no morning digest
    sunday = plan(app, at(2026, 1, 4, 9), "due_items")  # the make-up Sunday is a working day
    assert keys(sunday) == {("due_items", 2)} and "已逾期3天" in sunday[0].line
    assert plan(app, at(2026, 1, 11, 9), "due_items") == []  # an ordinary Sunday


def test_silent_customer_escalates(app: App) -> None:
    now = at(2026, 3, 1)

    def note(days: float, customer_id: int = 1) -> None:
        app.svc.db.call(lambda s: s.add(FollowUp(source_key=f"k{customer_id}-{days}", author_id=2,
                                                 customer_id=customer_id, raw_text="x",
                                                 created_at=now - timedelta(days=days))))

    def created(customer_id: int, days: int) -> None:
        from store.models import Customer

        app.svc.db.call(lambda s: setattr(s.get(Customer, customer_id), "created_at", now - timedelta(days=days)))

    for cid in (1, 2, 3, 4):
        created(cid, 100)
        note(1, cid)
    note(14.99, 2)
    assert plan(app, now, "silent_customers") == []
    note(15, 3)  # li's customer, with a newer note removed below
    with app.svc.db.session() as s:
        for fu in s.exec(select(FollowUp).where(FollowUp.customer_id == 3, FollowUp.created_at > now - timedelta(days=2))):
            s.delete(fu)
    assert keys(plan(app, now, "silent_customers")) == {("silent_customer", 3)}
    with app.svc.db.session() as s:
        for fu in s.exec(select(FollowUp).where(FollowUp.customer_id == 3)):
            fu.created_at = now - timedelta(days=30)
            s.add(fu)
    p = plan(app, now, "silent_customers")
    assert keys(p) == {("silent_customer", 3), ("silent_customer_team", 1)}
    assert "释放客户" in next(x.title for x in p if x.rule == "silent_customer_team")


def test_contract_rules(app: App) -> None:
    now = at(2026, 3, 10)
    d = deal(app, 1, 2, now, stage="won")

    def contract(signed: date, due: date | None, amount: int, paid: int = 0) -> int:
        def add(s):  # type: ignore[no-untyped-def]
            c = Contract(deal_id=d, number=f"HT-{signed}", signed_on=signed, amount=Decimal(amount), due_on=due)
            s.add(c)
            s.flush()
            if paid:
                s.add(Payment(contract_id=c.id, amount=Decimal(paid), paid_on=signed))
            return c.id

        return app.svc.db.call(add)

    contract(date(2026, 3, 4), date(2026, 4, 1), 50_000)  # 6 days: below
    assert plan(app, now, "unpaid_contracts") == []
    contract(date(2026, 3, 3), date(2026, 4, 1), 60_000)  # 7 days, no payment, but due in 22 days: not yet
    assert plan(app, now, "unpaid_contracts") == []
    contract(date(2026, 3, 2), date(2026, 3, 15), 60_000)  # due within the 7-day lead: collection list
    [soon] = plan(app, now, "unpaid_contracts")
    assert (soon.rule, soon.recipient_id) == ("unpaid_contract", 1)
    assert "应收日 3月15日(周日)，5天后到期" in soon.line and "签约8天未回款（满7天）" in soon.line
    contract(date(2026, 1, 1), date(2026, 3, 10), 80_000, paid=30_000)  # due today: not yet overdue
    assert len(plan(app, now, "unpaid_contracts")) == 1
    late = plan(app, now + timedelta(days=1), "unpaid_contracts")
    assert keys(late) == {("unpaid_contract", 1), ("payment_overdue", 2), ("payment_overdue", 1)}
    assert "待回 5万" in next(x.line for x in late if x.rule == "payment_overdue")
    # Daily until paid: a new key every day; snoozing the deal silences it.
    day2 = plan(app, now + timedelta(days=2), "unpaid_contracts")
    assert {x.key for x in day2} - {x.key for x in late}
    app.svc.db.call(lambda s: setattr(s.get(Deal, d), "snoozed_until", date(2026, 3, 20)))
    assert plan(app, now + timedelta(days=2), "unpaid_contracts") == []  # its contracts too


def test_quote_without_reply_is_driven_by_the_quote_facts(app: App) -> None:
    now = at(2026, 3, 10)
    h = timedelta(hours=1)
    deal(app, 1, 2, now - 60 * h, stage="quote")  # in the quote stage, but no quote stamped: nothing
    deal(app, 2, 2, now - 60 * h, quote_sent=now - 47 * h - timedelta(minutes=59))  # just below 48 h
    deal(app, 3, 3, now - 60 * h, quote_sent=now - 49 * h, quote_answered=now - 2 * h)  # answered
    assert plan(app, now, "quotes_without_reply") == []
    # Stamped 49 h ago and unanswered: the rep is reminded, whatever the stage says.
    late = deal(app, 4, 3, now - 60 * h, stage="needs", quote_sent=now - 49 * h)
    [p] = plan(app, now, "quotes_without_reply")
    assert (p.rule, p.recipient_id) == ("quote_no_reply", 3) and f"#{late}" in p.line
    assert "sent" in p.facts
    # An answer older than the quote answers an earlier quote, not this one.
    old = deal(app, 2, 2, now - 60 * h, quote_sent=now - 50 * h, quote_answered=now - 70 * h)
    assert keys(plan(app, now, "quotes_without_reply")) == {("quote_no_reply", 2), ("quote_no_reply", 3)}
    app.svc.db.call(lambda s: setattr(s.get(Deal, old), "snoozed_until", date(2026, 3, 20)))
    app.svc.db.call(lambda s: setattr(s.get(Deal, late), "status", "lost"))
    assert plan(app, now, "quotes_without_reply") == []  # snoozed, closed


def test_a_new_quote_can_alert_again(app: App) -> None:
    from store.contracts import stamp_quote_answered, stamp_quote_sent

    now = at(2026, 3, 10)
    d = deal(app, 1, 2, now - timedelta(days=5), quote_sent=now - timedelta(hours=50))
    assert _notify(app, now, "quotes_without_reply") == 1
    assert _notify(app, now + timedelta(hours=5), "quotes_without_reply") == 0  # once per quote
    app.svc.db.call(lambda s: stamp_quote_answered(s.get(Deal, d), now + timedelta(hours=6)))
    assert _notify(app, now + timedelta(days=3), "quotes_without_reply") == 0
    app.svc.db.call(lambda s: stamp_quote_sent(s.get(Deal, d), now + timedelta(days=1)))  # a revised quote
    assert _notify(app, now + timedelta(days=1, hours=47), "quotes_without_reply") == 0
    assert _notify(app, now + timedelta(days=3), "quotes_without_reply") == 1
    assert len({n.dedupe_key for n in _outbox(app)}) == 2


def _scheduled_contract(app: App, deal_id: int, signed: date, amount: int,
                        plan_rows: list[tuple[str, int, date | None]], paid: int = 0) -> int:
    from store import contracts

    def add(s):  # type: ignore[no-untyped-def]
        c = contracts.create_contract(s, s.get(Deal, deal_id), Decimal(amount), signed,
                                      [(label, Decimal(a), due) for label, a, due in plan_rows],
                                      number=f"HT-{signed}")
        if paid:
            contracts.record_payment(s, c, Decimal(paid), signed)
        return c.id

    return app.svc.db.call(add)


def test_overdue_and_unpaid_follow_the_installments(app: App) -> None:
    now = at(2026, 3, 10)
    d = deal(app, 1, 2, now, stage="won")
    schedule = [("首付", 30_000, date(2026, 3, 1)), ("尾款", 70_000, date(2026, 4, 1))]
    c = _scheduled_contract(app, d, date(2026, 2, 20), 100_000, schedule)
    p = plan(app, now, "unpaid_contracts")
    assert keys(p) == {("unpaid_contract", 1), ("payment_overdue", 2), ("payment_overdue", 1)}
    overdue = next(x for x in p if x.rule == "payment_overdue")
    assert overdue.facts["due_on"] == "2026-03-01" and "已逾期9天" in overdue.line
    # 首付 partly paid: still overdue since the 1st; fully paid: quiet until the 尾款 falls due.
    app.svc.db.call(lambda s: s.add(Payment(contract_id=c, amount=Decimal(20_000), paid_on=date(2026, 3, 5))))
    assert "payment_overdue" in {x.rule for x in plan(app, now, "unpaid_contracts")}
    app.svc.db.call(lambda s: s.add(Payment(contract_id=c, amount=Decimal(10_000), paid_on=date(2026, 3, 6))))
    assert plan(app, now, "unpaid_contracts") == []
    assert plan(app, at(2026, 4, 1), "unpaid_contracts") == []  # the 尾款 is due today: not late yet
    # Another contract's payments count for that contract only.
    _scheduled_contract(app, deal(app, 2, 2, now, stage="won"), date(2026, 3, 1), 900_000,
                        [("首付", 300_000, date(2026, 12, 1))], paid=500_000)
    late = [x for x in plan(app, at(2026, 4, 3), "unpaid_contracts") if x.rule == "payment_overdue"]
    assert {x.facts["due_on"] for x in late} == {"2026-04-01"} and "已逾期2天" in late[0].line


def test_unpaid_after_signing_waits_for_the_first_installment(app: App) -> None:
    now = at(2026, 3, 10)
    d = deal(app, 1, 2, now, stage="won")
    # Signed 9 days ago, nothing paid, but the 首付 is only due next month: nobody is chased yet.
    _scheduled_contract(app, d, date(2026, 3, 1), 100_000, [("首付", 30_000, date(2026, 4, 1)),
                                                            ("尾款", 70_000, None)])
    assert plan(app, now, "unpaid_contracts") == []
    # A schedule without any date goes by the signing date, like a contract without a schedule.
    _scheduled_contract(app, d, date(2026, 3, 2), 50_000, [("首付", 20_000, None), ("尾款", 30_000, None)])
    assert keys(plan(app, now, "unpaid_contracts")) == {("unpaid_contract", 1)}
    assert {x.rule for x in plan(app, at(2026, 4, 2), "unpaid_contracts")} == {"unpaid_contract",
                                                                                "payment_overdue"}


def test_weekly_funnel_goes_to_managers(app: App) -> None:
    now = at(2026, 3, 9, 9)
    d = deal(app, 1, 2, now - timedelta(days=20), stage="quote")
    app.svc.db.call(lambda s: repos.set_stage(s, s.get(Deal, d), "trial", None, "command",
                                              now=now - timedelta(days=10)))
    [report] = plan(app, now, "weekly_funnel")
    assert report.recipient_id == 1 and "2026年第11周" in report.title
    assert "试用验证 · 1 · 10万" in report.line and "停滞商机" in report.line


def _notify(app: App, now: datetime, *rules: str) -> int:
    return sum(app.svc.db.call(jobs.run_rules, SETTINGS, now, rules or None).values())


def _outbox(app: App) -> list[Notification]:
    return app.svc.db.call(lambda s: list(s.exec(select(Notification).order_by(Notification.id))))


def test_two_runs_one_notification_and_digest_merging(app: App) -> None:
    now = at(2026, 1, 14)
    for cid in (1, 2):
        deal(app, cid, 2, at(2026, 1, 5))
    assert _notify(app, now) >= 3
    again = _notify(app, now + timedelta(hours=2))
    assert again == 0
    channel = FakeChannel("console")
    app.add_channel(channel)
    sent = asyncio.run(app.notifier.deliver_due(now))
    assert sent == len(_outbox(app))
    by_user = {p.user_id: r.text for p, r in channel.sent}
    assert len(channel.sent) == 2  # zhang's two deals in one message, wang's digest in another
    assert by_user["zhang"].count("#") >= 2 and "满3个工作日" in by_user["zhang"] and "已7个工作日未更新" in by_user["zhang"]
    assert "张伟" in by_user["wang"]
    assert asyncio.run(app.notifier.deliver_due(now + timedelta(minutes=5))) == 0


def test_quiet_hours_defer_and_restart_delivers_pending(app: App, tmp_path: Path) -> None:
    night = at(2026, 1, 14, 22, 30)
    deal(app, 1, 2, at(2026, 1, 5))
    _notify(app, night)
    channel = FakeChannel("console")
    app.add_channel(channel)
    assert asyncio.run(app.notifier.deliver_due(night)) == 0
    assert asyncio.run(app.notifier.deliver_due(at(2026, 1, 15, 8, 29))) == 0
    assert all(n.status == "pending" for n in _outbox(app))
    # The process restarts: a new app on the same database delivers what is pending.
    app2, channel2 = make_app(tmp_path / "a.db", FixedClock(at(2026, 1, 15, 8, 31)))  # the fixture's database
    assert asyncio.run(app2.notifier.deliver_due()) == len(_outbox(app))
    assert len(channel2.sent) == 2 and channel.sent == []  # one digest each for zhang and wang
    app2.svc.db.dispose()


class FlakyChannel(FakeChannel):
    def __init__(self, failures: int) -> None:
        super().__init__("console")
        self.failures = failures

    async def send(self, to, reply):  # type: ignore[no-untyped-def]
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("gateway 502")
        await super().send(to, reply)


def test_failure_then_success_delivers_once_and_dead_after_max(app: App) -> None:
    now = at(2026, 1, 14)
    deal(app, 1, 2, at(2026, 1, 12, 9), stage="quote", quote_sent=at(2026, 1, 12, 9))  # quote > 48 h: zhang only
    _notify(app, now, "quotes_without_reply")
    flaky = FlakyChannel(failures=1)
    app.add_channel(flaky)
    assert asyncio.run(app.notifier.deliver_due(now)) == 0
    [row] = _outbox(app)
    assert row.status == "pending" and row.attempts == 1 and "502" in row.last_error
    assert asyncio.run(app.notifier.deliver_due(now + timedelta(seconds=59))) == 0  # backing off
    assert asyncio.run(app.notifier.deliver_due(now + timedelta(seconds=60))) == 1
    assert len(flaky.sent) == 1 and _outbox(app)[0].status == "sent"

    deal(app, 2, 2, at(2026, 1, 12, 9), stage="quote", quote_sent=at(2026, 1, 12, 9))
    _notify(app, now, "quotes_without_reply")
    flaky.failures = 100
    t = now
    for _ in range(SETTINGS.alerts.max_attempts):
        asyncio.run(app.notifier.deliver_due(t))
        t += timedelta(hours=1)  # past every backoff, outside quiet hours
    rows = app.svc.db.call(alerts.notifications, "dead")
    assert len(rows) == 1 and rows[0].attempts == SETTINGS.alerts.max_attempts
    assert len(flaky.sent) == 1


def test_snooze_release_and_push_log_commands(tmp_path: Path) -> None:
    from tests.conftest import Bot

    clock = FixedClock(at(2026, 1, 14))
    if PG_URL:
        reset_postgres()
    app, channel = make_app(tmp_path / "b.db", clock)
    seed_team(app)
    bot = Bot(app, channel, clock, tmp_path / "b.db")
    d = deal(app, 1, 2, at(2026, 1, 5))
    assert "1月21日" in bot.say("zhang", f"暂停提醒 {d} 7")
    assert plan(app, at(2026, 1, 14), "stale_deals") == []
    assert keys(plan(app, at(2026, 1, 21), "stale_deals"))  # back after the snooze
    assert "没有找到商机或合同" in bot.say("li", f"暂停提醒 {d} 7")
    assert "用法" in bot.say("zhang", f"暂停提醒 {d}")
    assert "只对主管" in bot.say("zhang", "释放客户 1")
    assert "放回公海" in bot.say("wang", "释放客户 1")
    assert app.svc.db.call(lambda s: s.get(__import__("store.models", fromlist=["Customer"]).Customer, 1)).owner_id is None
    assert "没有发出提醒" in bot.say("wang", "提醒记录")
    deal(app, 3, 3, at(2026, 1, 5))
    _notify(app, at(2026, 1, 21))
    log = bot.say("wang", "提醒记录")
    assert "李娜" in log and "王经理" in log
    assert "李娜" not in bot.say("zhang", "提醒记录")
    app.svc.db.dispose()


def test_weekly_funnel_is_delivered_with_a_chart(app: App) -> None:
    now = at(2026, 3, 9, 9)
    deal(app, 1, 2, now - timedelta(days=20), stage="quote")
    assert _notify(app, now, "weekly_funnel") == 1
    channel = FakeChannel("console")
    app.add_channel(channel)
    assert asyncio.run(app.notifier.deliver_due(now)) == 1
    [(peer, reply)] = channel.sent
    assert peer.user_id == "wang" and "销售漏斗周报" in reply.text and "方案报价 · 1 · 10万" in reply.text
    assert reply.image is not None and reply.image.startswith(b"\x89PNG")


def test_cron_job_on_the_real_clock_with_time_machine(tmp_path: Path) -> None:
    """The production path (SystemClock, cron job, delivery loop) with the wall clock moved."""
    import time_machine

    from handlers.router import SystemClock
    from scheduler.setup import ClockJob, run_job

    if PG_URL:
        reset_postgres()
    app, channel = make_app(tmp_path / "tm.db", SystemClock())  # type: ignore[arg-type]
    seed_team(app)
    deal(app, 1, 2, at(2026, 1, 5))
    with time_machine.travel(at(2026, 1, 14, 22, 0), tick=False):  # Wednesday night: queued, not sent
        rules = ClockJob("rules", "0 10 * * *", jobs.DAILY_RULES)
        assert asyncio.run(run_job(app.svc, rules)) == 2  # zhang, and wang after 5 working days
        assert asyncio.run(app.notifier.deliver_due()) == 0
        assert asyncio.run(run_job(app.svc, rules)) == 0  # a second run adds nothing
    with time_machine.travel(at(2026, 1, 15, 8, 31), tick=False):  # quiet hours over
        assert asyncio.run(app.notifier.deliver_due()) == 2
    assert {p.user_id for p, _ in channel.sent} == {"zhang", "wang"}
    app.svc.db.dispose()


def test_morning_digest_lists_the_customers_commitments_apart(app: App) -> None:
    from handlers import texts

    app.svc.db.call(lambda s: s.add_all([
        ActionItem(assignee_id=2, customer_id=1, text="寄样品给王总", due=date(2026, 1, 13), owner_kind="self"),
        ActionItem(assignee_id=2, customer_id=1, text="恒达：付首款", due=date(2026, 1, 12), owner_kind="customer"),
    ]))
    pushes = plan(app, at(2026, 1, 13, 9), "due_items")
    by_title = {p.title: p.line for p in pushes}
    assert set(by_title) == {texts.ALERT_TODO, texts.ALERT_TODO_CUSTOMER}
    assert "【客户】恒达：付首款" in by_title[texts.ALERT_TODO_CUSTOMER] and "已逾期1天" in by_title[
        texts.ALERT_TODO_CUSTOMER]
    assert "【客户】" not in by_title[texts.ALERT_TODO]
    lines = texts.render_digest([texts.alert_item(app.svc.settings, p.rule, p.facts, at(2026, 1, 13, 9))
                                 for p in pushes]).splitlines()
    assert "付首款" in lines[lines.index(texts.ALERT_TODO_CUSTOMER) + 1]  # each under its own heading
    assert "寄样品给王总" in lines[lines.index(texts.ALERT_TODO) + 1]


def test_morning_digest_shows_the_time_a_to_do_is_due(app: App) -> None:
    from datetime import time

    app.svc.db.call(lambda s: s.add(ActionItem(assignee_id=2, customer_id=1, text="去现场演示",
                                               due=date(2026, 1, 13), due_time=time(15, 30), owner_kind="self")))
    [push] = plan(app, at(2026, 1, 13, 9), "due_items")
    assert "今天 15:30到期" in push.line
