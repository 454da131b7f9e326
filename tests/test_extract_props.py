"""Property tests: any string yields a valid record (never an exception); long input is cut to
MAX_CHARS, which bounds the work (speed itself is measured in bench/, not asserted here)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extraction.extractor import MAX_CHARS, extract
from extraction.types import AMOUNT_KINDS, OWNERS, PAIN_CATEGORIES, STAGES

REF = datetime(2026, 1, 5, 11, 40, tzinfo=timezone(timedelta(hours=8)))
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")

CJK_CHUNKS = ["王总", "下周三前", "报价", "预算", "八十万", "一万二", "我把", "发给他", "说", "了", "的",
              "合同签了", "试用", "比", "贵", "，", "。", "明天", "号", "月底", "小林", "Kevin", "丢了",
              "让售后", "过去", "周", "下下", "一下", "十", "万", "亿", "个", "%"]


def _check(rec: dict) -> None:
    json.dumps(rec, ensure_ascii=False)  # serialisable
    for d in rec["dates"]:
        assert ISO.match(d)
    assert rec["dates"] == sorted(set(rec["dates"]))
    assert rec["next_follow_up"] is None or ISO.match(rec["next_follow_up"])
    assert rec["stage"] is None or rec["stage"] in STAGES or rec["stage"] == "lost"
    for p in rec["pain_points"]:
        assert p["category"] in PAIN_CATEGORIES and isinstance(p["text"], str)
    for a in rec["action_items"]:
        assert a["owner"] in OWNERS and (a["due"] is None or ISO.match(a["due"]))
    for a in rec["amounts"]:
        assert isinstance(a["value"], float) and a["value"] > 0 and a["kind"] in AMOUNT_KINDS
    assert all(isinstance(c, str) for c in rec["contacts"] + rec["competitors"])


def _run(text: str) -> dict:
    rec = extract(text, ref_time=REF).to_record()
    _check(rec)
    return rec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_unicode_text(text: str) -> None:
    _run(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(CJK_CHUNKS), max_size=40).map("".join))
def test_note_like_text(text: str) -> None:
    _run(text)


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet="0123456789.", max_size=200))
def test_pure_digits(text: str) -> None:
    _run(text)


@settings(max_examples=30, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)),
       st.sampled_from(["下个月底", "12月31号", "周日", "下下周日", "31号", "年底前", "一周内", "2月29号"]))
def test_any_reference_time(ref: datetime, text: str) -> None:
    rec = extract(text, ref_time=ref).to_record()
    _check(rec)


def test_special_inputs() -> None:
    for text in ["", " ", "\x00\x01\x02", "😀🎉👍" * 50, "蘇州恆達的王總說下週三前把報價發給他",
                 "1234567890" * 100, "\u200b\u202e王总\ufeff", "万" * 1000, "周" * 1000, "下" * 1000]:
        _run(text)


def test_very_long_input_is_bounded() -> None:
    """Only the first MAX_CHARS characters are read: a 100k-character paste costs what a
    MAX_CHARS one does."""
    text = "王总说预算卡得比较紧，周五前我把报价发给他，一万二一台比海尔贵了800块。" * 3000  # ~100k chars
    rec = _run(text)
    assert rec["contacts"] == ["王总"]
    head = extract(text[:MAX_CHARS], ref_time=REF).to_record()
    assert {k: v for k, v in rec.items() if k != "text"} == {k: v for k, v in head.items() if k != "text"}


def test_rejects_non_string_clearly() -> None:
    import pytest
    with pytest.raises(TypeError):
        extract(None, ref_time=REF)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        extract("x", ref_time="2026-01-05")  # type: ignore[arg-type]
