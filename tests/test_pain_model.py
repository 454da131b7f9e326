"""The learned second look at pain points (extraction/pain_model.py), on sentences of our own."""
from __future__ import annotations

import math
from datetime import datetime

import pytest

from extraction import pain_model
from extraction.clauses import split_clauses
from extraction.extractor import extract
from extraction.types import PainPoint, Span

REF = datetime(2026, 5, 6, 10, 0)


def pains(text: str) -> list[tuple[str, str]]:
    return [(p.category, p.text) for p in extract(text, ref_time=REF).pain_points]


@pytest.fixture
def cue_classes_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pain_model, "model", lambda: None)


def test_the_topic_belongs_to_the_problem() -> None:
    # the cue classes stop at the predicate; the problem is the down payment's share
    assert pains("许经理说首付比例要降到两成才行") == [("price", "首付比例要降到两成才行")]


def test_the_cue_classes_alone_keep_the_bare_predicate(cue_classes_only: None) -> None:
    assert pains("许经理说首付比例要降到两成才行") == [("price", "要降到两成才行")]


def test_the_category_follows_the_problem() -> None:
    # the cue classes read 等不了 as technical; what the customer cannot wait for is the delivery
    got = pains("钱经理说你们的交期太长了，等不了")
    assert got and all(category == "delivery" for category, _ in got)


def test_the_cue_classes_alone_guess_the_category(cue_classes_only: None) -> None:
    assert ("technical", "等不了") in pains("钱经理说你们的交期太长了，等不了")


@pytest.mark.parametrize("text", [
    "黄总说报价已经收到了，下周开会讨论",
    "孙经理说样品测下来都正常，下周安排下单",
])
def test_no_problem_no_pain(text: str) -> None:
    assert pains(text) == []


def test_candidates_cover_every_clause_once() -> None:
    text = "王经理说价格偏高，交期也长，其他都还行"
    clauses = split_clauses(text)
    rule = [PainPoint("price", "价格偏高", Span(4, 8))]
    cands = pain_model.candidates(pain_model.Note(text).text, clauses, rule)
    kinds = [(c.kind, text[c.start:c.end]) for c in cands]
    assert ("rule", "价格偏高") in kinds
    assert ("clause", "交期也长") in kinds and any(k == "clause" and s.endswith("还行") for k, s in kinds)
    assert not any(k == "clause" and "价格" in s for k, s in kinds)  # the rule's clause is not repeated


def test_features_fit_the_line_based_file() -> None:
    note = pain_model.Note("王经理说\t价格偏高\n交期也长")
    for c in pain_model.candidates(note.text, split_clauses(note.text), []):
        assert not any("\t" in f or "\n" in f for f in pain_model.features(note, c))


def test_a_missing_model_file_keeps_the_cue_classes(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(pain_model, "MODEL_FILE", tmp_path / "absent.txt")
    pain_model.model.cache_clear()
    try:
        assert pain_model.model() is None
        rule = [PainPoint("price", "偏贵", Span(8, 10))]
        assert pain_model.refine("王经理说滤芯那块偏贵", [], rule) == rule
    finally:
        pain_model.model.cache_clear()


@pytest.mark.parametrize("text, rivals", [
    ("王经理说\t价格偏高，交期也长。某品牌的滤芯质量差，其他都还行", ["某品牌"]),
    ("钱经理说你们的交期太长了，等不了😀；服务也一般", []),
    ("太贵了", []),
])
def test_the_scores_are_those_of_the_features(text: str, rivals: list[str]) -> None:
    # probability() and category_of() read tables keyed by bare values and codes, not feature strings
    mdl = pain_model.model()
    assert mdl is not None
    note = pain_model.Note(text)
    rule = [PainPoint("price", "价格偏高", Span(5, 9))] if "价格偏高" in text else []
    cands = pain_model.candidates(note.text, split_clauses(note.text), rule, rivals)
    assert cands
    for c in cands:
        feats = pain_model.features(note, c)
        z = mdl.bias + sum(mdl.weights.get(f, 0.0) for f in feats)
        assert mdl.probability(note, c) == pytest.approx(1.0 / (1.0 + math.exp(-z)))
        assert mdl.category_of(note, c) == mdl.category(feats)
