"""jieba set-up: one Tokenizer per process, user words from the CRM.

A private `jieba.Tokenizer` (not the global one) keeps other code's jieba state apart and
lets us point its prefix-dictionary cache at a temp dir.  After the first run the dictionary
is not loaded whole (a second here) but one first character at a time (`_ShardedFreq`).  Customer names, brand
fragments and contact names are added as user words so segmentation never splits them;
`ensure_user_words` is idempotent and cheap when the customer list has not changed.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from functools import lru_cache
from itertools import accumulate
from math import inf, log

import jieba

from .lexload import load_list

jieba.setLogLevel(logging.WARNING)

_LOCK = threading.Lock()
_TOKENIZER: jieba.Tokenizer | None = None
_USER_KEY: str | None = None


def _cache_dir() -> str:
    """Where the dictionary cache lives: SALESBOT_CACHE_DIR, else the user's own cache directory.
    One directory in /tmp for every user broke a service account's start (another user's cache
    directory is not writable); a per-user one in /tmp is the last resort."""
    home_cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for d in (os.environ.get("SALESBOT_CACHE_DIR"), os.path.join(home_cache, "salesbot"),
              os.path.join(tempfile.gettempdir(), f"salesbot-jieba-{os.getuid()}")):
        if not d:
            continue
        try:
            os.makedirs(d, exist_ok=True)
        except OSError:
            continue
        if os.access(d, os.W_OK | os.X_OK):
            return d
    return tempfile.mkdtemp(prefix="salesbot-jieba-")


def tokenizer() -> jieba.Tokenizer:
    """The shared, initialised tokenizer (built once, cached on disk)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        with _LOCK:
            if _TOKENIZER is None:
                tk = jieba.Tokenizer()
                tk.tmp_dir = _cache_dir()
                tk.cache_file = "salesbot.jieba.cache"
                freq, total = _ShardedFreq.open(tk)
                tk.FREQ, tk.total, tk.initialized = freq, total, True
                for w in load_list("user_words.txt"):
                    tk.add_word(w, freq=2000)
                _TOKENIZER = tk
    return _TOKENIZER


class _ShardedFreq:
    """jieba's prefix dictionary (word -> frequency, 0 for a bare prefix), decoded one first
    character at a time.  jieba unmarshals all of it (a 9 MB cache, about a second here) before
    the first cut; a note needs the entries of its few dozen characters.  The shards are
    written once per dictionary version next to jieba's cache; words added later (user words)
    live in an overlay.  Supports what jieba and our cut use: `in`, `[]`, `get`, item assignment.
    """

    _VERSION = 1

    def __init__(self, path: str, index: dict[str, tuple[int, int]]) -> None:
        self._path = path
        self._index = index
        self._blob: bytes | None = None  # the shard file, read once on the first lookup
        self._shards: dict[str, dict[str, int]] = {}
        self._extra: dict[str, int] = {}

    @classmethod
    def open(cls, tk: jieba.Tokenizer) -> tuple[_ShardedFreq, int]:
        """The store for `tk`'s dictionary (built from a full load the first time)."""
        import marshal

        src = tk.get_dict_file()
        try:
            st = os.fstat(src.fileno())
            stamp = f"{jieba.__version__}-{st.st_size}-{int(st.st_mtime)}-{cls._VERSION}"
        finally:
            src.close()
        path = os.path.join(_cache_dir(), f"salesbot.freq.{hashlib.sha1(stamp.encode()).hexdigest()[:12]}")
        try:
            with open(path + ".idx", "rb") as fh:
                total, index = marshal.load(fh)
            return cls(path + ".bin", index), total
        except (OSError, EOFError, ValueError, TypeError):
            pass
        tk.initialize()  # first run for this dictionary: the full load, then split it
        by_char: dict[str, dict[str, int]] = {}
        for w, f in tk.FREQ.items():
            by_char.setdefault(w[0], {})[w] = f
        index, pos = {}, 0
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            with open(tmp + ".bin", "wb") as out:
                for ch, shard in by_char.items():
                    blob = marshal.dumps(shard)
                    out.write(blob)
                    index[ch] = (pos, len(blob))
                    pos += len(blob)
            with open(tmp + ".idx", "wb") as out:
                marshal.dump((tk.total, index), out)
            os.replace(tmp + ".bin", path + ".bin")
            os.replace(tmp + ".idx", path + ".idx")
        except OSError:  # a read-only cache dir: keep this process's full copy in memory
            store = cls(path + ".bin", {})
            store._shards = by_char
            return store, tk.total
        return cls(path + ".bin", index), tk.total

    def shard(self, ch: str) -> dict[str, int]:
        """Every entry starting with `ch` (added words included)."""
        shard = self._shards.get(ch)
        if shard is None:
            import marshal

            loc = self._index.get(ch)
            shard = {}
            if loc is not None:
                if self._blob is None:
                    with open(self._path, "rb") as fh:
                        self._blob = fh.read()
                shard = marshal.loads(self._blob[loc[0]:loc[0] + loc[1]])
            shard.update((w, f) for w, f in self._extra.items() if w[0] == ch)
            self._shards[ch] = shard
        return shard

    def get(self, word: str, default: int | None = None) -> int | None:
        return self.shard(word[0]).get(word, default) if word else default

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None

    def __getitem__(self, word: str) -> int:
        f = self.get(word)
        if f is None:
            raise KeyError(word)
        return f

    def __setitem__(self, word: str, freq: int) -> None:
        self._extra[word] = freq
        if word and word[0] in self._shards:
            self._shards[word[0]][word] = freq


