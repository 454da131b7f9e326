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

A company name heard a little further off (南京宁派门称 for 南京宁泰门窗: t/p, uang/eng) is found
as a construction: region + brand + trade with one end written as in the rep's book, the other
end and the brand close by syllable features (speech/sounds.py). Two customers equally close are left for the
matcher to ask about; a book name written as it is is never rewritten toward another.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
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
NEAR_COST = 2.0  # extra nats per unit of sound distance (speech/sounds.py) for a near-sounding name …
NEAR_PER_SYLLABLE = 0.75  # … whose distance is at most this per syllable not written as said …
NEAR_MARGIN = 0.5  # … and this much below any other customer's name that sounds near the same stretch
NEAR_END = 0.5  # a region or trade heard this close (per syllable) still anchors a near name
COMMON_FREQ = 300  # jieba words at least this frequent may also be written (about 14,000)
TERM_FREQ = 2000  # floor frequency of a sales term (jieba counts, total ≈ 60M)
NAME_FREQ = 200_000  # a CRM name of the rep's: as likely as a very common word
GRAMMAR_FREQ = 100_000  # characters this frequent (的 了 在 地 得 …) are grammar: a two-character name never takes one
MAX_WORD = 8  # longest span tried (region + brand + industry, e.g. 青岛瑞丰机械)
_HANZI_RUN = re.compile(r"[\u4e00-\u9fff]+")
# what is corrected: runs of hanzi, with a lone digit inside (Whisper writes 8 for the ba of 巴渝)
_SPOKEN_RUN = re.compile(r"[\u4e00-\u9fff]+(?:[0-9][\u4e00-\u9fff]+)*")
DIGIT_READING = dict(zip("0123456789", ("ling", "yi", "er", "san", "si", "wu", "liu", "qi", "ba", "jiu"), strict=True))


@dataclass(frozen=True, slots=True)
class Fix:
    """One rewrite, for the record and the logs."""

    start: int
    heard: str
    written: str


def _py(text: str) -> tuple[str, ...]:
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(text))


def _readings(run: str) -> tuple[str, ...]:
    """The syllables of a spoken run, a lone digit read aloud (8 → ba)."""
    return tuple(DIGIT_READING.get(x, x) for x in _py(run))


