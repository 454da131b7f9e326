"""Shared fixtures: an app on a temporary SQLite file with a small team and customer list."""
from __future__ import annotations

import asyncio
import itertools
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.config import load_settings
from bot.console import console_message
from handlers.crm import normalized_name
from store import repos
from tests.fakes import FakeChannel, FixedClock

# Monday 2026-01-05 11:40 Asia/Shanghai
NOW = datetime(2026, 1, 5, 3, 40, tzinfo=timezone.utc)

TEAM = [("wang", "王经理", "manager", None), ("zhang", "张伟", "rep", "wang"),
        ("li", "李娜", "rep", "wang"), ("zhao", "赵强", "rep", None)]
CUSTOMERS = [("苏州恒达精密机械有限公司", "苏州", "zhang"), ("无锡宏远数控设备有限公司", "无锡", "zhang"),
             ("康博生物医疗科技(上海)有限公司", "上海", "li"), ("宁波锦泰液压设备有限公司", "宁波", "li")]


@dataclass
class Bot:
    """Drives the app the way a channel does: submit, then wait for the reply."""

    app: App
    channel: FakeChannel
    clock: FixedClock
    path: Path
    _ids = itertools.count(1)

    def say(self, user: str, text: str, msg_id: str | None = None) -> str:
        return asyncio.run(self.asay(user, text, msg_id))

    async def asay(self, user: str, text: str, msg_id: str | None = None) -> str:
        before = len(self.channel.sent)
        msg = console_message(user, text, msg_id or f"m{next(self._ids)}", self.clock.now())
        await self.app.dispatcher.submit(msg)
        await self.app.dispatcher.drain()
        new = self.channel.texts()[before:]
        return "\n".join(new)

    def replay(self, msg_id: str) -> str:
        """Process a stored message again, as after a crash before its inbox row was closed."""
        from bot.dispatch import from_payload
        from sqlmodel import select

        from store.models import InboxMessage

        row = self.db(lambda s: s.exec(select(InboxMessage).where(InboxMessage.msg_id == msg_id)).one())
        # what the handler answers this time (a message already answered is not answered twice)
        return asyncio.run(self.app.dispatcher.process(row.id, from_payload(row.payload))).text

    def db(self, fn, *a):  # type: ignore[no-untyped-def]
        return self.app.svc.db.call(fn, *a)


# Set to a PostgreSQL URL to run the suite there too (each test starts from an empty schema).
PG_URL = os.environ.get("SALESBOT_TEST_DATABASE_URL")


def db_url(path: Path) -> str:
    return PG_URL or f"sqlite:///{path}"


def reset_postgres() -> None:
    from sqlalchemy import create_engine, text

    from store.db import Database

    engine = create_engine(PG_URL)  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    db = Database(PG_URL)  # type: ignore[arg-type]
    db.upgrade()  # what `salesbot db upgrade` does
    db.dispose()


def make_app(path: Path, clock: FixedClock) -> tuple[App, FakeChannel]:
    # one box: messages run in-process on PostgreSQL too (tests/test_multibox.py shares the queue)
    settings = load_settings(env={"SALESBOT_DATABASE_URL": db_url(path), "SALESBOT_QUEUE_MODE": "local"})
    app = build_app(settings, clock=clock)
    channel = FakeChannel("console")
    app.add_channel(channel)
    return app, channel


def seed_team(app: App) -> None:
    def seed(s):  # type: ignore[no-untyped-def]
        users = {}
        for cid, name, role, mgr in TEAM:
            users[cid] = repos.add_user(s, name, role, users.get(mgr) if mgr else None, {"console": cid})
        for name, region, owner in CUSTOMERS:
            repos.add_customer(s, name, normalized_name(name), users[owner].id, region)

    app.svc.db.call(seed)


@pytest.fixture
def bot(tmp_path: Path) -> Bot:
    clock = FixedClock(NOW)
    if PG_URL:
        reset_postgres()
    app, channel = make_app(tmp_path / "salesbot.db", clock)
    seed_team(app)
    yield Bot(app, channel, clock, tmp_path / "salesbot.db")
    app.svc.db.dispose()
