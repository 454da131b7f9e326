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


def _note_pains(text: str) -> list[tuple[str, str]]:
    """Pains through the whole extractor (our own to-dos and contacts are known there)."""
    from datetime import datetime

    from extraction.extractor import extract
    r = extract(text, ref_time=datetime.fromisoformat("2026-06-10T10:00:00+08:00"))
    return [(p.category, p.text) for p in r.pain_points]


@pytest.mark.parametrize("text, category, span", [
    # a frequency adverb before an event verb reports a recurring failure
    ("何工说喷码机老是断墨", "quality", "老是断墨"),
    # an attribute noun that is poor
    ("马工说上批涂层附着力差", "quality", "附着力差"),
    # a comitative phrase before a relational verb starts the span
    ("郭工说跟他们的仓储系统对不上", "technical", "跟他们的仓储系统对不上"),
    # a limit stated with its figure runs to the figure
    ("冯工说我们的探头最快只能做到每秒十次", "technical", "最快只能做到每秒十次"),
    # a failure verb after a duration limit decides the category
    ("林工说滤网用不到两周就堵", "quality", "滤网用不到两周就堵"),
    # the minimum order quantity is a term, not a price
    ("吴经理嫌我们的起订量太高", "other", "嫌我们的起订量太高"),
    # money waiting for approval is budget
    ("钱总说设备经费还没批下来", "budget", "设备经费还没批下来"),
    # a worry takes the category of the problem it is about
    ("曹工担心我们的电源精度达不到要求", "technical", "担心我们的电源精度达不到要求"),
    # a demanded payment term is a pain, whatever goods it mentions
    ("丁总坚持要月结九十天", "other", "坚持要月结九十天"),
    ("丁总坚持货到半年后再付款", "other", "坚持货到半年后再付款"),
    # wear-out after use or time
    ("方工说插头插拔久了就松", "quality", "插拔久了就松"),
    ("方工说这批胶水放了一周就结块", "quality", "放了一周就结块"),
    # someone else's price compared with ours is a rival's price
    ("宋总说那家的单价比我们低了两成", "competitor", "单价比我们低了两成"),
    # an amount as the topic of a negative evaluation is about price
    ("严经理说一套三万六有点高", "price", "一套三万六有点高"),
    # work that will not be finished in time is delivery
    ("许工担心月底前装不完", "delivery", "担心月底前装不完"),
    # the incumbent's trouble, told right after naming it, is a competitor pain
    ("邹工说他们现在用的是远拓的设备然后说经常死机", "competitor", "经常死机"),
    # a degree word before an inherently negative adjective
    ("唐工说二楼走线很麻烦", "quality", "二楼走线很麻烦"),
    # a certificate asked about or still pending
    ("冯主任问我们有没有省里的备案", "technical", "有没有省里的备案"),
    ("吴工说我们的注册证还在办", "technical", "注册证还在办"),
    # no service point where they are
    ("何经理说我们在西北没有服务网点", "service", "没有服务网点"),
    # goods that have not arrived are delivery
    ("邓工说样件迟迟没到", "delivery", "样件迟迟没到"),
    # payment terms wanted: in instalments, after delivery, a longer warranty
    ("严总说付款想分四期", "other", "付款想分四期"),
    ("严总说想货到两个月再付", "other", "想货到两个月再付"),
    ("严总说质保想要六年", "other", "质保想要六年"),
    # a lead time stated as the condition for delivery
    ("姜工说你们要八周才能交货", "delivery", "要八周才能交货"),
    # the clause of a competitor construction, and a later mention as a clause's topic
    ("严经理说澜拓给的是每米九块", "competitor", "澜拓给的是每米九块"),
    ("韩总说甲方指定要用森沃的阀门", "competitor", "甲方指定要用森沃的阀门"),
    ("韩总说他们拿去跟栢瑞比了，栢瑞有驻场技术员", "competitor", "栢瑞有驻场技术员"),
    # concessions asked of us: a price target, matching a price, extras at no charge, costs borne
    ("顾经理说单价想要十五块以内", "price", "单价想要十五块以内"),
    ("顾经理希望我们能跟到八块二", "price", "希望我们能跟到八块二"),
    ("顾经理要求运费由我们承担", "price", "要求运费由我们承担"),
    # money limited by a focus adverb, or eaten by something else
    ("孔经理说他们预算只有四十万", "budget", "预算只有四十万"),
    ("孔经理说今年的培训经费被新项目挤掉了一半", "budget", "今年的培训经费被新项目挤掉了一半"),
    # someone else must be consulted or pass it
    ("孔经理说这事要跟老板商量一下", "decision", "要跟老板商量一下"),
    ("孔经理说换供应商得过质量部那一关", "decision", "换供应商得过质量部那一关"),
    # 发 + a bad state; N items affected; a span of time before 才
    ("孔经理说窗帘洗了几次以后手感发硬", "quality", "手感发硬"),
    ("孔经理说有三块面板不亮了", "quality", "有三块面板不亮了"),
    ("孔经理说打客服电话一个小时才有人接", "service", "一个小时才有人接"),
    # a penalty clause demanded is a contract term, whatever goods it mentions
    ("孔经理要求设备到货每晚一天罚款五百", "other", "要求设备到货每晚一天罚款五百"),
    # money waiting for someone's approval is budget, not decision
    ("孔经理说改造的钱集团一直拖着不批", "budget", "改造的钱集团一直拖着不批"),
    # vibration is a problem when it is high
    ("孔经理说二号风机振动偏大", "quality", "二号风机振动偏大"),
])
def test_construction_classes(text: str, category: str, span: str) -> None:
    got = _note_pains(text)
    # the span may keep the topic in front (喷码机老是断墨); it must hold the expected core
    assert any(c == category and (span in t or t in span) and len(t) >= len(span) / 2 for c, t in got), got


