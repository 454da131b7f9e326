"""Train the stage model (extraction/stage_model.py) on our own labelled notes.

    .venv/bin/python bench/train_stage_model.py [--alpha 2] [--out extraction/lexicon/stage_model.txt]
    .venv/bin/python bench/train_stage_model.py --loso     # leave-one-set-out check, writes nothing

Training data: bench/dev3 … bench/dev8, without the held-out parts (dev7 o,p and dev8 r) and
never the sets in ../shared/eval.  A note's features are which character bigrams it contains
(`stage_model.bigrams`); its class is the gold stage, or `null`.  --loso prints, for each of our
sets, the accuracy and wrong-stage rate of the cue classes alone, of the model alone and of
`stage_model.decide`, with that set left out of training (the cue-class stages come from
`extract()` with the model switched off).

File format: `#` comments; `@alpha A`, `@classes c…`, `@docs n…` (notes per class), `@tokens
n…` (bigram occurrences per class), `@vocab V`; then one line per bigram: the two characters,
a space, and `class_index:count` pairs.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extraction import stage_model  # noqa: E402
from extraction.stage import ORDER  # noqa: E402

CLASSES = (*ORDER, "lost", stage_model.NULL)
HELD_OUT = {("dev7", "o"), ("dev7", "p"), ("dev8", "r")}


def training_sets() -> dict[str, list[Path]]:
    """Our sets and their parts (folders with notes.jsonl), held-out parts left out."""
    out: dict[str, list[Path]] = {}
    for d in sorted((ROOT / "bench").glob("dev*")):
        parts = [p for p in sorted(d.iterdir()) if (p / "notes.jsonl").exists() and (d.name, p.name) not in HELD_OUT]
        if parts:
            out[d.name] = parts
    return out


def _notes(part: Path) -> list[dict]:
    return [json.loads(line) for line in (part / "notes.jsonl").read_text(encoding="utf-8").splitlines()]


def train(notes: list[dict], alpha: float) -> list[str]:
    """Model file lines for `notes` (each with text and gold stage)."""
    docs: Counter[str] = Counter()
    counts: defaultdict[str, Counter[int]] = defaultdict(Counter)
    for n in notes:
        cls = n["gold"]["stage"] or stage_model.NULL
        docs[cls] += 1
        for g in stage_model.bigrams(n["text"]):
            counts[g][CLASSES.index(cls)] += 1
    tokens = [sum(c[i] for c in counts.values()) for i in range(len(CLASSES))]
    lines = ["# Stage model: multinomial naive Bayes over character bigrams, written by",
             "# bench/train_stage_model.py from our own notes; retrain it, do not edit it.",
             f"@alpha {alpha:g}", "@classes " + " ".join(CLASSES),
             "@docs " + " ".join(str(docs[c]) for c in CLASSES),
             "@tokens " + " ".join(map(str, tokens)), f"@vocab {len(counts)}"]
    for g in sorted(counts):
        lines.append(g + " " + " ".join(f"{i}:{n}" for i, n in sorted(counts[g].items())))
    return lines


def _rule_stages(part: Path) -> list[str | None]:
    """The cue classes' stages for a part's notes, with the model switched off."""
    from datetime import datetime

    from extraction.cli import _load_index
    from extraction.extractor import extract

    idx = _load_index(str(part / "customers.csv"))
    saved = stage_model.model
    stage_model.model = lambda: None  # type: ignore[assignment]  # decide() keeps the cue stage
    try:
        return [extract(n["text"], ref_time=datetime.fromisoformat(n["ref_time"]), customers=idx).stage
                for n in _notes(part)]
    finally:
        stage_model.model = saved  # type: ignore[assignment]


def loso(alpha: float) -> None:
    sets = training_sets()
    rows = []  # (set, gold, rule, posterior)
    for name, parts in sets.items():
        train_notes = [n for other, ps in sets.items() if other != name for p in ps for n in _notes(p)]
        model = stage_model.parse(train(train_notes, alpha))
        for part in parts:
            print(f"  {name}/{part.name} …", file=sys.stderr)
            for n, rule in zip(_notes(part), _rule_stages(part)):
                rows.append((name, n["gold"]["stage"], rule, model.posterior(n["text"])))

    def rate(pick) -> str:
        right = wrong = 0
        for _, gold, rule, post in rows:
            got = pick(rule, post)
            right += got == gold
            wrong += got is not None and got != gold
        return f"{right / len(rows):.3f} / {wrong / len(rows):.3f}"

    def model_alone(rule: str | None, post: dict[str, float]) -> str | None:
        best = max(post, key=lambda c: post[c])
        return None if best == stage_model.NULL else best

    def combined(rule: str | None, post: dict[str, float]) -> str | None:
        if rule is not None and post.get(rule, 0.0) >= stage_model.LOW:
            return rule
        best = max(post, key=lambda c: post[c])
        ok = best != stage_model.NULL and best not in stage_model.EXPLICIT and post[best] >= stage_model.SURE
        return best if ok else None

    print(f"leave-one-set-out over {', '.join(sets)} ({len(rows)} notes), accuracy / wrong-stage rate:")
    print(f"  cue classes alone  {rate(lambda r, p: r)}")
    print(f"  model alone        {rate(model_alone)}")
    print(f"  decide()           {rate(combined)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alpha", type=float, default=2.0)
    ap.add_argument("--out", type=Path, default=stage_model.MODEL_FILE)
    ap.add_argument("--loso", action="store_true")
    args = ap.parse_args()
    if args.loso:
        loso(args.alpha)
        return
    notes = [n for parts in training_sets().values() for p in parts for n in _notes(p)]
    lines = train(notes, args.alpha)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(notes)} notes, {len(lines) - 7} bigrams")


if __name__ == "__main__":
    main()