def ensure_user_words(words: Iterable[str]) -> None:
    """Add CRM names/aliases/contacts as user words; no-op if the set is unchanged."""
    global _USER_KEY
    ws = sorted({w.strip() for w in words if w and len(w.strip()) >= 2})
    key = hashlib.sha1("\n".join(ws).encode("utf-8")).hexdigest()
    if key == _USER_KEY:
        return
    tk = tokenizer()
    with _LOCK:
        for w in ws:
            tk.add_word(w, freq=5000)
        _USER_KEY = key


def add_user_words(words: Iterable[str]) -> None:
    """Add the names of customers created or renamed since the last full `ensure_user_words`
    (a few words, not the whole CRM again); the user-dictionary version moves with them."""
    global _USER_KEY
    ws = sorted({w.strip() for w in words if w and len(w.strip()) >= 2})
    if not ws:
        return
    tk = tokenizer()
    with _LOCK:
        for w in ws:
            tk.add_word(w, freq=5000)
        _USER_KEY = hashlib.sha1("\n".join([_USER_KEY or "", *ws]).encode("utf-8")).hexdigest()


def cut(text: str) -> list[str]:
    """Precise-mode segmentation without HMM (deterministic, faster): jieba's own cut, with its
    per-block DAG search replaced by `_cut_block` (same words, about half the time)."""
    tk = tokenizer()
    out: list[str] = []
    # split on a capturing pattern: the odd pieces are the runs jieba cuts, the even ones what
    # lies between them (no run character, so no whitespace split of jieba's matches there)
    for k, blk in enumerate(jieba.re_han_default.split(text)):
        if k & 1:
            out.extend(_cut_block(tk, blk))
        elif "\r\n" in blk:
            # jieba keeps a CRLF whole and gives every other character on its own
            for j, x in enumerate(jieba.re_skip_default.split(blk)):
                if j & 1:
                    out.append(x)
                else:
                    out.extend(x)
        else:
            out.extend(blk)
    return out


_LOGF: dict[str, float] = {}  # fragment -> log(freq) - log(total), or _PREFIX, or _ABSENT
_LOGF_TOTAL: list[float] = [0.0]
# a fragment that is no word itself but begins some (frequency 0 in jieba): NaN, so that a
# route through it compares false against any best and is never taken
_PREFIX = float("nan")
_ABSENT = -inf  # a fragment that neither is nor begins a dictionary word (told apart by `is`)
_MAX_ABSENT = 50_000  # absent fragments come from any text: past this many, start afresh
_ABSENT_COUNT = [0]
# two characters (or a block's last one) -> the DAG edges of one and two characters from the
# first: (the first character's route value when it is the only edge: its word value or the
# lone-character value; its word value or -inf; the pair's `_LOGF` value, or _ABSENT when the
# first character begins no word, as jieba then looks no further)
_PAIRS: dict[str, tuple[float, float, float]] = {}
_MAX_PAIRS = 50_000  # bounded like the absent fragments
_ENG = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")  # jieba.re_eng
_HAS_ENG = re.compile("[a-zA-Z0-9]")


def _learn(store: _ShardedFreq | dict[str, int], frag: str, logtotal: float) -> float:
    """Look `frag` up in the dictionary once and remember its `_LOGF` value."""
    f = store.get(frag)
    if f is None:
        if _ABSENT_COUNT[0] >= _MAX_ABSENT:  # bounded: a long-lived bot sees endless new text
            _LOGF.clear()
            _ABSENT_COUNT[0] = 0
        _ABSENT_COUNT[0] += 1
        v = _ABSENT
    else:
        v = log(f) - logtotal if f else _PREFIX
    _LOGF[frag] = v
    return v


