"""How often correction by sound rewrites typed notes toward a near-sounding book name.

Typed notes spell their customers right, so every rewrite the near-name rule makes on them is a
false one. The bench corrects each note of the given sets twice with one big book (every set's
customers plus made-up ones, as bench/asr_bench.py's `--book` makes them): with the near-name
rule (speech/correct.py `near_name`) and without it, and prints the notes whose text differs.

    .venv/bin/python bench/correct_precision.py ../shared/eval/dev ../shared/eval/dev2
    .venv/bin/python bench/correct_precision.py $(ls -d bench/dev*/*/)
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    import asr_bench

    import speech.correct as sc

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="folders with notes.jsonl and customers.csv")
    ap.add_argument("--fillers", type=int, default=3000, help="made-up customers added to the book")
    args = ap.parse_args()
    notes: list[str] = []
    book: list[str] = []
    for folder in map(Path, args.sets):
        notes += [json.loads(line)["text"] for line in (folder / "notes.jsonl").open(encoding="utf-8")]
        with (folder / "customers.csv").open(encoding="utf-8") as f:
            book += [row["name"] for row in csv.DictReader(f)]
    book = list(dict.fromkeys(book + asr_bench.fillers(args.fillers, seed=7)))
    changed = 0
    for text in notes:
        with_rule, fixes = sc.correct_text(text, book)
        saved = sc.NEAR_PER_SYLLABLE, sc.NEAR_END
        sc.NEAR_PER_SYLLABLE = sc.NEAR_END = -1.0  # no near name can qualify
        without = sc.correct_text(text, book)[0]
        sc.NEAR_PER_SYLLABLE, sc.NEAR_END = saved
        if with_rule != without:
            changed += 1
            print("rewritten:", [(f.heard, f.written, text[max(0, f.start - 6):f.start + 8]) for f in fixes])
    print(f"notes {len(notes)}, book {len(book)} names, changed by the near-name rule: {changed}")


if __name__ == "__main__":
    main()
