"""Several boxes on one database: each push is sent once, also when a box dies holding some.

Real child processes (tests/boxes.py) run the real Notifier against one database: PostgreSQL when
SALESBOT_TEST_DATABASE_URL is set (as in CI), else a SQLite file.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from bot.console import console_message
from bot.types import Peer, Reply
from store import alerts, replies, repos
from store.db import Database
from tests.conftest import NOW, PG_URL, db_url, reset_postgres
from tests.fakes import FakeChannel, FixedClock

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


@pytest.fixture
def shared_db(tmp_path: Path) -> Any:
    """An empty database at the newest migration that several boxes can share: the test
    PostgreSQL when there is one, else a SQLite file."""
    if PG_URL:
        reset_postgres()
    db = Database(db_url(tmp_path / "shared.db"))
    db.upgrade()
    yield db
    db.dispose()


def test_two_boxes_send_each_push_once_even_when_one_is_killed_holding_a_claim(tmp_path: Path,
                                                                              shared_db: Database) -> None:
    db, url = shared_db, shared_db.url
    _queue_pushes(db)
    env = dict(os.environ, SALESBOT_DATABASE_URL=url, SALESBOT_ALERTS_QUIET_HOURS="",
               SALESBOT_ALERTS_CLAIM_SECONDS="10", PYTHONPATH=str(ROOT))
    a_out, b_out = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a = _box(a_out, env, "--hang-at", "4")
    b = None
    try:
        _wait_for(a_out.with_suffix(".hung"), a)  # A is mid-burst, holding its round's pushes
        b = _box(b_out, env)
        a.kill()  # SIGKILL: the rows of A's current round stay claimed until the lease ends
        a.wait()
        assert b.wait(timeout=120) == 0, b.stderr.read().decode() if b.stderr else ""  # all sent
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
    got_a, got_b = _received(a_out), _received(b_out)
    pushes = [p for _, p in got_a + got_b]
    assert sorted(pushes) == [f"P{n:03d}" for n in range(PUSHES)]  # every push, none twice
    assert got_a and got_b  # both boxes took part
    # each push went to its own recipient
    assert all(to == f"u{int(p[1:]) % USERS:02d}" for to, p in got_a + got_b)
    assert db.call(alerts.backlog) == {"sent": PUSHES}


def test_each_cron_tick_runs_on_one_box_only_a_late_catch_up_included(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    from datetime import datetime

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
    wed_10 = datetime(2026, 1, 14, 2, 0, tzinfo=UTC)  # 10:00 Asia/Shanghai
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


# ---------------------------------------------------------------- the shared work queue (PostgreSQL)

BOX_SERVER = """
import asyncio, os
from bot.app import build_app
from bot.config import load_settings
from bot.dispatch import Dispatcher
from bot.http import serve

if os.environ.get("HANG_ON"):  # this box hangs on one note: the test kills it there
    real = Dispatcher.process

    async def process(self, inbox_id, msg):
        if os.environ["HANG_ON"] in msg.text:
            print("HUNG", flush=True)
            await asyncio.Event().wait()
        return await real(self, inbox_id, msg)

    Dispatcher.process = process
