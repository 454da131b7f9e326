"""Money as people write it (issue 14 item 5): the numeral grammar, ranges, 角/毛/分, estimates,
k/w, other currencies, unit prices, and what the deal amount may take from them.

Sentences are written for these tests (made-up numbers and goods), not taken from any suite.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from extraction.amounts import cn_to_number, find_amounts, parse_amount
from extraction.customers import CustomerIndex
from extraction.dates import find_dates
from extraction.deal_amount import amount_facts, deal_amount_proposal
from extraction.extractor import extract
from extraction.types import Amount, CustomerRef


def _one(text: str) -> Amount:
    found = find_amounts(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("numeral, value", [
    ("七万三千二百零九", 73209), ("一万零六十", 10060), ("三亿零八万", 300080000),
    ("八百万零三百", 8000300), ("一万三百二十", 10320), ("六千万零九千", 60009000),
    ("二十三亿六千零七万", 2360070000), ("九万零七", 90007), ("一万零二十三点四五", 10023.45),
    ("6万2千8百", 62800), ("2亿3万5千", 200035000), ("4万6000", 46000), ("3千零15", 3015), ("廿八", 28), ("叁仟伍佰", 3500), ("一万三", 13000),
    ("两万一八", 21800), ("三千二五", 3250), ("１２．５", 12.5),
])
def test_numeral_grammar(numeral: str, value: float) -> None:
    assert cn_to_number(numeral) == pytest.approx(value)


@pytest.mark.parametrize("text, value", [
    ("合同价七万三千二百零九元", 73209), ("尾款一万零六十元还没到", 10060), ("总包三亿零八万", 300080000),
    ("设备款八百万零三百元", 8000300), ("报价6万2千8百元", 62800), ("预算4万6000", 46000),
    ("合同额2,345，678.50元", 2345678.5), ("到账63，450.00元", 63450), ("报价７，８２０元", 7820),
    ("单价一万三千六", 13600), ("对方给到两万一八而且包运费", 21800),
])
def test_one_amount_per_written_number(text: str, value: float) -> None:
    a = _one(text)
    assert (a.value, a.currency, a.high) == (pytest.approx(value), "CNY", None)


def test_a_word_after_the_number_is_not_read_into_it() -> None:
    # 一 of 一共 / 一台 is the next word, not a digit of the price
    assert [a.value for a in find_amounts("单台四十六万五一共三台")] == [465000]
    assert [(a.value, a.per) for a in find_amounts("我们报的两万七千五一台")] == [(27500, "台")]


@pytest.mark.parametrize("text, low, high", [
    ("预算二十到三十万", 200000, 300000), ("月费8~12k", 8000, 12000), ("4.5到4.8元一斤", 4.5, 4.8),
    ("报价2万-4万", 20000, 40000), ("投资三到五亿", 3e8, 5e8), ("预算8000到1万", 8000, 10000),
    ("能接受七块五到八块二", 7.5, 8.2),
])
def test_ranges_keep_both_ends(text: str, low: float, high: float) -> None:
    a = _one(text)
    assert (a.value, a.high) == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize("text, value", [
    ("每斤九元八角五分", 9.85), ("六元七毛", 6.7), ("两块三分", 2.03), ("四块零六", 4.06),
    ("七十八块二角四分钱", 78.24), ("零售价45元7角", 45.7),
])
def test_jiao_and_fen(text: str, value: float) -> None:
    assert _one(text).value == pytest.approx(value)


@pytest.mark.parametrize("text, value, high", [
    ("预算三十几万", 300000, None), ("差价二十几块钱", 20, None), ("年费六七千块", 6000, 7000),
    ("大约70万", 700000, None), ("80万出头", 800000, None), ("不超过45万", 450000, None),
    ("至少两千块", 2000, None), ("报价一百二十多万", 1200000, None), ("能给到三十来万", 300000, None),
    ("约合人民币3万", 30000, None),
])
def test_estimates_and_bounds_are_approximate(text: str, value: float, high: float | None) -> None:
    a = _one(text)
    assert (a.value, a.high, a.approx) == (value, high, True)


def test_only_estimates_are_approximate() -> None:
    assert [a.approx for a in find_amounts("去年大约70万，今年合同总价86万")] == [True, False]


def test_a_leading_ji_is_too_vague_to_store() -> None:
    assert find_amounts("这个月回款还差几十万") == []


@pytest.mark.parametrize("text, value", [("这单8k上下", 8000), ("差不多9K就能拿下", 9000)])
def test_k_and_w(text: str, value: float) -> None:
    assert _one(text).value == value


@pytest.mark.parametrize("text", ["送了两个20W快充头，报价另算", "4K屏的报价", "价格表型号DS-2w"])
def test_watts_resolutions_and_model_codes_are_not_money(text: str) -> None:
    assert find_amounts(text) == []


@pytest.mark.parametrize("text, value, currency", [
    ("海外报价3万美元", 30000, "USD"), ("报价€800", 800, "EUR"), ("港币50万", 500000, "HKD"),
    ("尾款4000人民币", 4000, "CNY"), ("样品费500日元", 500, "JPY"),
    ("首付9千英镑", 9000, "GBP"), ("总价US$1.2万", 12000, "USD"), ("材料费1.2万欧", 12000, "EUR"),
    ("样机500美刀", 500, "USD"),
])
def test_currencies_are_kept_not_converted(text: str, value: float, currency: str) -> None:
    a = _one(text)
    assert (a.value, a.currency) == (value, currency)


def test_an_approximate_foreign_amount() -> None:
    a = _one("这个海外项目约2.6亿美元")
    assert (a.value, a.currency, a.approx) == (260000000, "USD", True)


@pytest.mark.parametrize("text, per", [
    ("3200元/台", "台"), ("每吨5800元", "吨"), ("单价4500一套", "套"), ("租金九千元每月", "月"),
])
def test_unit_prices_keep_their_unit(text: str, per: str) -> None:
    assert _one(text).per == per


@pytest.mark.parametrize("text", ["库存一万多套", "还压着两万多只", "备货2万6000台", "要两万五个"])
def test_long_and_estimated_counts_are_not_money(text: str) -> None:
    assert find_amounts(text) == []


def test_a_date_after_a_long_number_is_cut_off() -> None:
    text = "货款一万零五百八月底前付"
    spans = [d.span for d in find_dates(text, date(2026, 6, 10))]
    assert [a.value for a in find_amounts(text, spans)] == [10500]


@pytest.mark.parametrize("phrase, value", [
    ("5万美元", None), ("20到30万", None), ("一万零五百", 10500), ("四万零三十", 40030),
])
def test_the_correction_command_takes_one_yuan_number(phrase: str, value: float | None) -> None:
    assert parse_amount(phrase) == value


# ---------------------------------------------------------------- the deal amount

_REF = datetime(2026, 6, 10, 10, 0, tzinfo=timezone(timedelta(hours=8)))
_INDEX = CustomerIndex([CustomerRef("K9", "嘉兴远帆机械有限公司", "嘉兴")])


def _proposal(text: str):  # type: ignore[no-untyped-def]
    return deal_amount_proposal(extract(text, ref_time=_REF, customers=_INDEX))


def test_a_foreign_currency_quote_never_sets_the_deal() -> None:
    assert _proposal("嘉兴远帆的海外项目我们报价12万美元") is None


def test_a_budget_range_is_asked_with_its_two_ends() -> None:
    p = _proposal("嘉兴远帆的采购说预算二十到三十万")
    assert p is not None and p.ambiguous and p.value is None
    assert [o.value for o in p.options] == [200000, 300000]


def test_an_estimated_amount_is_marked_on_the_proposal_and_the_fact() -> None:
    draft = extract("嘉兴远帆的采购说预算大概四十万", ref_time=_REF, customers=_INDEX)
    p = deal_amount_proposal(draft)
    assert p is not None and (p.value, p.approx) == (400000, True)
    assert [f.approx for f in amount_facts(draft)] == [True]
