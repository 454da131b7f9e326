"""A learned second look for competitor names the constructions missed.

The constructions in competitors.py are precise but only know the ways of talking they were
written for: on 200 notes written blind to them (bench/dev9) they found about half of the named
competitors.  Reps name a rival in endless ways (现在开的是X的那个冷机, 货就转给X做了, X那边交期
排到十周了), but the words around the name are few and repeat across industries.  This model
scores every short stretch of the note's jieba tokens (2-6 CJK characters in up to three tokens,
or a run of Latin words) by its neighbouring tokens and its own shape, with logistic regression
trained on our own labelled notes (bench/dev3 ... bench/dev9, held-out parts excluded; never the
sets in ../shared/eval).  A stretch scoring at least the file's threshold is a competitor unless
the checks in competitors.py reject it (the customer, a contact, ours, a time word ...).

The weights file (lexicon/competitor_model.txt) is written by bench/train_competitor_model.py;
retrain it, do not edit it.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import NamedTuple

from .lexload import LEXICON_DIR

MODEL_FILE = LEXICON_DIR / "competitor_model.txt"
MAX_TOKENS = 3
# flags that cost a lexicon walk per new stretch: with no positive weight they can only lower a
# score, so a stretch already below the threshold without them is not asked about them
COSTLY = ("person", "place")
# value-less features a stretch's own shape sets; the others are lexicon flags (NoteView.flags)
SHAPE_FLAGS = ("latin", "cjk", "oneword", "singles")
# lexicon flags of which a stretch has at most one (competitors.word_flags)
ONE_OF = (("brand", "brand?"),)
_LATIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9&\-]*")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]+")

# a stretch whose upper bound stays this far below the threshold's logit is never scored: far
# more than the rounding of summing its weights in another order
_MARGIN = 1e-6
_NONE: dict[str, float] = {}

Token = tuple[str, int, int]
_LATIN_KINDS = ("L", " ")  # the token kinds a Latin stretch is made of


class TokenInfo(NamedTuple):
    """What the model needs of one token, looked up once per token string (see `token_info`)."""
    kind: str  # L: a Latin word, " ": a single space, C: CJK that may be part of a brand, x: other
    freq: int  # jieba frequency, 0: not in the dictionary
    digits: int  # the minfreq feature's value for this frequency (digits, at most 6; 0: unseen)
    symbol: str  # the token as a neighbour feature names it ("<W>" for whitespace)


class Candidate(NamedTuple):
    """A stretch of tokens: its offsets in the note and its token indices."""
    start: int
    end: int
    first: int  # index of its first token
    stop: int  # index after its last token


class NoteView:
    """One note's tokens, classified and looked up once for all of its stretches."""

    def __init__(self, text: str, toks: list[Token], infos: list[TokenInfo],
                 flags: Callable[[str], tuple[str, ...]], costly: Callable[[str], tuple[str, ...]]) -> None:
        """`infos` = each token's `token_info`; `flags(stretch)` and `costly(stretch)` = lexicon
        flags, the latter only asked for when needed (COSTLY).  All are cached by the caller: the
        same tokens and stretches come back in every note."""
        self.text = text
        self.toks = toks
        # token offsets as plain tuples: the stretch loops index them per token
        _, starts, ends = zip(*toks) if toks else ((), (), ())
        self.starts: tuple[int, ...] = starts
        self.ends: tuple[int, ...] = ends
        self.flags = flags
        self.costly = costly
        kind, freq, digits, symbol = zip(*infos) if infos else ((), (), (), ())
        self.kind: tuple[str, ...] = kind
        self.freq: tuple[int, ...] = freq
        self.digits: tuple[int, ...] = digits
        # whitespace as one symbol (the weights file is line-based); two "<S>" pad each end
        self.padded: tuple[str, ...] = ("<S>", "<S>", *symbol, "<S>", "<S>")

    def stretches(self) -> list[tuple[int, int]]:
        """(first, stop) token indices of the stretches of 1..MAX_TOKENS tokens that could be a
        brand: CJK of 2-6 characters without a function word, or Latin words (with single spaces
        between them).  Built as a list in one pass (a generator costs a resumption per stretch)."""
        kind, starts, ends = self.kind, self.starts, self.ends
        n = len(kind)
        out: list[tuple[int, int]] = []
        for i, first in enumerate(kind):
            # (a conditional, not min(): a builtin call per token costs more)
            if first == "C":  # CJK tokens while the stretch stays within six characters
                start, j, stop = starts[i], i, min(n, i + MAX_TOKENS)
                while j < stop and kind[j] == "C" and ends[j] - start <= 6:
                    j += 1
                    if ends[j - 1] - start >= 2:
                        out.append((i, j))
            elif first == "L":  # Latin words, single spaces between them
                start, j, stop = starts[i], i, min(n, i + MAX_TOKENS)
                while j < stop and kind[j] in _LATIN_KINDS:
                    j += 1
                    if kind[j - 1] == "L" and ends[j - 1] - start >= 2:
                        out.append((i, j))
        return out

    def candidate(self, i: int, j: int) -> Candidate:
        """The stretch of tokens i..j-1."""
        return Candidate(self.starts[i], self.ends[j - 1], i, j)

    def candidates(self) -> list[Candidate]:
        """All stretches that could be a brand (see `stretches`)."""
        return [self.candidate(i, j) for i, j in self.stretches()]

    def pair(self, c: Candidate) -> str:
        """Both neighbours of a stretch, as the LR feature names them."""
        return "LR=" + self.padded[c.first + 1] + "_" + self.padded[c.stop + 2]

    def left(self, i: int) -> list[str]:
        """Features of the tokens before a stretch that starts at token i."""
        a = self.padded[i + 1]
        return ["L1=" + a, "L2=" + self.padded[i] + "|" + a]

    def right(self, j: int) -> list[str]:
        """Features of the tokens after a stretch that ends before token j."""
        b = self.padded[j + 2]
        return ["R1=" + b, "R2=" + b + "|" + self.padded[j + 3]]

    def own(self, c: Candidate) -> list[str]:
        """The stretch's own features: both neighbours together, its size and ends, how common
        its rarest token is in the jieba dictionary (an unseen brand falls apart into rare
        pieces, a product noun is made of common words) and the lexicon flags competitors.py
        gives it (well-known brand, person, place, common word, category end)."""
        x = self.text[c.start:c.end]
        n = c.stop - c.first
        rarest = min(self.freq[c.first:c.stop])
        out = [self.pair(c), f"ntok={n}", f"len={min(len(x), 6)}",
               "first=" + x[0], "last=" + x[-1], f"minfreq={_digits(rarest)}"]
        if x.isascii():
            out.append("latin")
        else:
            out.append("cjk")
            if n == 1:
                out.append("oneword")
        if all(len(self.toks[k][0]) == 1 for k in range(c.first, c.stop)):
            out.append("singles")
        out.extend(self.flags(x))
        out.extend(self.costly(x))
        return out

    def features(self, c: Candidate) -> list[str]:
        """All of a stretch's features (what the trainer sees)."""
        return self.left(c.first) + self.right(c.stop) + self.own(c)


