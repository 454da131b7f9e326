"""The product core end to end through the console channel on a temporary SQLite file."""
from __future__ import annotations

import asyncio
import re
from datetime import date

from sqlmodel import select

from bot.console import console_message
from store import repos
from store.models import ActionItem, Deal, FollowUp, InboxMessage, StageChange
from tests.conftest import NOW, Bot, make_app
from tests.fakes import FixedClock

NOTE = "今天去苏州恒达见了采购部王总，他们想换一批数控车床，预算大概八十万，周五前我把报价发给他。"


def _followups(bot: Bot) -> list[FollowUp]:
    return bot.db(lambda s: list(s.exec(select(FollowUp).order_by(FollowUp.id))))


def _items(bot: Bot) -> list[ActionItem]:
    return bot.db(lambda s: list(s.exec(select(ActionItem).order_by(ActionItem.id))))


def test_note_is_recorded_and_shown_by_query(bot: Bot) -> None:
    reply = bot.say("zhang", NOTE)
    assert "已记录 #1" in reply
    assert "苏州恒达精密机械有限公司" in reply
    assert "采购部王总" in reply
    assert "80万" in reply
    assert "1月9日(周五)" in reply  # 周五前, from Monday 2026-01-05
    [fu] = _followups(bot)
    assert fu.customer_id == 1 and fu.author_id == 2
    assert fu.extracted["customer_span"] is not None  # evidence kept with the record
    [item] = _items(bot)
    assert item.due == date(2026, 1, 9) and item.customer_id == 1 and item.status == "open"
    deal = bot.db(repos.open_deal_for, 1)
    assert deal is not None and deal.amount == 800000

    card = bot.say("zhang", "查 恒达")
    assert "【苏州恒达精密机械有限公司】" in card
    assert "周五前我把报价发给他" in card  # the follow-up text
    assert f"#{item.id}" in card  # the open to-do
    todo = bot.say("zhang", "待办")
    assert f"#{item.id} 1月9日(周五)" in todo


def test_corrections_change_the_last_record(bot: Bot) -> None:
    bot.say("zhang", NOTE)
    reply = bot.say("zhang", "改 日期 下周三")
    assert "1月14日(周三)" in reply
    [item] = _items(bot)
    assert item.due == date(2026, 1, 14)
    [fu] = _followups(bot)
    assert fu.next_follow_up == date(2026, 1, 14) and fu.corrected

    reply = bot.say("zhang", "改 金额 50万")
    assert "50万" in reply
    assert bot.db(repos.open_deal_for, 1).amount == 500000
    assert len(_items(bot)) == 1  # re-applying a correction does not duplicate to-dos

    reply = bot.say("zhang", "改 客户 无锡宏远")
    assert "无锡宏远数控设备有限公司" in reply
    [fu] = _followups(bot)
    assert fu.customer_id == 2
    assert _items(bot)[0].customer_id == 2
    assert bot.db(repos.open_deal_for, 1) is None  # the deal the note created moved with it
    assert bot.db(repos.open_deal_for, 2) is not None

    assert "没看懂日期" in bot.say("zhang", "改 日期 某天")
    assert "没看懂金额" in bot.say("zhang", "改 金额 很多")
    assert "用法" in bot.say("zhang", "改 客户")


