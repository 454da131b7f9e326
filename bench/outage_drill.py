"""Drills against a protocol-faithful fake of WeCom (tests/servers.FakeWecom) and a real `salesbot
serve` process: what an operator sees when things go wrong.

  --drill secret   serve started with a wrong secret: its start-up lines and /healthz
  --drill outage   WeCom answers 45009 to every send for --seconds (default 60) while reps write:
                   every answer kept, then delivered; prints the timeline

Usage: .venv/bin/python bench/outage_drill.py --drill outage [--seconds 60] [--notes 6]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import builders as b  # noqa: E402
from tests.servers import FakeWecom, _Failures  # noqa: E402

REPS = {"张伟": "ZhangWei", "李娜": "LiNa"}
NOTES = ["帮助", "我的商机", "今天去苏州恒达见了采购部王总，预算大概八十万，周五前我把报价发给他。", "我的待办",
         "无锡宏远李厂长说今年预算六十万，月底前报价", "查 恒达"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return json.loads(r.read())
    except OSError:
        return None


def _post(port: int, cb: b.Callback) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{cb.path()}", data=cb.body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def _serve(tmp: Path, fake: FakeWecom, secret: str) -> tuple[subprocess.Popen[str], int]:
    db = tmp / "drill.db"
    env = dict(os.environ, SALESBOT_DATABASE_URL=f"sqlite:///{db}", PYTHONPATH=str(ROOT),
               SALESBOT_SERVER_PORT=str(port := _port()), **b.wecom_settings(fake.url, secret=secret))
    for name, wecom in REPS.items():
        subprocess.run([sys.executable, "-m", "bot", "users", "add", name, "--wecom", wecom], env=env, cwd=ROOT,
                       check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    while _healthz(port) is None:
        if proc.poll() is not None or time.monotonic() > end:
            raise SystemExit(f"serve did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.2)
    return proc, port


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=60)[1]


def drill_secret(tmp: Path) -> None:
    fake = FakeWecom(b.CORP_ID, b.SECRET, b.AGENT_ID).start()
    try:
        proc, port = _serve(tmp, fake, "a-wrong-secret")
        time.sleep(1)
        health = _healthz(port)
        err = _stop(proc)
    finally:
        fake.stop()
    print("$ salesbot serve   (wecom.secret wrong)")
    print("\n".join(line for line in err.splitlines() if " INFO " not in line and " WARNING " not in line))
    print("$ curl -s localhost/healthz")
    print(json.dumps(health, ensure_ascii=False))


def drill_outage(tmp: Path, seconds: float, notes: int) -> None:
    fake = FakeWecom(b.CORP_ID, b.SECRET, b.AGENT_ID).start()
    t0 = time.monotonic()

    def say(what: str) -> None:
        print(f"{time.monotonic() - t0:6.1f} s  {what}", flush=True)

    try:
        proc, port = _serve(tmp, fake, b.SECRET)
        t0 = time.monotonic()
        fake.fail_next("send", *[45009] * 1_000_000)
        say(f"outage starts: every message/send answers 45009 for {seconds:.0f} s")
        users = list(REPS.values())
        for n in range(notes):
            user = users[n % len(users)]
            status = _post(port, b.encrypt_callback(b.text_fields(user, NOTES[n % len(NOTES)])))
            say(f"{user} writes note {n + 1}: callback answered {status}")
            time.sleep(seconds / (2 * notes))
        while time.monotonic() - t0 < seconds:
            time.sleep(1)
        health = _healthz(port) or {}
        say(f"before the end of the outage: /healthz status={health.get('status')} "
            f"undelivered_replies={health.get('undelivered_replies')}, WeCom took {len(fake.sent)} messages, "
            f"refused {len(fake.attempts) - len(fake.sent)} tries")
        with fake.lock:
            fake.failures = _Failures()
        say("outage ends")
        while True:
            health = _healthz(port) or {}
            if health.get("undelivered_replies") == 0:
                break
            time.sleep(0.5)
        say(f"all answers delivered: /healthz status={health.get('status')} undelivered_replies=0")
        late = [m["touser"] for m in fake.sent if "以下回复晚到了" in json.dumps(m, ensure_ascii=False)]
        say(f"WeCom took {len(fake.sent)} messages (texts and cards) for {notes} notes; the late notice "
            f"went to: {', '.join(late)}")
        for m in fake.sent:
            body = json.dumps(m.get("text") or m.get("template_card"), ensure_ascii=False)
            say(f"  → {m['touser']} {m['msgtype']}: {body[:70]}")
        _stop(proc)
    finally:
        fake.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--drill", choices=["secret", "outage"], required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--notes", type=int, default=6)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.drill == "secret":
            drill_secret(Path(tmp))
        else:
            drill_outage(Path(tmp), args.seconds, args.notes)


if __name__ == "__main__":
    main()
