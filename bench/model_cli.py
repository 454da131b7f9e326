"""The command line the learned-model trainers share (bench/train_competitor_model.py,
bench/train_pain_model.py): train on every development part, or hold one set out and score it
with and without the model."""
from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
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
