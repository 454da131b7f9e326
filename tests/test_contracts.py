"""签约 / 收款 / 回款 through the dispatcher, the contract store, and migration 0008 up and down."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from store import contracts
from store.models import Contract, Deal, Installment, Payment, StageChange
from tests.conftest import NOW, PG_URL, Bot, reset_postgres

# NOW is Monday 2026-01-05 (Asia/Shanghai): 下周五 = Jan 16, 月底 = Jan 31.
SIGN = "签约 恒达 120万 首付30% 下周五 尾款70% 验收后"


def rows(bot: Bot, model: type) -> list:  # type: ignore[type-arg]
    return bot.db(lambda s: list(s.exec(select(model).order_by(model.id))))  # type: ignore[attr-defined]


def open_deal(bot: Bot, customer_id: int = 1, owner_id: int = 2, stage: str = "quote") -> int:
    def add(s):  # type: ignore[no-untyped-def]
        d = Deal(customer_id=customer_id, owner_id=owner_id, title="d", stage=stage, amount=Decimal(900_000),
                 amount_kind="quote", last_activity_at=NOW - timedelta(days=3))
        s.add(d)
        s.flush()
        return d.id

    return bot.db(add)


def test_sign_creates_contract_schedule_and_wins_the_open_deal(bot: Bot) -> None:
    deal_id = open_deal(bot)
    reply = bot.say("zhang", SIGN, msg_id="s1")
    [c] = rows(bot, Contract)
    assert (c.deal_id, c.amount, c.signed_on, c.due_on) == (deal_id, 1_200_000, date(2026, 1, 5), date(2026, 1, 16))
    assert (c.created_by_id, c.source_key, c.number) == (2, "console:s1", None)
    assert [(i.seq, i.label, i.amount, i.due_on) for i in rows(bot, Installment)] == [
        (1, "首付", 360_000, date(2026, 1, 16)), (2, "尾款", 840_000, None)]
    [deal] = rows(bot, Deal)
    assert (deal.stage, deal.status, deal.amount, deal.amount_kind) == ("won", "won", 1_200_000, "order")
    assert deal.last_activity_at == NOW
    assert [(h.from_stage, h.to_stage) for h in rows(bot, StageChange)] == [("quote", "won")]
    assert f"合同 #{c.id}" in reply and "苏州恒达精密机械有限公司" in reply and "合同额 120万" in reply
    assert "首付 36万 · 1月16日(周五)" in reply and "尾款 84万 · 日期未定" in reply
    assert f"商机 #{deal_id} 已转为赢单" in reply


def test_sign_without_an_open_deal_creates_a_won_one(bot: Bot) -> None:
    reply = bot.say("zhang", "签约 宏远 80万 合同号 HT-2026-007 首付三成 月底")
    [deal] = rows(bot, Deal)
    assert (deal.customer_id, deal.owner_id, deal.stage, deal.status, deal.amount) == (2, 2, "won", "won", 800_000)
    [c] = rows(bot, Contract)
    assert c.number == "HT-2026-007" and c.due_on == date(2026, 1, 31)
    # The 70% nobody dated becomes the remainder, so the schedule adds up to the contract.
    assert [(i.label, i.amount, i.due_on) for i in rows(bot, Installment)] == [
        ("首付", 240_000, date(2026, 1, 31)), ("余款", 560_000, None)]
    assert "合同 HT-2026-007" in reply and "余款 56万" in reply
    assert "合同号「HT-2026-007」已经用在" in bot.say("zhang", "签约 恒达 10万 合同号 HT-2026-007")
    assert len(rows(bot, Contract)) == 1


def test_payment_balance_and_receivables(bot: Bot) -> None:
    bot.say("zhang", SIGN)
    reply = bot.say("zhang", "收款 恒达 36万")
    [p] = rows(bot, Payment)
    assert (p.amount, p.paid_on) == (360_000, date(2026, 1, 5))
    assert "已回 36万 / 合同额 120万，待回 84万" in reply and "下一笔：尾款 84万" in reply
    listing = bot.say("zhang", "回款")
    assert "未回款合同 1 份，待回款合计 84万" in listing
    assert "已回 36万，待回 84万" in listing and "尾款 84万 · 日期未定 · 待付" in listing
    assert "首付" not in listing  # paid off: not listed as open
    assert "这份合同已全部回款" in bot.say("zhang", "收款 #1 84万 今天")
    assert "已经全部回款" in bot.say("zhang", "收款 #1 84万") and len(rows(bot, Payment)) == 2
    assert "没有未回款的合同" in bot.say("zhang", "回款")


def test_receivables_count_overdue_days_from_the_installments(bot: Bot) -> None:
    bot.say("zhang", SIGN)
    bot.clock.advance(days=4)  # Friday Jan 9: nothing due yet
    assert "应收日 1月16日(周五)" in bot.say("zhang", "回款")
    bot.clock.advance(days=10)  # Monday Jan 19: the 首付 is 3 days late, the 尾款 is undated
    listing = bot.say("zhang", "回款")
    assert "待回 120万 · 已逾期3天" in listing
    assert "首付 36万 · 1月16日(周五) · 已逾期3天" in listing and "尾款 84万 · 日期未定 · 待付" in listing
    bot.say("zhang", "收款 恒达 36万")
    assert "已逾期" not in bot.say("zhang", "回款")  # paid: the 尾款 has no date to be late against


def test_reps_act_only_on_their_own_customers(bot: Bot) -> None:
    bot.say("zhang", SIGN)
    refused = bot.say("li", "签约 恒达 50万")
    assert "不是你负责的客户" in refused and len(rows(bot, Contract)) == 1
    assert "没有找到合同「#1」" in bot.say("li", "收款 #1 10万")
    assert "不是你负责的客户" in bot.say("li", "收款 恒达 10万")
    assert rows(bot, Payment) == []
    assert "没有未回款的合同" in bot.say("li", "回款")
    assert "苏州恒达" in bot.say("wang", "回款")  # the manager sees the team's
    assert "已记录收款" in bot.say("wang", "收款 #1 10万")
    # A deal another rep owns on a customer this rep can see (the public pool) is not theirs to close.
    bot.db(lambda s: setattr(s.get(__import__("store.models", fromlist=["Customer"]).Customer, 3), "owner_id", None))
    open_deal(bot, customer_id=3, owner_id=4)  # zhao's, outside zhang's scope
    assert "由其他同事负责" in bot.say("zhang", "签约 康博 20万")
    assert len(rows(bot, Contract)) == 1


@pytest.mark.parametrize("text, words", [
    ("签约", "用法：签约"),
    ("签约 恒达", "没看到合同金额"),
    ("签约 恒达 首付30% 下周五", "没看到合同金额"),
    ("签约 恒达 -120万", "不能是负数或零"),
    ("签约 不存在的公司 10万", "没找到客户「不存在的公司」"),
    ("签约 恒达 10万 首付 下周五 尾款 验收后", "「首付」没写比例或金额"),
    ("签约 恒达 10万 首付8万 尾款5万", "合计超过了合同金额 10万"),
    ("签约 恒达 10万 下周五", "签约日期不能晚于今天"),
    ("收款", "用法：收款"),
    ("收款 恒达", "没看到收款金额"),
    ("收款 恒达 -5万", "不能是负数或零"),
    ("收款 恒达 0元", "不能是负数或零"),
    ("收款 HT-9999 5万", "没有找到合同「HT-9999」"),
    ("收款 #999 5万", "没有找到合同「#999」"),
    ("收款 不存在的公司 5万", "没找到客户「不存在的公司」"),
    ("收款 恒达 5万", "没有待回款的合同"),
    ("收款 恒达 5万 下周五", "还没到"),
])
def test_bad_input_is_explained_and_stores_nothing(bot: Bot, text: str, words: str) -> None:
    reply = bot.say("zhang", text)
    assert words in reply
    assert rows(bot, Contract) == [] and rows(bot, Payment) == [] and rows(bot, Deal) == []


def test_overpayment_and_several_contracts_are_asked_about(bot: Bot) -> None:
    bot.say("zhang", "签约 恒达 30万")
    assert "超过了合同 #1 的待回金额 30万" in bot.say("zhang", "收款 恒达 31万")
    bot.say("zhang", "签约 恒达 20万 合同号 HT-B")
    ask = bot.say("zhang", "收款 恒达 5万")
    assert "有 2 份待回款的合同" in ask and "#1" in ask and "HT-B" in ask
    assert rows(bot, Payment) == []
    assert "合同 HT-B" in bot.say("zhang", "收款 ht-b 5万")  # numbers match case-insensitively
    assert [(p.contract_id, p.amount) for p in rows(bot, Payment)] == [(2, 50_000)]


def test_a_replayed_message_signs_and_books_once(bot: Bot) -> None:
    first = bot.say("zhang", SIGN, msg_id="x")
    assert bot.say("zhang", SIGN, msg_id="x") == ""  # the dispatcher drops the duplicate delivery
    assert bot.replay("x") == first  # processed again after a crash: same answer, nothing new
    assert len(rows(bot, Contract)) == 1 and len(rows(bot, Installment)) == 2
    paid = bot.say("zhang", "收款 恒达 36万", msg_id="y")
    assert bot.say("zhang", "收款 恒达 36万", msg_id="y") == ""
    assert bot.replay("y") == paid
    assert [p.amount for p in rows(bot, Payment)] == [360_000]


def test_store_functions_keep_due_on_and_refuse_undo_after_payment(bot: Bot) -> None:
    deal_id = open_deal(bot)

    def make(s):  # type: ignore[no-untyped-def]
        deal = s.get(Deal, deal_id)
        plan = [("首付", Decimal(10), date(2026, 3, 1)), ("进度款", Decimal(20), date(2026, 2, 1)),
                ("尾款", Decimal(70), None)]
        a = contracts.create_contract(s, deal, Decimal(100), date(2026, 1, 5), plan, number="A-1", followup_id=None)
        b = contracts.create_contract(s, deal, Decimal(50), date(2026, 1, 6), [])
        return a.id, a.due_on, b.id, b.due_on

    a, a_due, b, b_due = bot.db(make)
    assert a_due == date(2026, 2, 1) and b_due is None  # the earliest dated installment; none: None
    assert [c.id for c in bot.db(contracts.contracts_of_customer, 1)] == [a, b]
    assert bot.db(contracts.contract_by_number, "a-1").id == a
    assert bot.db(lambda s: contracts.record_payment(s, s.get(Contract, a), Decimal(5), date(2026, 1, 7))).id
    assert bot.db(contracts.delete_contract, a) is False  # money received: kept
    assert bot.db(contracts.delete_contract, b) is True
    assert bot.db(contracts.delete_contract, b) is False
    assert [c.id for c in rows(bot, Contract)] == [a] and len(rows(bot, Installment)) == 3
    with pytest.raises(ValueError):
        bot.db(lambda s: contracts.create_contract(s, s.get(Deal, deal_id), Decimal(10), date(2026, 1, 5),
                                                   [("首付", Decimal(11), None)]))
    with pytest.raises(ValueError):
        bot.db(lambda s: contracts.record_payment(s, s.get(Contract, a), Decimal(0), date(2026, 1, 7)))


def test_receivable_applies_payments_earliest_due_first(bot: Bot) -> None:
    deal_id = open_deal(bot)

    def make(s):  # type: ignore[no-untyped-def]
        plan = [("首付", Decimal(30), date(2026, 1, 10)), ("进度款", Decimal(30), date(2026, 2, 10)),
                ("尾款", Decimal(40), None)]
        c = contracts.create_contract(s, s.get(Deal, deal_id), Decimal(100), date(2026, 1, 5), plan)
        contracts.record_payment(s, c, Decimal(45), date(2026, 1, 9))
        [r] = contracts.receivables(s, None)
        return r

    r = bot.db(make)
    assert [x.outstanding for x in r.schedule()] == [0, 15, 40]
    assert r.next_due().installment.label == "进度款" and r.balance == 55
    assert r.due_by(date(2026, 2, 9)) == 0 and r.due_by(date(2026, 2, 10)) == 15
    assert r.days_overdue(date(2026, 2, 10)) == 0 and r.days_overdue(date(2026, 2, 13)) == 3


def test_migration_0008_up_and_down_with_data(tmp_path: Path) -> None:
    """Upgrade and downgrade in place on the test database (SQLite, or PostgreSQL when
    SALESBOT_TEST_DATABASE_URL is set), with rows in the tables it changes."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect, text
    from sqlmodel import SQLModel

    from store.db import Database, alembic_config, ours

    if PG_URL:
        reset_postgres()  # an empty schema at head
    db = Database(PG_URL or f"sqlite:///{tmp_path / 'm.db'}")
    if not PG_URL:
        db.ensure_schema()
    cfg = alembic_config(db.url)

    def migrate(fn, rev: str) -> None:  # type: ignore[no-untyped-def]
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, rev)

    ts = "'2026-01-01 00:00:00'"
    with db.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO users (id, name, role, active, created_at) VALUES (1, 'u', 'rep', true, {ts})"))
        conn.execute(text("INSERT INTO customers (id, name, normalized_name, aliases, owner_id, created_at, updated_at,"
                          f" last_touch_at) VALUES (1, 'c', 'c', '[]', 1, {ts}, {ts}, {ts})"))
        conn.execute(text("INSERT INTO deals (id, customer_id, owner_id, title, stage, status, amount_kind, "
                          "quote_sent_at, last_activity_at, created_at, updated_at) VALUES "
                          f"(1, 1, 1, 'd', 'won', 'won', 'order', {ts}, {ts}, {ts}, {ts})"))
        conn.execute(text("INSERT INTO contracts (id, deal_id, signed_on, amount, due_on, created_by_id, source_key, "
                          f"created_at) VALUES (1, 1, '2026-01-01', 100, '2026-02-01', 1, 'console:a', {ts})"))
        conn.execute(text("INSERT INTO installments (contract_id, seq, amount, due_on, label) VALUES "
                          "(1, 1, 30, '2026-02-01', 'a'), (1, 2, 70, NULL, 'b')"))
        conn.execute(text("INSERT INTO payments (contract_id, amount, paid_on, source_key, created_at) VALUES "
                          f"(1, 30, '2026-01-02', 'console:b', {ts})"))
    migrate(command.downgrade, "0007")
    assert db.current_revision() == "0007"
    insp = inspect(db.engine)
    assert "installments" not in insp.get_table_names()
    assert not {"followup_id", "created_by_id", "source_key"} & {c["name"] for c in insp.get_columns("contracts")}
    assert not {"amount_kind", "quote_sent_at"} & {c["name"] for c in insp.get_columns("deals")}
    with db.engine.connect() as conn:  # the rows that predate 0008's columns are still there
        assert conn.execute(text("SELECT count(*) FROM payments")).scalar() == 1
        assert conn.execute(text("SELECT amount FROM contracts")).scalar() == 100
    migrate(command.upgrade, "head")
    assert db.current_revision() == db.head_revision()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={"include_name": ours}), SQLModel.metadata) == []
    db.dispose()
    if PG_URL:
        reset_postgres()  # leave an empty schema for the tests that follow


def test_a_past_date_outside_the_schedule_is_the_signing_date(bot: Bot) -> None:
    reply = bot.say("li", "签约 锦泰 20万 上周五 首付一半 月底")
    [c] = rows(bot, Contract)
    assert c.signed_on == date(2026, 1, 2) and c.due_on == date(2026, 1, 31)
    assert "签约日期 1月2日(周五)" in reply and "首付 10万 · 1月31日(周六)" in reply