@pytest.mark.parametrize("text", [
    "王经理说具体要几台还没定",          # requirements still open: no problem yet
    "李总说老规矩货到月结30天",           # an agreed term stated plainly
    "张总问报价，我周五前把补充条款拟好发他",  # our own planned work is no customer problem
    "孙工说试用下来去除率都达标",           # a defect noun said to be fine
    "陈工说我们要求预付四成",               # our own position in a negotiation
    "陈工订了两百吨白卡纸和一批报警阀",      # failure words inside product names
    "陈工说新款的噪音比原来的小",            # a comparison in the attribute's good direction
    "陈工说一起上省得以后对接两套系统",       # a purpose (省得), not a problem
    "陈工说周界两公里要做振动光纤监测",       # vibration as what a product senses, not a defect
    "陈工怀疑是电压不稳",                    # a suspected cause, not a stated problem
])
def test_not_pains(text: str) -> None:
    assert _note_pains(text) == []


def test_traditional_notes_are_read_and_keep_their_characters() -> None:
    got = _note_pains("黃經理說打印機偶爾掉線")
    assert ("quality", "打印機偶爾掉線") in got or any(c == "quality" and "掉線" in t for c, t in got), got


@pytest.mark.parametrize("text, category, core", [
    # a failure counted
    ("封箱机这个月卡箱停了四次", "quality", "卡箱停了四次"),
    # dragged on until it finally arrived
    ("液氮槽车拖到周日晚上才到", "delivery", "拖到周日晚上才到"),
    # an approval body still to pass
    ("方案还要过集团的投委会", "decision", "过集团的投委会"),
    # a limit stated with its figure
    ("他们厂房层高只有四米二", "technical", "层高只有四米二"),
    ("那款电池只能飞十五分钟", "technical", "只能飞十五分钟"),
    # no budget at all
    ("今年没有这块的改造预算", "budget", "没有这块的改造预算"),
    # pushing the price down by points or toward a figure
    ("采购还想再压三个点", "price", "压三个点"),
    ("要我们把价格往四十万靠", "price", "往四十万靠"),
])
def test_counted_failures_limits_and_pushes(text: str, category: str, core: str) -> None:
    assert any(c == category and core in t for c, t in _pains(text))


def test_our_own_limit_is_no_pain_when_the_subject_starts_the_clause() -> None:
    assert _pains("他们要10%，我们只能给5%") == []


def test_a_filler_separates_two_statements() -> None:
    spans = [t for _, t in _pains("一台一年要一万二太贵了嗯物业费又收不上来")]
    assert spans and not any("太贵" in t and "物业费" in t for t in spans)