def test_undo_reverts_record_todos_and_deal(bot: Bot) -> None:
    def make_deal(s):  # type: ignore[no-untyped-def]
        deal = Deal(customer_id=1, owner_id=2, title="恒达", stage="contacted", last_activity_at=NOW)
        s.add(deal)
        s.flush()
        return deal.id

    deal_id = bot.db(make_deal)
    bot.say("zhang", "今天去苏州恒达，王总说我们的报价偏高，要再降五个点，周五前我把新报价发过去")
    deal = bot.db(lambda s: s.get(Deal, deal_id))
    assert deal.stage == "quote"
    reply = bot.say("zhang", "撤销", msg_id="undo-1")
    assert "已撤销记录 #1" in reply
    assert _followups(bot)[0].status == "revoked"
    assert _items(bot) == []
    deal = bot.db(lambda s: s.get(Deal, deal_id))
    assert deal.stage == "contacted" and deal.last_activity_at == NOW
    # The same 撤销 delivered again must not undo anything else.
    bot.say("zhang", NOTE)
    assert bot.say("zhang", "撤销", msg_id="undo-1") == ""  # dropped at the inbox
    assert "已经撤销过" in bot.replay("undo-1")  # and even if processed again
    assert [f.status for f in _followups(bot)] == ["revoked", "active"]
    recent = bot.say("zhang", "查 恒达").split("最近跟进")[1].split("未完成待办")[0]
    assert "#2 " in recent and "#1 " not in recent  # only the surviving note is listed


def test_done_and_stage_commands(bot: Bot) -> None:
    bot.say("zhang", NOTE)
    [item] = _items(bot)
    assert f"已完成待办 #{item.id}" in bot.say("zhang", f"完成 {item.id}")
    assert "已经完成过了" in bot.say("zhang", f"完成 {item.id}")
    assert "没有编号为 999" in bot.say("zhang", "完成 999")
    assert "没有未完成的待办" in bot.say("zhang", "待办")

    deal = bot.db(repos.open_deal_for, 1)
    reply = bot.say("zhang", f"阶段 {deal.id} 谈判")
    assert "→ 商务谈判" in reply
    assert "已经在" in bot.say("zhang", f"阶段 {deal.id} negotiation")
    assert "没有「飞升」这个阶段" in bot.say("zhang", f"阶段 {deal.id} 飞升")
    history = bot.db(repos.stage_history, deal.id)
    assert history[-1].to_stage == "negotiation" and history[-1].source == "command"
    reply = bot.say("zhang", f"/stage {deal.id} won")
    assert bot.db(lambda s: s.get(Deal, deal.id)).status == "won"
    assert "#" + str(deal.id) not in bot.say("zhang", "我的商机")  # won deals leave the open list


def test_permissions(bot: Bot) -> None:
    bot.say("li", "今天拜访了康博的胡科长，他们的监护仪要对接HIS系统，下周二我带工程师过去演示")
    assert "不是你负责的客户" in bot.say("zhang", "查 康博")
    assert "胡科长" not in bot.say("zhang", "查 康博")
    card = bot.say("wang", "查 康博")  # the manager of both reps
    assert "【康博生物医疗科技(上海)有限公司】" in card and "李娜" in card
    assert "不是你负责的客户" in bot.say("zhao", "查 康博")  # another team's rep
    [item] = _items(bot)
    assert "没有编号为" in bot.say("zhang", f"完成 {item.id}")
    deal = bot.db(repos.open_deal_for, 3)
    assert "没有编号为" in bot.say("zhang", f"阶段 {deal.id} 赢单")
    assert "只对主管开放" in bot.say("zhang", "团队")
    team = bot.say("wang", "团队")
    assert "张伟" in team and "李娜" in team and "赵强" not in team
    # A rep's note about a colleague's customer is not attached to it.
    reply = bot.say("zhang", "今天去康博见了胡科长，聊了下周的安排")
    assert "其他同事负责" in reply
    assert _followups(bot)[-1].customer_id is None


def test_same_message_twice_stores_one_record(bot: Bot) -> None:
    first = bot.say("zhang", NOTE, msg_id="wx-1")
    again = bot.say("zhang", NOTE, msg_id="wx-1")
    assert "已记录" in first and again == ""  # the duplicate is dropped at the inbox
    assert len(_followups(bot)) == 1 and len(_items(bot)) == 1
    inbox = bot.db(lambda s: list(s.exec(select(InboxMessage))))
    assert len(inbox) == 1 and inbox[0].status == "done"


