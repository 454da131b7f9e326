"""Which amount of a note may set the deal amount (extraction/deal_amount.py).

Sentences are written for these tests (made-up companies), not taken from the evaluation sets.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from extraction.customers import CustomerIndex
from extraction.deal_amount import ROLES, AmountFact, amount_facts, deal_amount_proposal
from extraction.extractor import extract
from extraction.types import CustomerRef, FollowUpDraft

REF = datetime(2026, 4, 8, 15, 30, tzinfo=timezone(timedelta(hours=8)))
INDEX = CustomerIndex([
    CustomerRef("K1", "杭州明川电气有限公司", "杭州"),
    CustomerRef("K2", "常州德润包装材料有限公司", "常州"),
])


def _draft(text: str) -> FollowUpDraft:
    return extract(text, ref_time=REF, customers=INDEX)


def _roles(text: str) -> list[tuple[str, str]]:
    return [(f.text, f.role) for f in amount_facts(_draft(text))]


# (note, [(amount text, role) in text order], proposal: (value, basis) | "ambiguous" | None)
CASES: list[tuple[str, list[tuple[str, str]], tuple[float, str] | str | None]] = [
    # a named competitor's price never becomes the deal amount
    ("明川电气的采购说西门子报了62万，我们报的是70万",
     [("62万", "competitor"), ("70万", "our_quote")], (700000, "quote")),
    # the competitor's subject carries into the next clause that drops it
    ("对方说西门子那边也来了，报了27万", [("27万", "competitor")], None),
    # 友商 + 开, then our quote, then a gap
    ("友商给他们开了29万，我们报31万，差了2万",
     [("29万", "competitor"), ("31万", "our_quote"), ("2万", "difference")], (310000, "quote")),
    # 对方 + 报 is another vendor; 对方 + 预算 is the customer
    ("对方报了52万，我们报了49万", [("52万", "competitor"), ("49万", "our_quote")], (490000, "quote")),
    ("对方预算四十万", [("四十万", "budget")], (400000, "budget")),
    ("对方报了个预算四十五万", [("四十五万", "budget")], (450000, "budget")),
    # our price named inside a competitor comparison is still ours
    ("ABB那边比我们的55万低不少", [("55万", "our_quote")], (550000, "quote")),
    # X比我们高3万 is a gap, and the later quote is ours
    ("汇川报价比我们高3万，我们报了40万他们还在犹豫",
     [("3万", "difference"), ("40万", "our_quote")], (400000, "quote")),
    ("采购李姐说别家比我们便宜两万", [("两万", "difference")], None),
    ("德润想让我们单价再让一百", [("一百", "difference")], None),
    # a budget alone proposes a budget
    ("明川那边想上两条产线，预算大概一百二十万", [("一百二十万", "budget")], (1200000, "budget")),
    # 价格倒不贵 is no amount; our quote proposes
    ("德润包装嫌交期长，不过价格倒不贵，我们报了38万", [("38万", "our_quote")], (380000, "quote")),
    # our quote outranks the budget
    ("客户预算只有30万，我们报价33万", [("30万", "budget"), ("33万", "our_quote")], (330000, "quote")),
    # two quotes: 最后改成 picks the later one, without a cue the bot asks
    ("先给德润报了45万，最后改成了41万", [("45万", "our_quote"), ("41万", "our_quote")], (410000, "quote")),
    ("先给德润报了45万，后来又报了43万", [("45万", "our_quote"), ("43万", "our_quote")], "ambiguous"),
    ("我们这边报了26万，客户觉得偏高，希望降到24万",
     [("26万", "our_quote"), ("24万", "our_quote")], (240000, "quote")),
    # a signed contract outranks everything; the deposit never proposes
    ("今天德润签了，合同金额86万，定金20万已经到账",
     [("86万", "order"), ("20万", "deposit")], (860000, "order")),
    ("订金五万先打过来，合同还没签", [("五万", "deposit")], None),
    # money received is a payment
    ("明川的尾款18万今天到账了", [("18万", "payment")], None),
    # unit price × quantity
    ("明川要40套控制柜，单价3,500元/套",
     [("3,500元", "unit_price"), ("3500元/套 × 40套 = 14万", "total")], (140000, "quote")),
    ("每台报价1.6万，数量二十五台，客户预算只有35万",
     [("1.6万", "unit_price"), ("1.6万/台 × 25台 = 40万", "total"), ("35万", "budget")], (400000, "quote")),
    # a signed note: the computed total is the order value
    ("明川下单了，一共48台，每台2200",
     [("2200", "unit_price"), ("2200元/台 × 48台 = 10.56万", "total")], (105600, "order")),
    # 5个点 and 3个月 are not quantities
    ("单价2800，再降5个点，交货要3个月，一共要30台",
     [("2800", "unit_price"), ("2800元/台 × 30台 = 8.4万", "total")], (84000, "quote")),
    # two quantities: no single total, and a unit price alone never proposes
    ("首批先订十台，每台4800元，后面还有二十台", [("4800元", "unit_price")], None),
    # a per-unit cost is a cost, not our price
    ("包装成本每箱不能超过六块，一共两千箱", [("六块", "other")], None),
    # an explicit contract total beats the computed one
    ("签了，60台，单价2000，合同总价11万",
     [("2000", "unit_price"), ("2000元/台 × 60台 = 12万", "total"), ("11万", "order")], (110000, "order")),
    # 从X加到Y keeps X's role and marks Y final
    ("预算从60万加到了75万", [("60万", "budget"), ("75万", "budget")], (750000, "budget")),
    # 我们 + 能给到 is our price, not a budget
    ("我们最多能给到33万", [("33万", "our_quote")], (330000, "quote")),
    # whose price it is is unclear: ask
    ("我们和友商分别报了33万和36万", [("33万", "our_quote"), ("36万", "our_quote")], "ambiguous"),
    # no amount at all
    ("下周去明川，主要是看看现场", [], None),
]


@pytest.mark.parametrize(("text", "roles", "expected"), CASES, ids=[c[0][:14] for c in CASES])
def test_roles_and_proposal(text: str, roles: list[tuple[str, str]], expected: object) -> None:
    draft = _draft(text)
    assert [(f.text, f.role) for f in amount_facts(draft)] == roles
    p = deal_amount_proposal(draft)
    if expected is None:
        assert p is None
    elif expected == "ambiguous":
        assert p is not None and p.ambiguous and p.value is None
        assert len(p.options) >= 2
        assert all(o.role in ("our_quote", "order", "budget", "total") for o in p.options)
    else:
        assert isinstance(expected, tuple)
        assert p is not None and not p.ambiguous
        assert p.value == pytest.approx(expected[0])
        assert p.basis == expected[1]
        assert p.options == ()


def test_ambiguous_options_are_the_two_values_in_text_order() -> None:
    p = deal_amount_proposal(_draft("先给德润报了45万，后来又报了43万"))
    assert p is not None
    assert [o.value for o in p.options] == [450000, 430000]
    assert p.basis == "quote"
    assert p.text == "45万 / 43万"


def test_the_same_value_twice_is_not_ambiguous() -> None:
    p = deal_amount_proposal(_draft("我们报了45万，明川说45万的报价可以接受"))
    assert p is not None and not p.ambiguous and p.value == 450000


def test_budget_ambiguity_only_when_two_budgets() -> None:
    p = deal_amount_proposal(_draft("王总说预算五十万，最多能给到五十五万"))
    assert p is not None and p.ambiguous and p.basis == "budget"


def test_unpunctuated_voice_note_keeps_competitor_apart() -> None:
    facts = amount_facts(_draft("西门子报了50万我们报的是55万明川倾向我们"))
    assert [(f.value, f.role) for f in facts] == [(500000, "competitor"), (550000, "our_quote")]


def test_facts_keep_extractor_values_kinds_and_spans() -> None:
    text = "明川电气的采购说西门子报了62万，我们报的是70万"
    draft = _draft(text)
    facts = amount_facts(draft)
    assert [(f.value, f.kind, f.span) for f in facts] == [(a.value, a.kind, a.span) for a in draft.amounts]
    for f in facts:
        assert text[f.span.start:f.span.end] == f.text
        assert f.role in ROLES


def test_total_fact_span_covers_quantity_and_unit_price() -> None:
    text = "明川要40套控制柜，单价3,500元/套"
    total = next(f for f in amount_facts(_draft(text)) if f.role == "total")
    assert isinstance(total, AmountFact)
    assert text[total.span.start:total.span.end].startswith("40套")
    assert total.kind == "quote"


def test_empty_draft_has_no_proposal() -> None:
    draft = FollowUpDraft(text="")
    assert amount_facts(draft) == []
    assert deal_amount_proposal(draft) is None