def _value(tk: jieba.Tokenizer, frag: str) -> float:
    """The `_LOGF` value of `frag`, looked up in the dictionary on first need."""
    v = _LOGF.get(frag)
    return _learn(tk.FREQ, frag, log(tk.total)) if v is None else v


def _learn_pair(tk: jieba.Tokenizer, frag: str) -> tuple[float, float, float]:
    """The `_PAIRS` entry of `frag` (two characters, or a block's last one: no pair), remembered."""
    v = _value(tk, frag[0])
    w = _value(tk, frag) if len(frag) == 2 and v is not _ABSENT else _ABSENT
    word = v is not _ABSENT and v == v  # neither absent nor a bare prefix (NaN)
    entry = (v, v, w) if word else (log(1) - log(tk.total), -inf, w)
    if len(_PAIRS) >= _MAX_PAIRS:
        _PAIRS.clear()
    _PAIRS[frag] = entry
    return entry


def _cut_block(tk: jieba.Tokenizer, sentence: str) -> list[str]:
    """jieba's `__cut_DAG_NO_HMM`: the same DAG, the same best route (ties to the longer word)
    and the same gluing of single Latin letters and digits, with cached dictionary answers
    (jieba computes a logarithm per DAG edge on every call).  The edges from each position are
    taken in order of length until a fragment begins no word, as jieba's `get_DAG` does; the
    one- and two-character ones, most of them, come from one `_PAIRS` lookup."""
    if _LOGF_TOTAL[0] != tk.total:  # the dictionary changed (user words): recompute lazily
        _LOGF.clear()
        _PAIRS.clear()
        _ABSENT_COUNT[0] = 0
        _LOGF_TOTAL[0] = tk.total
    n = len(sentence)
    score = [0.0] * (n + 1)  # best route's log probability from each position
    stop = [0] * n  # the end of the first word on that route
    pget, get, absent = _PAIRS.get, _LOGF.get, _ABSENT
    for k in range(n - 1, -1, -1):
        entry = pget(sentence[k:k + 2])
        if entry is None:
            entry = _learn_pair(tk, sentence[k:k + 2])
        single, v, w = entry
        if w is absent:  # nothing longer: the first character is the only edge
            score[k], stop[k] = single + score[k + 1], k + 1
            continue
        # a word's route is finite; a bare prefix's is -inf (first) or NaN (pair), never taken
        s, best = w + score[k + 2], v + score[k + 1]
        best, best_end = (s, k + 2) if s >= best else (best, k + 1)  # ties to the longer word
        i = k + 3
        while i <= n:
            frag = sentence[k:i]
            u = get(frag)
            if u is None:
                u = _learn(tk.FREQ, frag, log(tk.total))
            if u is absent:
                break
            s = u + score[i]
            if s >= best:
                best, best_end = s, i
            i += 1
        if best == -inf:  # only prefixes begin here: the character alone, as frequency 1
            best = single + score[k + 1]
        score[k], stop[k] = best, best_end
    return _route_words(sentence, stop)


def _route_words(sentence: str, stop: list[int]) -> list[str]:
    """The words along the best route, single Latin letters and digits glued as jieba does."""
    n = len(sentence)
    words: list[str] = []
    x = 0
    if _HAS_ENG.search(sentence) is None:  # no letter or digit: nothing to glue
        while x < n:
            y = stop[x]
            words.append(sentence[x:y])
            x = y
        return words
    buf = ""
    while x < n:
        y = stop[x]
        w = sentence[x:y]
        if y - x == 1 and w in _ENG:
            buf += w
        else:
            if buf:
                words.append(buf)
                buf = ""
            words.append(w)
        x = y
    if buf:
        words.append(buf)
    return words


def token_spans(text: str) -> list[tuple[str, int, int]]:
    """Tokens with their [start, end) offsets."""
    return list(_token_spans(text, _USER_KEY))


@lru_cache(maxsize=64)
def _token_spans(text: str, _user_words: str | None) -> tuple[tuple[str, int, int], ...]:
    """One segmentation per note text, shared by the steps that need words (contacts,
    competitors); keyed by the user-dictionary version, which changes how jieba cuts."""
    toks = cut(text)
    bounds = list(accumulate(map(len, toks), initial=0))
    return tuple(zip(toks, bounds, bounds[1:]))
