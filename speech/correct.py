"""Rewrite an ASR transcript toward the CRM's names and the sales domain's words, by sound.

Whisper base on 8 kHz voice notes mostly keeps the sound and loses the characters: 单新 for 担心,
是用 for 试用, 清导瑞丰 for 青岛瑞丰 (measured: half the character errors on the bench clips are
exact toneless-pinyin homophones). So each run of hanzi is re-segmented as a best path over words
that sound like it: the heard characters themselves, sales terms (speech/lexicon/sales_terms.txt)
and common jieba words with the same toneless pinyin, and the rep's CRM names with the same fuzzy
pinyin (zh/z, in/ing …; one syllable may differ in a long name). A path scores jieba's unigram
log-probabilities minus a cost per changed character, highest for everyday words and lowest for
the rep's own CRM names, so a word is only rewritten when the written word is much likelier than
what was heard. A surname right before a title (华经理, 郑工) is never rewritten, since people's names
are in no dictionary; a brand between a region and an industry word (武汉知行软件) only into a CRM name.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TERMS_FILE = Path(__file__).resolve().parent / "lexicon" / "sales_terms.txt"
CHANGE_COST = 4.0  # nats per rewritten character (≈ the written word must be 55× likelier per char)
COMMON_CHANGE_COST = 5.0  # everyday words (not sales terms) need more evidence: 鸿达建 must not become 鸿搭建
NAME_CHANGE_COST = 2.5  # a rep's own CRM name is what they most likely said: cheaper to write
FUZZY_COST = 1.5  # extra nats per syllable that matches a CRM name only under fuzzy pinyin
LOOSE_COST = 3.0  # extra nats for the one syllable of a long name that shares only its initial
LOOSE_MIN_LEN = 4  # loose matches only for names this long (region + brand, brand + industry)
COMMON_FREQ = 300  # jieba words at least this frequent may also be written (about 14,000)
TERM_FREQ = 2000  # floor frequency of a sales term (jieba counts, total ≈ 60M)
NAME_FREQ = 200_000  # a CRM name of the rep's: as likely as a very common word
MAX_WORD = 8  # longest span tried (region + brand + industry, e.g. 青岛瑞丰机械)
_HANZI_RUN = re.compile(r"[\u4e00-\u9fff]+")


@dataclass(frozen=True, slots=True)
class Fix:
    """One rewrite, for the record and the logs."""

    start: int
    heard: str
    written: str


def _py(text: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(text))


class Corrector:
    """Holds the term index and jieba's frequencies; `correct` is pure and thread-safe."""

    def __init__(self, terms: Iterable[str], common: Iterable[str], freq: dict[str, int], total: int) -> None:
        """`terms` are boosted to TERM_FREQ; `common` words may be written at their own frequency."""
        from extraction.lexload import load_list

        self.freq, self.log_total = freq, math.log(total)
        self.term_set = {w for w in terms if 2 <= len(w) <= MAX_WORD and _HANZI_RUN.fullmatch(w)}
        self.by_sound: dict[tuple[str, ...], list[str]] = {}
        for w in self.term_set | {w for w in common if 2 <= len(w) <= MAX_WORD and _HANZI_RUN.fullmatch(w)}:
            self.by_sound.setdefault(_py(w), []).append(w)
        from extraction.normalize import lexicon

        self.surnames = frozenset("".join(load_list("surnames.txt")))
        self.titles = tuple(t for t in load_list("contact_titles.txt") if _HANZI_RUN.fullmatch(t))
        self.industry = tuple(sorted((w for w in lexicon().industry if len(w) >= 2), key=len, reverse=True))
        self.regions = tuple(sorted((r for r in lexicon().region_alias if len(r) >= 2), key=len, reverse=True))

    def _logp(self, word: str, names: dict[str, int]) -> float:
        f = max(self.freq.get(word) or 0, TERM_FREQ if word in self.term_set else 0, names.get(word, 0))
        return math.log(max(f, 0.5)) - self.log_total

    def _protected(self, run: str) -> tuple[set[int], set[int]]:
        """Positions never rewritten: a surname before a title (华经理 is a person, not 的话经理);
        positions only a CRM name may rewrite: a brand between region and industry (武汉知行软件)."""
        people = {i for i, ch in enumerate(run) if ch in self.surnames and run.startswith(self.titles, i + 1)}
        brands = {k for i in range(2, len(run)) if run.startswith(self.industry, i)
                  and any(run.endswith(r, 0, i - 2) for r in self.regions) for k in (i - 2, i - 1)}
        return people, brands

    def correct(self, text: str, names: Sequence[str] = ()) -> tuple[str, list[Fix]]:
        """The rewritten text and what changed; `names` are the rep's CRM names (hotwords)."""
        index, loose = _name_index(tuple(names))
        name_freq = {w: NAME_FREQ for ws in index.values() for w in ws}
        fixes: list[Fix] = []

        def one(m: re.Match[str]) -> str:
            out = self._run(m.group(), index, loose, name_freq)
            fixes.extend(_diff(m.start(), m.group(), out))
            return out

        return _HANZI_RUN.sub(one, text), fixes

    def _run(self, run: str, names: dict[tuple[str, ...], list[str]], loose: dict[tuple[str, ...], list[str]],
             name_freq: dict[str, int]) -> str:
        from extraction.normalize import fuzzy_key

        py = _py(run)
        if len(py) != len(run):  # pypinyin keeps one syllable per hanzi; be safe if not
            return run
        fz = fuzzy_key(py)
        ini = tuple(_initial(x) for x in fz)
        people, brands = self._protected(run)
        n = len(run)
        best: list[tuple[float, int, str]] = [(-math.inf, 0, "")] * (n + 1)
        best[0] = (0.0, 0, "")
        for i in range(n):
            base = best[i][0]
            if base == -math.inf:
                continue
            for j in range(i + 1, min(n, i + MAX_WORD) + 1):
                span = run[i:j]
                cands: dict[str, float] = {}
                if j - i == 1 or span in self.freq or span in self.term_set or span in name_freq:
                    cands[span] = 0.0
                for w in self.by_sound.get(py[i:j], ()):
                    cands.setdefault(w, 0.0)
                for w in names.get(fz[i:j], ()):
                    extra = FUZZY_COST * sum(a != b for a, b in zip(_py(w), py[i:j]))
                    cands[w] = min(cands.get(w, math.inf), extra)
                if j - i >= LOOSE_MIN_LEN:
                    for w in loose.get(ini[i:j], ()):
                        off = sum(a != b for a, b in zip(fuzzy_key(_py(w)), fz[i:j]))
                        if off == 1:
                            cands.setdefault(w, LOOSE_COST)
                for w, extra in cands.items():
                    changed = [i + k for k, (a, b) in enumerate(zip(w, span)) if a != b]
                    is_name = w in name_freq
                    if any(k in people or (k in brands and not is_name) for k in changed):
                        continue
                    per_char = (NAME_CHANGE_COST if is_name else CHANGE_COST if w in self.term_set
                                else COMMON_CHANGE_COST)
                    score = base + self._logp(w, name_freq) - per_char * len(changed) - extra
                    if score > best[j][0]:
                        best[j] = (score, i, w)
        words: list[str] = []
        j = n
        while j > 0:
            _, i, w = best[j]
            words.append(w)
            j = i
        return "".join(reversed(words))


