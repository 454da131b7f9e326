"""Speech bench: model load time, per-clip latency / real-time factor, throughput, peak memory, CER.

Compares pool layouts on this machine (e.g. one worker with 2 threads vs two workers with one
thread each, threads vs processes, beam 1 vs 5). Each layout runs in a fresh child process so load
time and peak memory are its own. Clips: the committed fixtures (tests/fixtures/audio) plus a
~45 s note joined from them in memory (Whisper pads to 30 s windows, so short and long notes
cost differently).

    .venv/bin/python bench/asr_bench.py                     # default layouts, prints a table
    .venv/bin/python bench/asr_bench.py --repeat 4 --json out.json
"""
from __future__ import annotations

import argparse
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AUDIO = ROOT / "tests" / "fixtures" / "audio"
SPEECH = ["note_hengda.amr", "note_hengda_dtx.amr", "note_hengda.wav", "note_hongyuan.amr",
          "note_long.amr", "name_kangbo.wav"]
CRM = ["苏州恒达精密机械有限公司", "无锡宏远数控设备有限公司", "康博生物医疗科技(上海)有限公司",
       "宁波锦泰液压设备有限公司", "王总", "李经理", "陈总", "刘工", "杭州华信电子有限公司",
       "南京天合光伏科技有限公司", "常州新宇化工有限公司", "上海博远物流有限公司"]
LAYOUTS = ["thread:1x2:b5", "thread:2x1:b5", "process:2x1:b5", "thread:2x1:b1"]
_PUNCT = re.compile(r"[\s，。、,.!?！？：:；;]")


def cer(ref: str, hyp: str) -> float:
    from rapidfuzz.distance import Levenshtein

    ref, hyp = _PUNCT.sub("", ref), _PUNCT.sub("", hyp)
    return Levenshtein.distance(ref, hyp) / max(1, len(ref))


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


def long_clip() -> tuple[bytes, str]:
    """~45 s wav joined from the fixtures, with its reference text."""
    import numpy as np

    from speech.audio import SAMPLE_RATE, decode

    manifest = json.loads((AUDIO / "manifest.json").read_text(encoding="utf-8"))
    gap = np.zeros(SAMPLE_RATE // 2, np.float32)
    parts, refs = [], []
    for name in ["note_long.amr", "note_hongyuan.amr", "note_hengda.amr", "note_long.amr"]:
        parts += [decode((AUDIO / name).read_bytes(), "amr"), gap]
        refs.append(manifest[name.split(".")[0]]["text"])
    pcm = (np.concatenate(parts) * 32767).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm)
    return buf.getvalue(), "".join(refs)


