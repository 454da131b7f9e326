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

from .lexload import LEXICON_DIR

MODEL_FILE = LEXICON_DIR / "competitor_model.txt"
MAX_TOKENS = 3
# flags that cost a lexicon walk per new stretch: with no positive weight they can only lower a
# score, so a stretch already below the threshold without them is not asked about them
COSTLY = ("person", "place")
_LATIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9&\-]*")
_CJK_RE = re.compile(r"[\u4e00-\u9fff]+")

Token = tuple[str, int, int]


@dataclass(frozen=True, slots=True)
class Candidate:
    start: int
    end: int
    first: int  # index of its first token
    stop: int  # index after its last token


class NoteView:
    """One note's tokens, classified and looked up once for all of its stretches."""

    def __init__(self, text: str, toks: list[Token], info: Callable[[str], tuple[str, int]],
                 flags: Callable[[str], tuple[str, ...]], costly: Callable[[str], tuple[str, ...]]) -> None:
        """`info(token)` = (kind, jieba frequency): see `token_info`; `flags(stretch)` and
        `costly(stretch)` = lexicon flags, the latter only asked for when needed (COSTLY).  All
        are cached by the caller: the same tokens and stretches come back in every note."""
        self.text = text
        self.toks = toks
        self.flags = flags
        self.costly = costly
        # whitespace as one symbol (the weights file is line-based); two "<S>" pad each end
        self.padded = ["<S>", "<S>", *("<W>" if t.isspace() else t for t, _, _ in toks), "<S>", "<S>"]
        looked = [info(t) for t, _, _ in toks]
        self.kind: list[str] = [k for k, _ in looked]
        self.freq: list[int] = [f for _, f in looked]

    def candidates(self) -> list[Candidate]:
        """Stretches of 1..MAX_TOKENS tokens that could be a brand: CJK of 2-6 characters
        without a function word, or Latin words (with single spaces between them)."""
        toks, kind = self.toks, self.kind
        out = []
        for i in range(len(toks)):
            if kind[i] not in "LC":
                continue
            for j in range(i + 1, min(len(toks), i + MAX_TOKENS) + 1):
                k = kind[j - 1]
                if kind[i] == "L":
                    if k == " ":
                        continue
                    if k != "L":
                        break
                elif k != "C" or toks[j - 1][2] - toks[i][1] > 6:
                    break
                if toks[j - 1][2] - toks[i][1] >= 2:
                    out.append(Candidate(toks[i][1], toks[j - 1][2], i, j))
        return out

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
               "first=" + x[0], "last=" + x[-1], f"minfreq={min(len(str(rarest)), 6) if rarest else 0}"]
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


def token_info(tok: str, is_break: Callable[[str], bool], freq: Callable[[str], int | None]) -> tuple[str, int]:
    """A token's kind (L: a Latin word, " ": a single space, C: CJK that may be part of a brand,
    x: anything else) and its jieba frequency (0: not in the dictionary)."""
    if _LATIN_RE.fullmatch(tok):
        kind = "L"
    elif tok == " ":
        kind = " "
    else:
        kind = "C" if _CJK_RE.fullmatch(tok) and not is_break(tok) else "x"
    return kind, freq(tok) or 0


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
        fams: dict[str, dict[str, float]] = {}
        for f, w in weights.items():
            fam, eq, value = f.partition("=")
            fams.setdefault(fam if eq else "flag", {})[value if eq else fam] = w

        def table(fam: str, size: int) -> list[float]:
            return [fams.get(fam, {}).get(str(i), 0.0) for i in range(size)]

        return cls(fams.get("first", {}), fams.get("last", {}), fams.get("flag", {}),
                   table("ntok", 4), table("len", 7), table("minfreq", 7))


@dataclass(frozen=True)
class Model:
    bias: float
    threshold: float
    weights: dict[str, float]  # feature string -> weight, as trained and stored
    _shapes: dict[tuple[str, int, bool, int], float] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def _tables(self) -> _Tables:
        return _Tables.of(self.weights)

    def _own(self, view: NoteView, c: Candidate) -> float:
        """The summed weight of view.own(c), computed from tables instead of feature strings
        (the tests check that both agree)."""
        x = view.text[c.start:c.end]
        singles = all(len(view.toks[k][0]) == 1 for k in range(c.first, c.stop))
        key = (x, c.stop - c.first, singles, min(view.freq[c.first:c.stop]))
        shape = self._shapes.get(key)
        if shape is None:
            if len(self._shapes) > 50_000:  # bounded: a long-running bot sees ever new strings
                self._shapes.clear()
            shape = self._shapes[key] = self._shape(*key, view.flags(x))
        return shape + self.weights.get(view.pair(c), 0.0)

    def _shape(self, x: str, n: int, singles: bool, rarest: int, flags: tuple[str, ...]) -> float:
        """The weight of what a stretch is, wherever it stands (cached per stretch)."""
        t = self._tables
        z = (t.ntok[min(n, 3)] + t.length[min(len(x), 6)] + t.first.get(x[0], 0.0) + t.last.get(x[-1], 0.0)
             + t.minfreq[min(len(str(rarest)), 6) if rarest else 0])
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

    def probabilities(self, view: NoteView, cands: list[Candidate], exact: bool = False) -> list[float]:
        """P(competitor) of each stretch; the neighbours' weights are summed once per token.
        Unless `exact`, a stretch below the threshold may get an upper bound instead (still
        below the threshold): its COSTLY flags are not looked up."""
        w = self.weights
        lazy, cut = self._lazy
        lefts: dict[int, float] = {}
        rights: dict[int, float] = {}
        out = []
        for c in cands:
            left = lefts.get(c.first)
            if left is None:
                left = lefts[c.first] = sum(w.get(f, 0.0) for f in view.left(c.first))
            right = rights.get(c.stop)
            if right is None:
                right = rights[c.stop] = sum(w.get(f, 0.0) for f in view.right(c.stop))
            z = self.bias + left + right + self._own(view, c)
            if exact or not lazy or z >= cut:
                z += sum(self._tables.flag.get(f, 0.0) for f in view.costly(view.text[c.start:c.end]))
            out.append(1.0 / (1.0 + math.exp(-z)))
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
