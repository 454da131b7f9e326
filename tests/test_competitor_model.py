"""The learned second look for competitors (extraction/competitor_model.py).

Brand names here are made up: the constructions in lexicon/competitor_cues.txt do not know these
ways of naming a rival, so only the shipped model can find them.  If a retrained model loses one
of them, the retraining made the finder worse on a plain case and should be looked at.
"""
from __future__ import annotations

import math

import pytest

from extraction import competitor_model, competitors
from extraction.competitors import find_competitors


def names(text: str) -> list[str]:
    return [c.text for c in find_competitors(text)]


@pytest.fixture
def constructions_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(competitor_model, "model", lambda: None)


MODEL_ONLY = [
    ("他们车队原来开的是凯沃斯的冷机，夏天老是制冷跟不上", "凯沃斯"),
    ("他们现在拿的是瑞普的滤芯，比我们便宜两块", "瑞普"),
    ("车间现在用的是日本Kitamura的设备", "Kitamura"),
    ("上次来的是博宁的销售，报价比我们低了一成", "博宁"),
]


@pytest.mark.parametrize("text,brand", MODEL_ONLY)
def test_the_model_finds_what_no_construction_knows(text: str, brand: str) -> None:
    assert names(text) == [brand]


@pytest.mark.parametrize("text,brand", MODEL_ONLY)
def test_without_the_model_these_are_missed(text: str, brand: str, constructions_only: None) -> None:
    assert brand not in names(text)


@pytest.mark.parametrize("text", [
    "这批硫化胶的耗油太高，客户不满意",  # a product noun and a property, no brand
    "客户说我们的恒拓系统用着挺顺手",  # ours
    "王经理说下周三前把样品寄过去",  # a contact and a date
    "仓库那边的叉车年底要做一次保养",  # the customer's own department and equipment
])
def test_no_brand_no_competitor(text: str) -> None:
    assert names(text) == []


def test_a_well_known_brand_counts_as_evidence() -> None:
    # 英威腾 is in lexicon/competitor_brands.txt (not in competitors.txt); a made-up name in the
    # same neutral words is not enough
    assert names("听说英威腾的人上周也来过") == ["英威腾"]
    assert names("听说澜沐的人上周也来过") == []


def test_table_scoring_equals_the_feature_strings() -> None:
    """Model._own sums weights from tables; the trainer sees NoteView.own's strings."""
    mdl = competitor_model.model()
    assert mdl is not None
    for text in [t for t, _ in MODEL_ONLY] + ["客户更想要Nordic Pulse的设备，因为会员认这个牌子"]:
        view = competitors.learned_view(text)
        cands = list(view.candidates())
        assert cands
        for c, p in zip(cands, mdl.probabilities(view, cands, exact=True)):
            z = mdl.bias + sum(mdl.weights.get(f, 0.0) for f in view.features(c))
            assert p == pytest.approx(1.0 / (1.0 + math.exp(-z)), abs=1e-9)
        # the lazy default never moves a stretch across the threshold
        lazy = mdl.probabilities(view, cands)
        assert [p >= mdl.threshold for p in lazy] == [
            p >= mdl.threshold for p in mdl.probabilities(view, cands, exact=True)]


def test_a_missing_model_file_leaves_the_constructions(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(competitor_model, "MODEL_FILE", tmp_path / "absent.txt")
    competitor_model.model.cache_clear()
    try:
        assert competitor_model.model() is None
        assert names("客户觉得森宇的方案更成熟一些") == ["森宇"]
    finally:
        competitor_model.model.cache_clear()


def test_sure_keeps_what_probabilities_keeps() -> None:
    """Model.sure bounds most stretches away from tables; what it keeps must not change."""
    mdl = competitor_model.model()
    assert mdl is not None
    texts = [t for t, _ in MODEL_ONLY] + ["客户更想要Nordic Pulse的设备，因为会员认这个牌子", "听说英威腾的人上周也来过",
                                          "ＡＢＣ公司的貨比我们便宜", ""]
    for text in texts:
        view = competitors.learned_view(text)
        cands = view.candidates()
        kept = [(p, c) for p, c in zip(mdl.probabilities(view, cands), cands) if p >= mdl.threshold]
        assert mdl.sure(view) == kept


def test_word_flags_give_at_most_one_of_each_group() -> None:
    """The bound in Model.sure counts on it (competitor_model.ONE_OF)."""
    for x in ["英威腾", "西门子", "Apple", "苹果", "测试", "John"]:
        flags = competitors.word_flags(x)
        assert all(sum(f in flags for f in group) <= 1 for group in competitor_model.ONE_OF)


def test_word_flags_follow_the_user_dictionary() -> None:
    from extraction import segment

    name = "澄泓霁远"  # made up: no dictionary word
    assert "common" not in competitors.word_flags(name)
    segment.ensure_user_words([name])  # a customer name now in jieba, with a high frequency
    assert "common" in competitors.word_flags(name)