def run_layout(layout: str, repeat: int, cache_dir: str | None) -> dict[str, Any]:
    """One layout in this process: load, sequential latency, then all workers busy."""
    import functools

    from speech.models import resolve_model
    from speech.pool import TranscriptionPool
    from speech.whisper import WhisperTranscriber

    mode, shape, beam = layout.split(":")
    workers, threads = (int(x) for x in shape.split("x"))
    beam_size = int(beam.lstrip("b"))
    manifest = json.loads((AUDIO / "manifest.json").read_text(encoding="utf-8"))
    clips = [((AUDIO / n).read_bytes(), n.rsplit(".", 1)[1], manifest[n.rsplit(".", 1)[0]]["text"], n)
             for n in SPEECH]
    data, ref = long_clip()
    clips.append((data, "wav", ref, "joined_45s.wav"))

    sampler = PeakRss()
    sampler.start()
    model = resolve_model("bundled:whisper-base", cache_dir, None)
    t0 = time.perf_counter()
    if mode == "thread":
        tr = WhisperTranscriber(model, cpu_threads=threads, num_workers=workers, beam_size=beam_size, progress=None)
        tr.load()
        pool = TranscriptionPool(tr, workers=workers, queue_size=10_000)
    else:
        factory = functools.partial(WhisperTranscriber, model, cpu_threads=threads, beam_size=beam_size, progress=None)
        pool = TranscriptionPool(factory, workers=workers, queue_size=10_000, mode="process")
        # Two short jobs at once start (and load) both worker processes.
        for f in [pool.try_submit(clips[-2][0], "wav") for _ in range(workers)]:
            f.result()
    load_s = time.perf_counter() - t0

    per_clip: list[dict[str, Any]] = []
    for audio, fmt, ref_text, name in clips:  # one at a time: latency of an idle pool
        t = pool.try_submit(audio, fmt, CRM).result()
        per_clip.append({"clip": name, "duration_s": t.duration_s, "transcribe_s": t.timings["transcribe_s"],
                         "latency_s": t.timings["decode_s"] + t.timings["transcribe_s"],
                         "rtf": t.timings["transcribe_s"] / t.duration_s, "cer": cer(ref_text, t.text)})

    no_hw = [cer(ref_text, pool.try_submit(audio, fmt).result().text) for audio, fmt, ref_text, _ in clips]

    jobs = [c for c in clips for _ in range(repeat)]
    cpu0 = _cpu_s()
    start = time.perf_counter()
    futures = [pool.try_submit(a, f, CRM) for a, f, _, _ in jobs]
    results = [f.result() for f in futures]
    wall = time.perf_counter() - start
    cpu = _cpu_s() - cpu0
    pool.shutdown()
    sampler.stop.set()
    sampler.join()
    audio_s = sum(r.duration_s for r in results)
    busy_rtf = [r.timings["transcribe_s"] / r.duration_s for r in results]
    short = [p for p in per_clip if p["duration_s"] <= 20]
    return {
        "layout": layout, "load_s": round(load_s, 2), "peak_rss_mb": round(sampler.peak),
        "short_rtf_idle": round(statistics.mean(p["rtf"] for p in short), 3),
        "short_latency_idle_s": round(statistics.mean(p["latency_s"] for p in short), 2),
        "long_rtf_idle": round(per_clip[-1]["rtf"], 3),
        "busy_rtf_per_job": round(statistics.median(busy_rtf), 3),
        "audio_min_per_wall_min": round(audio_s / wall, 2), "busy_jobs": len(jobs),
        "busy_audio_s": round(audio_s, 1), "busy_wall_s": round(wall, 1),
        "busy_cpu_s_per_audio_s": round(cpu / audio_s, 3),
        "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0]),
        "cer_short": round(statistics.mean(p["cer"] for p in short), 3),
        "cer_long": round(per_clip[-1]["cer"], 3),
        "cer_short_no_hotwords": round(statistics.mean(no_hw[:-1]), 3), "cer_long_no_hotwords": round(no_hw[-1], 3),
        "per_clip": per_clip,
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
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child mode
    args = ap.parse_args()

    if args.one:
        print(json.dumps(run_layout(args.one, args.repeat, args.cache_dir), ensure_ascii=False))
        return

    from speech.models import resolve_model

    resolve_model("bundled:whisper-base", args.cache_dir)  # assemble once, outside the timings
    layouts = args.layouts.split(",")
    runs: dict[str, list[dict[str, Any]]] = {layout: [] for layout in layouts}
    for rnd in range(args.rounds):
        for layout in layouts:
            print(f"round {rnd + 1}/{args.rounds}: {layout} ...", file=sys.stderr, flush=True)
            cmd = [sys.executable, __file__, "--one", layout, "--repeat", str(args.repeat)]
            if args.cache_dir:
                cmd += ["--cache-dir", args.cache_dir]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            runs[layout].append(r)
            print(f"  load {r['load_s']} s, short RTF {r['short_rtf_idle']}, {r['audio_min_per_wall_min']} "
                  f"audio-min/wall-min, loadavg {r['loadavg_1m']}", file=sys.stderr, flush=True)
    rows = [_median_row(runs[layout]) for layout in layouts]

    cols = ["layout", "load_s", "short_latency_idle_s", "short_rtf_idle", "long_rtf_idle", "busy_rtf_per_job",
            "audio_min_per_wall_min", "busy_cpu_s_per_audio_s", "peak_rss_mb", "cer_short", "cer_long",
            "cer_short_no_hotwords", "cer_long_no_hotwords", "loadavg_1m"]
    print("| " + " | ".join(cols) + " |")
    print("|" + " --- |" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    print("\nper clip (first layout):")
    for p in rows[0]["per_clip"]:
        print(f"  {p['clip']:<22} {p['duration_s']:6.2f} s  latency {p['latency_s']:.2f} s  "
              f"RTF {p['rtf']:.3f}  CER {p['cer']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, ensure_ascii=False, indent=1), encoding="utf-8")


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
