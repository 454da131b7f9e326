"""The splitting helper both IM channels use for long replies (bot/textsplit.py)."""
from __future__ import annotations

import unicodedata
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.textsplit import split_bytes

NOTE_LINE = "- 第{i}条：客户已确认预算和交期，下周安排技术交流"


def test_splits_at_line_ends_and_rejoins() -> None:
    text = "\n".join(NOTE_LINE.format(i=i) for i in range(300))
    chunks = split_bytes(text, 2048)
    assert len(chunks) > 5 and all(len(c.encode()) <= 2048 for c in chunks)
    assert "\n".join(chunks) == text
    assert all(c.startswith("- 第") for c in chunks)  # every message starts with a whole line
    assert split_bytes("短消息", 2048) == ["短消息"] and split_bytes("", 2048) == [""]


def test_long_line_cut_after_punctuation_else_between_characters() -> None:
    sentence = "今天去恒达见了王总，下周三前把报价发给他。"
    chunks = split_bytes(sentence * 100, 300)
    assert "".join(chunks) == sentence * 100
    assert all(c[-1] in "，。" for c in chunks[:-1])
    cjk = split_bytes("长" * 5000, 2048)
    assert [len(c.encode()) for c in cjk][:2] == [2046, 2046] and "".join(cjk) == "长" * 5000


@pytest.mark.parametrize("unit", ["👨‍👩‍👧‍👦", "e\u0301", "👍🏽", "☺️"])
def test_never_cuts_inside_a_character_sequence(unit: str) -> None:
    chunks = split_bytes(unit * 200, 64)
    assert "".join(chunks) == unit * 200
    assert all(c == unit * (len(c) // len(unit)) for c in chunks)


def test_limit_must_hold_a_character() -> None:
    with pytest.raises(ValueError):
        split_bytes("abc", 3)


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=600), st.integers(4, 200))
def test_every_chunk_fits_and_nothing_is_lost(text: str, limit: int) -> None:
    chunks = split_bytes(text, limit)
    assert all(len(c.encode()) <= limit for c in chunks)
    assert all(c.encode().decode() == c for c in chunks)  # whole UTF-8 characters only
    flat = text.replace("\r\n", "\n").replace("\n", "")
    assert "".join(chunks).replace("\n", "") == flat  # only line breaks between chunks are dropped
    for a, b in pairwise(chunks):  # a cut never separates a combining mark from its base
        if b and a and not unicodedata.combining(a[-1]):  # … unless the two alone exceed the limit
            assert not (unicodedata.combining(b[0]) and len((a[-1] + b[0]).encode()) <= limit)
