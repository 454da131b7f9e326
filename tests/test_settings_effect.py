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
