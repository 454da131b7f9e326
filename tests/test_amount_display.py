"""Amounts in replies and bookings as they were written: estimates, ranges, other currencies and
unit prices are shown as such and never booked as exact yuan."""
from __future__ import annotations

from sqlmodel import select

from store import repos
from store.models import Contract
from tests.conftest import Bot


def test_other_currency_is_shown_in_it_and_never_becomes_the_deal_amount(bot: Bot) -> None:
    reply = bot.say("zhang", "今天去苏州恒达见了采购部王总，对方的进口线报价是12万美元，下周三前我把方案发给他。")
    assert "12万美元" in reply
    deal = bot.db(repos.open_deal_for, 1)
    assert deal is None or deal.amount is None


def test_estimate_and_range_are_marked(bot: Bot) -> None:
    reply = bot.say("zhang", "今天去苏州恒达见了采购部王总，他们预算在20到30万之间，周五前我把报价发给他。")
    assert "20万–30万" in reply
    reply = bot.say("zhang", "今天又去苏州恒达见了王总，这批刀具大约6万左右，周五前发报价。")
    assert "约6万" in reply


def test_unit_price_keeps_its_unit(bot: Bot) -> None:
    reply = bot.say("zhang", "今天去苏州恒达见了采购部王总，夹具单价2800元/台，周五前我把报价发给他。")
    assert "2800元/台" in reply


def test_signing_in_another_currency_or_a_range_is_refused_with_a_reason(bot: Bot) -> None:
    for args in ("恒达 3万美元", "恒达 20-30万", "恒达 约30万"):
        reply = bot.say("zhang", f"签约 {args}")
        assert "确切的人民币金额" in reply, args
    assert bot.db(lambda s: list(s.exec(select(Contract)))) == []
