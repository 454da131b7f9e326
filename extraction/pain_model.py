"""A learned second look at pain points, after the cue classes (pains.py).

On notes they were never tuned on, the cue classes find about half of the pains, and a third of
what they report is not one: a cue fires inside a clause that states no problem, the span stops
at the predicate while the note's problem is the whole clause (空滤那块他觉得偏贵, not 偏贵), or
the problem is said in words no cue class knows.  This model looks at every clause of the note
once more: the spans the cue classes reported, the clause around each of them, and the clauses
they left alone.  Each candidate is scored by logistic regression over its characters and
character pairs (counted: a span's share is a difference of running sums made once per note),
the words just outside it, which cue class (if any) reported it and which pain lexicons it
touches; a second regression gives the category of the candidates that are kept.
Overlapping candidates: the likeliest wins.  Trained on our own labelled notes (bench/dev3 ...
bench/dev12, held-out parts excluded; never the sets in ../shared/eval) by
bench/train_pain_model.py; the weights are in lexicon/pain_model.txt: retrain it, do not edit it.
"""
from __future__ import annotations

import math
import re
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import accumulate, repeat
from operator import add
from typing import Generic, NamedTuple, TypeVar

from .clauses import Clause
from .lexload import LEXICON_DIR, alternation
from .pains import LEAD
from .types import PainPoint, Span

MODEL_FILE = LEXICON_DIR / "pain_model.txt"
LEXICONS = ("pain_adjectives.txt", "pain_defects.txt", "pain_delays.txt", "pain_negations.txt",
            "pain_objects.txt", "pain_polarity.txt", "pain_competitor_refs.txt")
class Candidate(NamedTuple):
    """A span the model scores (a tuple: made ~8 times per note, cheaper than a frozen dataclass)."""
    start: int
    end: int
    rule: str | None  # the category the cue classes gave this span or its clause
    kind: str  # "rule": a cue-class span, "alt": the clause around one, "clause": a clause without
    rival: str = ""  # "in": one of the note's competitors is named inside it, "near": in its sentence


def _trimmed(text: str, a: int, b: int) -> tuple[int, int]:
    m = LEAD.match(text, a, b)
    return (m.end(), b) if m and m.end() < b else (a, b)


def candidates(text: str, clauses: Sequence[Clause], pains: Sequence[PainPoint],
               rivals: Sequence[str] = ()) -> list[Candidate]:
    """The cue classes' spans, the clause(s) around each (together and one by one), and every
    other clause; each knows whether one of the note's competitors (`rivals`, names) is named
    inside it or in its sentence (a competitor's problems are competitor pains, README §2)."""
    out = _spans(text, clauses, pains)
    if not rivals:
        return out
    ends = [m.start() for m in _SENTENCE_END.finditer(text)]  # found once for all candidates
    return [c._replace(rival=_rival(text, c, rivals, ends)) for c in out]


def _rival(text: str, c: Candidate, rivals: Sequence[str], ends: list[int]) -> str:
    """"in", "near" or ""; `ends` are the offsets of the note's sentence ends, in order."""
    if any(r in text[c.start:c.end] for r in rivals):
        return "in"
    i = bisect_left(ends, c.start)  # ends[:i] are before the candidate
    j = bisect_left(ends, c.end, i)  # ends[j] is the first at or after its end
    sentence = text[ends[i - 1] + 1 if i else 0:ends[j] if j < len(ends) else len(text)]
    return "near" if any(r in sentence for r in rivals) else ""


_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


def _spans(text: str, clauses: Sequence[Clause], pains: Sequence[PainPoint]) -> list[Candidate]:
    out: list[Candidate] = []
    touched: set[int] = set()  # id() of the clauses some cue-class span runs into
    for p in pains:
        a, b = p.span.start, p.span.end
        out.append(Candidate(a, b, p.category, "rule"))
        around = [c for c in clauses if c.start < b and a < c.end]
        touched.update(map(id, around))
        for ca, cb in _around(text, around):
            if (ca, cb) != (a, b) and cb - ca >= 2:
                out.append(Candidate(ca, cb, p.category, "alt"))
    for c in clauses:
        if id(c) in touched:
            continue
        a, b = _trimmed(text, c.start, c.end)
        if b - a >= 2:
            out.append(Candidate(a, b, None, "clause"))
    return out


