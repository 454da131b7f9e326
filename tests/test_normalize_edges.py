"""Name splitting tries only the word lengths a name's end character allows: same words as trying all."""
from __future__ import annotations

from extraction.normalize import (
    MIN_BRAND_LEN,
    lexicon,
    pinyin_key,
    split_industry,
    split_legal_suffix,
    split_region_prefix,
)


def _longest_at_end(s: str, words: set[str] | dict[str, str], keep: int, shortest: int) -> int | None:
    """Every length, longest first (what the splitters did before the per-character tables)."""
    for n in range(len(s) - keep, shortest - 1, -1):
        if s[-n:] in words:
            return n
    return None


def _samples() -> list[str]:
    lx = lexicon()
    words = sorted(set(lx.region_alias) | set(lx.industry) | set(lx.legal_forms))
    return [s for w in words for s in (w, "恒达" + w, w + "恒达", "恒" + w + "有限公司", "恒达" + w + w)]


def test_industry_words_and_legal_forms_found_from_the_end() -> None:
    lx = lexicon()
    for s in _samples():
        n = _longest_at_end(s, lx.industry, MIN_BRAND_LEN, 2)
        brand, words = split_industry(s)
        assert (words[-1] if words else None) == (s[-n:] if n else None), s
        n = _longest_at_end(s, set(lx.legal_forms), 1, 1)
        legal, rest = split_legal_suffix(s)
        assert (legal.endswith(s[-n:]) if legal and n else legal is None and n is None), s


def test_region_found_from_the_start() -> None:
    lx = lexicon()
    for s in _samples():
        found = next((s[:n] for n in range(len(s) - 1, 1, -1) if s[:n] in lx.region_alias), None)
        region, _ = split_region_prefix(s)
        assert region == (lx.regions[lx.region_alias[found]] if found else None), s


def test_pinyin_of_a_chinese_brand_is_one_syllable_per_character() -> None:
    assert pinyin_key("恒达") == ("heng", "da")
    assert pinyin_key("恒达ABC") == ("heng", "da", "abc")
    assert pinyin_key("") == ()
