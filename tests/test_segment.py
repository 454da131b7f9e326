"""Our cut must give exactly jieba's words (precise mode, no HMM), only faster."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from extraction import segment

_PIECES = ["客户", "王经理", "说", "报价", "太贵了", "下周三", "PLC", "iPhone", "3.5万", "，", "。", " ", "\n",
           "和", "比", "华为", "的", "设备", "A", "7", "#", "%", "x-ray", "南京市长江大桥", "研究生命起源"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=20))
def test_same_words_as_jieba(parts: list[str]) -> None:
    text = "".join(parts)
    assert segment.cut(text) == segment.tokenizer().lcut(text, HMM=False)


def test_user_words_change_the_cut_the_same_way() -> None:
    text = "今天去了蓝湾澄泓科技找采购"
    before = segment.cut(text)
    segment.ensure_user_words(["蓝湾澄泓科技"])
    after = segment.cut(text)
    assert after == segment.tokenizer().lcut(text, HMM=False)
    assert "蓝湾澄泓科技" in after and after != before