class Corrector:
    """Holds the term index and jieba's frequencies; `correct` is pure and thread-safe."""

    def __init__(self, terms: Iterable[str], common: Iterable[str], freq: dict[str, int], total: int) -> None:
        """`terms` are boosted to TERM_FREQ; `common` words may be written at their own frequency."""
        from extraction.lexload import load_list
        from extraction.normalize import fuzzy_key, lexicon

        self.freq, self.log_total = freq, math.log(total)
        self.term_set = {w for w in terms if 2 <= len(w) <= MAX_WORD and _HANZI_RUN.fullmatch(w)}
        self.by_sound: dict[tuple[str, ...], list[str]] = {}
        for w in self.term_set | {w for w in common if 2 <= len(w) <= MAX_WORD and _HANZI_RUN.fullmatch(w)}:
            self.by_sound.setdefault(_py(w), []).append(w)
        self.surnames = frozenset("".join(load_list("surnames.txt")))
        self.titles = tuple(t for t in load_list("contact_titles.txt") if _HANZI_RUN.fullmatch(t))
        # titles of two or more syllables by sound: Whisper writes 经历 for 经理, 主人 for 主任
        self.title_sounds = frozenset(fuzzy_key(_py(t)) for t in self.titles if len(t) >= 2)
        self.industry = tuple(sorted((w for w in lexicon().industry if len(w) >= 2), key=len, reverse=True))
        self.regions = tuple(sorted((r for r in lexicon().region_alias if len(r) >= 2), key=len, reverse=True))

    def _grammar(self, ch: str) -> bool:
        return (self.freq.get(ch) or 0) >= GRAMMAR_FREQ

    def is_word(self, text: str) -> bool:
        """An everyday word (jieba's dictionary at COMMON_FREQ), not a made-up brand."""
        return (self.freq.get(text) or 0) >= COMMON_FREQ

    def _logp(self, word: str, names: dict[str, int]) -> float:
        f = max(self.freq.get(word) or 0, TERM_FREQ if word in self.term_set else 0, names.get(word, 0))
        return math.log(max(f, 0.5)) - self.log_total

    def _protected(self, run: str, fz: tuple[str, ...]) -> tuple[set[int], set[int]]:
        """Positions never rewritten, nor made part of a name: a person's surname before a title
        (华经理 is a person, not 的话经理; 陈 of 陈经历 heard for 陈经理 is not the 成 of a brand 德成);
        positions only a CRM name may rewrite: a brand between region and industry (武汉知行软件)."""
        people = {i for i, ch in enumerate(run) if ch in self.surnames and (
            run.startswith(self.titles, i + 1) or fz[i + 1:i + 3] in self.title_sounds
            or fz[i + 1:i + 4] in self.title_sounds)}
        brands = {k for i in range(2, len(run)) if run.startswith(self.industry, i)
                  and any(run.endswith(r, 0, i - 2) for r in self.regions) for k in (i - 2, i - 1)}
        return people, brands

    def correct(self, text: str, names: Sequence[str] = ()) -> tuple[str, list[Fix]]:
        """The rewritten text and what changed; `names` are the rep's CRM names (hotwords)."""
        index, loose = _name_index(tuple(names))
        near = _near_index(tuple(names))
        written = _soundalike_index(tuple(names))[1] if near else frozenset()  # every form, as written
        name_freq = {w: NAME_FREQ for ws in index.values() for w in ws}
        name_freq.update({f.form: NAME_FREQ for fs in near.values() for f in fs})
        fixes: list[Fix] = []

        def one(m: re.Match[str]) -> str:
            out = self._run(m.group(), index, loose, name_freq, near, written)
            fixes.extend(_diff(m.start(), m.group(), out))
            return out

        return _SPOKEN_RUN.sub(one, text), fixes

    def _run(self, run: str, names: dict[tuple[str, ...], list[str]], loose: dict[tuple[str, ...], list[str]],
             name_freq: dict[str, int], near: NearIndex | None = None,
             written: frozenset[str] = frozenset()) -> str:
        from extraction.normalize import fuzzy_key

        py = _readings(run)
        if len(py) != len(run):  # pypinyin keeps one syllable per hanzi; be safe if not
            return run
        digits = {k for k, ch in enumerate(run) if ch.isdigit()}  # read aloud, rewritten only into a near name
        fz = fuzzy_key(py)
        ini = tuple(_initial(x) for x in fz)
        people, brands = self._protected(run, fz)
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
                spelled = digits.isdisjoint(range(i, j))
                for w in self.by_sound.get(py[i:j], ()) if spelled else ():
                    cands.setdefault(w, 0.0)
                for w in names.get(fz[i:j], ()) if spelled else ():
                    extra = FUZZY_COST * sum(a != b for a, b in zip(_py(w), py[i:j]))
                    cands[w] = min(cands.get(w, math.inf), extra)
                if j - i >= LOOSE_MIN_LEN:
                    for w in loose.get(ini[i:j], ()) if spelled else ():
                        off = sum(a != b for a, b in zip(fuzzy_key(_py(w)), fz[i:j]))
                        if off == 1:
                            cands.setdefault(w, LOOSE_COST)
                    if near and (hit := near_name(near, span, py[i:j], self.is_word, written)) is not None:
                        cands[hit[0]] = min(cands.get(hit[0], math.inf), NEAR_COST * hit[1])
                for w, extra in cands.items():
                    changed = [i + k for k, (a, b) in enumerate(zip(w, span)) if a != b]
                    is_name = w in name_freq
                    if any(k in people or (k in brands and not is_name) for k in changed):
                        continue
                    if is_name and changed and not people.isdisjoint(range(i, j)):
                        continue  # a person before a title is not part of a company's name
                    if is_name and len(w) == 2 and any(self._grammar(run[k]) for k in changed):
                        continue  # 的丰主任 is 的 + 冯主任, not a brand 德丰: two characters are too little to overrule it
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


