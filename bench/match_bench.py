"""Customer-matching benchmark: CustomerIndex vs plain rapidfuzz on raw names.

Measures, in one run (pin it to one core with `taskset -c 0`):
  * accuracy on the dev match set (40 customers) for CustomerIndex and for
    `process.extractOne(name, names, scorer=WRatio)` at a few score cut-offs;
  * on a generated 100,000-customer table (the 40 dev customers + random distractors that never
    share a dev brand's characters or sound): index build time, memory, per-query p50/p99 for
    CustomerIndex (single core) and for extractOne, and dev accuracy at that scale.

Usage:
  .venv/bin/python bench/match_bench.py [--n 100000] [--queries 2000] [--baseline-queries 200]
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process

from extraction.customers import CustomerIndex, load_customers_csv
from extraction.normalize import fuzzy_key, lexicon, parse_name, pinyin_key
from extraction.types import CustomerRef

DEV = Path("/work/shared/eval/dev")
BRAND_CHARS = (
    "恒宏远达泰丰华信新鼎金瑞顺锋北辰美岚固邦蜀星楚天豫宁通迈康博安齐鹭岛云帆数衡易企微客青梧蓝湾知行途"
    "优鲜汇惠万家巴渝秦味隆好邻里岭果多东方明光正大中国联合天地人和平安长城盛世嘉禾鸿运兴旺福寿昌永利源"
    "泉海洋江河山川峰林森木火土水石玉珠宝龙凤鹏飞腾骏马虎豹鹰雄伟豪杰英俊杰凯旋胜捷科技创智慧思维"
    "德仁义礼信诚实忠孝廉洁勤俭朴素清雅静怡欣悦乐康健寿福禄喜庆祥瑞吉如意顺畅达通亨运昌隆茂盛荣耀辉煌"
    "晨曦朝阳旭日星辰月光霞虹彩云雨露霜雪冰晶莹玲珑翠碧绿红紫蓝橙黄白黑金银铜铁锦绣纺织丝绸棉麻"
)
INDUSTRIES = ("精密机械", "数控设备", "液压设备", "建材", "装饰材料", "医疗器械", "医疗设备", "生物科技",
              "信息技术", "软件", "网络科技", "食品", "饮品", "商贸", "便利连锁", "超市连锁", "物流",
              "电子", "化工", "汽配", "光伏科技", "环保科技", "陶瓷", "门窗", "纺织", "包装")
LEGAL = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司")


def rss_mb() -> float:
    """Resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * 4096 / 2**20


