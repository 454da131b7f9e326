"""A second opinion on the deal stage: naive Bayes over the note's character bigrams.

The cue classes (stage.py) are precise on the constructions they know and silent or wrong on
the many they do not; on notes they were never tuned on they got about 0.72 of stages right,
with about 11 % of notes given a wrong stage.  A multinomial naive Bayes over which character
bigrams a note contains, trained on our own labelled notes (bench/dev3 … bench/dev8, held-out
parts excluded; never the sets in ../shared/eval), weighs every stage word at once and scored
about 0.89 on sets it was not trained on.  Neither is trusted alone (`decide`):

- a cue-class stage stands unless the model gives it almost no chance (< LOW);
- otherwise the model's stage is taken only when it is nearly certain (>= SURE), and never
  `won` or `lost`, which need explicit evidence (a signing, a loss) that only a cue can give;
- else no stage: a missing stage moves no pipeline.

LOW and SURE were chosen on our development sets (leave-one-set-out) for the fewest wrong
stages at the best accuracy; bench/RESULTS.md has the numbers.  The model file is written by
bench/train_stage_model.py; retrain it, do not edit it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from operator import add

from .contacts import to_simplified
from .lexload import LEXICON_DIR
from .types import Span

MODEL_FILE = LEXICON_DIR / "stage_model.txt"
NULL = "null"  # the class of notes without a stage
LOW = 1e-4  # below this the model overrules a cue-class stage
SURE = 0.999  # from this the model's own stage is taken
EXPLICIT = frozenset({"won", "lost"})  # stages the model may never give on its own


def bigrams(text: str) -> set[str]:
    """The note's features: which character bigrams occur (Traditional read as Simplified,
    whitespace dropped, Latin lower-cased), the same in training and in use."""
    t = "".join(to_simplified(text).lower().split())
    return set(map(add, t, t[1:]))  # each character joined to the next, in C


@dataclass(frozen=True, slots=True)
class Model:
    classes: tuple[str, ...]
    base: tuple[float, ...]  # log prior
    unseen: tuple[float, ...]  # log probability of a bigram the class never had
    weights: dict[str, tuple[float, ...]]  # bigram -> per class log(1 + count / alpha)

    def posterior(self, text: str) -> dict[str, float]:
        """Probability of each stage class for `text`."""
        grams = bigrams(text)
        rows = list(filter(None, map(self.weights.get, grams)))  # known bigrams' rows, in C
        sums = map(sum, zip(*rows)) if rows else (0.0 for _ in self.classes)  # column sums, in C
        scores = [b + len(grams) * u + s for b, u, s in zip(self.base, self.unseen, sums)]
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        z = sum(exp)
        return {c: e / z for c, e in zip(self.classes, exp)}


def parse(lines: list[str]) -> Model:
    """A model from the lines of its file (see bench/train_stage_model.py for the format)."""
    head: dict[str, list[str]] = {}
    counts: dict[str, list[tuple[int, int]]] = {}
    alpha = 1.0
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):  # header: @key values…
            key, *vals = line[1:].split()
            head[key] = vals
            if key == "alpha":
                alpha = float(vals[0])
            continue
        counts[line[:2]] = [(int(c), int(n)) for c, n in (p.split(":") for p in line[3:].split())]
    classes = tuple(head["classes"])
    weights: dict[str, tuple[float, ...]] = {}
    # equal rows are one object (about 2,300 distinct among 20,000 bigrams): half the model's
    # memory, and the rows `posterior` looks up stay in the CPU cache between notes
    shared: dict[tuple[float, ...], tuple[float, ...]] = {}
    for gram, pairs in counts.items():
        row = [0.0] * len(classes)
        for c, n in pairs:
            row[c] = math.log1p(n / alpha)
        values = tuple(row)
        weights[gram] = shared.setdefault(values, values)
    docs = [int(x) for x in head["docs"]]
    tokens = [int(x) for x in head["tokens"]]
    vocab = int(head["vocab"][0])
    total = sum(docs)
    return Model(classes, tuple(math.log(d / total) for d in docs),
                 tuple(math.log(alpha / (t + alpha * vocab)) for t in tokens), weights)


@lru_cache(maxsize=1)
def model() -> Model | None:
    """The shipped model, read once; None when the file is missing (cue classes alone)."""
    if not MODEL_FILE.exists():
        return None
    return parse(MODEL_FILE.read_text(encoding="utf-8").splitlines())


def decide(stage: str | None, span: Span | None, text: str) -> tuple[str | None, Span | None]:
    """The stage to store, from the cue classes' (stage, evidence) and the model's view of `text`."""
    m = model()
    if m is None:
        return stage, span
    probs = m.posterior(text)
    if stage is not None and probs.get(stage, 0.0) >= LOW:
        return stage, span
    best = max(probs, key=lambda c: probs[c])
    if best == NULL or best in EXPLICIT or probs[best] < SURE:
        return None, None
    return best, None