@dataclass(frozen=True, slots=True)
class NearForm:
    """A company name form as a construction: region? + brand + trade?, the region and trade
    being the ends a misheard name keeps as written (南京宁派门称, 奇汤骨科)."""

    form: str
    py: tuple[str, ...]
    customer: str
    region: str
    brand: str
    trade: str


NearIndex = dict[tuple[int, str, str], list[NearForm]]


@lru_cache(maxsize=64)
def _near_index(names: tuple[str, ...]) -> NearIndex:
    """Region + brand + trade forms of each name, keyed by length and by the end they start or
    end with: (len, "head", region) and (len, "tail", trade)."""
    from extraction.normalize import parse_name, to_simplified

    index: NearIndex = {}
    for name in names:
        try:
            p = parse_name(to_simplified(re.sub(r"\s+", "", name or "")))
        except Exception:  # noqa: BLE001 - a name the parser cannot read has no construction
            continue
        if len(p.brand) < 2 or not _HANZI_RUN.fullmatch(p.brand):
            continue
        trades = {t for t in p.industry if _HANZI_RUN.fullmatch(t)}
        trades |= {t[:2] for t in trades if len(t) >= 4}
        regions = {r.name for r in p.regions if _HANZI_RUN.fullmatch(r.name)}
        for region in regions:  # near_name wants both ends of the construction
            for trade in trades:
                form = region + p.brand + trade
                if len(form) > MAX_WORD:
                    continue
                entry = NearForm(form, _py(form), name, region, p.brand, trade)
                for end, anchor in (("head", region), ("tail", trade)):
                    index.setdefault((len(form), end, anchor), []).append(entry)
    return index


def near_name(index: NearIndex, span: str, py: tuple[str, ...], is_word: Callable[[str], bool],
              written: frozenset[str] = frozenset()) -> tuple[str, float] | None:
    """The one book name form a stretch of speech (`span`, its pinyin `py`) may be, with its
    sound distance (speech/sounds.py), or None.

    The form has a region and a trade; the stretch keeps one of them as written (an exact
    anchor) and the other sounds within NEAR_END a syllable (a near anchor: 常中 for 常州). The
    brand between differs but sounds within NEAR_PER_SYLLABLE a syllable and keeps its initials
    close (speech/sounds.initials_close). An everyday word heard for the brand (首先 for 蜀星) needs
    both ends as written, and a brand heard as another customer's name (`written`: 星耀 when 星播
    is near) is that customer. The form must be NEAR_MARGIN closer than any other customer's: two customers
    that sound alike here are asked about."""
    best: dict[str, tuple[float, str]] = {}  # customer -> (distance, form)
    for f in _anchored(index, span):
        d = _near_distance(f, span, py, is_word, written)
        if d is not None and d < best.get(f.customer, (math.inf, ""))[0]:
            best[f.customer] = (d, f.form)
    if not best:
        return None
    ranked = sorted(best.values())
    if len(ranked) > 1 and ranked[1][0] - ranked[0][0] < NEAR_MARGIN:
        return None  # two customers sound alike here: the matcher asks
    return ranked[0][1], ranked[0][0]


def _anchored(index: NearIndex, span: str) -> Iterator[NearForm]:
    """The forms of `span`'s length that start with a region or end with a trade `span` has."""
    n = len(span)
    for end in ("head", "tail"):
        for k in range(2, n - 1):
            yield from index.get((n, end, span[:k] if end == "head" else span[n - k:]), ())