settings = load_settings()
asyncio.run(serve(build_app(settings), settings))
"""
WECOM_IDS = {"zhang": "ZhangWei", "li": "LiNa", "wang": "WangJL"}
needs_pg = pytest.mark.skipif(not PG_URL, reason="the shared queue needs PostgreSQL (CI runs it there)")


def _note(k: int) -> str:
    return f"今天去苏州恒达见了采购部王总，聊了第{k}批数控车床，预算大概{20 + k}万，下周三前把方案发给他。"


class Boxes:
    """Real salesbot processes on the test PostgreSQL with a fake WeCom: the seeded team, boxes
    started and killed at will, callbacks posted to them, and what was recorded and answered."""

    def __init__(self) -> None:
        from bot.app import build_app
        from bot.config import load_settings
        from tests import builders as b
        from tests.servers import FakeWecom

        reset_postgres()
        self.fake = FakeWecom(b.CORP_ID, b.SECRET, b.AGENT_ID).start()
        seeded = build_app(load_settings(env={"SALESBOT_DATABASE_URL": str(PG_URL), "SALESBOT_QUEUE_MODE": "local"}))
        b.seed_im_team(seeded, "wecom", WECOM_IDS)
        seeded.svc.db.dispose()
        self.db = Database(str(PG_URL))
        self.procs: list[subprocess.Popen[str]] = []
        self.sent: dict[str, list[int]] = {u: [] for u in WECOM_IDS}  # msg ids per sender, in order
        self.env = dict(os.environ, SALESBOT_DATABASE_URL=str(PG_URL), SALESBOT_SERVER_HOST="127.0.0.1",
                        SALESBOT_QUEUE_STALLED_SECONDS="5", SALESBOT_QUEUE_REPLY_CLAIM_SECONDS="10",
                        SALESBOT_QUEUE_REPLY_RETRY_SECONDS="3", SALESBOT_ALERTS_QUIET_HOURS="",
                        **b.wecom_settings(self.fake.url), PYTHONPATH=str(ROOT))

    def start(self, *argv: str, port: int = 0, script: str | None = None, **env: str) -> subprocess.Popen[str]:
        """`salesbot ARGV…` (or a `script`) as a child process; `port` for a server."""
        cmd = [sys.executable, "-c", script] if script else [sys.executable, "-m", "bot", *argv]
        if port:
            env = dict(env, SALESBOT_SERVER_PORT=str(port))
        p = subprocess.Popen(cmd, env=dict(self.env, **env), cwd=ROOT, text=True, stderr=subprocess.DEVNULL,
                             stdout=subprocess.PIPE if script else subprocess.DEVNULL)  # a script's HUNG line
        self.procs.append(p)
        return p

    def post(self, port: int, fields: dict[str, object]) -> None:
        import asyncio

        from tests import builders as b
        from tests.test_wecom import _post_when_up

        assert asyncio.run(_post_when_up(port, b.encrypt_callback(fields))) == 200

    def note(self, port: int, user: str, text: str, msg_id: int) -> None:
        from tests import builders as b

        self.post(port, b.text_fields(WECOM_IDS[user], text, msg_id=msg_id))
        self.sent[user].append(msg_id)

    def recorded(self) -> list[Any]:
        from sqlmodel import col

        from store.models import FollowUp

        return self.db.call(lambda s: list(s.exec(select(FollowUp).order_by(col(FollowUp.id)))))

    def cards(self, user: str | None = None) -> list[dict[str, Any]]:
        return [m for m in self.fake.sent if m["msgtype"] == "template_card"
                and (user is None or m["touser"] == WECOM_IDS[user])]

    def check_once_each_in_order(self, context: str = "") -> None:
        """Every note sent recorded once, in each sender's order, and answered with one card."""
        rows = self.recorded()
        total = sum(map(len, self.sent.values()))
        assert len(rows) == total == len({r.source_key for r in rows}), context
        for user, ids in self.sent.items():
            mine = [int(r.source_key.split(":")[1]) for r in rows if int(r.source_key.split(":")[1]) in ids]
            assert mine == ids, f"order of {user} {context}"
            assert len(self.cards(user)) == len(ids), f"answers to {user} {context}"

    def close(self) -> None:
        import signal

        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.fake.stop()
        self.db.dispose()


@pytest.fixture
def boxes() -> Any:
    c = Boxes()
    yield c
    c.close()


def _kill(p: subprocess.Popen[str]) -> None:
    import signal

    p.send_signal(signal.SIGKILL)
    p.wait(10)


@needs_pg
def test_two_serve_boxes_share_the_inbox_each_note_recorded_and_answered_once_in_order(boxes: Boxes) -> None:
    """Two `serve` processes on one PostgreSQL: one dies (SIGKILL) holding a note, the other takes
    its job over after the stall timeout; every note is recorded once and answered once, each
    sender's notes in the order sent, and the restarted box replays nothing."""
    from tests.servers import wait_until
    from tests.test_wecom import _free_port

    port_a, port_b = _free_port(), _free_port()
    a = boxes.start(port=port_a, script=BOX_SERVER, HANG_ON="第0批")
    msg_id = 9000
    boxes.note(port_a, "zhang", _note(0), msg_id)  # box A takes it, and hangs holding zhang's lock
    assert a.stdout is not None and "HUNG" in a.stdout.readline()
    boxes.start(port=port_b, script=BOX_SERVER)
    for k in range(1, 6):  # a burst to both boxes; zhang's wait behind the hung note
        for i, user in enumerate(WECOM_IDS):
            msg_id += 1
            boxes.note(port_a if (k + i) % 2 else port_b, user, _note(k), msg_id)
    _kill(a)
    total = sum(map(len, boxes.sent.values()))
    wait_until(lambda: len(boxes.recorded()) >= total, timeout=90, what="every note recorded")
    boxes.start(port=port_a, script=BOX_SERVER)  # box A again: nothing of B's or its own old work is replayed
    boxes.note(port_a, "li", _note(9), msg_id + 1)
    wait_until(lambda: len(boxes.recorded()) >= total + 1, timeout=60, what="the last note recorded")
    wait_until(lambda: len(boxes.cards()) >= total + 1, timeout=30, what="every note answered")
    boxes.check_once_each_in_order()
    assert boxes.db.call(repos.inbox_pending_count) == 0