def _around(text: str, around: list[Clause]) -> Iterable[tuple[int, int]]:
    """The clauses a cue-class span touches together and, when it runs over several, each one
    alone; trimmed, each span once."""
    if len(around) <= 1:  # the common case: no span to merge or repeat
        return [_trimmed(text, c.start, c.end) for c in around]
    spans = [(min(c.start for c in around), max(c.end for c in around))] + [(c.start, c.end) for c in around]
    return dict.fromkeys(_trimmed(text, x, y) for x, y in spans)


@lru_cache(maxsize=1)
def _lexicons() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(alternation(name))) for name in LEXICONS if alternation(name) != "(?!)")


class Note:
    """A note prepared once for all of its candidates: line breaks and tabs as spaces (features
    are stored one per line, tab-separated), its character pairs, the pain lexicons that occur
    in it at all, and (per model) running sums of its characters' and pairs' weights."""

    def __init__(self, text: str) -> None:
        # translate() walks the note char by char through a dict: only when there is something to map
        self.text = text.translate(_CONTROL) if _HAS_CONTROL.search(text) else text
        t = self.text
        self.codes = _codes(t)
        self.lexicons = [(name, rx) for name, rx in _lexicons() if rx.search(t)]
        self.sums: tuple[list[float], list[float]] | None = None

    @cached_property
    def pairs(self) -> list[str]:
        """The character pairs, for features() (the model itself reads self.codes)."""
        return list(map(add, self.text, self.text[1:]))


_UTF32 = "utf-32-le" if sys.byteorder == "little" else "utf-32-be"  # the machine's order: see _codes


