"""Several boxes on one database: each push is sent once, also when a box dies holding some.

Real child processes (tests/boxes.py) run the real Notifier against one database: PostgreSQL when
SALESBOT_TEST_DATABASE_URL is set (as in CI), else a SQLite file.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from store import alerts, repos
from store.db import Database
from tests.conftest import NOW, PG_URL, db_url, reset_postgres

ROOT = Path(__file__).resolve().parents[1]
USERS, PUSHES = 30, 300


def _queue_pushes(db: Database) -> None:
    def seed(s):  # type: ignore[no-untyped-def]
        users = [repos.add_user(s, f"销售{i:02d}", "rep", None, {"console": f"u{i:02d}"}) for i in range(USERS)]
        s.flush()
        rows = [{"dedupe_key": f"test:{n}", "rule": "message", "recipient_id": users[n % USERS].id,
                 "body": {"title": "测试提醒", "line": f"P{n:03d}"}, "status": "pending", "attempts": 0,
                 "next_attempt_at": NOW - timedelta(minutes=1), "created_at": NOW} for n in range(PUSHES)]
        return alerts.enqueue_many(s, rows)

    assert db.call(seed) == PUSHES


def _box(out: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.boxes", "deliver", str(out), *extra],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE)


def _wait_for(path: Path, proc: subprocess.Popen[bytes], limit_s: float = 60) -> None:
    end = time.monotonic() + limit_s
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < end, f"{path.name} never appeared"
        time.sleep(0.05)


def _received(out: Path) -> list[tuple[str, str]]:
    if not out.exists():
        return []
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    return [(m["to"], p) for m in lines for p in re.findall(r"P\d{3}", m["text"])]


def test_two_boxes_send_each_push_once_even_when_one_is_killed_holding_a_claim(tmp_path: Path) -> None:
    url = db_url(tmp_path / "shared.db")
    if PG_URL:
        reset_postgres()
    db = Database(url)
    db.upgrade()
    _queue_pushes(db)
    env = dict(os.environ, SALESBOT_DATABASE_URL=url, SALESBOT_ALERTS_QUIET_HOURS="",
               SALESBOT_ALERTS_CLAIM_SECONDS="10", PYTHONPATH=str(ROOT))
    a_out, b_out = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a = _box(a_out, env, "--hang-at", "4")
    b = _box(b_out, env)
    try:
        _wait_for(a_out.with_suffix(".hung"), a)
        a.kill()  # SIGKILL mid-burst: the rows of its current round stay claimed until the lease ends
        a.wait()
        assert b.wait(timeout=120) == 0, b.stderr.read().decode() if b.stderr else ""
    finally:
        for p in (a, b):
            if p.poll() is None:
                p.kill()
    got_a, got_b = _received(a_out), _received(b_out)
    pushes = [p for _, p in got_a + got_b]
    assert sorted(pushes) == [f"P{n:03d}" for n in range(PUSHES)]  # every push, none twice
    assert got_a and got_b  # both boxes took part
    # each push went to its own recipient
    assert all(to == f"u{int(p[1:]) % USERS:02d}" for to, p in got_a + got_b)
    assert db.call(alerts.backlog) == {"sent": PUSHES}
    db.dispose()


def test_each_cron_tick_runs_on_one_box_only_a_late_catch_up_included(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    from datetime import datetime, timezone

    from scheduler import jobs
    from scheduler.setup import ClockJob, run_job
    from store.models import JobRun
    from tests.conftest import make_app, seed_team
    from tests.fakes import FixedClock

    if PG_URL:
        reset_postgres()
    runs: list[datetime] = []
    real = jobs.run_rules

    def counted(s, settings, now, names=None):  # type: ignore[no-untyped-def]
        runs.append(now)
        return real(s, settings, now, names)

    monkeypatch.setattr(jobs, "run_rules", counted)
    wed_10 = datetime(2026, 1, 14, 2, 0, tzinfo=timezone.utc)  # 10:00 Asia/Shanghai
    a_clock, b_clock = FixedClock(wed_10 + timedelta(seconds=1)), FixedClock(wed_10 + timedelta(seconds=2))
    (a, _), (b, _) = make_app(tmp_path / "one.db", a_clock), make_app(tmp_path / "one.db", b_clock)
    seed_team(a)
    rules = ClockJob("rules", "0 10 * * *", jobs.DAILY_RULES)
    asyncio.run(run_job(a.svc, rules))
    asyncio.run(run_job(b.svc, rules))  # the same tick on the other box: skipped
    assert len(runs) == 1
    # Thursday: box a was down at 10:00 and catches up at 10:37; b's own run at 10:40 is the same tick
    a_clock.current = wed_10 + timedelta(days=1, minutes=37)
    b_clock.current = wed_10 + timedelta(days=1, minutes=40)
    asyncio.run(run_job(a.svc, rules))
    asyncio.run(run_job(b.svc, rules))
    assert runs == [wed_10 + timedelta(seconds=1), wed_10 + timedelta(days=1, minutes=37)]
    ticks = a.svc.db.call(lambda s: sorted(r.fire_time for r in s.exec(select(JobRun))))
    assert ticks == [wed_10, wed_10 + timedelta(days=1)]  # each recorded at its scheduled time
    for app in (a, b):
        app.svc.db.dispose()
