"""The stage model: naive Bayes arithmetic, the rules of `decide`, and the shipped model."""
from __future__ import annotations

import math

import pytest

from extraction import stage_model
from extraction.stage_model import Model, bigrams, decide, parse
from extraction.types import Span

# two classes; "签了" seen only in won notes, "报价" only in quote notes
TINY = """# a hand-made model
@alpha 1
@classes quote won
@docs 1 1
@tokens 2 2
@vocab 3
报价 0:2
签了 1:1
合同 1:1
"""


def test_bigrams_fold_case_space_and_traditional() -> None:
    assert bigrams("PO 簽了") == {"po", "o签", "签了"}


def test_posterior_is_naive_bayes_over_present_bigrams() -> None:
    m = parse(TINY.splitlines())
    post = m.posterior("合同签了")  # bigrams: 合同, 同签, 签了
    # won: log(1/2) + 3*log(1/(2+3)) + log(1+1) + log(1+1); quote: log(1/2) + 3*log(1/5)
    won = 2 * math.log(2)
    assert post["won"] == pytest.approx(math.exp(won) / (math.exp(won) + 1))
    assert post["won"] + post["quote"] == pytest.approx(1.0)


def _with(monkeypatch: pytest.MonkeyPatch, probs: dict[str, float]) -> None:
    fake = Model(tuple(probs), (0.0,) * len(probs), (0.0,) * len(probs), {})
    monkeypatch.setattr(stage_model, "model", lambda: fake)
    monkeypatch.setattr(Model, "posterior", lambda self, text: probs)


SPAN = Span(0, 2)


def test_a_cue_stage_stands_unless_the_model_rules_it_out(monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, {"quote": 0.01, "trial": 0.98, "null": 0.01})
    assert decide("quote", SPAN, "x") == ("quote", SPAN)
    _with(monkeypatch, {"quote": 1e-6, "trial": 0.9999, "null": 0.0000999})
    assert decide("quote", SPAN, "x") == ("trial", None)


def test_the_model_alone_must_be_sure_and_never_says_won_or_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    _with(monkeypatch, {"needs": 0.9995, "null": 0.0005})
    assert decide(None, None, "x") == ("needs", None)
    _with(monkeypatch, {"needs": 0.99, "null": 0.01})
    assert decide(None, None, "x") == (None, None)
    _with(monkeypatch, {"won": 0.99999, "null": 0.00001})
    assert decide(None, None, "x") == (None, None)
    _with(monkeypatch, {"lost": 0.99999, "quote": 0.00001})
    assert decide("quote", SPAN, "x") == (None, None)
    _with(monkeypatch, {"null": 0.99999, "contacted": 0.00001})
    assert decide("contacted", SPAN, "x") == (None, None)


def test_without_a_model_file_the_cue_stage_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stage_model, "model", lambda: None)
    assert decide("won", SPAN, "x") == ("won", SPAN)


@pytest.mark.parametrize("text, stage", [
    ("报价单昨天发给采购部的林经理了，他说单价比预算高，希望再降两个点", "quote"),
    ("样机在他们车间试用了两周，操作工反馈效果不错，下周出测试报告", "trial"),
    ("合同条款还在谈，法务要求把付款方式改成验收后九十天", "negotiation"),
])
def test_the_shipped_model_reads_plain_notes(text: str, stage: str) -> None:
    m = stage_model.model()
    assert m is not None
    post = m.posterior(text)
    assert max(post, key=lambda c: post[c]) == stage
