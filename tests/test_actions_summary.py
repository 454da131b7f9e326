"""To-dos a rep can read a week later: `summary`, de-duplication, customer commitments and
dates that must (or must not) become items.  All notes here are invented for these tests."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from extraction.actions import date_items, dedupe_actions, short_name
from extraction.clauses import split_clauses
from extraction.customers import CustomerIndex
from extraction.dates import find_dates
from extraction.extractor import extract
from extraction.types import ActionItemDraft, CustomerRef, FollowUpDraft, Span

TZ = timezone(timedelta(hours=8))
MON = datetime(2026, 1, 5, 10, 0, tzinfo=TZ)  # Monday 2026-01-05
THU = date(2026, 1, 8)
FRI = date(2026, 1, 9)
NEXT_MON = date(2026, 1, 12)
NEXT_TUE = date(2026, 1, 13)
NEXT_WED = date(2026, 1, 14)


@pytest.fixture(scope="module")
def index() -> CustomerIndex:
    return CustomerIndex([
        CustomerRef("K1", "杭州启明阀门有限公司", "杭州"),
        CustomerRef("K2", "南京云川医疗器械有限公司", "南京"),
    ])


def _run(text: str, index: CustomerIndex) -> FollowUpDraft:
    return extract(text, ref_time=MON, customers=index)


def _items(text: str, index: CustomerIndex) -> list[tuple[str, date | None, str | None, str]]:
    return [(a.text, a.due, a.owner, a.summary) for a in _run(text, index).action_items]


# --- pronoun resolution -----------------------------------------------------------------

def test_pronoun_becomes_the_only_contact_and_text_stays_the_span(index: CustomerIndex) -> None:
    items = _items("今天去启明阀门见了设备部刘总，周四前我把新的报价单发给他。", index)
    assert items == [("把新的报价单发给他", THU, "self", "把新的报价单发给刘总")]


def test_plural_pronoun_becomes_the_customer(index: CustomerIndex) -> None:
    items = _items("云川医疗那边说价格还行，明天我把合同发给他们。", index)
    assert [(t, s) for t, _, _, s in items] == [("把合同发给他们", "把合同发给云川医疗")]


def test_two_contacts_pronoun_takes_the_one_just_named(index: CustomerIndex) -> None:
    items = _items("在启明阀门见了采购部刘总和设备科孙工，孙工关心精度，下周一前我把检测数据发给他。", index)
    assert [s for *_, s in items] == ["把检测数据发给孙工"]


def test_two_contacts_none_in_the_sentence_falls_back_to_the_customer(index: CustomerIndex) -> None:
    items = _items("在启明阀门见了采购部刘总和设备科孙工。价格能接受，下周一前我把检测数据发给他。", index)
    assert [s for *_, s in items] == ["把检测数据发给启明阀门"]


def test_short_name_drops_department_and_role() -> None:
    assert short_name("采购部王总") == "王总"
    assert short_name("采购总监Rosalind") == "Rosalind"
    assert short_name("小林") == "小林"


# --- bare verbs get their object ----------------------------------------------------------

def test_bare_give_takes_the_object_named_earlier(index: CustomerIndex) -> None:
    items = _items("启明阀门的刘总嫌报价偏高，新报价下周一前给到。", index)
    assert items == [("给到", NEXT_MON, "self", "给刘总新报价")]


def test_object_is_the_noun_not_the_words_around_it(index: CustomerIndex) -> None:
    items = _items("启明阀门的刘总嫌报价偏高，下周一前给到。", index)
    assert [s for *_, s in items] == ["给刘总报价"]
    items = _items("启明阀门的刘总要修改后的方案，周五前发过去。", index)
    assert [s for *_, s in items] == ["把修改后的方案发给刘总"]


def test_send_over_gets_object_and_recipient(index: CustomerIndex) -> None:
    items = _items("云川医疗的样品准备好了，周三前发过去。", index)
    assert [(t, s) for t, _, _, s in items] == [("发过去", "把样品发给云川医疗")]


def test_send_there_names_the_recipient(index: CustomerIndex) -> None:
    items = _items("启明阀门的刘总同意了，周五前我把合同发过去。", index)
    assert [(t, s) for t, _, _, s in items] == [("把合同发过去", "把合同发给刘总")]


# --- customer commitments ------------------------------------------------------------------

def test_customer_commitment_names_the_doer(index: CustomerIndex) -> None:
    items = _items("启明阀门说可以签，他们说月底前把尾款付了。", index)
    assert items == [("把尾款付了", date(2026, 1, 31), "customer", "启明阀门：把尾款付了")]


def test_contact_reply_is_a_customer_commitment(index: CustomerIndex) -> None:
    items = _items("启明阀门的刘总说下周二前给答复。", index)
    assert items == [("给答复", NEXT_TUE, "customer", "刘总：给答复")]


def test_counterpart_provides_accounts(index: CustomerIndex) -> None:
    items = _items("云川医疗对方答应周五前提供测试账号。", index)
    assert [(t, o, s) for t, _, o, s in items] == [("提供测试账号", "customer", "云川医疗：提供测试账号")]


def test_customer_bare_transfer_gets_the_money_object(index: CustomerIndex) -> None:
    items = _items("启明阀门的尾款刘总说下周三前打过来。", index)
    assert items == [("打过来", NEXT_WED, "customer", "刘总：把尾款打过来")]


@pytest.mark.parametrize("subject", ["客户", "对方", "他们", "刘总"])
@pytest.mark.parametrize("task", ["下周一前把货款付了", "明天回复", "周五前给答复", "下周三前把图纸发过来",
                                  "月底前提供开票信息", "后天确认订单"])
@pytest.mark.parametrize("said", ["，{s}说", "{s}"])
def test_customer_commitment_constructions(subject: str, task: str, said: str, index: CustomerIndex) -> None:
    d = _run("启明阀门那边" + said.format(s=subject) + task + "。", index)
    assert [a.owner for a in d.action_items] == ["customer"]
    doer = "刘总" if subject == "刘总" else "启明阀门"
    assert d.action_items[0].summary.startswith(doer + "：")
    assert d.next_follow_up is None


def test_customer_commitments_do_not_set_next_follow_up(index: CustomerIndex) -> None:
    assert _run("启明阀门的刘总说下周二前给答复。", index).next_follow_up is None


def test_customer_own_plan_is_not_an_item(index: CustomerIndex) -> None:
    assert _items("启明阀门的刘总说下个月加大采购。", index) == []
    assert _items("云川医疗的王主任说他们年底前就要上线。", index) == []


def test_meeting_the_customer_proposes_is_ours(index: CustomerIndex) -> None:
    d = _run("启明阀门的刘总说这周四再碰一次。", index)
    assert [(a.text, a.owner) for a in d.action_items] == [("再碰一次", "self")]
    assert d.next_follow_up == THU


def test_our_department_after_a_pronoun_object_is_team(index: CustomerIndex) -> None:
    items = _items("跟云川医疗的小周确认了可以做，年底前我把报价发给他下个月底前技术部要完成部署测试", index)
    assert [(t, o) for t, _, o, _ in items] == [("把报价发给他", "self"), ("技术部要完成部署测试", "team")]


def test_delivery_of_first_batch_is_team_not_a_payment(index: CustomerIndex) -> None:
    items = _items("启明阀门签了，下个月15号前交付首批二十台。", index)
    assert [(t, o) for t, _, o, _ in items] == [("交付首批二十台", "team")]


# --- de-duplication -------------------------------------------------------------------------

def test_same_task_twice_is_one_item(index: CustomerIndex) -> None:
    items = _items("周五前把报价发过去，启明阀门的刘总催得紧，记得周五前发报价。", index)
    assert [(t, d) for t, d, _, _ in items] == [("把报价发过去", FRI)]


def test_different_tasks_on_the_same_day_stay(index: CustomerIndex) -> None:
    items = _items("明天给启明阀门的刘总回电话，明天把样品寄过去。", index)
    assert len(items) == 2


def test_dedupe_keeps_the_more_complete_wording() -> None:
    short = ActionItemDraft("发方案", Span(0, 3), FRI, "self")
    full = ActionItemDraft("把降本方案发过去", Span(10, 18), FRI, "self")
    other_day = ActionItemDraft("把降本方案发过去", Span(20, 28), NEXT_MON, "self")
    assert dedupe_actions([short, full, other_day]) == [full, other_day]


# --- dates that must reach a to-do, and dates that must not ------------------------------------

def test_redo_after_deadline_and_subject_is_an_item(index: CustomerIndex) -> None:
    d = _run("下周三前我重新报一版。", index)
    assert [(a.text, a.due, a.owner) for a in d.action_items] == [("重新报一版", NEXT_WED, "self")]


def test_date_then_rep_then_arranged_colleague(index: CustomerIndex) -> None:
    items = _items("启明阀门反馈漏气，下礼拜一我让技术员小宁过去调一下参数。", index)
    assert [(t, d, o) for t, d, o, _ in items] == [("让技术员小宁过去调一下参数", NEXT_MON, "team")]


def test_agreed_visit_is_an_item(index: CustomerIndex) -> None:
    items = _items("云川医疗的王主任约了下周四再来看看。", index)
    assert [(t, d, o) for t, d, o, _ in items] == [("再来看看", date(2026, 1, 15), "self")]


def test_time_of_day_continues_the_previous_day(index: CustomerIndex) -> None:
    items = _items("启明阀门催货，周二我跟生产确认排期，下午给刘总回电话。", index)
    assert [(t, d) for t, d, _, _ in items] == [("跟生产确认排期", date(2026, 1, 6)), ("给刘总回电话", date(2026, 1, 6))]


def test_date_items_covers_a_date_no_item_took() -> None:
    text = "下周三再过去一趟。"
    ref = MON.date()
    dates = find_dates(text, ref)
    clauses = split_clauses(text, [d.span.start for d in dates])
    items = date_items(text, [], dates, ref, clauses, [])
    assert [(a.text, a.due, a.owner) for a in items] == [("再过去一趟", NEXT_WED, "self")]


def test_past_events_and_customer_events_are_not_items(index: CustomerIndex) -> None:
    assert _items("昨天见了启明阀门的刘总，今天把报价发过去了。", index) == []
    assert _items("云川医疗他们月底开会决定。", index) == []
    assert _items("启明阀门的合同15号签的，首付款到了。", index) == []
    text = "云川医疗的王主任说结果下周一公示。"
    ref = MON.date()
    dates = find_dates(text, ref)
    clauses = split_clauses(text, [d.span.start for d in dates])
    assert date_items(text, [], dates, ref, clauses, []) == []


def test_asking_our_department_is_internal_for_next_follow_up(index: CustomerIndex) -> None:
    d = _run("启明阀门刘总要求加急，我明天找服务部确认一下，周三回复刘总。", index)
    assert d.next_follow_up == date(2026, 1, 7)


# --- the summary itself -------------------------------------------------------------------------

def test_summary_has_no_time_words_and_is_short(index: CustomerIndex) -> None:
    items = _items("启明阀门设备坏了，让售后老周明天上午过去调试。", index)
    assert items == [("让售后老周明天上午过去调试", date(2026, 1, 6), "team", "让售后老周过去调试")]
    long = _items("下周三前我得把启明阀门新产线的三套设备的详细配置清单和分项报价整理出来发给采购部的刘总。", index)
    assert len(long) == 1 and len(long[0][3]) <= 30 and long[0][3].endswith("…")


def test_record_carries_summary(index: CustomerIndex) -> None:
    rec = _run("今天去启明阀门见了设备部刘总，周四前我把报价发给他。", index).to_record()
    assert rec["action_items"][0]["summary"] == "把报价发给刘总"
    assert rec["action_items"][0]["text"] == "把报价发给他"
