"""Customer identity by line of business, sound and Latin initials (issue 15's miss classes).

A small CRM written for these tests: the same brand appears in several businesses and cities.
"""
from __future__ import annotations

import pytest

from extraction.customers import ASK, AUTO_LINK, CustomerIndex
from extraction.normalize import parse_name
from extraction.types import CustomerRef

CRM = [
    CustomerRef("K1", "无锡盛和精密机械有限公司", "无锡"),
    CustomerRef("K2", "合肥圣和物流有限公司", "合肥"),
    CustomerRef("K3", "长沙康泰医药连锁有限公司", "长沙"),
    CustomerRef("K4", "宁波远航电子科技有限公司", "宁波"),
    CustomerRef("K5", "青岛启明医疗器械有限公司", "青岛"),
]


@pytest.fixture(scope="module")
def index() -> CustomerIndex:
    return CustomerIndex(CRM)


def _asks(index: CustomerIndex, name: str, cid: str) -> bool:
    res = index.match(name)
    return res.best is None and any(c.id == cid and ASK <= c.score < AUTO_LINK for c in res.alternates)


@pytest.mark.parametrize("name", ["无锡盛和自动化", "无锡盛和机器人", "无锡盛和轴承"])
def test_same_brand_and_city_in_a_related_business_asks(index: CustomerIndex, name: str) -> None:
    assert _asks(index, name, "K1")


@pytest.mark.parametrize("name,cid", [("宁波远航物流", "K4"), ("长沙康泰餐饮", "K3")])
def test_same_brand_and_city_in_an_unrelated_business_is_a_candidate_never_a_link(
        index: CustomerIndex, name: str, cid: str) -> None:
    assert _asks(index, name, cid)


@pytest.mark.parametrize("name,cid", [
    ("长沙康泰药房", "K3"),      # two words for one business
    ("长沙康泰药业", "K3"),
    ("无锡盛和精机", "K1"),      # a short form of 精密机械
    ("无锡盛和机械", "K1"),
    ("宁波远航电子", "K4"),
    ("盛和精密", "K1"),
])
def test_other_words_for_the_same_business_link(index: CustomerIndex, name: str, cid: str) -> None:
    res = index.match(name)
    assert res.best is not None and res.best.id == cid


def test_a_brand_written_with_another_customers_characters_links_by_sound_when_that_one_is_in_another_business(
        index: CustomerIndex) -> None:
    # 圣和 is K2's brand as written, but K2 is a logistics company; 圣和精密 sounds like 盛和精密
    res = index.match("圣和精密机械")
    assert res.best is not None and res.best.id == "K1"
    # in K2's own business the characters decide: never the sound-alike
    assert index.match("圣和物流").best.id == "K2"  # type: ignore[union-attr]
    res = index.match("圣和机械物流")
    assert res.best is None or res.best.id != "K1"


@pytest.mark.parametrize("name,cid", [("SH Precision", "K1"), ("KT Pharmacy", "K3"), ("QM Medical", "K5")])
def test_latin_initials_with_a_business_word_link(index: CustomerIndex, name: str, cid: str) -> None:
    res = index.match(name)
    assert res.best is not None and res.best.id == cid


def test_latin_initials_alone_or_with_another_business_only_ask(index: CustomerIndex) -> None:
    assert _asks(index, "SH", "K1") or index.match("SH").best is None
    assert index.match("SH Tech").best is None  # 科技 names no business
    assert index.match("YH Logistics").best is None  # 远航 is electronics


def test_initials_in_a_note_need_a_business_word(index: CustomerIndex) -> None:
    m = index.find_mention("下午SH Precision的采购打电话来催交期")
    assert m is not None and m.customer_id == "K1"
    m = index.find_mention("PO今天下了，SH那边说月底前付款")
    assert m is None or m.customer_id is None


@pytest.mark.parametrize("name,brand,industry", [
    ("Kangtai Pharmacy", "kangtai", ("药房",)),
    ("SH Precision", "sh", ("精密",)),
    ("BrightStorage", "brightstorage", ()),  # inside a CamelCase brand a business word is the brand's
    ("Sunrise Office", "sunriseoffice", ()),  # not a business word: kept in the brand
])
def test_english_business_words_are_read_only_as_words_of_their_own(name: str, brand: str,
                                                                    industry: tuple[str, ...]) -> None:
    p = parse_name(name)
    assert (p.brand, p.industry) == (brand, industry)


def test_a_brand_named_after_a_place_is_not_the_bare_place() -> None:
    index = CustomerIndex([CustomerRef("P1", "青岛纺织机械有限公司", "青岛"),
                           CustomerRef("P2", "青岛启明医疗器械有限公司", "青岛")])
    # the note names the city, then another customer: the city alone never links the first one
    m = index.find_mention("青岛启明的采购说下周要样品")
    assert m is not None and m.customer_id == "P2"
    m = index.find_mention("周三去青岛出差，顺便看看展会")
    assert m is None or m.customer_id is None
    assert index.match("青岛").best is None  # asked, with the candidate
    assert any(c.id == "P1" for c in index.match("青岛").alternates)
    assert index.match("青岛纺织机械").best.id == "P1"  # type: ignore[union-attr]
    assert index.find_mention("青岛纺织机械那边催发货").customer_id == "P1"  # type: ignore[union-attr]
