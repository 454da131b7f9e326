"""What the bot writes into the CRM is what the rep meant (issue 12), entering through the dispatcher.

Sentences are written for these tests; customers and users come from tests/conftest.py (zhang owns
恒达 #1 and 宏远 #2, li owns 康博 #3 and 锦泰 #4).
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from store import repos
from store.models import ActionItem, Contract, Customer, Deal, FollowUp, Installment
from store.records import NoteRecord
from tests.conftest import NOW, Bot


def _deal(bot: Bot, customer_id: int, stage: str = "quote", amount: int | None = 800_000,
          kind: str | None = "quote", status: str = "open") -> int:
    def make(s: Session) -> int:
        d = Deal(customer_id=customer_id, owner_id=2, title="商机", stage=stage, status=status,
                 amount=Decimal(amount) if amount is not None else None, amount_kind=kind,
                 last_activity_at=NOW - timedelta(days=2))
        s.add(d)
        s.flush()
        return d.id  # type: ignore[return-value]
    return bot.db(make)


def _get(bot: Bot, model: type, id_: int):  # type: ignore[no-untyped-def]
    return bot.db(lambda s: s.get(model, id_))


def _followups(bot: Bot) -> list[FollowUp]:
    return bot.db(lambda s: list(s.exec(select(FollowUp).order_by(FollowUp.id))))


# ---------------------------------------------------------------- 2. amount policy


def test_competitor_price_never_becomes_the_deal_amount(bot: Bot) -> None:
    deal = _deal(bot, 1)
    reply = bot.say("zhang", "苏州恒达王总透露西门子那边报了52万，我们这边报的是76万，他倾向我们")
    assert _get(bot, Deal, deal).amount == 760_000
    assert f"商机 #{deal} 金额：80万 → 76万" in reply
    assert "52万（竞品报价）" in reply


def test_unit_price_times_quantity_is_shown_and_used(bot: Bot) -> None:
    deal = _deal(bot, 2, amount=None, kind=None)
    reply = bot.say("zhang", "无锡宏远这次要采购40套夹具，我们报价单价3,500元/套")
    assert _get(bot, Deal, deal).amount == 140_000
    assert "× 40" in reply and "14万" in reply


def test_budget_fills_an_empty_amount_but_never_replaces_a_quote(bot: Bot) -> None:
    quoted = _deal(bot, 1, amount=780_000, kind="quote")
    bot.say("zhang", "苏州恒达李总说今年预算大概三十五万，下周三我再去拜访")
    assert _get(bot, Deal, quoted).amount == 780_000
    empty = _deal(bot, 2, amount=None, kind=None)
    reply = bot.say("zhang", "无锡宏远张工说预算在二十万左右，下周一我再打电话")
    assert _get(bot, Deal, empty).amount == 200_000 and _get(bot, Deal, empty).amount_kind == "budget"
    assert "金额：未填 → 20万" in reply


def test_two_quotes_without_a_final_one_are_asked_not_written(bot: Bot) -> None:
    deal = _deal(bot, 1, amount=None, kind=None)
    reply = bot.say("zhang", "苏州恒达王总那边，我们先报了60万，后来又说65万也可以，客户还在比较")
    assert _get(bot, Deal, deal).amount is None
    assert "商机金额用哪个" in reply
    [fu] = _followups(bot)
    assert f"#{fu.id} 2" not in reply or "回复「#" in reply
    reply = bot.say("zhang", f"#{fu.id} 2")
    assert _get(bot, Deal, deal).amount == 650_000


# ---------------------------------------------------------------- 3. stages, changes, undo per field


def test_reply_shows_the_deal_stage_and_each_change_is_revertible(bot: Bot) -> None:
    deal = _deal(bot, 1, stage="trial", amount=450_000, kind="quote")
    reply = bot.say("zhang", "苏州恒达王总说我们报价改成50万可以接受，已经进入商务谈判，合同条款下周二前定")
    d = _get(bot, Deal, deal)
    assert d.stage == "negotiation" and d.amount == 500_000
    assert f"商机 #{deal} · 商务谈判 · 50万" in reply
    assert f"商机 #{deal} 金额：45万 → 50万" in reply and f"商机 #{deal} 阶段：试用验证 → 商务谈判" in reply
    assert "撤销 金额" in reply
    out = bot.say("zhang", "撤销 金额")
    assert "50万 → 45万" in out
    d = _get(bot, Deal, deal)
    assert d.amount == 450_000 and d.stage == "negotiation"  # only the amount went back
    bot.say("zhang", "撤销 阶段")
    assert _get(bot, Deal, deal).stage == "trial"
    assert "没有改动商机的金额" in bot.say("zhang", "撤销 金额")


def test_a_note_never_moves_a_deal_backwards(bot: Bot) -> None:
    deal = _deal(bot, 1, stage="negotiation")
    reply = bot.say("zhang", "苏州恒达王总约我们下周二再去做一次产品演示")
    assert _get(bot, Deal, deal).stage == "negotiation"
    assert f"商机 #{deal} · 商务谈判" in reply and "阶段：" not in reply.split("联系人")[0].split("\n", 2)[-1]


# ---------------------------------------------------------------- 4. deals are not invented


def test_notes_on_a_won_customer_create_no_deal_and_a_new_opportunity_is_asked(bot: Bot) -> None:
    _deal(bot, 1, stage="won", status="won", amount=1_000_000, kind="order")
    bot.say("zhang", "苏州恒达新来的设备科刘科长加了微信，反馈设备运行正常，下周回访一次")
    assert bot.db(repos.open_deal_for, 1) is None
    reply = bot.say("zhang", "苏州恒达王总说二期还想加购10台，预算大概20万")
    assert bot.db(repos.open_deal_for, 1) is None
    assert "新商机吗" in reply
    fid = _followups(bot)[-1].id
    reply = bot.say("zhang", f"#{fid} 1")
    deal = bot.db(repos.open_deal_for, 1)
    assert deal is not None and deal.amount == 200_000
    assert "新建了商机" in reply


# ---------------------------------------------------------------- 5. no orphaned records


def test_a_pending_question_survives_later_notes_and_is_answered_by_number(bot: Bot) -> None:
    bot.db(lambda s: repos.add_customer(s, "苏州恒达精工科技有限公司", "恒达精工科技", 2, "苏州"))
    reply = bot.say("zhang", "今天在恒达开会，李工说设备老化，周四我把方案发过去")
    first = _followups(bot)[-1]
    assert first.customer_id is None and "你说的是哪一家" in reply
    bot.say("zhang", "无锡宏远张厂长说下个月再看，周五我打电话")
    assert f"#{first.id}" in bot.say("zhang", "待关联")
    reply = bot.say("zhang", f"#{first.id} 2")  # the question outlived a later note
    assert _get(bot, FollowUp, first.id).customer_id == 5 and "苏州恒达精工科技有限公司" in reply
    bot.say("zhang", f"改 客户 #{first.id} 苏州恒达精密机械")
    assert _get(bot, FollowUp, first.id).customer_id == 1
    assert "没有待关联" in bot.say("zhang", "待关联")


def test_unknown_same_brand_company_is_asked_and_can_be_created_after_confirming(bot: Bot) -> None:
    reply = bot.say("zhang", "今天去了苏州恒达自动化，见了采购钱经理，他们想上两条装配线，下周三我发方案")
    fu = _followups(bot)[-1]
    assert fu.customer_id is None and "哪一家" in reply
    assert bot.db(repos.open_deal_for, 1) is None
    out = bot.say("zhang", "新建客户 苏州恒达自动化有限公司")
    assert "相似" in out and "确认" in out
    out = bot.say("zhang", "新建客户 苏州恒达自动化有限公司 确认")
    assert "已新建客户" in out and f"#{fu.id}" in out
    fu = _get(bot, FollowUp, fu.id)
    cust = _get(bot, Customer, fu.customer_id)
    assert cust.name == "苏州恒达自动化有限公司"
    assert not NoteRecord.load(fu.extracted).open_questions()


def test_not_this_one_unlinks_and_reverts_the_deal(bot: Bot) -> None:
    deal = _deal(bot, 1, stage="needs", amount=None, kind=None)
    bot.say("zhang", "恒达王总说报价发过去了，我们报的是30万")
    assert _get(bot, Deal, deal).amount == 300_000
    fid = _followups(bot)[-1].id
    out = bot.say("zhang", "不是这家")
    assert "已取消记录" in out
    assert _get(bot, Deal, deal).amount is None and _get(bot, FollowUp, fid).customer_id is None
    assert f"#{fid}" in bot.say("zhang", "待关联")


# ---------------------------------------------------------------- 6. several customers


def test_two_customers_in_one_note_become_two_records(bot: Bot) -> None:
    reply = bot.say("zhang", "上午在无锡宏远跟张厂长聊了备件的事。下午去了苏州恒达，王总让我下周二再联系")
    fus = _followups(bot)
    assert [f.customer_id for f in fus] == [2, 1]
    assert "分成 2 条记录" in reply
    items = bot.db(lambda s: list(s.exec(select(ActionItem))))
    assert [i.customer_id for i in items] == [1]
    bot.replay(fus[0].source_key.split(":", 1)[1])  # processed again after a crash: nothing twice
    assert len(_followups(bot)) == 2 and len(bot.db(lambda s: list(s.exec(select(ActionItem))))) == 1


# ---------------------------------------------------------------- 7. contracts from a note


def test_a_signing_in_a_note_creates_contract_and_schedule_after_one_confirmation(bot: Bot) -> None:
    deal = _deal(bot, 1, stage="negotiation", amount=1_000_000)
    reply = bot.say("zhang", "苏州恒达合同已经签了，合同金额120万，首付30%下周五前打过来，尾款验收后付")
    assert bot.db(lambda s: list(s.exec(select(Contract)))) == []
    assert "建合同" in reply
    fid = _followups(bot)[-1].id
    reply = bot.say("zhang", f"#{fid} 1")
    [c] = bot.db(lambda s: list(s.exec(select(Contract))))
    assert f"建了合同 #{c.id}（合同额 120万）" in reply
    assert c.amount == 1_200_000 and c.deal_id == deal
    plan = bot.db(lambda s: list(s.exec(select(Installment).order_by(Installment.seq))))
    assert plan[0].amount == 360_000 and plan[0].due_on == date(2026, 1, 16)
    assert _get(bot, Deal, deal).stage == "won"
    assert "120万" in bot.say("zhang", "回款")
    bot.say("zhang", "撤销")
    assert bot.db(lambda s: list(s.exec(select(Contract)))) == []


# ---------------------------------------------------------------- 8. quotes as facts


def test_quote_sent_is_stamped_and_a_later_answer_is_recorded(bot: Bot) -> None:
    deal = _deal(bot, 1, stage="needs", amount=None, kind=None)
    bot.say("zhang", "恒达王总，周五前我把报价发给他")
    assert _get(bot, Deal, deal).quote_sent_at is None  # a to-do to send is not a sent quote
    bot.say("zhang", "恒达的报价单今天已经发过去了，我们报的是66万")
    assert _get(bot, Deal, deal).quote_sent_at == NOW
    bot.clock.advance(hours=30)
    bot.say("zhang", "恒达王总还没回复报价，明天我再打个电话")
    assert _get(bot, Deal, deal).quote_answered_at is None
    bot.clock.advance(hours=2)
    bot.say("zhang", "恒达王总回复说价格能接受，要走内部审批")
    assert _get(bot, Deal, deal).quote_answered_at is not None


# ---------------------------------------------------------------- 9. to-dos


def test_customer_commitments_are_marked_and_listed_apart(bot: Bot) -> None:
    _deal(bot, 1)
    reply = bot.say("zhang", "恒达王总答应月底前把首付款打过来，我下周一把发票寄给他")
    assert "【客户】" in reply
    todo = bot.say("zhang", "待办")
    assert "等客户做的事" in todo
    mine, theirs = todo.split("等客户做的事")
    assert "【客户】" in theirs and "【客户】" not in mine


def test_no_missing_follow_up_nag_on_a_won_deal(bot: Bot) -> None:
    _deal(bot, 1, stage="won", status="won")
    reply = bot.say("zhang", "恒达王总反馈设备运行稳定，很满意")
    assert "已记录" in reply and "下次跟进时间" not in reply


# ---------------------------------------------------------------- 10. undo window


def test_undo_reaches_back_only_within_the_window(bot: Bot) -> None:
    bot.say("zhang", "恒达王总说下周三来厂里参观，我负责接待")
    fid = _followups(bot)[-1].id
    bot.clock.advance(hours=25)
    out = bot.say("zhang", "撤销")
    assert "超过了 24 小时" in out and _get(bot, FollowUp, fid).status == "active"
    out = bot.say("zhang", f"撤销 #{fid}")
    assert "确定撤销" in out and _get(bot, FollowUp, fid).status == "active"
    out = bot.say("zhang", f"撤销 #{fid} 确认")
    assert "已撤销" in out and _get(bot, FollowUp, fid).status == "revoked"


# ---------------------------------------------------------------- 11. invisible junk


def test_control_characters_are_stripped_before_storing_and_echoing(bot: Bot) -> None:
    bot.say("zhang", "恒达\x1b[31m王总\x1b[0m说\u200b下周二\u202e来公司\x07看样机")
    fu = _followups(bot)[-1]
    assert fu.raw_text == "恒达王总说下周二来公司看样机"
    card = bot.say("zhang", "查 恒达")
    assert "\x1b" not in card and "\u200b" not in card and "恒达王总说下周二来公司看样机" in card


def test_a_quote_far_from_the_deal_amount_is_asked_before_it_is_written(bot: Bot) -> None:
    deal = _deal(bot, 2, amount=450_000, kind="quote")
    reply = bot.say("zhang", "无锡宏远张工确认要12台，我们报价单价3000元/台")
    assert _get(bot, Deal, deal).amount == 450_000
    assert "商机金额用哪个" in reply and "3.6万" in reply and "45万" in reply
    fid = _followups(bot)[-1].id
    bot.say("zhang", "1")  # a bare number answers the newest open question
    assert _get(bot, Deal, deal).amount == 36_000
    assert not NoteRecord.load(_get(bot, FollowUp, fid).extracted).open_questions()


def test_talk_about_a_sample_machine_is_not_trial_evidence(bot: Bot) -> None:
    deal = _deal(bot, 1, stage="quote")
    bot.say("zhang", "恒达刘工说下周四带人来厂里看一下样机")
    assert _get(bot, Deal, deal).stage == "quote"
    bot.say("zhang", "恒达的样机已经装好试了三天，刘工反馈稳定")
    assert _get(bot, Deal, deal).stage == "trial"


def test_quote_command_stamps_the_deal_through_the_note_policy(bot: Bot) -> None:
    deal = _deal(bot, 1, stage="needs", amount=500_000, kind="budget")
    reply = bot.say("zhang", "报价 恒达 62万", msg_id="q1")
    d = _get(bot, Deal, deal)
    assert (d.stage, d.amount, d.amount_kind, d.quote_sent_at) == ("quote", 620_000, "quote", NOW)
    assert f"商机 #{deal} 金额：50万 → 62万" in reply and "已发出" in reply
    bot.say("zhang", "报价 恒达 62万", msg_id="q1")  # a redelivery records nothing twice
    assert len(_followups(bot)) == 1
    assert "用法" in bot.say("zhang", "报价") and "没看懂金额" in bot.say("zhang", "报价 恒达 很多")
    bot.say("zhang", "撤销")
    d = _get(bot, Deal, deal)
    assert (d.stage, d.amount, d.quote_sent_at) == ("needs", 500_000, None)