class VirtualClock:
    """A shared clock for boxes that wait out platform limits: waiting moves it on at once, but
    not while a reservation is under way (a real clock stands still for the milliseconds one
    takes); `limiter` stamps, per key, the instants sends were let through."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.stamps: dict[str, list[float]] = {}
        self._busy = 0

    async def sleep(self, seconds: float) -> None:
        import asyncio

        while self._busy:
            await asyncio.sleep(0)
        self.now += seconds
        await asyncio.sleep(0)

    def limiter(self, db: Database, channel: str, limits: Any) -> Any:
        from bot.shared import SharedLimiter

        clock = self

        class Stamped(SharedLimiter):
            async def reserve(self, user: str) -> float:
                at = self.clock()
                clock._busy += 1
                try:
                    delay = await super().reserve(user)
                finally:
                    clock._busy -= 1
                if delay <= 0:
                    clock.stamps.setdefault(user, []).append(at)
                return delay

        return Stamped(db, channel, limits, clock=lambda: self.now)

    def most_within(self, key: str, window: float) -> int:
        """The most sends to `key` let through within any `window` seconds."""
        t = self.stamps.get(key, [])
        return max((sum(1 for u in t if end - window < u <= end) for end in t), default=0)


def _send_from_boxes(fake: Any, boxes: list[Any], work: Any) -> None:
    """Run `work(box, index)` on every box at once, then stop the boxes and the fake platform."""
    import asyncio

    async def go() -> None:
        await asyncio.gather(*(work(box, i) for i, box in enumerate(boxes)))
        for box in boxes:
            await box.stop()

    try:
        asyncio.run(go())
    finally:
        fake.stop()


def test_two_boxes_together_keep_wecoms_per_member_limit(shared_db: Database) -> None:
    """WeCom allows 30 messages a minute to one member per app, whatever box sends them: with the
    limit counted in the shared database, two boxes sending at once stay within it."""

    from bot.config import load_settings
    from bot.types import Peer, Reply
    from bot.wecom import MEMBER_LIMITS, WecomChannel
    from tests import builders as b
    from tests.servers import FakeWecom

    fake = FakeWecom(b.CORP_ID, b.SECRET, b.AGENT_ID).start()
    clock = VirtualClock()

    def box() -> WecomChannel:
        settings = load_settings(env=b.wecom_settings(fake.url))
        return WecomChannel(settings.wecom, limiter=clock.limiter(shared_db, "wecom", MEMBER_LIMITS), sleep=clock.sleep)

    async def one_by_one(ch: WecomChannel, _: int) -> None:  # each box answers its own notes in turn
        for i in range(40):
            await ch.send(Peer("wecom", "ZhangWei"), Reply(f"提醒{i}号"))

    _send_from_boxes(fake, [box(), box()], one_by_one)
    assert len(clock.stamps["ZhangWei"]) == len(fake.sent) > 30  # more than a minute's worth, each let through once
    assert clock.most_within("ZhangWei", 60) == 30  # never more than 30 within a minute, across both boxes


def test_dingtalks_limits_are_kept_by_all_boxes_together(shared_db: Database) -> None:
    """DingTalk's limits (messages to one person a minute, calls per OpenAPI a second) are counted
    in the shared database, so two boxes sending at once stay within them together."""

    from bot.config import load_settings
    from bot.dingtalk import DingtalkChannel, api_limits, peer_limits
    from bot.types import Peer, Reply
    from tests import builders as b
    from tests.servers import FakeDingtalk

    fake = FakeDingtalk(b.CLIENT_ID, b.CLIENT_SECRET).start()
    clock = VirtualClock()
    settings = load_settings(env=b.dingtalk_settings(fake.url, sends_per_peer_per_minute="5",
                                                     api_calls_per_second="4"))

    def box() -> DingtalkChannel:
        ding = settings.dingtalk
        return DingtalkChannel(ding, sleep=clock.sleep, retry_s=0, card_template_id="",
                               limiter=clock.limiter(shared_db, "dingtalk:x", peer_limits(ding)),
                               api_limiter=clock.limiter(shared_db, "dingtalk-api:x", api_limits(ding)))

    async def burst(ch: DingtalkChannel, box: int) -> None:
        tag = "ab"[box]
        for i in range(8):  # to one person …
            await ch.send(Peer("dingtalk", "staff-zhang"), Reply(f"{tag}提醒{i}"))
        for i in range(12):  # … and to many
            await ch.send(Peer("dingtalk", f"staff-{tag}{i}"), Reply(f"{tag}周报{i}"))

    _send_from_boxes(fake, [box(), box()], burst)
    assert len(fake.batch_sends) == 40  # everything delivered, once
    api = "/v1.0/robot/oToMessages/batchSend"
    assert len(clock.stamps["staff-zhang"]) == 16 and len(clock.stamps[api]) == 40
    assert clock.most_within("staff-zhang", 60) == 5  # to one person within a minute, across both boxes
    assert clock.most_within(api, 1) == 4  # batchSend calls within a second


def _queue_alerts(db: Database, n: int, due: object) -> None:
    """`n` pushes to the seeded WeCom users, due at `due`, each naming itself (P000, P001, …)."""
    from sqlmodel import col

    from store.models import User, UserIdentity

    def seed(s):  # type: ignore[no-untyped-def]
        ids = list(s.exec(select(User.id).join(UserIdentity, col(UserIdentity.user_id) == col(User.id))
                          .where(UserIdentity.channel == "wecom").order_by(col(User.id))))
        rows = [{"dedupe_key": f"burst:{k}", "rule": "message", "recipient_id": ids[k % len(ids)],
                 "body": {"title": "测试提醒", "line": f"P{k:03d}"}, "status": "pending", "attempts": 0,
                 "next_attempt_at": due, "created_at": due} for k in range(n)]
        return alerts.enqueue_many(s, rows)

    assert db.call(seed) == n


@needs_pg
def test_a_box_killed_at_any_moment_of_a_burst_loses_and_repeats_nothing(boxes: Boxes) -> None:
    """Two `serve` boxes (text) and a worker (voice) on PostgreSQL; a burst of notes, a voice note
    and due alerts; SIGKILL of one box at an arbitrary moment (processing, storing or sending an
    answer, or holding pushes); it comes back. Every note is recorded once, in each sender's order,
    answered once (a resend after an unknown outcome is dropped by WeCom's duplicate check), and
    every push is delivered once."""
    import random
    from datetime import datetime

    from store import replies
    from tests import builders as b
    from tests.servers import wait_until
    from tests.test_wecom import _free_port

    rng = random.Random()
    boxes.fake.media["MEDIA_NOTE"] = (ROOT / "tests" / "fixtures" / "audio" / "note_hengda.amr").read_bytes()
    _queue_alerts(boxes.db, 60, datetime.now(UTC) + timedelta(seconds=2))  # due mid-burst
    fast = {"SALESBOT_QUEUE_QUEUES": '["notes"]', "SALESBOT_ALERTS_CLAIM_SECONDS": "10",
            "SALESBOT_ALERTS_DELIVERY_INTERVAL_SECONDS": "1"}
    port_a, port_b = _free_port(), _free_port()
    a, _ = boxes.start("serve", port=port_a, **fast), boxes.start("serve", port=port_b, **fast)
    boxes.start("worker", "--queues", "asr", SALESBOT_SPEECH_WORKERS="1")
    msg_id, kill_after = 7000, rng.randint(4, 14)
    for k in range(8):
        for user in WECOM_IDS:
            msg_id += 1
            alive_a = a.poll() is None
            port = port_a if alive_a and msg_id % 2 else port_b
            if k == 3 and user == "li":  # a voice note in the middle, for the worker
                boxes.post(port, b.voice_fields(WECOM_IDS[user], "MEDIA_NOTE", msg_id=msg_id))
                boxes.sent[user].append(msg_id)
            else:
                boxes.note(port, user, _note(k), msg_id)
            if alive_a and msg_id - 7000 == kill_after:
                time.sleep(rng.uniform(0, 0.3))  # somewhere in A's work on what it took
                _kill(a)
    total = sum(map(len, boxes.sent.values()))
    wait_until(lambda: len(boxes.recorded()) >= total, timeout=120, what="every note recorded")
    boxes.start("serve", port=port_a, **fast)  # A again: replays nothing

    def pushed() -> list[str]:
        return [p for m in boxes.fake.sent if m["msgtype"] in ("text", "markdown")
                for p in re.findall(r"P\d{3}", m[m["msgtype"]]["content"])]

    wait_until(lambda: len(boxes.cards()) >= total and boxes.db.call(replies.undelivered) == 0
               and not boxes.db.call(alerts.backlog).get("pending"), timeout=90, what="every note and push out")
    time.sleep(1.0)  # a late duplicate would show up here
    boxes.check_once_each_in_order(f"(killed after note {kill_after})")
    assert sorted(pushed()) == [f"P{k:03d}" for k in range(60)], f"pushes (killed after note {kill_after})"


@needs_pg
def test_voice_notes_go_to_the_worker_that_serves_the_asr_queue(boxes: Boxes) -> None:
    """A `serve` box that works only on text (queue.queues = ["notes"]) leaves a voice note to a
    worker-only process (`salesbot worker --queues asr`), which transcribes it with the bundled
    model, records it and answers through WeCom."""
    from sqlalchemy import text

    from tests import builders as b
    from tests.servers import wait_until
    from tests.test_wecom import _free_port

    boxes.fake.media["MEDIA_NOTE"] = (ROOT / "tests" / "fixtures" / "audio" / "note_hengda.amr").read_bytes()
    port = _free_port()
    boxes.start("serve", port=port, SALESBOT_QUEUE_QUEUES='["notes"]')

    def asr_jobs() -> list[str]:
        with boxes.db.engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT status FROM procrastinate_jobs WHERE queue_name = 'asr'"))]

    boxes.post(port, b.voice_fields("ZhangWei", "MEDIA_NOTE", msg_id=6001))
    assert asr_jobs() == ["todo"]  # stored with its job on the asr queue, which serve leaves alone
    boxes.start("worker", "--queues", "asr", SALESBOT_SPEECH_WORKERS="1")
    wait_until(lambda: len(boxes.recorded()) == 1, timeout=120, what="the voice note recorded by the worker")
    wait_until(lambda: len(boxes.cards("zhang")) == 1, timeout=30, what="the answer sent by the worker")
    [note] = boxes.recorded()
    assert note.source_key == "wecom:6001" and "恒达" in note.raw_text
    wait_until(lambda: asr_jobs() == [], timeout=30, what="the job finished (and deleted)")


def test_a_delivery_round_claims_no_more_than_its_batch(shared_db: Database) -> None:
    """On PostgreSQL the rows a round picks (LIMIT, SKIP LOCKED) are picked once: as a plain
    subquery of the UPDATE, a fresh table's nested-loop plan rescanned it and one round of 60 took
    112 pushes."""
    _queue_pushes(shared_db)
    lease = NOW + timedelta(minutes=5)
    first = shared_db.call(alerts.claim_due, NOW, "round-a", lease, 2 * USERS)
    second = shared_db.call(alerts.claim_due, NOW, "round-b", lease, PUSHES)
    assert len(first) == 2 * USERS and len(second) == PUSHES - 2 * USERS
    assert {n.id for n in first}.isdisjoint(n.id for n in second)


class HeldChannel(FakeChannel):
    """Its sends wait until `gate` opens, as a send waiting for a platform's rate limit does."""

    def __init__(self) -> None:
        super().__init__("console")
        self.gate = asyncio.Event()
        self.waiting = 0

    async def send(self, to: Peer, reply: Reply) -> None:
        self.waiting += 1
        await self.gate.wait()
        await super().send(to, reply)


def _two_boxes(tmp_path: Path, clock: FixedClock) -> tuple[Any, Any, HeldChannel, FakeChannel]:
    """Boxes A and B on `shared_db`; A's sends are held, B's go straight out."""
    from tests.conftest import make_app

    a, _ = make_app(tmp_path / "shared.db", clock)
    b, _ = make_app(tmp_path / "shared.db", clock)
    held, other = HeldChannel(), FakeChannel("console")
    a.add_channel(held)
    b.add_channel(other)
    a.notifier.renew_every = a.notifier.replies.renew_every = a.dispatcher.replies.renew_every = 0.01
    return a, b, held, other


def test_an_answer_waiting_for_the_platforms_limit_past_its_claim_is_not_sent_by_another_box(
        tmp_path: Path, shared_db: Database) -> None:
    """Box A's answer waits for a send slot longer than `queue.reply_claim_seconds`; A is alive,
    so it keeps renewing its claim and box B, looking for answers left behind, leaves it alone."""
    from tests.servers import await_until

    clock = FixedClock(NOW)
    a, b, held, other = _two_boxes(tmp_path, clock)

    async def scenario() -> None:
        await a.dispatcher.submit(console_message("zhang", "帮助", "m1", clock.now()))
        answering = asyncio.create_task(a.dispatcher.drain())
        await await_until(lambda: held.waiting == 1, what="A's answer waiting for a slot")
        clock.advance(seconds=2 * a.settings.queue.reply_claim_seconds)
        await asyncio.sleep(0.1)  # A renews meanwhile
        assert await b.notifier.replies.deliver_due() == 0
        held.gate.set()
        await answering

    asyncio.run(scenario())
    assert len(held.sent) == 1 and other.sent == []
    assert shared_db.call(lambda s: [r.status for r in replies.listed(s)]) == ["sent"]


def test_pushes_waiting_for_the_platforms_limit_past_their_claim_are_not_sent_by_another_box(
        tmp_path: Path, shared_db: Database) -> None:
    """The same for a round of pushes: A's round outlasts `alerts.claim_seconds` waiting to send;
    B takes none of its rows, and every push goes out once. When A stops renewing (it died), B
    takes over what A had not sent."""
    from tests.servers import await_until

    _queue_pushes(shared_db)
    clock = FixedClock(NOW)
    a, b, held, other = _two_boxes(tmp_path, clock)
    claim = a.settings.alerts.claim_seconds

    async def scenario() -> None:
        a.notifier.batch = 2 * USERS  # two pushes each for every rep in A's round
        round_a = asyncio.create_task(a.notifier.deliver_due())
        await await_until(lambda: held.waiting == 1, what="A's round waiting for a slot")
        clock.advance(seconds=2 * claim)
        await asyncio.sleep(0.1)
        b.notifier.batch = PUSHES
        assert await b.notifier.deliver_due() == PUSHES - 2 * USERS  # only what A did not claim
        round_a.cancel()  # A dies mid-round: its renewals stop with it
        await asyncio.gather(round_a, return_exceptions=True)
        clock.advance(seconds=claim + 1)
        assert await b.notifier.deliver_due() == 2 * USERS

    asyncio.run(scenario())
    assert held.sent == [] and len(_received_pushes(other)) == PUSHES


def _received_pushes(channel: FakeChannel) -> list[str]:
    return [p for _, r in channel.sent for p in re.findall(r"P\d{3}", r.text)]


@needs_pg
def test_stored_messages_get_their_jobs_in_the_same_statement_in_arrival_order(shared_db: Database) -> None:
    """Each new inbox row gets one job (its sender's lock, voice on the asr queue), numbered in
    arrival order; a duplicate gets neither row nor job; a batch whose statement fails part way (or
    whose transaction rolls back) leaves neither. Stored as the inbox writer stores them: one
    statement sent alone."""
    from sqlalchemy import text

    from bot.workqueue import TASK

    def row(msg_id: str, sender: str, kind: str = "text") -> dict[str, Any]:
        return {"channel": "wecom", "msg_id": msg_id, "sender": sender, "kind": kind,
                "payload": {"text": "拜访记录"}, "received_at": NOW}

    def store(s, rows, kinds):  # type: ignore[no-untyped-def]
        jobs = [("asr" if k == "voice" else "notes", f"sender:wecom:{r['sender']}") for r, k in zip(rows, kinds)]
        return repos.inbox_insert_queued(s, rows, jobs, TASK)

    first = [row("m1", "wang"), row("m2", "li", "voice"), row("m3", "wang"), row("m2", "li", "voice")]
    ids = shared_db.call_statement(store, first, [r["kind"] for r in first])
    assert ids[3] is None and None not in ids[:3]
    again = shared_db.call_statement(store, [row("m3", "wang"), row("m4", "wang")], ["text", "text"])
    assert again[0] is None and again[1] is not None

    def fail(s):  # type: ignore[no-untyped-def]
        store(s, [row("m5", "zhao")], ["text"])
        raise RuntimeError("the transaction fails after the insert")

    with pytest.raises(RuntimeError):
        shared_db.call(fail)

    def job_refused(s):  # type: ignore[no-untyped-def]  # the row goes in, then its job cannot
        return repos.inbox_insert_queued(s, [row("m6", "zhao")], [("notes", "sender:wecom:zhao")], None)  # type: ignore[arg-type]

    with pytest.raises(DBAPIError, match="task_name"):
        shared_db.call_statement(job_refused)

    def jobs(s):  # type: ignore[no-untyped-def]
        return [tuple(r) for r in s.connection().execute(text(
            "SELECT (args->>'inbox_id')::int, queue_name, lock, task_name FROM procrastinate_jobs ORDER BY id"))]

    assert shared_db.call(jobs) == [
        (ids[0], "notes", "sender:wecom:wang", TASK), (ids[1], "asr", "sender:wecom:li", TASK),
        (ids[2], "notes", "sender:wecom:wang", TASK), (again[1], "notes", "sender:wecom:wang", TASK)]
    assert shared_db.call(lambda s: len(repos.inbox_pending(s))) == 4


@needs_pg
def test_the_inbox_writer_replaces_a_connection_the_server_dropped_and_stores_the_batch_once(
        shared_db: Database) -> None:
    """The inbox writer's own connection is not pinged before each batch: one the server dropped
    (a restart, an idle timeout) fails its first statement, is replaced, and the batch is stored
    on the new one, once, with its job."""
    from sqlalchemy import text

    from bot.workqueue import TASK
    from tests.servers import wait_until

    def backend(s: Any) -> int:
        return int(s.connection().execute(text("SELECT pg_backend_pid()")).scalar_one())

    def alive(s: Any, pid: int) -> bool:
        return bool(s.connection().execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).scalar_one())

    dropped = shared_db.call_statement(backend)
    shared_db.call(lambda s: s.connection().execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped}))
    wait_until(lambda: not shared_db.call(alive, dropped), timeout=10, what="the connection dropped")
    row = {"channel": "wecom", "msg_id": "m1", "sender": "wang", "kind": "text",
           "payload": {"text": "拜访记录"}, "received_at": NOW}
    [stored] = shared_db.call_statement(repos.inbox_insert_queued, [row], [("notes", "sender:wecom:wang")], TASK)
    assert stored is not None and shared_db.call_statement(backend) != dropped
    assert [r.id for r in shared_db.call(repos.inbox_pending)] == [stored]
    assert shared_db.call(lambda s: s.connection().execute(
        text("SELECT count(*) FROM procrastinate_jobs")).scalar_one()) == 1


