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
