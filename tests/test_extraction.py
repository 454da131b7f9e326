"""End-to-end extraction on a few labelled notes (fixtures: notes written for this project,
bench/dev3/a, never taken from ../shared/eval)."""
from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest

from extraction.cli import extract_main
from extraction.customers import CustomerIndex, load_customers_csv
from extraction.extractor import extract

FIX = Path(__file__).parent / "fixtures"
NOTES = [json.loads(line) for line in (FIX / "extract_notes.jsonl").read_text("utf-8").splitlines()]


@pytest.fixture(scope="module")
def index() -> CustomerIndex:
    return CustomerIndex(load_customers_csv(FIX / "extract_customers.csv"))


def _rec(note: dict, index: CustomerIndex) -> dict:
    return extract(note["text"], ref_time=datetime.fromisoformat(note["ref_time"]), customers=index).to_record()


@pytest.mark.parametrize("note", NOTES, ids=[n["id"] for n in NOTES])
def test_scalar_and_set_fields(note: dict, index: CustomerIndex) -> None:
    rec, gold = _rec(note, index), note["gold"]
    assert rec["dates"] == gold["dates"]
    assert rec["next_follow_up"] == gold["next_follow_up"]
    assert sorted(rec["contacts"]) == sorted(gold["contacts"])
    assert sorted(rec["competitors"]) == sorted(gold["competitors"])
    assert sorted(a["value"] for a in rec["amounts"]) == sorted(a["value"] for a in gold["amounts"])
    assert rec["stage"] == gold["stage"]


@pytest.mark.parametrize("note", NOTES, ids=[n["id"] for n in NOTES])
def test_items_have_matching_due_dates_and_categories(note: dict, index: CustomerIndex) -> None:
    rec, gold = _rec(note, index), note["gold"]
    assert sorted(a["due"] or "" for a in rec["action_items"]) == sorted(a["due"] or "" for a in gold["action_items"])
    assert sorted(p["category"] for p in rec["pain_points"]) == sorted(p["category"] for p in gold["pain_points"])


def test_spans_are_exact_substrings(index: CustomerIndex) -> None:
    for note in NOTES:
        text = note["text"]
        d = extract(text, ref_time=datetime.fromisoformat(note["ref_time"]), customers=index)
        items: list = [*d.pain_points, *d.action_items, *d.amounts, *d.contacts, *d.competitors, *d.dates]
        for item in items:
            assert text[item.span.start:item.span.end] == item.text


def test_worked_example_an01(index: CustomerIndex) -> None:
    note = next(n for n in NOTES if n["id"] == "An01")
    rec = _rec(note, index)
    assert rec["customer_id"] == "A001"
    assert rec["contacts"] == ["孙经理"]
    assert rec["pain_points"][0]["category"] == "price"
    assert rec["pain_points"][0]["text"].startswith("比他们心里价位高了")  # from the predicate on
    assert rec["action_items"][0]["text"] == "再出一版降配的方案给他"
    assert rec["action_items"][0]["owner"] == "self"


def test_our_people_are_not_contacts() -> None:
    d = extract("苏州BKT传动的Kevin说demo挺满意，下周三前技术部张工把测试机送过去装好。明天让售后老徐过去看看。",
                ref_time=datetime.fromisoformat("2026-02-03T10:00:00+08:00"))
    assert [c.text for c in d.contacts] == ["Kevin"]
    owners = {a.text: a.owner for a in d.action_items}
    assert owners.get("技术部张工把测试机送过去装好") == "team"


def test_internal_note_has_no_follow_up() -> None:
    d = extract("提醒一下，周一上午部门例会要交三月份的回款明细，今天下班前找财务刘会计。",
                ref_time=datetime.fromisoformat("2026-04-10T09:00:00+08:00"))
    assert d.next_follow_up is None and d.stage is None and d.contacts == []
    assert len(d.action_items) == 2


