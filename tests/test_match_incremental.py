"""The match index kept in step customer by customer answers like one built from scratch."""
from __future__ import annotations

import random

from extraction.customers import CustomerIndex
from extraction.types import CustomerRef

BRANDS = ["恒达", "宏远", "鸿源", "信达", "新达", "盛和", "圣和", "康泰", "远航", "启明", "天合", "易桩", "港畅"]
CITIES = ["苏州", "无锡", "广州", "成都", "合肥", "长沙", "宁波", "青岛", ""]
LINES = ["精密机械", "物流", "医药连锁", "电子科技", "建材", "光伏", "智能充电", "货运代理", "自动化"]


def _refs(rng: random.Random, n: int, prefix: str) -> list[CustomerRef]:
    out = []
    for i in range(n):
        city, brand, line = rng.choice(CITIES), rng.choice(BRANDS), rng.choice(LINES)
        aliases = (brand + line[:2],) if rng.random() < 0.3 else ()
        out.append(CustomerRef(f"{prefix}{i}", f"{city}{brand}{line}有限公司", city or None, aliases))
    return out


QUERIES = ([f"{c}{b}{ln}" for c in CITIES[:4] for b in BRANDS for ln in LINES[:4]]
           + BRANDS + ["Hengda Precision", "HY Logistics", "衡达精密", "苏州横达", "港畅货代"])
NOTES = ["今天去了苏州恒达精密，王总说下周给答复", "鸿源建材那边要加急", "跟易桩的刘工聊了充电桩",
         "港畅货代的报价还没回", "新达医药连锁的采购想看样品"]


def _answers(index: CustomerIndex) -> list[object]:
    out: list[object] = []
    for q in QUERIES:
        r = index.match(q)
        out.append((r.best.id if r.best else None, round(r.score, 4), tuple((c.id, c.score) for c in r.alternates)))
    for t in NOTES:
        m = index.find_mention(t)
        out.append(None if m is None else (m.text, m.customer_id, tuple(c.id for c in m.match.alternates)))
    return out


def test_updates_answer_like_a_fresh_build() -> None:
    rng = random.Random(3)
    live = {r.id: r for r in _refs(rng, 150, "A")}  # some keys hold more than 16 ids (kept as arrays)
    index = CustomerIndex(list(live.values()))
    _answers(index)  # fill the lazy scan caches before the changes: they must not go stale
    for r in _refs(rng, 15, "B"):  # new customers
        index.upsert(r)
        live[r.id] = r
    for cid in rng.sample(sorted(live), 40):  # merged away
        assert index.remove(cid)
        del live[cid]
    for cid in rng.sample(sorted(live), 8):  # renamed / given an alias / moved
        new = _refs(rng, 1, "x")[0]
        live[cid] = CustomerRef(cid, new.name, new.region, new.aliases)
        index.upsert(live[cid])
    fresh = CustomerIndex(sorted(live.values(), key=lambda r: list(live).index(r.id)))
    assert len(index) == len(fresh) == len(live)
    assert _answers(index) == _answers(fresh)


def test_a_new_customer_is_found_in_notes_at_once_and_a_removed_one_no_more() -> None:
    index = CustomerIndex([CustomerRef("1", "苏州恒达精密机械有限公司", "苏州")])
    m = index.find_mention("明天去鹭岛餐饮谈续约")
    assert m is None or m.customer_id is None
    v = index.version
    index.upsert(CustomerRef("2", "厦门鹭岛餐饮管理有限公司", "厦门"))
    assert index.version > v
    assert index.find_mention("明天去鹭岛餐饮谈续约").customer_id == "2"  # type: ignore[union-attr]
    assert index.remove("2") and not index.remove("2")
    m = index.find_mention("明天去鹭岛餐饮谈续约")
    assert m is None or m.customer_id is None
    assert "2" not in index and "1" in index


def test_a_customer_added_in_place_becomes_a_word_for_the_segmenter() -> None:
    from datetime import datetime

    from extraction.extractor import extract
    from extraction.segment import cut

    index = CustomerIndex([CustomerRef("1", "苏州恒达精密机械有限公司", "苏州")])
    extract("今天拜访了恒达", ref_time=datetime(2026, 3, 2, 10), customers=index)
    name = "鑫垚淼晶科技"  # rare characters: never one word in jieba's own dictionary
    assert name not in cut(f"去了{name}谈合同")
    index.upsert(CustomerRef("2", name, None))
    extract(f"去了{name}谈合同", ref_time=datetime(2026, 3, 2, 10), customers=index)
    assert name in cut(f"去了{name}谈合同")
