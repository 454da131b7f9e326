"""One note about several customers (extraction/split.py, CustomerIndex.find_mentions).

Sentences are written for these tests (made-up companies), not taken from the evaluation sets.
"""
from __future__ import annotations


from extraction.customers import CustomerIndex
from extraction.split import Split, split_by_customer
from extraction.types import CustomerRef

INDEX = CustomerIndex([
    CustomerRef("K1", "杭州明川电气有限公司", "杭州"),
    CustomerRef("K2", "常州德润包装材料有限公司", "常州"),
    CustomerRef("K3", "合肥嘉禾食品有限公司", "合肥"),
    CustomerRef("K4", "南通瑞林纺织有限公司", "南通"),
])


def _split(text: str) -> Split:
    return split_by_customer(text, INDEX)


def _ids(s: Split) -> list[str | None]:
    return [m.customer_id for m in s.mentions]


def _texts(s: Split) -> list[str]:
    return [g.text for g in s.segments]


def test_two_customers_punctuated() -> None:
    text = "上午在明川，下午去了德润，德润让我下周再联系"
    s = _split(text)
    assert s.clear and _ids(s) == ["K1", "K2"]
    assert _texts(s) == ["上午在明川", "下午去了德润，德润让我下周再联系"]
    for g in s.segments:
        assert text[g.span.start:g.span.end] == g.text
        assert g.span.start <= g.mention.span.start < g.span.end


def test_three_customers_with_transition_words() -> None:
    s = _split("今天跑了三家：先去明川看了样机，然后到德润谈了合同，回来路上顺便去了嘉禾")
    assert s.clear and _ids(s) == ["K1", "K2", "K3"]
    # text before the first customer stays with it; 回来路上 leads into the third one
    assert _texts(s) == ["今天跑了三家：先去明川看了样机", "然后到德润谈了合同", "回来路上顺便去了嘉禾"]


def test_unpunctuated_voice_note_splits_at_time_words() -> None:
    s = _split("上午在明川谈了续约的事下午去了德润德润说样品还没测完")
    assert s.clear and _ids(s) == ["K1", "K2"]
    assert _texts(s) == ["上午在明川谈了续约的事", "下午去了德润德润说样品还没测完"]


def test_unpunctuated_after_cue_cuts_behind_the_word() -> None:
    s = _split("从嘉禾出来之后去了瑞林瑞林要看报价")
    assert s.clear and _ids(s) == ["K3", "K4"]
    assert _texts(s) == ["从嘉禾出来之后", "去了瑞林瑞林要看报价"]


def test_day_word_stays_with_its_time_cue() -> None:
    s = _split("今天上午在嘉禾，今天下午在瑞林")
    assert _texts(s) == ["今天上午在嘉禾", "今天下午在瑞林"]


def test_same_customer_twice_is_one_customer() -> None:
    s = _split("去了明川，明川说下周再谈，明川的王总还要看方案")
    assert s.segments == () and s.clear
    assert _ids(s) == ["K1"]


def test_one_customer_gives_no_segments() -> None:
    s = _split("德润的李经理说样品测试通过了，下周三我过去谈价格")
    assert s.segments == () and s.clear and _ids(s) == ["K2"]


def test_no_customer() -> None:
    s = _split("明天上午部门开会，下午整理报销单")
    assert s == Split((), True, ())


def test_referrer_is_not_a_second_customer() -> None:
    s = _split("嘉禾的周总说是德润介绍过来的，预算三十万左右")
    assert s.segments == () and _ids(s) == ["K3"]


def test_competitor_is_not_a_second_customer() -> None:
    s = _split("跟进了瑞林，他们最后选了明川")
    assert s.segments == () and _ids(s) == ["K4"]


def test_comparison_is_not_a_second_customer() -> None:
    s = _split("嘉禾想做一套像德润那样的包装线，下周出方案")
    assert s.segments == () and _ids(s) == ["K3"]


def test_unknown_competitor_organisation_is_not_split_on() -> None:
    s = _split("瑞林那边说比上海新松机器人便宜就行")
    assert s.segments == () and _ids(s) == ["K4"]


def test_interleaved_customers_are_unclear() -> None:
    s = _split("上午在明川，下午去德润，明川那边还要我回个电话")
    assert not s.clear
    assert _ids(s) == ["K1", "K2"]
    assert len(s.segments) == 2


def test_one_clause_naming_two_customers_is_unclear() -> None:
    s = _split("明川和德润都要报价")
    assert not s.clear and _ids(s) == ["K1", "K2"]


def test_unknown_organisation_counts_by_name() -> None:
    s = _split("上午拜访了德润，下午见了南京博远机电有限公司的采购，博远机电想要样品")
    assert s.clear
    assert _ids(s) == ["K2", None]
    assert _texts(s)[1].startswith("下午见了南京博远机电有限公司")


def test_find_mentions_first_equals_find_mention() -> None:
    for text in ("上午在明川，下午去了德润", "嘉禾的周总说是德润介绍过来的", "跟进了瑞林，他们最后选了明川",
                 "今天没出门", "南通瑞林和合肥嘉禾"):
        ms = INDEX.find_mentions(text)
        first = INDEX.find_mention(text)
        assert (ms[0] if ms else None) == first


def test_find_mentions_one_per_organisation_and_repeats_on_request() -> None:
    text = "去了明川，又去了德润，明川说下周再谈"
    assert [m.customer_id for m in INDEX.find_mentions(text)] == ["K1", "K2"]
    assert [m.customer_id for m in INDEX.find_mentions(text, repeats=True)] == ["K1", "K2", "K1"]


LONG_NOTE = (
    "今天上午先去了杭州明川电气看了现场，他们想把老的配电柜全部换掉，预算大概八十万左右，"
    "王总让我们下周三之前出个初步方案；下午又去了常州德润，李经理说上次的样品测试通过了，"
    "但是价格还想再谈一谈，让我月底前再报一版；回来路上顺便去了合肥嘉禾，嘉禾这边暂时没有新需求，"
    "不过他们采购部的周经理说明年新厂房投产以后可能要上两条自动化包装线，到时候再约技术一起过去聊，"
    "我下个月初再给周经理打个电话问问项目最新的进度。"
)


def test_long_note_splits_into_three() -> None:
    s = _split(LONG_NOTE)
    assert s.clear and _ids(s) == ["K1", "K2", "K3"]
    assert [t[:5] for t in _texts(s)] == ["今天上午先", "下午又去了", "回来路上顺"]