def _near_distance(f: NearForm, span: str, py: tuple[str, ...], is_word: Callable[[str], bool],
                   written: frozenset[str] = frozenset()) -> float | None:
    """The sound distance of `span` from form `f` under near_name's rules, or None."""
    from .sounds import initials_close, span_cost

    r, b = len(f.region), len(f.region) + len(f.brand)
    heard = span[r:b]
    if heard == f.brand or heard in written:
        return None  # said as written (the exact index has it), or another customer's brand
    exact = near = 0
    total = 0.0
    for lo, hi in ((0, r), (b, len(span))):  # the region, the trade
        d = span_cost(f.py[lo:hi], py[lo:hi])
        if span[lo:hi] == f.form[lo:hi]:
            exact += 1
        elif d <= NEAR_END * (hi - lo):
            near += 1
        else:
            return None
        total += d
    if not exact or exact + near < 2 or (is_word(heard) and exact < 2):
        return None  # one end alone is any 「X的 + trade」 (米其林的工程 is not a customer 利德工程)
    if not initials_close(f.py[r:b], py[r:b]):
        return None
    brand = span_cost(f.py[r:b], py[r:b])
    return total + brand if brand <= NEAR_PER_SYLLABLE * (b - r) else None


SOUNDALIKE_MAX = 5  # book customers a second look puts in the prompt (the closest)
SOUNDALIKE_PER_SYLLABLE = 0.5  # how near (speech/sounds.py) a stretch sounds to a name form, per syllable


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
    """Book names the transcript may have misheard, closest first: none of the book's names is
    written in `text`, but a stretch of it sounds like a name form: the form's initials with the
    whole within SOUNDALIKE_PER_SYLLABLE a syllable (鸿达 for 恒达), or a company name heard a
    little off between its region and trade (near_name's rules). A stretch that is an everyday
    word is taken as said. At most `limit`; empty when a name is written as in the book."""
    from extraction.normalize import fuzzy_key

    from .sounds import span_cost

    book = tuple(dict.fromkeys(n for n in names if n))
    index, forms = _soundalike_index(book)
    near = _near_index(book)
    is_word = default_corrector().is_word
    found: dict[str, float] = {}
    for run in _SPOKEN_RUN.findall(text):
        n = len(run)
        if any(run[i:j] in forms for i in range(n) for j in range(i + 2, min(n, i + MAX_WORD) + 1)):
            return []  # a customer is named as written: nothing to look for
        py = _readings(run)
        if len(py) != n:
            continue
        ini = tuple(_initial(x) for x in fuzzy_key(py))
        for i in range(n):
            for j in range(i + 2, min(n, i + MAX_WORD) + 1):
                if is_word(run[i:j]):
                    continue  # 今天 is a day, not a misheard 金田
                heard: list[tuple[str, float | None]] = [
                    (name, span_cost(_py(form), py[i:j])) for form, name in index.get(ini[i:j], ())]
                if j - i >= LOOSE_MIN_LEN:
                    heard += [(f.customer, _near_distance(f, run[i:j], py[i:j], is_word, forms))
                              for f in _anchored(near, run[i:j])]
                for name, d in heard:
                    if d is not None and 0 < d <= SOUNDALIKE_PER_SYLLABLE * (j - i) and d < found.get(name, math.inf):
                        found[name] = d
    return [name for name, _ in sorted(found.items(), key=lambda kv: kv[1])[:limit]]


@lru_cache(maxsize=64)
def _sound_keys(names: tuple[str, ...]) -> dict[tuple[str, ...], frozenset[str]]:
    """Fuzzy-pinyin key of every name form -> the book names having a form that sounds so."""
    from extraction.normalize import fuzzy_key

    out: dict[tuple[str, ...], set[str]] = {}
    for name in names:
        for form in name_forms(name):
            out.setdefault(fuzzy_key(_py(form)), set()).add(name)
    return {k: frozenset(v) for k, v in out.items()}


def same_sound_names(text: str, name: str, names: Sequence[str]) -> list[str]:
    """Other book names that sound exactly like the form of `name` written in `text` (横达 and
    衡达): a transcript cannot tell them apart, so writing one of them settles nothing."""
    from extraction.normalize import fuzzy_key

    keys = _sound_keys(tuple(dict.fromkeys(n for n in (*names, name) if n)))
    written = [f for f in name_forms(name) if f in text]
    heard = [f for f in written if not any(f != g and f in g for g in written)]  # 杭州鸿泰包装, not 鸿泰
    others = {n for f in heard for n in keys.get(fuzzy_key(_py(f)), ()) if n != name}
    return sorted(others)


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