def _codes(text: str) -> tuple[list[int], list[int]]:
    """The text's characters as code points and its character pairs as two code points in one
    64-bit word, made in C: dictionary keys far cheaper than one- and two-character strings."""
    raw = text.encode(_UTF32, "surrogatepass")
    chars = memoryview(raw).cast("I").tolist()
    pairs = [0] * max(len(chars) - 1, 0)
    pairs[0::2] = memoryview(raw[:len(raw) // 8 * 8]).cast("Q").tolist()  # 0-1, 2-3, ...
    pairs[1::2] = memoryview(raw[4:4 + (len(raw) - 4) // 8 * 8]).cast("Q").tolist()  # 1-2, 3-4, ...
    return chars, pairs


def _pair_code(pair: str) -> int:
    """The code _codes gives a pair of characters (the two code points in one 64-bit word, in
    the machine's byte order), without encoding it."""
    a, b = map(ord, pair)
    return a | b << 32 if sys.byteorder == "little" else a << 32 | b


V = TypeVar("V")


class _Grams(NamedTuple, Generic[V]):
    """The character and pair features of a model's table keyed by codes (see _codes): "u:" + a
    character by its code point, "b:" + a pair by the pair's code, and the edge pairs "b:^" +
    the first character and "b:" + the last + "$" by the code point of that character."""
    chars: dict[int, V]
    pairs: dict[int, V]
    first: dict[int, V]
    last: dict[int, V]

    @classmethod
    def of(cls, table: dict[str, V]) -> _Grams[V]:
        grams = cls({}, {}, {}, {})
        for f, v in table.items():
            gram = f[2:]
            if f.startswith("u:") and len(gram) == 1:
                grams.chars[ord(gram)] = v
            elif f.startswith("b:") and len(gram) == 2:
                grams.pairs[_pair_code(gram)] = v
                if gram[0] == "^":
                    grams.first[ord(gram[1])] = v
                if gram[1] == "$":
                    grams.last[ord(gram[0])] = v
        return grams


# the end of the note ends a sentence like a full stop does
_SENTENCE_END_AS = dict.fromkeys(("", "。", "！", "？", "!", "?", "；", ";"), "。")
_CONTROL = str.maketrans("\t\n\r\x0b\x0c", "     ")
_HAS_CONTROL = re.compile("[\t\n\r\x0b\x0c]")


def features(note: Note, c: Candidate) -> list[str]:
    """Every character and character pair, counted (with the edges: ^ + first character, last
    character + $), and the context: size, the two characters before and the one after, the cue
    class and kind, and which pain lexicons the span touches."""
    t, a, b = note.text, c.start, c.end
    return (context(note, c) + ["b:^" + t[a], "b:" + t[b - 1] + "$"]
            + ["b:" + p for p in note.pairs[a:b - 1]] + ["u:" + ch for ch in t[a:b]])


def context(note: Note, c: Candidate) -> list[str]:
    """The features other than the span's characters and pairs."""
    text, a, b, kind = note.text, c.start, c.end, c.kind
    out = _head(kind, c.rule, b - a) + ["L:" + _before(text, a), "R:" + _after(text, b)]
    if c.rival:
        out += _rival_features(kind, c.rival)
    for name, rx in note.lexicons:
        if rx.search(text, a, b):  # one of the lexicon's words lies within the span
            out += _lexicon_features(name, kind)
    return out


# The groups of context features, made from bare values: Model.probabilities finds their weights
# by these values, without making the strings.
def _head(kind: str, rule: str | None, length: int) -> list[str]:
    rule = rule or "none"
    return [f"kind={kind}", f"rule={rule}", f"kr={kind}_{rule}", f"len={min(length // 3, 8)}"]


def _rival_features(kind: str, rival: str) -> list[str]:
    return [f"rival={rival}", f"rival_{kind}={rival}"]


def _lexicon_features(name: str, kind: str) -> list[str]:
    return [f"lex:{name}", f"lexk:{name}:{kind}"]


def _before(text: str, a: int) -> str:
    return text[max(0, a - 2):a]


def _after(text: str, b: int) -> str:
    return _SENTENCE_END_AS.get(text[b:b + 1], text[b:b + 1])


K = TypeVar("K")


class _Memo(dict[K, V]):
    """A dict that makes a missing value with `make` and keeps it while it holds fewer than
    _MEMO_SIZE: the lookup that hits stays a plain dict lookup, in C."""

    def __init__(self, make: Callable[[K], V]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, key: K) -> V:
        value = self.make(key)
        if len(self) < _MEMO_SIZE:
            self[key] = value
        return value


# kinds x cue categories x span lengths, kinds x lexicons, ...: a few hundred or thousand
_MEMO_SIZE = 4096


@dataclass(frozen=True)
class Model:
    bias: float
    threshold: float
    weights: dict[str, float]  # pain vs no pain
    categories: tuple[str, ...]
    cat_bias: tuple[float, ...]
    cat_weights: dict[str, tuple[float, ...]]  # category of a kept candidate

    @cached_property
    def _grams(self) -> _Grams[float]:
        return _Grams.of(self.weights)

    @cached_property
    def _cat_grams(self) -> _Grams[tuple[float, ...]]:
        return _Grams.of(self.cat_weights)

    @cached_property
    def _sides(self) -> tuple[dict[str, float], dict[str, float]]:
        """The "L:" weights keyed by the two characters before a span, the "R:" ones by the
        character after it as it is in the note (a sentence end reads as 。, see _after)."""
        left = {f[2:]: w for f, w in self.weights.items() if f.startswith("L:")}
        right = {f[2:]: w for f, w in self.weights.items() if f.startswith("R:")}
        right.update((ch, self.weights.get("R:" + end, 0.0)) for ch, end in _SENTENCE_END_AS.items())
        return left, right

    @cached_property
    def _groups(self) -> tuple[_Memo[tuple[str, str | None, int], float],
                               _Memo[tuple[str, str], tuple[float, ...]],
                               _Memo[tuple[str, str], tuple[float, ...]]]:
        """The weights of the groups of context features by their bare values (0.0 for a
        feature the model does not know): the four of _head summed as sum() does, from 0, by
        (kind, rule, length); those of _rival_features by (kind, rival), of _lexicon_features by
        (lexicon, kind)."""
        weight = self.weights.get
        return (_Memo(lambda key: sum(map(weight, _head(*key), repeat(0.0)))),
                _Memo(lambda key: tuple(map(weight, _rival_features(*key), repeat(0.0)))),
                _Memo(lambda key: tuple(map(weight, _lexicon_features(*key), repeat(0.0)))))

    def probability(self, note: Note, c: Candidate) -> float:
        """P(pain) of one candidate (refine scores a note's candidates together)."""
        return self.probabilities(note, [c])[0]

    def probabilities(self, note: Note, cands: Iterable[Candidate]) -> list[float]:
        """P(pain) of each candidate: the logistic of the summed weights of features(note, c).
        The characters and pairs (counted features) come from running sums made once per note;
        the weights of context(note, c) from tables keyed by bare values, no feature strings,
        added one by one in context()'s order as sum() would."""
        grams = self._grams
        text, codes = note.text, note.codes[0]
        if note.sums is None:
            note.sums = (list(accumulate(map(grams.chars.get, codes, repeat(0.0)), initial=0.0)),
                         list(accumulate(map(grams.pairs.get, note.codes[1], repeat(0.0)), initial=0.0)))
        chars, pairs = note.sums
        left, right = self._sides
        heads, rival_pairs, lexicon_pairs = self._groups
        out = []
        for c in cands:
            a, b, kind = c.start, c.end, c.kind
            # the features of context(note, c), in its order; what _before and _after read
            s = (heads[kind, c.rule, b - a]
                 + left.get(text[max(0, a - 2):a], 0.0) + right.get(text[b:b + 1], 0.0))
            if c.rival:
                s = sum(rival_pairs[kind, c.rival], s)
            for name, rx in note.lexicons:
                if rx.search(text, a, b):
                    s = sum(lexicon_pairs[name, kind], s)
            z = (self.bias + s + chars[b] - chars[a] + pairs[b - 1] - pairs[a]
                 + grams.first.get(codes[a], 0.0) + grams.last.get(codes[b - 1], 0.0))
            out.append(1.0 / (1.0 + math.exp(-z)))
        return out

    def category(self, feats: list[str]) -> str:
        """The likeliest category for these feature strings: the reference category_of must
        agree with (the tests compare them)."""
        return self._likeliest(map(self.cat_weights.get, feats))

    def category_of(self, note: Note, c: Candidate) -> str:
        """category(features(note, c)), the rows of the characters and pairs in the same order
        but from tables keyed by their codes rather than by feature strings."""
        grams = self._cat_grams
        chars, pairs = note.codes
        a, b = c.start, c.end
        return self._likeliest([*map(self.cat_weights.get, context(note, c)),
                                grams.first.get(chars[a]), grams.last.get(chars[b - 1]),
                                *map(grams.pairs.get, pairs[a:b - 1]), *map(grams.chars.get, chars[a:b])])

    def _likeliest(self, rows: Iterable[tuple[float, ...] | None]) -> str:
        known = [row for row in rows if row is not None]
        scores = [sum(column) for column in zip(self.cat_bias, *known)]  # one category per column
        return self.categories[max(range(len(scores)), key=scores.__getitem__)]


def refine(text: str, clauses: Sequence[Clause], pains: list[PainPoint],
           rivals: Sequence[str] = ()) -> list[PainPoint]:
    """The pains the model keeps among the cue classes' spans and the note's clauses (the cue
    classes' own when there is no model file)."""
    mdl = model()
    if mdl is None:
        return pains
    scored = []
    note = Note(text)
    cands = candidates(note.text, clauses, pains, rivals)
    for p, c in zip(mdl.probabilities(note, cands), cands):
        if p >= mdl.threshold:
            scored.append((p, c))
    kept: list[PainPoint] = []
    for _, c in sorted(scored, key=lambda t: -t[0]):
        if any(k.span.start < c.end and c.start < k.span.end for k in kept):
            continue  # an overlapping candidate was likelier
        # a problem that names a competitor is a competitor pain, whatever else it is about (README §2)
        category = "competitor" if c.rival == "in" else mdl.category_of(note, c)
        kept.append(PainPoint(category, text[c.start:c.end], Span(c.start, c.end)))
    return sorted(kept, key=lambda p: p.span.start)


@lru_cache(maxsize=1)
def model() -> Model | None:
    """The trained weights, or None when the file is missing."""
    if not MODEL_FILE.exists():
        return None
    head: dict[str, str] = {}
    weights: dict[str, float] = {}
    cat_weights: dict[str, tuple[float, ...]] = {}
    for line in MODEL_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            key, _, value = line[1:].partition(" ")
            head[key] = value
            continue
        feat, w, cats = line.split("\t")
        if w:
            weights[feat] = float(w)
        if cats:
            cat_weights[feat] = tuple(float(x) for x in cats.split())
    return Model(float(head["bias"]), float(head["threshold"]), weights, tuple(head["categories"].split()),
                 tuple(float(x) for x in head["cat_bias"].split()), cat_weights)