def test_planned_step_does_not_set_stage() -> None:
    d = extract("合肥美齿口腔的周院长今天见了，需要牙椅，预算80万左右。我下周三前把方案发过去。",
                ref_time=datetime.fromisoformat("2026-05-12T10:00:00+08:00"))
    assert d.stage == "needs"


def test_works_without_customer_index() -> None:
    d = extract("恒达王总说可以谈合同了，今天我把合同模板发过去。",
                ref_time=datetime.fromisoformat("2026-11-02T10:00:00+08:00"))
    assert d.customer is None
    assert d.next_follow_up is not None and d.next_follow_up.isoformat() == "2026-11-02"
    assert d.stage == "negotiation"


def test_cli_reports_bad_lines_and_continues() -> None:
    lines = [
        json.dumps({"id": "a", "ref_time": "2026-01-05T11:40:00+08:00", "text": "周五前我把报价发给恒达王总"}),
        "not json",
        json.dumps({"id": "b", "ref_time": "yesterday", "text": "x"}),
        json.dumps({"id": "c", "ref_time": "2026-01-05T11:40:00+08:00"}),
        json.dumps({"id": "d", "ref_time": "2026-01-05T11:40:00+08:00", "text": "明天去拜访"}),
    ]
    out = io.StringIO()
    rc = extract_main(str(FIX / "extract_customers.csv"), io.StringIO("\n".join(lines) + "\n"), out)
    assert rc == 0
    recs = [json.loads(x) for x in out.getvalue().splitlines()]
    assert len(recs) == 5
    assert recs[0]["id"] == "a" and recs[0]["dates"] == ["2026-01-09"] and "error" not in recs[0]
    assert "error" in recs[1] and "error" in recs[2] and "error" in recs[3]
    assert recs[2]["id"] == "b"
    assert recs[4]["dates"] == ["2026-01-06"]


def test_cli_without_customers() -> None:
    out = io.StringIO()
    line = json.dumps({"id": "x", "ref_time": "2026-01-05T11:40:00+08:00", "text": "今天见了王总"})
    assert extract_main(None, io.StringIO(line + "\n"), out) == 0
    rec = json.loads(out.getvalue())
    assert rec["customer_id"] is None and rec["contacts"] == ["王总"]


def test_cli_bad_customer_file() -> None:
    out = io.StringIO()
    assert extract_main("/nonexistent/customers.csv", io.StringIO(""), out) == 2
    assert "error" in json.loads(out.getvalue())


REF_TIME = datetime.fromisoformat("2026-10-12T10:00:00+08:00")  # a Monday


@pytest.mark.parametrize(
    "text, contacts",
    [
        ("大连海川的品控部主管老周反馈封口不严", ["品控部主管老周"]),
        ("恒达王总和生产部杨主管一起看了试机", ["王总", "生产部杨主管"]),
        ("设备科的张科长说预算没批", ["张科长"]),  # joined with 的: the department is dropped
        ("他们老板和院长都没来，只见了采购", []),  # nameless roles
        ("Met David from Yuntu today, 云图那边对demo很感兴趣", ["David"]),
        ("我让售后工程师小吴明早出发，顺便把丢单总结发给经理", []),  # our colleagues, not 单总
    ],
)
def test_contact_forms(text: str, contacts: list[str]) -> None:
    assert [c.text for c in extract(text, ref_time=REF_TIME).contacts] == contacts


def test_competitor_from_cue_patterns() -> None:
    d = extract("瑞达电气的黄工说价格比西门子的高了快20%，他们最后用了正泰的", ref_time=REF_TIME)
    assert [c.text for c in d.competitors] == ["西门子", "正泰"]
    assert {p.category for p in d.pain_points} == {"competitor"}
    assert d.stage == "lost"


def test_customer_wish_is_not_a_reached_stage() -> None:
    d = extract("宏泰的邹总说想看看我们的替代方案", ref_time=REF_TIME)
    assert d.stage != "quote"