def token_info(tok: str, is_break: Callable[[str], bool], freq: Callable[[str], int | None]) -> TokenInfo:
    """A token's kind (L: a Latin word, " ": a single space, C: CJK that may be part of a brand,
    x: anything else), its jieba frequency (0: not in the dictionary) and what the features make
    of them."""
    if _LATIN_RE.fullmatch(tok):
        kind = "L"
    elif tok == " ":
        kind = " "
    else:
        kind = "C" if _CJK_RE.fullmatch(tok) and not is_break(tok) else "x"
    f = freq(tok) or 0
    return TokenInfo(kind, f, _digits(f), "<W>" if tok.isspace() else tok)


def _digits(rarest: int) -> int:
    """The minfreq feature's value: how many digits a jieba frequency has (0: unseen)."""
    return min(len(str(rarest)), 6) if rarest else 0


@dataclass(frozen=True, slots=True)
class _Tables:
    """NoteView.own's weights by feature family, looked up by value (no strings built)."""
    first: dict[str, float]
    last: dict[str, float]
    flag: dict[str, float]  # value-less features: latin, cjk, oneword, singles, lexicon flags
    ntok: list[float]  # index: tokens (1..3)
    length: list[float]  # index: characters, 6 = six or more
    minfreq: list[float]  # index: digits of the rarest token's jieba frequency (0: unseen)

    @classmethod
    def of(cls, weights: dict[str, float]) -> _Tables:
        fams = _families(weights)

        def table(fam: str, size: int) -> list[float]:
            return [fams.get(fam, {}).get(str(i), 0.0) for i in range(size)]

        return cls(fams.get("first", {}), fams.get("last", {}), fams.get("flag", {}),
                   table("ntok", 4), table("len", 7), table("minfreq", 7))


