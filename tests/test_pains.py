"""Pain-point cue classes (README §2 pain_points): categories, negation, non-pains and spans.

Sentences are written for these tests (not taken from any evaluation set); each checks that a
CLASS of wording is recognised, so several use nouns that appear in no lexicon.
"""
from __future__ import annotations

import pytest

from extraction.clauses import split_clauses
from extraction.pains import find_pains
from extraction.types import Span, TextItem


def _pains(text: str, competitors: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    comps = [TextItem(c, Span(text.find(c), text.find(c) + len(c))) for c in competitors if c in text]
    return [(p.category, p.text) for p in find_pains(text, split_clauses(text), comps)]


@pytest.mark.parametrize(
    "text, category",
    [
        # negative evaluation and comparison
        ("客户觉得这套灌装线的报价偏高", "price"),
        ("他们说运输费用算得太高", "price"),
        ("采购嫌我们的滤芯贵了点", "price"),
        ("对方说样衣的颜色偏黄", "quality"),
        ("反馈新批次纸箱的硬度不够", "quality"),
        ("说交货周期太长了", "delivery"),
        ("说我们的服务网点离得太远", "service"),
        ("门店说这款饮料卖得慢", "inventory"),
        # failure and defect verbs
        ("他们说冷干机上周又跳闸了", "quality"),
        ("客户反映主板有虚焊", "quality"),
        ("反馈打印头经常堵", "quality"),
        ("说扫码枪用了两周就坏了", "quality"),
        # unmet specs and thresholds
        ("说我们的分拣机最多只能到每小时三千件", "technical"),
        ("对方说接口对接不了他们的老系统", "technical"),
        ("说良品率只有92%", "quality"),
        # waiting and blockage
        ("要等集团董事长回来拍板", "decision"),
        ("说今年的改造经费还没批下来", "budget"),
        ("合同卡在账期上", "other"),
        ("说上次报修等了五天才有人来", "service"),
        ("说发货一拖再拖", "delivery"),
        # terms
        ("法务要求先货后款", "other"),
        ("他们要求质保延长到五年", "other"),
        # budget, inventory, technical demands
        ("说今年预算卡得很紧", "budget"),
        ("门店仓库里还压着三百箱", "inventory"),
        ("要求数据必须存在他们自己的机房", "technical"),
        ("客户要求单价再降两个点", "price"),
    ],
)
def test_category_of_cue_class(text: str, category: str) -> None:
    cats = [c for c, _ in _pains(text)]
    assert category in cats, _pains(text)


@pytest.mark.parametrize(
    "text",
    [
        "龚总说价格倒不是问题",
        "他们说质量没问题",
        "客户觉得这个价不算贵",
        "试用下来效果还行",
        "他们要新开三家门店，需要收银机和货架",
        "他们走招标流程，下个月挂网",
        "客户对我们的方案挺满意",
        "他们想了解一下我们的冷库方案",
    ],
)
def test_no_pain(text: str) -> None:
    assert _pains(text) == []


@pytest.mark.parametrize(
    "text, competitors",
    [
        ("他们现在用的是博世的电批", ("博世",)),
        ("最后给了友商，说人家便宜", ()),
        ("说比施耐德的贵了两万", ("施耐德",)),
        ("领导倾向进口的", ()),
        ("之前那家经常断货", ()),
    ],
)
def test_competitor_takes_precedence(text: str, competitors: tuple[str, ...]) -> None:
    cats = [c for c, _ in _pains(text, competitors)]
    assert cats and cats[0] == "competitor", _pains(text, competitors)


@pytest.mark.parametrize(
    "text, span",
    [
        ("张经理说他们嫌我们报价偏高", "嫌我们报价偏高"),
        ("客户说但是交期要40天有点赶", "交期要40天有点赶"),
        ("他们说库存太多了", "库存太多了"),
        ("王总说要等总部审批", "要等总部审批"),
    ],
)
def test_span_starts_at_predicate(text: str, span: str) -> None:
    texts = [t for _, t in _pains(text)]
    assert span in texts, texts


def test_two_problems_in_one_unpunctuated_clause() -> None:
    got = _pains("他们说烘干太慢耐磨只做到三千转")
    assert {c for c, _ in got} >= {"quality", "technical"}, got


def test_pain_spans_are_exact_text() -> None:
    text = "客户说机器噪音偏大，售后响应太慢，预算也不够"
    for p in find_pains(text, split_clauses(text), []):
        assert text[p.span.start:p.span.end] == p.text
