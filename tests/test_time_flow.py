"""Times of day, holidays, deadlines and impossible days from a note to the rep's to-do list and
back through 改 日期 (console channel, SQLite on disk).  The bot's clock is Mon 2026-01-05."""
from __future__ import annotations

from datetime import date, time

from sqlmodel import select

from extraction.holidays import NATIONAL, first_workday_after, occurrence
from store.models import ActionItem
from tests.conftest import Bot


def _items(bot: Bot) -> list[ActionItem]:
    return bot.db(lambda s: list(s.exec(select(ActionItem).order_by(ActionItem.id))))


def test_a_time_of_day_stays_with_the_to_do(bot: Bot) -> None:
    reply = bot.say("zhang", "今天去苏州恒达见了采购部王总，明天下午三点我再带工程师过去做演示。")
    assert "1月6日(周二) 15:00" in reply
    [item] = _items(bot)
    assert item.due == date(2026, 1, 6) and item.due_time == time(15, 0)
    assert "1月6日(周二) 15:00" in bot.say("zhang", "待办")


def test_a_week_deadline_is_due_on_its_last_working_day(bot: Bot) -> None:
    bot.say("zhang", "今天去苏州恒达见了采购部王总，这周内我把报价发给他。")
    [item] = _items(bot)
    assert item.due == date(2026, 1, 9)  # Friday of the week of Mon 2026-01-05


def test_correcting_the_date_with_a_holiday_or_a_time(bot: Bot) -> None:
    bot.say("zhang", "今天去苏州恒达见了采购部王总，周五前我把报价发给他。")
    occ = occurrence(NATIONAL, 2026)
    assert occ is not None and occ.published
    reply = bot.say("zhang", "改 日期 国庆后")
    [item] = _items(bot)
    assert item.due == first_workday_after(occ.end) and item.due_time is None
    reply = bot.say("zhang", "改 日期 下周三上午10点")
    [item] = _items(bot)
    assert item.due == date(2026, 1, 14) and item.due_time == time(10, 0)
    assert "1月14日(周三) 10:00" in reply
    assert "没看懂日期" in bot.say("zhang", "改 日期 下个季度")  # a period names no single day


def test_an_impossible_day_is_asked_about_not_shifted(bot: Bot) -> None:
    reply = bot.say("zhang", "今天去苏州恒达见了采购部王总，2月30号前我把合同发给他。")
    assert "「2月30号」不是日历上有的日子" in reply
    assert all(i.due is None for i in _items(bot))


def test_a_time_said_with_another_mention_of_the_same_day_does_not_move_over(bot: Bot) -> None:
    bot.say("zhang", "今天去苏州恒达见了采购部王总，明天下午三点我带工程师过去，周二前把报价发给他。")
    items = {i.text: i for i in _items(bot)}
    assert [i.due for i in items.values()] == [date(2026, 1, 6)] * 2  # both Tuesday
    quote = next(i for t, i in items.items() if "报价" in t)
    visit = next(i for t, i in items.items() if "报价" not in t)
    assert visit.due_time == time(15, 0) and quote.due_time is None


def test_times_no_to_do_shows_are_still_in_the_reply(bot: Bot) -> None:
    from handlers.texts import fmt_date

    today = date(2026, 1, 5)
    reply = bot.say("zhang", "今天去苏州恒达见了采购部王总，他们下个季度定供应商，周五前我把报价发给他。")
    q2 = f"下个季度（{fmt_date(date(2026, 4, 1), today)}–{fmt_date(date(2026, 6, 30), today)}）"
    assert "时间：" + q2 in reply
    assert "今天（" not in reply and "周五（" not in reply  # today, and a date a to-do shows