def test_replayed_processing_is_idempotent(bot: Bot) -> None:
    """Processing the same stored message twice (crash after saving) stores one record and
    answers once: the answer is kept with the message (store/replies.py)."""
    msg = console_message("zhang", NOTE, "wx-2", NOW)

    async def twice() -> tuple[str, str]:
        first = await bot.app.dispatcher.process(1, msg)
        second = await bot.app.dispatcher.process(1, msg)
        return first.text, second.text

    bot.db(repos.inbox_insert, "console", "wx-2", "zhang", "text", {}, NOW)
    first, second = asyncio.run(twice())
    assert len(_followups(bot)) == 1 and len(_items(bot)) == 1
    assert first == second and bot.channel.texts() == [first]


def test_crash_between_inbox_write_and_processing_resumes(bot: Bot) -> None:
    app1 = bot.app

    async def crash() -> None:
        stored = await app1.dispatcher.submit(console_message("zhang", NOTE, "wx-3", NOW))
        assert stored
        # The process dies here: the loop ends before the worker runs.

    asyncio.run(crash())
    assert _followups(bot) == []
    rows = bot.db(repos.inbox_pending)
    assert [r.msg_id for r in rows] == ["wx-3"]

    app2, channel2 = make_app(bot.path, FixedClock(NOW))

    async def restart() -> None:
        await app2.start()
        await app2.dispatcher.drain()

    asyncio.run(restart())
    assert len(_followups(bot)) == 1
    assert "已记录" in channel2.last()
    assert bot.db(repos.inbox_pending) == []
    app2.svc.db.dispose()


def test_bad_inputs_get_helpful_replies(bot: Bot) -> None:
    assert "空消息" in bot.say("zhang", "   ")
    long_reply = bot.say("zhang", "今天去恒达" * 2000)
    assert "10000 个字" in long_reply and "分几条" in long_reply
    assert "没看懂" in bot.say("zhang", "😀😀😀🎉")
    assert "没看懂" in bot.say("zhang", "1234567890")
    assert "没有「/frobnicate」这个命令" in bot.say("zhang", "/frobnicate now")
    assert "开通" in bot.say("stranger", "我的商机")
    assert _followups(bot) == []
    assert "我的商机" in bot.say("zhang", "/help")


def test_ambiguous_customer_is_asked_and_picked(bot: Bot) -> None:
    def more(s):  # type: ignore[no-untyped-def]
        from handlers.crm import normalized_name

        repos.add_customer(s, "恒达建材有限公司", normalized_name("恒达建材有限公司"), 2, "杭州")

    bot.db(more)
    reply = bot.say("zhang", "今天去恒达聊了一下，王总说下周二给答复")
    assert "你说的是哪一家" in reply and "未关联客户" in reply
    options = re.findall(r"(\d)\) (\S+)", reply)
    assert {name for _, name in options} == {"苏州恒达精密机械有限公司", "恒达建材有限公司"}
    assert _followups(bot)[0].customer_id is None
    assert "请回复 1 到 2" in bot.say("zhang", "7")
    n = next(n for n, name in options if name == "苏州恒达精密机械有限公司")
    picked = bot.say("zhang", n)
    assert "已更新 #1 · 苏州恒达精密机械有限公司" in picked
    assert _followups(bot)[0].customer_id == 1
    assert "没有等你回答的问题" in bot.say("zhang", "1")


def test_unknown_customer_can_be_created(bot: Bot) -> None:
    reply = bot.say("zhang", "今天去了杭州绿源环保科技，见了刘总，下周三给他们做个演示")
    [fu] = _followups(bot)
    assert fu.customer_id is None
    assert "新建客户" in reply
    created = bot.say("zhang", "新建客户 杭州绿源环保科技有限公司")
    assert "已新建客户" in created and "已把记录 #1 关联" in created
    assert _followups(bot)[0].customer_id is not None
    assert "已经存在" in bot.say("zhang", "新建客户 杭州绿源环保科技有限公司")