def load_dev() -> tuple[list[CustomerRef], list[dict]]:
    customers = load_customers_csv(DEV / "customers.csv")
    queries = [json.loads(line) for line in (DEV / "match.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return customers, queries


def generate(n: int, dev: list[CustomerRef], dev_queries: list[dict], seed: int = 7) -> list[CustomerRef]:
    """Dev customers + random distractors whose brands never collide with a dev brand.

    Query brands are banned too: a distractor sounding like 鹭通 would make the gold answer of
    the query 鹭通物流 ("not a customer") wrong.
    """
    rng = random.Random(seed)
    cities = [r.name for r in lexicon().regions.values() if not r.is_province]
    dev_brands = [parse_name(c.name, c.region).brand for c in dev]
    dev_brands += [p.brand for p in (parse_name(q["name"]) for q in dev_queries) if not p.latin and len(p.brand) >= 2]
    banned_chars = set("".join(dev_brands))
    banned_sounds = {fuzzy_key(pinyin_key(b)) for b in dev_brands}
    pool = [ch for ch in dict.fromkeys(BRAND_CHARS) if ch not in banned_chars]
    out = list(dev)
    seen = {c.name for c in dev}
    while len(out) < n:
        brand = "".join(rng.sample(pool, rng.choice((2, 2, 2, 3))))
        fz = fuzzy_key(pinyin_key(brand))
        if any(fz[i : i + len(b)] == b for b in banned_sounds for i in range(len(fz))):
            continue
        city = rng.choice(cities)
        name = f"{city}{brand}{rng.choice(INDUSTRIES)}{rng.choice(LEGAL)}"
        if name in seen:
            continue
        seen.add(name)
        out.append(CustomerRef(f"G{len(out):06d}", name, city))
    return out


def timing_queries(customers: list[CustomerRef], k: int, seed: int = 11) -> list[str]:
    """Realistic query shapes: full names, region + brand, bare brand + industry, homophone typos."""
    rng = random.Random(seed)
    by_sound: dict[str, list[str]] = {}
    for ch in dict.fromkeys(BRAND_CHARS):
        by_sound.setdefault(pinyin_key(ch)[0], []).append(ch)
    out = []
    for ref in rng.sample(customers, k):
        p = parse_name(ref.name, ref.region)
        region = p.regions[0].name if p.regions else ""
        brand = p.brand
        shape = rng.randrange(5)
        if shape == 0:
            out.append(ref.name)
        elif shape == 1:
            out.append(region + brand)
        elif shape == 2:
            out.append(brand + "".join(p.industry))
        elif shape == 3:  # ASR homophone in one character
            i = rng.randrange(len(brand))
            alts = [c for c in by_sound.get(pinyin_key(brand[i])[0], []) if c != brand[i]]
            out.append(region + brand[:i] + (rng.choice(alts) if alts else brand[i]) + brand[i + 1 :])
        else:  # unknown company
            out.append(rng.choice(["杭州", "深圳", "南京"]) + "".join(rng.sample(BRAND_CHARS, 2)) + "科技")
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def accuracy(preds: list[str | None], golds: list[str | None]) -> dict:
    tp = sum(1 for p, g in zip(preds, golds) if p is not None and p == g)
    npred = sum(p is not None for p in preds)
    ngold = sum(g is not None for g in golds)
    prec = tp / npred if npred else 1.0
    rec = tp / ngold if ngold else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    acc = sum(p == g for p, g in zip(preds, golds)) / len(golds)
    return {"precision": round(prec, 3), "recall": round(rec, 3), "f1": round(f1, 3), "accuracy": round(acc, 3)}


def ours_preds(index: CustomerIndex, queries: list[dict]) -> list[str | None]:
    out = []
    for q in queries:
        r = index.match(q["name"])
        out.append(r.best.id if r.best else None)
    return out


def baseline_preds(customers: list[CustomerRef], queries: list[dict], cutoff: float) -> list[str | None]:
    names = [c.name for c in customers]
    out = []
    for q in queries:
        hit = process.extractOne(q["name"], names, scorer=fuzz.WRatio, score_cutoff=cutoff)
        out.append(customers[hit[2]].id if hit else None)
    return out


def time_queries(fn, queries: list[str]) -> tuple[float, float, float]:
    """Per-call latency; the name-parse cache is cleared first so every query is parsed."""
    parse_name.cache_clear()
    times = []
    for q in queries:
        t = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), pct(times, 0.99), max(times)


def report_updates(index: CustomerIndex, customers: list[CustomerRef]) -> None:
    """Time the in-place updates the bot makes (new customers, renames, merges away)."""
    rng = random.Random(11)
    added = [CustomerRef(f"N{i}", f"上海{rng.choice(BRAND_CHARS)}{rng.choice(BRAND_CHARS)}{i}号"
                                  f"{rng.choice(INDUSTRIES)}有限公司", "上海") for i in range(1000)]
    renamed = [CustomerRef(c.id, c.name.replace("有限公司", "股份有限公司"), c.region, (c.name,))
               for c in rng.sample(customers, 500)]
    removed = [c.id for c in rng.sample(customers, 500) if c.id not in {r.id for r in renamed}]
    for label, ops in (("add", [lambda r=r: index.upsert(r) for r in added]),
                       ("rename", [lambda r=r: index.upsert(r) for r in renamed]),
                       ("remove", [lambda c=c: index.remove(c) for c in removed])):
        lat = []
        for op in ops:
            t = time.perf_counter()
            op()
            lat.append((time.perf_counter() - t) * 1000)
        lat.sort()
        print(f"index {label:6s} {len(lat)} customers in place: p50 {lat[len(lat) // 2]:.2f} ms  "
              f"p99 {lat[int(len(lat) * 0.99)]:.2f} ms  max {lat[-1]:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--baseline-queries", type=int, default=200)
    args = ap.parse_args(argv)

    dev_customers, dev_queries = load_dev()
    golds = [q["gold_customer_id"] for q in dev_queries]
    print("== dev set (40 customers, 120 queries)")
    dev_index = CustomerIndex(dev_customers)
    print("CustomerIndex               ", accuracy(ours_preds(dev_index, dev_queries), golds))
    for cutoff in (0, 80, 90):
        print(f"extractOne WRatio cutoff={cutoff:<3}", accuracy(baseline_preds(dev_customers, dev_queries, cutoff), golds))

    print(f"== generated table: {args.n} customers")
    customers = generate(args.n, dev_customers, dev_queries)
    gc.collect()
    before = rss_mb()
    t = time.perf_counter()
    index = CustomerIndex(customers)
    build_s = time.perf_counter() - t
    gc.collect()
    print(f"index build {build_s:.2f} s, memory +{rss_mb() - before:.0f} MB RSS")
    print(f"memory per customer {(rss_mb() - before) * 2**20 / args.n:.0f} bytes")
    report_updates(index, customers)
    queries = timing_queries(customers, args.queries)
    index.match(queries[0])  # warm caches (pinyin per character)
    p50, p99, worst = time_queries(index.match, queries)
    print(f"CustomerIndex.match        {len(queries)} queries: p50 {p50:.3f} ms  p99 {p99:.3f} ms  max {worst:.2f} ms")
    dev_timed = [q["name"] for q in dev_queries]
    p50d, p99d, _ = time_queries(index.match, dev_timed)
    print(f"CustomerIndex.match        dev queries vs {args.n}: p50 {p50d:.3f} ms  p99 {p99d:.3f} ms")
    print("CustomerIndex dev accuracy at this scale", accuracy(ours_preds(index, dev_queries), golds))
    notes = [json.loads(x) for x in (DEV / "notes.jsonl").read_text(encoding="utf-8").splitlines() if x]
    hits = sum((m.customer_id if (m := index.find_mention(n["text"])) else None) == n["gold"]["customer_id"]
               for n in notes)
    p50n, p99n, _ = time_queries(index.find_mention, [n["text"] for n in notes])
    print(f"CustomerIndex.find_mention {len(notes)} dev notes vs {args.n}: p50 {p50n:.3f} ms  "
          f"p99 {p99n:.3f} ms, customer_id accuracy {hits}/{len(notes)}")
    names = [c.name for c in customers]
    base_q = queries[: args.baseline_queries]
    p50b, p99b, _ = time_queries(lambda q: process.extractOne(q, names, scorer=fuzz.WRatio), base_q)
    print(f"extractOne WRatio          {len(base_q)} queries: p50 {p50b:.1f} ms  p99 {p99b:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
