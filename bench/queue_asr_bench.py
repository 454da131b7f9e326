"""Voice notes through the shared work queue on PostgreSQL: worker processes take them.

A burst of WeCom voice notes (the bench clips in bench/audio, from several reps) is stored with
its jobs on queue `asr`; N `salesbot worker --queues asr` processes (each one transcription at a
time, `speech.workers = 1`) transcribe, record and answer them through a fake WeCom API. Prints
audio minutes per wall minute and the time from storing a note to its answer. The workers are
warmed up (model loaded, one note done) before the clock starts.

    .venv/bin/python bench/queue_asr_bench.py --url postgresql+psycopg://… [--workers 2] [--notes 24]

The database's public schema is dropped and rebuilt first.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bot.app import build_app  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.types import IncomingMessage, Kind, Media, Peer  # noqa: E402
from store import repos  # noqa: E402
from store.db import Database  # noqa: E402
from tests import builders as b  # noqa: E402
from tests.servers import FakeWecom  # noqa: E402

REPS = 8


def clips() -> list[tuple[str, bytes, float]]:
    import av

    out = []
    for f in sorted((ROOT / "bench" / "audio").glob("*.amr")):
        with av.open(str(f)) as c:
            out.append((f.stem, f.read_bytes(), float(c.duration) / 1e6))
    return out


def fresh(url: str) -> None:
    with Database(url).engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db = Database(url)
    db.upgrade()
    db.dispose()


def submit(app, notes: list[tuple[str, str]], first_id: int) -> None:  # type: ignore[no-untyped-def]
    """Store the voice notes with their jobs (as the callback route does)."""
    async def go() -> None:
        for i, (user, media_id) in enumerate(notes):
            msg = IncomingMessage(channel="wecom", msg_id=str(first_id + i), sender=Peer("wecom", user),
                                  kind=Kind.VOICE, received_at=datetime.now(timezone.utc), media=Media(media_id, "amr"))
            await app.dispatcher.submit(msg)
    asyncio.run(go())


def pending(db: Database) -> int:
    return db.call(repos.inbox_pending_count)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--notes", type=int, default=24)
    args = ap.parse_args()
    fresh(args.url)
    fake = FakeWecom(b.CORP_ID, b.SECRET, b.AGENT_ID).start()
    audio = clips()
    for name, data, _ in audio:
        fake.media[f"M_{name}"] = data
    env = {"SALESBOT_DATABASE_URL": args.url, **b.wecom_settings(fake.url)}
    app = build_app(load_settings(env=env))
    app.svc.db.call(lambda s: [repos.add_user(s, f"销售{i}", "rep", None, {"wecom": f"Rep{i}"})
                               for i in range(REPS)])
    workers = [subprocess.Popen([sys.executable, "-m", "bot", "worker", "--queues", "asr"], cwd=ROOT,
                                env=dict(os.environ, **env, SALESBOT_SPEECH_WORKERS="1", PYTHONPATH=str(ROOT)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(args.workers)]
    try:
        submit(app, [(f"Rep{i}", f"M_{audio[i % len(audio)][0]}") for i in range(args.workers)], 1)
        while pending(app.svc.db):  # warm-up: every worker has loaded its model and done a note
            time.sleep(0.2)
        burst = [(f"Rep{i % REPS}", audio[i % len(audio)]) for i in range(args.notes)]
        t0 = time.perf_counter()
        submit(app, [(user, f"M_{clip[0]}") for user, clip in burst], 1000)
        while pending(app.svc.db):
            time.sleep(0.1)
        wall = time.perf_counter() - t0
        rows = app.svc.db.call(lambda s: s.exec(text(
            "SELECT extract(epoch FROM processed_at - received_at) FROM inbox WHERE msg_id::int >= 1000")).all())
        lat = sorted(float(r[0]) for r in rows)
        failed = app.svc.db.call(lambda s: s.exec(text(
            "SELECT count(*) FROM inbox WHERE status = 'failed'")).one()[0])
        recorded = app.svc.db.call(lambda s: s.exec(text("SELECT count(*) FROM followups")).one()[0])
        seconds = sum(clip[2] for _, clip in burst)
        print(f"{args.workers} worker(s), {args.notes} voice notes, {seconds / 60:.1f} audio-min in {wall:.1f} s: "
              f"{seconds / wall:.1f} audio-min per wall-min; note stored → answered p50 {statistics.median(lat):.1f} s, "
              f"max {lat[-1]:.1f} s; {recorded} recorded (with the warm-up), {failed} failed")
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(60)
        app.svc.db.dispose()
        fake.stop()


if __name__ == "__main__":
    main()