def _diff(offset: int, heard: str, written: str) -> list[Fix]:
    """Maximal runs of changed characters (same length in and out)."""
    fixes: list[Fix] = []
    k = 0
    while k < len(heard):
        if heard[k] == written[k]:
            k += 1
            continue
        s = k
        while k < len(heard) and heard[k] != written[k]:
            k += 1
        fixes.append(Fix(offset + s, heard[s:k], written[s:k]))
    return fixes


def _initial(syllable: str) -> str:
    """Initial of a (fuzzy) syllable: zh/ch/sh are already merged into z/c/s by fuzzy_key."""
    return syllable[:1] if syllable[:1] not in "aeiou" else ""


def name_forms(name: str) -> set[str]:
    """A CRM name as reps say it: 杭州青梧数据科技有限公司 -> 青梧, 青梧数据, 杭州青梧, 杭州青梧数据 ..."""
    from extraction.normalize import parse_name, to_simplified

    raw = to_simplified(re.sub(r"\s+", "", name or ""))
    forms = {raw}
    try:
        p = parse_name(raw)
    except Exception:  # noqa: BLE001 - a name the parser cannot read is still a name
        return forms
    tails = {""} | set(p.industry) | {w[:2] for w in p.industry if len(w) >= 4}
    bodies = {p.brand + t for t in tails if p.brand} | {p.core}
    forms |= bodies | {r.name + b for r in p.regions for b in bodies}
    return {f for f in forms if f and 2 <= len(f) <= MAX_WORD and _HANZI_RUN.fullmatch(f)}


