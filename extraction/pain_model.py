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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from itertools import accumulate, repeat

from .clauses import Clause
from .lexload import LEXICON_DIR, alternation
from .pains import LEAD
from .types import PainPoint, Span

MODEL_FILE = LEXICON_DIR / "pain_model.txt"
LEXICONS = ("pain_adjectives.txt", "pain_defects.txt", "pain_delays.txt", "pain_negations.txt",
            "pain_objects.txt", "pain_polarity.txt", "pain_competitor_refs.txt")
@dataclass(frozen=True, slots=True)
class Candidate:
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
    return [replace(c, rival=_rival(text, c, rivals)) for c in out]


def _rival(text: str, c: Candidate, rivals: Sequence[str]) -> str:
    if any(r in text[c.start:c.end] for r in rivals):
        return "in"
    a = max((m.end() for m in _SENTENCE_END.finditer(text, 0, c.start)), default=0)
    m = _SENTENCE_END.search(text, c.end)
    return "near" if any(r in text[a:m.start() if m else len(text)] for r in rivals) else ""


_SENTENCE_END = re.compile(r"[。！？!?；;\n]")


def _spans(text: str, clauses: Sequence[Clause], pains: Sequence[PainPoint]) -> list[Candidate]:
    out: list[Candidate] = []
    for p in pains:
        a, b = p.span.start, p.span.end
        out.append(Candidate(a, b, p.category, "rule"))
        around = [c for c in clauses if c.start < b and a < c.end]
        # the clauses it touches together and, when it runs over several, each one alone
        spans = [(min(c.start for c in around), max(c.end for c in around))] if around else []
        spans += [(c.start, c.end) for c in around] if len(around) > 1 else []
        for ca, cb in dict.fromkeys(_trimmed(text, x, y) for x, y in spans):
            if (ca, cb) != (a, b) and cb - ca >= 2:
                out.append(Candidate(ca, cb, p.category, "alt"))
    for c in clauses:
        if any(c.start < p.span.end and p.span.start < c.end for p in pains):
            continue
        a, b = _trimmed(text, c.start, c.end)
        if b - a >= 2:
            out.append(Candidate(a, b, None, "clause"))
    return out


@lru_cache(maxsize=1)
def _lexicons() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(alternation(name))) for name in LEXICONS if alternation(name) != "(?!)")


class Note:
    """A note prepared once for all of its candidates: line breaks and tabs as spaces (features
    are stored one per line, tab-separated), its character pairs, the pain lexicons that occur
    in it at all, and (per model) running sums of its characters' and pairs' weights."""

    def __init__(self, text: str) -> None:
        self.text = text.translate(_CONTROL)
        t = self.text
        self.pairs = [t[i:i + 2] for i in range(len(t) - 1)]
        self.lexicons = [(name, rx) for name, rx in _lexicons() if rx.search(t)]
        self.sums: tuple[list[float], list[float]] | None = None


# the end of the note ends a sentence like a full stop does
_SENTENCE_END_AS = dict.fromkeys(("", "。", "！", "？", "!", "?", "；", ";"), "。")
_CONTROL = str.maketrans("\t\n\r\x0b\x0c", "     ")


def features(note: Note, c: Candidate) -> list[str]:
    """Every character and character pair, counted (with the edges: ^ + first character, last
    character + $), and the context: size, the two characters before and the one after, the cue
    class and kind, and which pain lexicons the span touches."""
    t, a, b = note.text, c.start, c.end
    return (context(note, c) + ["b:^" + t[a], "b:" + t[b - 1] + "$"]
            + ["b:" + p for p in note.pairs[a:b - 1]] + ["u:" + ch for ch in t[a:b]])


def context(note: Note, c: Candidate) -> list[str]:
    """The features other than the span's characters and pairs."""
    text, a, b = note.text, c.start, c.end
    rule = c.rule or "none"
    out = [f"kind={c.kind}", f"rule={rule}", f"kr={c.kind}_{rule}", f"len={min((b - a) // 3, 8)}",
           "L:" + text[max(0, a - 2):a], "R:" + _SENTENCE_END_AS.get(text[b:b + 1], text[b:b + 1])]
    if c.rival:
        out += [f"rival={c.rival}", f"rival_{c.kind}={c.rival}"]
    for name, rx in note.lexicons:
        if rx.search(text, a, b):
            out += [f"lex:{name}", f"lexk:{name}:{c.kind}"]
    return out


@dataclass(frozen=True)
class Model:
    bias: float
    threshold: float
    weights: dict[str, float]  # pain vs no pain
    categories: tuple[str, ...]
    cat_bias: tuple[float, ...]
    cat_weights: dict[str, tuple[float, ...]]  # category of a kept candidate

    @cached_property
    def _grams(self) -> tuple[dict[str, float], dict[str, float]]:
        """The "u:" and "b:" weights keyed by the bare character or pair."""
        uni = {f[2:]: w for f, w in self.weights.items() if f.startswith("u:")}
        bi = {f[2:]: w for f, w in self.weights.items() if f.startswith("b:")}
        return uni, bi

    def probability(self, note: Note, c: Candidate) -> float:
        """P(pain) of a candidate: the summed weights of features(note, c), where the characters
        and pairs (counted features) come from running sums made once per note."""
        uni, bi = self._grams
        if note.sums is None:
            note.sums = (list(accumulate(map(uni.get, note.text, repeat(0.0)), initial=0.0)),
                         list(accumulate(map(bi.get, note.pairs, repeat(0.0)), initial=0.0)))
        chars, pairs = note.sums
        t, a, b = note.text, c.start, c.end
        z = (self.bias + sum(map(self.weights.get, context(note, c), repeat(0.0)))  # map: the loop runs in C
             + chars[b] - chars[a] + pairs[b - 1] - pairs[a]
             + bi.get("^" + t[a], 0.0) + bi.get(t[b - 1] + "$", 0.0))
        return 1.0 / (1.0 + math.exp(-z))

    def category(self, feats: list[str]) -> str:
        rows = [row for row in map(self.cat_weights.get, feats) if row is not None]
        scores = [sum(column) for column in zip(self.cat_bias, *rows)]  # one category per column
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
    for c in candidates(note.text, clauses, pains, rivals):
        p = mdl.probability(note, c)
        if p >= mdl.threshold:
            scored.append((p, c))
    kept: list[PainPoint] = []
    for _, c in sorted(scored, key=lambda t: -t[0]):
        if any(k.span.start < c.end and c.start < k.span.end for k in kept):
            continue  # an overlapping candidate was likelier
        # a problem that names a competitor is a competitor pain, whatever else it is about (README §2)
        category = "competitor" if c.rival == "in" else mdl.category(features(note, c))
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