def _families(weights: dict[str, float]) -> dict[str, dict[str, float]]:
    """Weights by feature family and value ("flag": the value-less features by name)."""
    fams: dict[str, dict[str, float]] = {}
    for f, w in weights.items():
        fam, eq, value = f.partition("=")
        fams.setdefault(fam if eq else "flag", {})[value if eq else fam] = w
    return fams


@dataclass(frozen=True, slots=True)
class _Bounds:
    """What `Model.sure` bounds a stretch's score with before any feature string is built: the
    neighbours' weights keyed by tokens, and the most the rest can add given the stretch's size."""
    # the token right before a stretch -> its L1 weight, the L2 weights by the token before it
    # and its LR row (weights by the token right after the stretch): one lookup per start
    before: dict[str, tuple[float, dict[str, float], dict[str, float]]]
    # the token right after a stretch -> its R1 weight and the R2 weights by the token after it
    after: dict[str, tuple[float, dict[str, float]]]
    lr: dict[str, dict[str, float]]  # LR=a_b: [a][b]
    # the most ntok, len, singles, latin / cjk / oneword, minfreq and the lexicon flags add to a
    # stretch of [tokens][characters, 6 = six or more], for one that may be Latin or not
    latin: list[list[float]]
    cjk: list[list[float]]

    @classmethod
    def of(cls, weights: dict[str, float], t: _Tables) -> _Bounds:
        fams, flag = _families(weights), t.flag
        room = max(t.minfreq) + _flag_room(flag)

        def sizes(latin: bool) -> list[list[float]]:
            # tokens are contiguous: a stretch is all single characters iff it has as many as tokens
            return [[t.ntok[n] + t.length[k] + (flag.get("singles", 0.0) if k == n else 0.0)
                     + max(flag.get("cjk", 0.0) + (flag.get("oneword", 0.0) if n == 1 else 0.0),
                           flag.get("latin", 0.0) if latin else -math.inf) + room
                     for k in range(7)] for n in range(MAX_TOKENS + 1)]

        l1, r1, lr = fams.get("L1", {}), fams.get("R1", {}), _pairs(fams.get("LR", {}), "_")
        l2: dict[str, dict[str, float]] = {}  # L2=a|b: [b][a], keyed by the token next to the stretch
        for a, row in _pairs(fams.get("L2", {}), "|").items():
            for b, w in row.items():
                l2.setdefault(b, {})[a] = w
        r2 = _pairs(fams.get("R2", {}), "|")
        before = {a: (l1.get(a, 0.0), l2.get(a, _NONE), lr.get(a, _NONE)) for a in {*l1, *l2, *lr}}
        after = {b: (r1.get(b, 0.0), r2.get(b, _NONE)) for b in {*r1, *r2}}
        return cls(before, after, lr, sizes(True), sizes(False))


_NO_BEFORE: tuple[float, dict[str, float], dict[str, float]] = (0.0, _NONE, _NONE)
_NO_AFTER: tuple[float, dict[str, float]] = (0.0, _NONE)