@lru_cache(maxsize=256)
def _name_index(names: tuple[str, ...]) -> tuple[dict[tuple[str, ...], list[str]], dict[tuple[str, ...], list[str]]]:
    """Fuzzy-pinyin key -> spelling, and initials key -> long spelling, over every name form.

    A key two different spellings share (宏达 and 红达 in one book) is left out: a sound that fits
    two customers is not rewritten toward either, so the matcher asks instead of the corrector
    guessing. With the rep's whole book behind it (hundreds to thousands of names) that matters."""
    from extraction.normalize import fuzzy_key

    exact: dict[tuple[str, ...], list[str]] = {}
    loose: dict[tuple[str, ...], list[str]] = {}
    for name in names:
        for form in sorted(name_forms(name)):
            key = fuzzy_key(_py(form))
            for index, k in ((exact, key), (loose, tuple(_initial(x) for x in key))):
                if index is exact or len(form) >= LOOSE_MIN_LEN:
                    words = index.setdefault(k, [])
                    if form not in words:
                        words.append(form)
    return ({k: w for k, w in exact.items() if len(w) == 1},
            {k: w for k, w in loose.items() if len(w) == 1})


SOUNDALIKE_MAX = 5  # book customers a second look puts in the prompt


@lru_cache(maxsize=64)
def _soundalike_index(names: tuple[str, ...]) -> tuple[dict[tuple[str, ...], list[tuple[str, str]]], frozenset[str]]:
    """Initials key -> (form, name) over every name form of 2+ hanzi, and the set of all forms."""
    from extraction.normalize import fuzzy_key

    index: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    forms: set[str] = set()
    for name in names:
        for form in name_forms(name):
            forms.add(form)
            key = tuple(_initial(x) for x in fuzzy_key(_py(form)))
            index.setdefault(key, []).append((form, name))
    return index, frozenset(forms)


def soundalike_names(text: str, names: Sequence[str], limit: int = SOUNDALIKE_MAX) -> list[str]:
    """Book names the transcript may have misheard: none of the book's names is written in `text`,
    but a stretch of it has a name form's initials with at most one syllable's final different
    (鸿达 for 恒达: hong/heng). Empty when a name is written, or when more than `limit` fit."""
    from extraction.normalize import fuzzy_key

    index, forms = _soundalike_index(tuple(dict.fromkeys(n for n in names if n)))
    found: dict[str, None] = {}
    for run in _HANZI_RUN.findall(text):
        if any(run[i:j] in forms for i in range(len(run)) for j in range(i + 2, min(len(run), i + MAX_WORD) + 1)):
            return []  # a customer is named as written: nothing to look for
        fz = fuzzy_key(_py(run))
        if len(fz) != len(run):
            continue
        ini = tuple(_initial(x) for x in fz)
        for i in range(len(run)):
            for j in range(i + 2, min(len(run), i + MAX_WORD) + 1):
                for form, name in index.get(ini[i:j], ()):
                    off = sum(a != b for a, b in zip(fuzzy_key(_py(form)), fz[i:j]))
                    if 0 < off <= 1 and len(form) == j - i:
                        found.setdefault(name, None)
    return list(found) if len(found) <= limit else []


@lru_cache(maxsize=1)
def default_corrector() -> Corrector:
    """The shipped term list with jieba's dictionary frequencies (loaded once per process)."""
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    terms = [w.strip() for w in TERMS_FILE.read_text(encoding="utf-8").splitlines()
             if w.strip() and not w.startswith("#")]
    common = [w for w, f in jieba.dt.FREQ.items() if f >= COMMON_FREQ and 2 <= len(w) <= 4]
    return Corrector(terms, common, jieba.dt.FREQ, jieba.dt.total)


def correct_text(text: str, names: Sequence[str] = ()) -> tuple[str, list[Fix]]:
    """`Corrector.correct` with the shipped terms; `names` are full CRM names (region, legal form kept)."""
    return default_corrector().correct(text, names)
