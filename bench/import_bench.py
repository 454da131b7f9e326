"""Customer import throughput with dedupe: a generated 100,000-row CSV into a fresh SQLite file.

5 % of the rows restate an earlier customer in another form (legal suffix dropped, region moved
into brackets, Traditional characters), so the run also shows how many duplicates were caught.
Then the same file is imported again, which must change nothing.

    .venv/bin/python bench/import_bench.py --rows 100000
"""
from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from match_bench import generate, load_dev  # noqa: E402

from extraction.normalize import parse_name  # noqa: E402
from store.db import Database  # noqa: E402
from store.importer import import_customers, terminal_progress  # noqa: E402

TRAD = str.maketrans("东华国电达发业机龙门县区长丰广连远进阳阴", "東華國電達發業機龍門縣區長豐廣連遠進陽陰")


def variant(name: str, region: str | None, rng: random.Random) -> str:
    p = parse_name(name, region)
    core = name
    for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
        core = core.removesuffix(suffix)
    kind = rng.randrange(3)
    if kind == 0:
        return core
    if kind == 1 and p.regions:
        city = p.regions[0].name
        return f"{core.removeprefix(city)}({city})有限公司"
    return name.translate(TRAD)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dup-share", type=float, default=0.05)
    args = ap.parse_args()
    rng = random.Random(5)
    dev, queries = load_dev()
    unique = int(args.rows * (1 - args.dup_share))
    t0 = time.perf_counter()
    customers = generate(unique, dev, queries)
    rows = [(c.name, c.region or "", "") for c in customers]
    for c in rng.sample(customers, args.rows - unique):
        rows.append((variant(c.name, c.region, rng), c.region or "", ""))
    rng.shuffle(rows)
    print(f"generated {len(rows)} rows ({unique} distinct customers) in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(("客户名称", "地区", "负责人"))
            w.writerows(rows)
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.ensure_schema()
        for label in ("first import", "re-import"):
            t0 = time.perf_counter()
            result = db.call(import_customers, path, False, terminal_progress(label))
            dt = time.perf_counter() - t0
            dups = sum(1 for r in result.rows if r.decision == "duplicate_in_file")
            print(f"{label}: {len(rows)} rows in {dt:.1f} s ({len(rows) / dt:.0f} rows/s); "
                  f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}, "
                  f"review {result.review}, errors {result.errors}, duplicates folded {dups}")
        db.dispose()
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