def test_reuse_port_is_refused_on_sqlite() -> None:
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="reuse_port"):
        load_settings(env={"SALESBOT_DATABASE_URL": "sqlite:///x.db", "SALESBOT_SERVER_REUSE_PORT": "true"})


@pytest.mark.skipif(not PG_URL, reason="several processes on one box need PostgreSQL")
def test_two_serve_processes_share_one_port(tmp_path: Path) -> None:
    import signal
    import urllib.request

    from tests.test_wecom import _free_port

    reset_postgres()
    port = _free_port()
    env = dict(os.environ, SALESBOT_DATABASE_URL=str(PG_URL), SALESBOT_SERVER_HOST="127.0.0.1",
               SALESBOT_SERVER_PORT=str(port), SALESBOT_SERVER_REUSE_PORT="true", PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def listeners() -> int:
        """Sockets listening on the port (Linux /proc/net/tcp: local address, state 0A = LISTEN)."""
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
        return sum(1 for r in rows if r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A")

    try:
        end = time.monotonic() + 60
        while listeners() < 2:  # both processes bound the one port
            assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs if p.stderr and p.poll() is not None]
            assert time.monotonic() < end, "serve did not come up twice"
            time.sleep(0.1)
        assert healthy()
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(10)
        assert healthy() and procs[1].poll() is None  # the other process still answers on the port
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(30)



def test_boxes_share_one_wecom_access_token(shared_db: Database) -> None:
    """The first box fetches the token, the second uses it; after WeCom invalidates it, the box
    that notices refreshes it and the other one takes the new token from the database."""
    import asyncio

    from bot.config import load_settings
    from bot.shared import SharedTokens
    from bot.types import Peer, Reply
    from bot.wecom import WecomChannel
    from tests import builders as b
    from tests.servers import FakeWecom

    db = shared_db
    fake = FakeWecom(b.CORP_ID, b.SECRET, b.AGENT_ID).start()

    def box() -> WecomChannel:
        settings = load_settings(env=b.wecom_settings(fake.url))
        return WecomChannel(settings.wecom, tokens=SharedTokens(db, f"wecom:{b.CORP_ID}:{b.AGENT_ID}"))

    async def go() -> None:
        a, b_ = box(), box()
        peer = Peer("wecom", "ZhangWei")
        await a.send(peer, Reply("一"))
        await b_.send(peer, Reply("二"))
        assert fake.token_calls == 1  # B used A's token
        fake.expire_tokens()  # WeCom invalidates it
        await a.send(peer, Reply("三"))  # A is refused, refreshes
        await b_.send(peer, Reply("四"))  # B is refused, finds A's new token
        assert fake.token_calls == 2
        for ch in (a, b_):
            await ch.stop()

    try:
        asyncio.run(go())
    finally:
        fake.stop()
    assert [m["text"]["content"] for m in fake.sent] == ["一", "二", "三", "四"]


def test_boxes_share_one_dingtalk_access_token(shared_db: Database) -> None:
    import asyncio

    from bot.config import load_settings
    from bot.dingtalk import DingtalkChannel
    from bot.shared import SharedTokens
    from tests import builders as b
    from tests.servers import FakeDingtalk

    db = shared_db
    fake = FakeDingtalk(b.CLIENT_ID, b.CLIENT_SECRET).start()

    def box() -> DingtalkChannel:
        settings = load_settings(env=b.dingtalk_settings(fake.url))
        return DingtalkChannel(settings.dingtalk, tokens=SharedTokens(db, f"dingtalk:{b.CLIENT_ID}"))

    async def go() -> tuple[str, str]:
        a, b_ = box(), box()
        first, second = await a.access_token(), await b_.access_token()
        for ch in (a, b_):
            await ch.stop()
        return first, second

    try:
        first, second = asyncio.run(go())
    finally:
        fake.stop()
    assert first == second and fake.token_calls == 1  # the second box used the first one's token


@pytest.mark.parametrize("shared", [True, False])
def test_boxes_on_a_shared_database_count_platform_limits_and_tokens_there(tmp_path: Path, shared: bool) -> None:
    """`serve` on the shared queue (PostgreSQL) gives both channels limiters and tokens kept in
    the database; one SQLite box keeps them in the process."""
    from bot.app import build_app
    from bot.config import load_settings
    from bot.http import add_enabled_channels
    from bot.shared import LocalLimiter, SharedLimiter, SharedTokens
    from tests import builders as b

    if shared and not PG_URL:
        pytest.skip("the shared queue needs PostgreSQL (CI runs it there)")
    if PG_URL:
        reset_postgres()
    url = str(PG_URL) if shared else db_url(tmp_path / "one.db")
    env = {"SALESBOT_DATABASE_URL": url, "SALESBOT_QUEUE_MODE": "shared" if shared else "local",
           **b.wecom_settings("http://127.0.0.1:9"), **b.dingtalk_settings("http://127.0.0.1:9")}
    app = build_app(load_settings(env=env))
    assert add_enabled_channels(app, app.svc.settings) == ["wecom", "dingtalk"]
    wecom, ding = app.channels["wecom"], app.channels["dingtalk"]
    kinds = {type(x) for x in (wecom.limiter, ding.limiter, ding.api_limiter)}  # type: ignore[attr-defined]
    assert kinds == ({SharedLimiter} if shared else {LocalLimiter})
    assert isinstance(ding.tokens, SharedTokens) is shared  # type: ignore[attr-defined]
