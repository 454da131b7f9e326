"""The command line the learned-model trainers share (bench/train_competitor_model.py,
bench/train_pain_model.py): train on every development part, or hold one set out and score it
with and without the model."""
from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from train_stage_model import training_sets


@dataclass(frozen=True)
class Trainer:
    doc: str  # the trainer's module docstring (its first line is the --help description)
    model_file: Path
    threshold: float
    examples: Callable[[Path], Iterator[Any]]  # one part's examples
    fit: Callable[[list[Any], float], Any]  # examples, threshold -> model
    score: Callable[[list[Any], Any], tuple[float, float, float]]  # examples, model or None -> F1, P, R
    write: Callable[[Any, Path, int], str]  # model, path, training notes -> a one-line summary
    what: str  # what score() measures, e.g. "competitors F1 / P / R"
    baseline: str  # what the product does without the model, e.g. "constructions only"


@contextmanager
def model_in_use(module: ModuleType, mdl: Any) -> Iterator[None]:
    """`module.model()` returns `mdl` (None: the product's behaviour without a model file) for the
    duration: how the trainers score a model the product has not loaded."""
    saved = module.model  # type: ignore[attr-defined]  # a model module: pain_model, competitor_model
    module.model = lambda: mdl  # type: ignore[attr-defined]
    try:
        yield
    finally:
        module.model = saved  # type: ignore[attr-defined]


def f1_p_r(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """F1, precision and recall from counts (0 where undefined)."""
    return 2 * tp / max(1, 2 * tp + fp + fn), tp / max(1, tp + fp), tp / max(1, tp + fn)


def main(t: Trainer) -> None:
    ap = argparse.ArgumentParser(description=t.doc.splitlines()[0])
    ap.add_argument("--hold", help="a set (e.g. dev10) to leave out of training and score; writes nothing")
    ap.add_argument("--out", type=Path, default=t.model_file)
    ap.add_argument("--threshold", type=float, default=t.threshold)
    args = ap.parse_args()
    sets = {name: [ex for p in parts for ex in t.examples(p)] for name, parts in training_sets().items()}
    train = [ex for name, exs in sets.items() if name != args.hold for ex in exs]
    mdl = t.fit(train, args.threshold)
    if args.hold:
        held = sets[args.hold]
        print(f"{args.hold} ({len(held)} notes), trained on {len(train)} notes: {t.what}")
        print(f"  {t.baseline:<24}%.3f / %.2f / %.2f" % t.score(held, None))
        print("  + learned model         %.3f / %.2f / %.2f" % t.score(held, mdl))
        return
    print(f"{args.out}: {len(train)} notes, {t.write(mdl, args.out, len(train))}")
