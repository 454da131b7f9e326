"""Settings that change what the bot does: each one changed, and the difference seen through the
entry point (a chat message through the dispatcher, `salesbot serve`)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import build_app
from bot.config import load_settings
from extraction.customers import CustomerIndex
from extraction.types import CustomerRef
from store.models import ActionItem, Deal
from tests.conftest import PG_URL, Bot, db_url, reset_postgres, seed_team
from tests.fakes import FakeChannel, FixedClock

ROOT = Path(__file__).resolve().parents[1]


def _bot(tmp_path: Path, when: datetime, **env: str) -> Bot:
    if PG_URL:
        reset_postgres()
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = load_settings(env={"SALESBOT_DATABASE_URL": db_url(tmp_path / "s.db"), "SALESBOT_QUEUE_MODE": "local",
                                  **{f"SALESBOT_{k.upper()}": v for k, v in env.items()}})
    clock = FixedClock(when)
    app = build_app(settings, clock=clock)
    channel = FakeChannel("console")
    app.add_channel(channel)
    seed_team(app)
    return Bot(app, channel, clock, tmp_path / "s.db")


def test_matching_thresholds_decide_between_linking_and_asking(tmp_path: Path) -> None:
    refs = [CustomerRef("1", "苏州恒达精密机械有限公司", "苏州")]
    near = CustomerIndex(refs).match("恒大精密")  # a near spelling, scored between 0.85 and 0.9
    assert near.best is not None and 0.85 <= near.score < 0.9
    strict = CustomerIndex(refs, auto_link=0.9, ask=0.6).match("恒大精密")
    assert strict.best is None and [c.id for c in strict.alternates] == ["1"]
    when = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    linked = _bot(tmp_path / "a", when).say("zhang", "今天去恒大精密拜访了采购，下周报价")
    asked = _bot(tmp_path / "b", when, matching_auto_link="0.9").say("zhang", "今天去恒大精密拜访了采购，下周报价")
    assert "已记录 #1 · 苏州恒达精密机械有限公司" in linked and "哪一家" not in linked
    assert "未关联客户" in asked and "你说的是哪一家？\n1) 苏州恒达精密机械有限公司" in asked  # asks instead


def test_the_time_zone_decides_which_day_tomorrow_is(tmp_path: Path) -> None:
    when = datetime(2026, 3, 3, 15, 30, tzinfo=timezone.utc)  # 23:30 in Shanghai, 10:30 in New York

    def due(bot: Bot) -> date:
        bot.say("zhang", "苏州恒达的王总说明天把图纸发过来，我明天给他们回电话")
        return bot.db(lambda s: s.exec(select(ActionItem.due)).first())

    assert due(_bot(tmp_path / "sh", when)) == date(2026, 3, 4)
    assert due(_bot(tmp_path / "ny", when, app_timezone="America/New_York")) == date(2026, 3, 4)
    late = datetime(2026, 3, 3, 17, 30, tzinfo=timezone.utc)  # 01:30 on the 4th in Shanghai
    assert due(_bot(tmp_path / "sh2", late)) == date(2026, 3, 5)
    assert due(_bot(tmp_path / "ny2", late, app_timezone="America/New_York")) == date(2026, 3, 4)


def test_a_pipeline_without_a_stage_never_gets_it_written(tmp_path: Path) -> None:
    when = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    note = "苏州恒达那边同意先试用我们的设备两周，试用没问题就签"
    full = _bot(tmp_path / "full", when)
    full.say("zhang", note)
    assert full.db(lambda s: s.exec(select(Deal.stage)).one()) == "trial"
    short = _bot(tmp_path / "short", when, pipeline_stages='["lead", "needs", "quote", "won", "lost"]',
                 pipeline_labels='{lead = "线索", needs = "需求", quote = "报价", won = "赢单", lost = "输单"}')
    short.say("zhang", note)
    assert short.db(lambda s: s.exec(select(Deal.stage)).one()) == "quote"  # the nearest stage before it


@pytest.mark.parametrize("level, shown", [("INFO", True), ("WARNING", False)])
def test_log_level_sets_what_serve_logs(tmp_path: Path, level: str, shown: bool) -> None:
    from tests.test_wecom import _free_port

    env = dict(os.environ, SALESBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'l.db'}", SALESBOT_APP_LOG_LEVEL=level,
               SALESBOT_SERVER_PORT=str(_free_port()), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    lines = []
    try:
        for line in proc.stderr:  # the start report comes first; the INFO line "serving on …" last
            lines.append(line)
            if "没有启用" in line:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[1]
    assert any("serving on" in x for x in lines + rest.splitlines()) is shown


# ---------------------------------------------------------------- one test per setting, changed


def test_undo_window_hours(tmp_path: Path) -> None:
    from datetime import timedelta

    when = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    for hours, later, undone in ((24, 2, True), (1, 2, False)):
        bot = _bot(tmp_path / f"u{hours}", when, app_undo_window_hours=str(hours))
        bot.say("zhang", "苏州恒达王总说预算四十万")
        bot.clock.current = when + timedelta(hours=later)
        said = bot.say("zhang", "撤销")
        assert ("已撤销" in said) is undone and (f"超过了 {hours} 小时" in said) is not undone


def test_merge_confirm_minutes(tmp_path: Path) -> None:
    from datetime import timedelta

    when = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    for minutes, expired in ((30, False), (5, True)):
        bot = _bot(tmp_path / f"m{minutes}", when, app_merge_confirm_minutes=str(minutes))
        assert f"{minutes} 分钟内回复「确认合并」" in bot.say("wang", "合并客户 1 2")
        bot.clock.current = when + timedelta(minutes=10)
        assert ("已失效" in bot.say("wang", "确认合并")) is expired


def test_pipeline_labels_name_the_stages_in_replies(tmp_path: Path) -> None:
    when = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    bot = _bot(tmp_path, when, pipeline_labels='{lead = "线索", contacted = "初访", needs = "摸需求", quote = "报价", '
                                               'trial = "试用", negotiation = "谈判", won = "赢单", lost = "输单"}')
    assert "摸需求" in bot.say("zhang", "苏州恒达王总说想换一批数控车床，预算四十万")


def _settings(**env: str):  # type: ignore[no-untyped-def]
    return load_settings(env={f"SALESBOT_{k.upper()}": v for k, v in env.items()})


def test_push_time_and_working_days_only() -> None:
    from zoneinfo import ZoneInfo

    from scheduler.jobs import push_at

    sh = ZoneInfo("Asia/Shanghai")
    morning, holiday = datetime(2026, 3, 2, 10, 0, tzinfo=sh), datetime(2026, 10, 2, 10, 0, tzinfo=sh)
    assert push_at(_settings(), morning) == morning  # after 09:00 on a working day: at once
    assert push_at(_settings(alerts_push_time="14:00"), morning) == datetime(2026, 3, 2, 14, 0, tzinfo=sh)
    assert push_at(_settings(), holiday) == datetime(2026, 10, 8, 9, 0, tzinfo=sh)
    assert push_at(_settings(alerts_working_days_only="false"), holiday) == holiday


def test_cron_settings_set_the_clock_jobs() -> None:
    from zoneinfo import ZoneInfo

    from scheduler.setup import clock_jobs, last_tick

    sh = ZoneInfo("Asia/Shanghai")
    s = _settings(alerts_digest_cron="15 7 * * *", alerts_funnel_cron="0 18 * * fri", alerts_rules_cron="5 6 * * *")
    jobs = {j.name: j for j in clock_jobs(s)}
    def at(hh: int, mm: int) -> datetime:
        return datetime(2026, 3, 6, hh, mm, tzinfo=sh)  # a Friday

    assert last_tick(jobs["due_items"].trigger(sh), at(7, 20)) == at(7, 15)
    assert last_tick(jobs["rules"].trigger(sh), at(7, 20)) == at(6, 5)
    assert last_tick(jobs["weekly_funnel"].trigger(sh), at(18, 30)) == at(18, 0)
    assert last_tick(jobs["weekly_funnel"].trigger(sh), at(17, 30)) is None  # not yet this week


def test_rule_thresholds(tmp_path: Path) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from scheduler import jobs
    from store.models import Contract

    when = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
    for env, quote, unpaid in (({}, False, False),
                               ({"alerts_quote_no_reply_hours": "24", "alerts_unpaid_after_signing_days": "3",
                                 "alerts_collection_lead_days": "30"}, True, True)):
        bot = _bot(tmp_path / str(len(env)), when, **env)

        def seed(s):  # type: ignore[no-untyped-def]
            d = Deal(customer_id=1, owner_id=2, title="d", stage="quote", amount=Decimal(1), last_activity_at=when,
                     created_at=when, quote_sent_at=when - timedelta(hours=30))
            s.add(d)
            s.flush()
            s.add(Contract(deal_id=d.id, number="HT-9", signed_on=date(2026, 3, 5), amount=Decimal(100),
                           due_on=date(2026, 4, 1)))

        bot.db(seed)
        rules = {p.rule for p in bot.db(jobs.evaluate, bot.app.settings, when, None)}
        assert ("quote_no_reply" in rules) is quote and ("unpaid_contract" in rules) is unpaid


def test_retry_base_seconds(tmp_path: Path) -> None:
    from datetime import timedelta

    from store import alerts
    from store.models import Notification

    when = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    for base in (60, 5):
        bot = _bot(tmp_path / str(base), when, alerts_retry_base_seconds=str(base))
        bot.db(lambda s: s.add(Notification(dedupe_key="k", rule="message", recipient_id=2, body={"line": "x"},
                                            status="pending", attempts=0, next_attempt_at=when, created_at=when)))
        ids = bot.db(lambda s: [n.id for n in alerts.claim_due(s, when, "t", when + timedelta(minutes=5))])
        a = bot.app.settings.alerts
        bot.db(alerts.mark_failed, ids, "boom", when, a.retry_base_seconds, a.max_attempts, "t")
        assert bot.db(lambda s: s.get(Notification, ids[0]).next_attempt_at) == when + timedelta(seconds=base)


def test_wecom_callback_path_timestamp_window_and_body_limit(tmp_path: Path) -> None:
    """wecom.callback_path, wecom.timestamp_window_s and wecom.max_body_bytes, changed, seen at the
    callback route with real WeCom crypto."""
    import asyncio
    import time as clock

    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from bot.wecom import WecomChannel
    from tests import builders as b

    settings = load_settings(env=b.wecom_settings("http://127.0.0.1:9", callback_path="/hooks/wx",
                                                  timestamp_window_s="60", max_body_bytes="1500"))
    got: list[object] = []

    async def submit(msg: object) -> bool:
        got.append(msg)
        return True

    async def go() -> list[int]:
        channel = WecomChannel(settings.wecom)
        await channel.start(submit)  # type: ignore[arg-type]
        app = web.Application()
        channel.install(app)
        async with TestClient(TestServer(app)) as client:
            async def post(cb: b.Callback, path: str = "/hooks/wx") -> int:
                r = await client.post(path + cb.path()[cb.path().index("?"):], data=cb.body)
                return r.status

            fresh = b.encrypt_callback(b.text_fields("ZhangWei", "帮助"))
            old = b.encrypt_callback(b.text_fields("ZhangWei", "帮助"), timestamp=int(clock.time()) - 120)
            big = b.encrypt_callback(b.text_fields("ZhangWei", "很长的拜访记录" * 60))
            statuses = [await post(fresh), await post(fresh, "/wecom/callback"), await post(old), await post(big)]
        await channel.stop()
        return statuses

    assert asyncio.run(go()) == [200, 404, 403, 413] and len(got) == 1


def test_speech_settings_build_the_transcription_pool(tmp_path: Path) -> None:
    """speech.* reach the pool and the model loader (a GPU box sets device / compute_type; the
    model itself is loaded by tests/test_speech_whisper.py)."""
    from speech.pool import TranscriptionPool

    s = _settings(speech_device="cuda", speech_compute_type="float16", speech_cpu_threads="3", speech_workers="4",
                  speech_beam_size="2", speech_queue_size="5", speech_max_duration_s="60",
                  speech_cache_dir=str(tmp_path / "models"), speech_correct="false")
    pool = TranscriptionPool.from_settings(s.speech, progress=None)
    t = pool._shared  # the one transcriber the threads share
    assert (t.device, t.compute_type, t.cpu_threads, t.beam_size, t.max_duration_s, t.cache_dir, t.correct) == (
        "cuda", "float16", 3, 2, 60.0, str(tmp_path / "models"), False)
    assert pool.workers == 4 and pool.capacity == 9 and not t.loaded
    pool.shutdown()
    proc = TranscriptionPool.from_settings(_settings(speech_pool_mode="process", speech_workers="2").speech,
                                           progress=None)
    assert proc.mode == "process" and proc.workers == 2
    proc.shutdown()


def test_queue_settings_reach_the_shared_queues_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """queue.concurrency, poll_seconds and stalled_seconds are what procrastinate's worker runs with."""
    import asyncio

    pytest.importorskip("procrastinate")  # the postgres extra (CI's PostgreSQL pass installs it)

    from bot.workqueue import SharedQueue

    s = _settings(database_url="postgresql+psycopg://u:p@db.invalid/x", queue_concurrency="7",
                  queue_poll_seconds="2.5", queue_stalled_seconds="90")
    q = SharedQueue(s.database.url, s.queue, lambda _i: asyncio.sleep(0))
    seen: dict[str, object] = {}

    async def fake_worker(**kw: object) -> None:
        seen.update(kw)

    async def no_open() -> None:
        return None

    monkeypatch.setattr(q, "_open", no_open)
    monkeypatch.setattr(q.app, "run_worker_async", fake_worker)

    async def go() -> None:
        await q.start(["notes", "asr"])
        await asyncio.sleep(0)
        for t in q._tasks:
            t.cancel()
        await asyncio.gather(*q._tasks, return_exceptions=True)

    asyncio.run(go())
    assert seen["concurrency"] == 7 and seen["fetch_job_polling_interval"] == 2.5
    assert seen["stalled_worker_timeout"] == 90 and seen["queues"] == ["notes", "asr"]