def test_stage_history_written_for_note_moves(bot: Bot) -> None:
    bot.say("zhang", NOTE)
    deal = bot.db(repos.open_deal_for, 1)
    rows = bot.db(lambda s: list(s.exec(select(StageChange).where(StageChange.deal_id == deal.id))))
    assert rows and rows[0].source == "note" and rows[0].followup_id == 1


def test_merge_customers_moves_everything_and_keeps_the_alias(bot: Bot) -> None:
    def dup(s):  # type: ignore[no-untyped-def]
        from handlers.crm import normalized_name

        return repos.add_customer(s, "恒达精机", normalized_name("恒达精机"), 2, "苏州").id

    dup_id = bot.db(dup)
    bot.say("zhang", NOTE)
    assert "只对主管和管理员开放" in bot.say("zhang", f"合并客户 1 {dup_id}")
    # Put the note on the duplicate first, so the merge has something to move.
    bot.say("zhang", f"改 客户 {'恒达精机'}")
    assert _followups(bot)[0].customer_id == dup_id
    assert "确认合并" in bot.say("wang", f"合并客户 1 {dup_id}")
    reply = bot.say("wang", "确认合并")
    assert "已把「恒达精机」并入「苏州恒达精密机械有限公司」" in reply
    assert "跟进记录 1 条" in reply and "待办 1 条" in reply
    assert _followups(bot)[0].customer_id == 1 and _items(bot)[0].customer_id == 1
    assert bot.db(repos.open_deal_for, 1) is not None
    from store.models import Customer

    keep = bot.db(lambda s: s.get(Customer, 1))
    assert "恒达精机" in keep.aliases
    assert "用法" in bot.say("wang", "合并客户 恒达")
    assert "同一个客户" in bot.say("wang", "合并客户 1 苏州恒达精密机械有限公司")
    # The dropped name now finds the kept customer.
    assert "【苏州恒达精密机械有限公司】" in bot.say("zhang", "查 恒达精机")
    assert "不是你负责的客户" in bot.say("li", "查 恒达精机")


def _event(bot: Bot, user: str, event: str, text: str = "", msg_id: str | None = None) -> str:
    from bot.types import IncomingMessage, Kind, Peer

    msg = IncomingMessage("console", msg_id or f"ev-{user}-{event}-{text}", Peer("console", user), Kind.EVENT,
                          NOW, text=text, event=event)
    before = len(bot.channel.sent)

    async def go() -> None:
        await bot.app.dispatcher.submit(msg)
        await bot.app.dispatcher.drain()

    asyncio.run(go())
    return "\n".join(bot.channel.texts()[before:])


def test_card_buttons_act_on_their_own_record(bot: Bot) -> None:
    bot.say("zhang", NOTE)
    keys = [b.key for b in bot.channel.sent[-1][1].buttons]
    assert keys == ["confirm:1", "edit:1", "undo:1"]
    bot.say("zhang", "今天去无锡宏远见了李厂长，下周二我过去量尺寸")
    assert "已确认记录 #1" in _event(bot, "zhang", "button", "confirm:1")
    assert _followups(bot)[0].confirmed and not _followups(bot)[1].confirmed
    assert "没有找到你的记录 #1" in _event(bot, "li", "button", "undo:1")  # not li's record
    assert "已撤销记录 #1" in _event(bot, "zhang", "button", "undo:1")
    assert [f.status for f in _followups(bot)] == ["revoked", "active"]  # the newer one is untouched
    assert "已经撤销过" in _event(bot, "zhang", "button", "undo:1", msg_id="again")
    assert "改 日期" in _event(bot, "zhang", "button", "edit:2")
    assert "失效" in _event(bot, "zhang", "button", "bogus")
    assert "张伟你好" in _event(bot, "zhang", "enter")
    assert _event(bot, "zhang", "subscribe") == ""  # events we do not handle stay silent