def _flag_room(flag: dict[str, float]) -> float:
    """The most the lexicon flags can add to a stretch's weight."""
    grouped = {f for group in ONE_OF for f in group}
    return (sum(max(0.0, *(flag.get(f, 0.0) for f in group)) for group in ONE_OF)
            + sum(max(0.0, w) for f, w in flag.items() if f not in SHAPE_FLAGS and f not in grouped))


def _pairs(family: dict[str, float], sep: str) -> dict[str, dict[str, float]]:
    """A two-token feature family keyed by both tokens.  A token may hold `sep` itself, so a
    value is entered under every way of splitting it: tokens a, b then find exactly the weight
    of the string a + sep + b."""
    out: dict[str, dict[str, float]] = {}
    for value, w in family.items():
        k = value.find(sep)
        while k >= 0:
            out.setdefault(value[:k], {})[value[k + 1:]] = w
            k = value.find(sep, k + 1)
    return out


@dataclass(frozen=True)
class Model:
    bias: float
    threshold: float
    weights: dict[str, float]  # feature string -> weight, as trained and stored
    _shapes: dict[tuple[str, int, bool, int, tuple[str, ...]], float] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _tables(self) -> _Tables:
        return _Tables.of(self.weights)

    @cached_property
    def _bounds(self) -> _Bounds:
        return _Bounds.of(self.weights, self._tables)

    def _own(self, view: NoteView, c: Candidate) -> float:
        """The summed weight of view.own(c), computed from tables instead of feature strings
        (the tests check that both agree)."""
        x = view.text[c.start:c.end]
        n = c.stop - c.first
        # tokens are contiguous and not empty: all are single characters iff there are as many
        # the flags are part of the key: they change when the user dictionary does
        key = (x, n, c.end - c.start == n, min(view.digits[c.first:c.stop]), view.flags(x))
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) > 50_000:  # bounded: a long-running bot sees ever new strings
                self._shapes.clear()
            shape = self._shapes[key] = self._shape(*key)
        return shape + self._bounds.lr.get(view.padded[c.first + 1], _NONE).get(view.padded[c.stop + 2], 0.0)

    def _shape(self, x: str, n: int, singles: bool, digits: int, flags: tuple[str, ...]) -> float:
        """The weight of what a stretch is, wherever it stands (cached per stretch)."""
        t = self._tables
        z = (t.ntok[min(n, 3)] + t.length[min(len(x), 6)] + t.first.get(x[0], 0.0) + t.last.get(x[-1], 0.0)
             + t.minfreq[digits])
        if x.isascii():
            z += t.flag.get("latin", 0.0)
        else:
            z += t.flag.get("cjk", 0.0) + (t.flag.get("oneword", 0.0) if n == 1 else 0.0)
        if singles:
            z += t.flag.get("singles", 0.0)
        return z + sum(t.flag.get(f, 0.0) for f in flags)

    @cached_property
    def _lazy(self) -> tuple[bool, float]:
        """Whether COSTLY flags may be skipped below the threshold, and the threshold's logit."""
        lazy = all(self._tables.flag.get(f, 0.0) <= 0.0 for f in COSTLY) and 0.0 < self.threshold < 1.0
        return lazy, math.log(self.threshold / (1.0 - self.threshold)) if lazy else 0.0

    def _side(self, feats: list[str]) -> float:
        """The summed weight of a stretch's left or right neighbours' features."""
        w = self.weights
        return sum(w.get(f, 0.0) for f in feats)

    def _probability(self, view: NoteView, c: Candidate, left: float, right: float, exact: bool) -> float:
        """P(competitor) of one stretch, given its neighbours' weights (see `probabilities`)."""
        lazy, cut = self._lazy
        z = self.bias + left + right + self._own(view, c)
        if exact or not lazy or z >= cut:
            z += sum(self._tables.flag.get(f, 0.0) for f in view.costly(view.text[c.start:c.end]))
        return 1.0 / (1.0 + math.exp(-z))

    def probabilities(self, view: NoteView, cands: list[Candidate], exact: bool = False) -> list[float]:
        """P(competitor) of each stretch; the neighbours' weights are summed once per token.
        Unless `exact`, a stretch below the threshold may get an upper bound instead (still
        below the threshold): its COSTLY flags are not looked up."""
        lefts: dict[int, float] = {}
        rights: dict[int, float] = {}
        out = []
        for c in cands:
            left = lefts.get(c.first)
            if left is None:
                left = lefts[c.first] = self._side(view.left(c.first))
            right = rights.get(c.stop)
            if right is None:
                right = rights[c.stop] = self._side(view.right(c.stop))
            out.append(self._probability(view, c, left, right, exact))
        return out

    def sure(self, view: NoteView) -> list[tuple[float, Candidate]]:
        """The stretches at or above the threshold with their P, in `candidates` order: what
        `probabilities` keeps, without building feature strings for the many that fall far short.
        Each stretch is bounded first from tables keyed by token: its neighbours, ends and LR
        exactly, and the most its size allows the rest (minfreq, lexicon flags) to add (loose);
        then with its own weight as `probabilities` takes it (tight).  A stretch whose bound stays
        below the threshold's logit (by _MARGIN, far more than the rounding of summing in another
        order) is dropped; the few others are scored exactly as `probabilities` scores them.
        COSTLY flags have no positive weight: a bound without them is still one."""
        lazy, cut = self._lazy
        if not lazy:  # no threshold logit to bound against
            cands = view.candidates()
            return [(p, c) for p, c in zip(self.probabilities(view, cands), cands) if p >= self.threshold]
        t, tables, text, pad = self._bounds, self._tables, view.text, view.padded
        before_of, after_of, first, last = t.before, t.after, tables.first, tables.last
        floor = cut - self.bias - _MARGIN
        starts, ends = view.starts, view.ends
        # per stop: the right neighbours' weight, and it with the last character's (None: not yet summed)
        rights: list[tuple[float, float] | None] = [None] * (len(ends) + 1)
        out = []
        prev = -1
        for i, j in view.stretches():
            if i != prev:  # per start: the left neighbours' and the first character's weight
                prev, start = i, starts[i]
                l1, l2, row = before_of.get(pad[i + 1], _NO_BEFORE)
                ch = text[start]
                before = l1 + l2.get(pad[i], 0.0)
                left = before + first.get(ch, 0.0)
                sizes = t.latin if ch.isascii() else t.cjk  # a Latin stretch starts with ASCII
            end = ends[j - 1]
            sides = rights[j]
            if sides is None:
                r1, r2 = after_of.get(pad[j + 2], _NO_AFTER)
                beyond = r1 + r2.get(pad[j + 3], 0.0)
                sides = rights[j] = (beyond, beyond + last.get(text[end - 1], 0.0))
            size = end - start
            if left + sides[1] + row.get(pad[j + 2], 0.0) + sizes[j - i][min(6, size)] < floor:
                continue
            # tight: the stretch's own weight (cached as `probabilities` takes it), its neighbours'
            c = view.candidate(i, j)
            if before + sides[0] + self._own(view, c) < floor:
                continue
            p = self._probability(view, c, self._side(view.left(i)), self._side(view.right(j)), False)
            if p >= self.threshold:
                out.append((p, c))
        return out

@lru_cache(maxsize=1)
def model() -> Model | None:
    """The trained weights, or None when the file is missing (the constructions still work)."""
    if not MODEL_FILE.exists():
        return None
    bias, threshold, weights = 0.0, 1.0, {}
    for line in MODEL_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("@bias "):
            bias = float(line.split()[1])
        elif line.startswith("@threshold "):
            threshold = float(line.split()[1])
        else:
            feat, _, w = line.rpartition("\t")
            weights[feat] = float(w)
    return Model(bias, threshold, weights)
