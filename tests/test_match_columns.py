"""The index keeps spellings as columns, not parsed names: what it derives must equal the parse."""
from __future__ import annotations

import pytest

from extraction.customers import CustomerIndex
from extraction.normalize import core_readings, parse_name
from extraction.types import CustomerRef

NAMES = ["苏州恒达精密机械有限公司", "中科谱华仪器（北京）有限公司", "易桩智能充电设备有限公司",
         "Vantek传感技术（深圳）有限公司", "Hengda Precision Machinery Co., Ltd.", "BKT",
         "上海华信中心有限公司", "厦门鹭通物流", "港畅货运代理有限公司", "沪优鲜汇食品"]


@pytest.mark.parametrize("name", NAMES)
def test_a_spellings_core_is_its_brand_and_industry_words(name: str) -> None:
    """`_Variant.core` rebuilds the core from brand + industry words instead of keeping it."""
    parsed = parse_name(name)
    for r in (parsed, *core_readings(parsed)):
        assert r.core == r.brand + "".join(r.industry)


def _best(index: CustomerIndex, name: str) -> str | None:
    best = index.match(name).best
    return best.id if best else None


def test_latin_lookups_follow_updates() -> None:
    """Latin keys are found by searching one sorted id array; updates keep it sorted."""
    index = CustomerIndex([CustomerRef("1", "苏州恒达精密机械有限公司", "苏州"),
                           CustomerRef("2", "Hengtai Logistics", None)])
    assert _best(index, "Hengda Precision") == "1"
    index.upsert(CustomerRef("3", "无锡恒达电子有限公司", "无锡", ("Hengda Electronics",)))
    assert _best(index, "Hengda Electronics") == "3"
    mention = index.find_mention("昨天拜访了Hengda Electronics的王总")
    assert mention is not None and mention.customer_id == "3"
    assert [c.id for c in index.match("Hengda").alternates] == ["1"]
    assert index.remove("1") and index.remove("3")
    assert _best(index, "Hengda") is None
    assert index.find_mention("昨天拜访了Hengda Electronics的王总") is None
    assert _best(index, "Hengtai Logistics") == "2"
