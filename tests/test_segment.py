"""Our cut must give exactly jieba's words (precise mode, no HMM), only faster, and from a
dictionary loaded per character instead of all at once."""
from __future__ import annotations

import functools

import jieba
from hypothesis import given, settings
from hypothesis import strategies as st

from extraction import segment

_PIECES = ["客户", "王经理", "说", "报价", "太贵了", "下周三", "PLC", "iPhone", "3.5万", "，", "。", " ", "\n",
           "和", "比", "华为", "的", "设备", "A", "7", "#", "%", "x-ray", "南京市长江大桥", "研究生命起源"]


@functools.lru_cache(maxsize=1)
def _base() -> jieba.Tokenizer:
    """A plain jieba tokenizer with jieba's whole dictionary loaded the usual way."""
    tk = jieba.Tokenizer()
    tk.initialize()
    return tk


@functools.lru_cache(maxsize=4)
def _mirror(total: int, n_extra: int) -> jieba.Tokenizer:
    """Plain jieba holding the same words as ours now (its dictionary plus every word we added)."""
    ours = segment.tokenizer()
    tk = jieba.Tokenizer()
    tk.FREQ = {**_base().FREQ, **ours.FREQ._extra}
    tk.total, tk.initialized = total, True
    return tk


def _jieba() -> jieba.Tokenizer:
    ours = segment.tokenizer()
    return _mirror(ours.total, len(ours.FREQ._extra))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=20))
def test_same_words_as_jieba(parts: list[str]) -> None:
    text = "".join(parts)
    assert segment.cut(text) == _jieba().lcut(text, HMM=False)


def test_user_words_change_the_cut_the_same_way() -> None:
    text = "今天去了蓝湾澄泓科技找采购"
    before = segment.cut(text)
    segment.ensure_user_words(["蓝湾澄泓科技"])
    after = segment.cut(text)
    assert after == _jieba().lcut(text, HMM=False)
    assert "蓝湾澄泓科技" in after and after != before


def test_sharded_dictionary_matches_jieba_entries() -> None:
    freq = segment.tokenizer().FREQ
    full = _base().FREQ
    for w in ["南京", "南京市", "长江大桥", "研究", "生命", "起源", "的", "了", "zzz未登录", "蓝"]:
        assert freq.get(w) == full.get(w), w
        assert (w in freq) == (w in full)


def test_the_dictionary_cache_is_per_user(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A service account must not depend on a directory another user made in /tmp (the
    deployment walk-through found `salesbot serve` as user salesbot unable to write one)."""
    from extraction.segment import _cache_dir

    monkeypatch.delenv("SALESBOT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert _cache_dir() == str(tmp_path / "cache" / "salesbot")
    monkeypatch.setenv("SALESBOT_CACHE_DIR", str(tmp_path / "mine"))
    assert _cache_dir() == str(tmp_path / "mine")