def test_customer_promise_does_not_set_follow_up() -> None:
    d = extract("孙总说明天给答复，我后天带合同过去", ref_time=REF_TIME)
    owners = {a.text: (a.owner, a.due.isoformat() if a.due else None) for a in d.action_items}
    assert owners["给答复"] == ("customer", "2026-10-13")
    assert d.next_follow_up is not None and d.next_follow_up.isoformat() == "2026-10-14"


def test_doer_and_date_in_one_task() -> None:
    d = extract("云图的Alice说测试环境老是超时，我让研发小周明天远程看一下", ref_time=REF_TIME)
    assert [(a.text, a.owner) for a in d.action_items] == [("让研发小周明天远程看一下", "team")]
    assert [p.category for p in d.pain_points] == ["quality"]


@pytest.mark.parametrize("text, expected", [
    # work with our own side is internal, even when it comes first
    ("周总说报价可以，我明天先跟仓库排一下发货，周五去他们厂里送样", "2026-06-12"),
    ("李经理要资料，我今晚把故障记录发给技术部，下周一上门排查", "2026-06-15"),
    ("孙工要改条款，明天找我们财务核一下，周四把修订版发给孙工", "2026-06-11"),
    # going out together with a colleague still faces the customer
    ("王总那边设备报警，明天我跟售后一起过去现场", "2026-06-11"),
])
def test_internal_work_is_not_the_next_follow_up(text: str, expected: str) -> None:
    r = extract(text, ref_time=datetime.fromisoformat("2026-06-10T10:00:00+08:00"))
    assert r.next_follow_up is not None and r.next_follow_up.isoformat() == expected


@pytest.mark.parametrize("text, actions", [
    # the other side got in touch today: news, not a task of ours
    ("沉寂了半年的远航物流，今天孟经理突然打电话来说有个新仓库要上货架", []),
    ("报价上周发了。今天采购部的石主任回话说价格可以接受", []),
    ("今天Lisa主动找我，说想把另外两个门店也一起做了", []),
    # our own call today stays a task
    ("今天我给孟经理打电话说明延期的原因", ["给孟经理打电话说明延期的原因"]),
])
def test_contact_getting_in_touch_today_is_no_action(text: str, actions: list[str]) -> None:
    assert [a.text for a in extract(text, ref_time=REF_TIME).action_items] == actions


def test_a_price_we_quoted_is_no_action() -> None:
    text = "安康诊所的吕敏回微信：留置针我们报2.1元一支。明天我跟产品线申请特价"
    assert [a.text for a in extract(text, ref_time=REF_TIME).action_items] == ["跟产品线申请特价"]


@pytest.mark.parametrize("text, expected", [
    # goods moved without a doer: our team delivers
    ("采购说回款按月结，下周四前把第一批货送到各个分场", [("把第一批货送到各个分场", "team")]),
    # a named colleague asked to do it (customers' people are contacts)
    ("周一我跟我们服务站的蒋站长一起去现场，周五前让蒋站长把主板换掉",
     [("跟我们服务站的蒋站长一起去现场", "self"), ("让蒋站长把主板换掉", "team")]),
    # a judgement is no task
    ("林工觉得我们换模停机半小时太长", []),
])
def test_action_owners_and_judgements(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(a.text, a.owner) for a in extract(text, ref_time=REF_TIME).action_items] == expected


def test_a_typed_date_takes_its_day_word() -> None:
    r = extract("施工队6.1日进场交接", ref_time=REF_TIME.replace(month=5, day=20))
    assert [(d.text, d.value.isoformat()) for d in r.dates] == [("6.1日", "2026-06-01")]
    assert [a.text for a in r.action_items] == ["进场交接"]


@pytest.mark.parametrize("text", [
    "下周一前把上个月的拜访记录补进CRM",
    "月底前把三季度的任务分解表发给部门经理",
    "周五前把差旅报销单交了",
])
def test_our_own_admin_work_sets_no_follow_up(text: str) -> None:
    r = extract(text, ref_time=REF_TIME)
    assert r.action_items and r.next_follow_up is None
