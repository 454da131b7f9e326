"""Group commit of inbox writes: many submits share one transaction, none is acknowledged early."""
from __future__ import annotations

import asyncio
import sqlite3
import threading
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot import dispatch
from bot.console import console_message
from bot.dispatch import InboxWriteError, from_payload, to_payload
from bot.types import IncomingMessage, Kind, Media, Peer, Reply
from store import repos
from tests.conftest import NOW, PG_URL, Bot


def _msgs(n: int, prefix: str = "g", users: tuple[str, ...] = ("zhang", "li", "wang", "zhao")) -> list[IncomingMessage]:
    return [console_message(users[i % len(users)], f"{prefix}{i}", f"{prefix}-{i}", NOW + timedelta(seconds=i))
            for i in range(n)]


@pytest.fixture
def handled(bot: Bot) -> list[tuple[str, str]]:
    """Replace the handlers with a recorder: (sender, text) in processing order."""
    seen: list[tuple[str, str]] = []

    async def handle(msg: IncomingMessage, inbox_id: int | None = None) -> Reply:
        seen.append((msg.sender.user_id, msg.text))
        return Reply("")

    bot.app.dispatcher.handle = handle  # type: ignore[method-assign]
    return seen


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the inbox transactions, in order."""
    sizes: list[int] = []
    real = repos.inbox_insert_many

    def counting(s: Any, rows: list[dict[str, Any]]) -> list[int | None]:
        sizes.append(len(rows))
        return real(s, rows)

    monkeypatch.setattr(repos, "inbox_insert_many", counting)
    return sizes


def _rows(bot: Bot) -> list[tuple[int, str, str]]:
    engine = create_engine(bot.app.svc.db.url)  # a fresh connection: sees committed rows only
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("select id, msg_id, status from inbox order by id"))]
    finally:
        engine.dispose()


def test_concurrent_submits_share_transactions_and_keep_order(bot: Bot, handled: list, batches: list) -> None:
    msgs = _msgs(600)

    async def go() -> list[bool]:
        got = await asyncio.gather(*(bot.app.dispatcher.submit(m) for m in msgs))
        await bot.app.dispatcher.drain()
        return got

    assert asyncio.run(go()) == [True] * 600
    assert batches == [dispatch.BATCH_MAX, dispatch.BATCH_MAX, 600 - 2 * dispatch.BATCH_MAX]
    rows = _rows(bot)
    assert [r[1] for r in rows] == [m.msg_id for m in msgs]  # one row each, ids in submit order
    assert len(handled) == 600
    for user in ("zhang", "li", "wang", "zhao"):  # per-sender order unchanged
        assert [t for u, t in handled if u == user] == [m.text for m in msgs if m.sender.user_id == user]


def test_duplicates_in_one_batch_and_against_stored_rows(bot: Bot, handled: list, batches: list) -> None:
    first = _msgs(3, "d")
    again = _msgs(5, "d")  # d-0 … d-2 are stored already, d-3 and d-4 are new

    async def go() -> tuple[list[bool], list[bool]]:
        a = await asyncio.gather(*(bot.app.dispatcher.submit(m) for m in first))
        b = await asyncio.gather(*(bot.app.dispatcher.submit(m) for m in [*again, again[3], again[4], again[3]]))
        await bot.app.dispatcher.drain()
        return a, b

    a, b = asyncio.run(go())
    assert a == [True] * 3
    assert b == [False, False, False, True, True, False, False, False]
    assert batches == [3, 8]
    assert [r[1] for r in _rows(bot)] == ["d-0", "d-1", "d-2", "d-3", "d-4"]
    assert sorted(t for _, t in handled) == ["d0", "d1", "d2", "d3", "d4"]  # each processed once


def test_failed_batch_fails_every_waiter_and_stores_nothing(bot: Bot, handled: list,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    real = repos.inbox_insert_many

    def insert_then_fail(s: Any, rows: list[dict[str, Any]]) -> list[int | None]:
        real(s, rows)  # the rows are written inside the transaction …
        raise RuntimeError("disk full")  # … which then fails and rolls back

    monkeypatch.setattr(repos, "inbox_insert_many", insert_then_fail)
    msgs = _msgs(20, "f")

    async def go() -> list[Any]:
        got = await asyncio.gather(*(bot.app.dispatcher.submit(m) for m in msgs), return_exceptions=True)
        await bot.app.dispatcher.drain()
        return got

    got = asyncio.run(go())
    assert all(isinstance(e, InboxWriteError) and isinstance(e.__cause__, RuntimeError) for e in got)
    assert len({id(e) for e in got}) == 20  # one exception per waiter, not one shared traceback
    assert _rows(bot) == [] and handled == []

    monkeypatch.setattr(repos, "inbox_insert_many", real)  # the platform delivers again: stored now

    async def retry() -> list[bool]:
        got = await asyncio.gather(*(bot.app.dispatcher.submit(m) for m in msgs))
        await bot.app.dispatcher.drain()
        return got

    assert asyncio.run(retry()) == [True] * 20
    assert len(_rows(bot)) == 20 and len(handled) == 20


def test_submit_returns_only_after_its_row_is_committed(bot: Bot, handled: list,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real = repos.inbox_insert_many
    release, written = threading.Event(), threading.Event()

    def slow(s: Any, rows: list[dict[str, Any]]) -> list[int | None]:
        ids = real(s, rows)
        written.set()
        release.wait(10)  # rows written, transaction not yet committed
        return ids

    monkeypatch.setattr(repos, "inbox_insert_many", slow)
    msgs = _msgs(30, "c")
    visible: list[bool] = []

    async def submit_and_look(m: IncomingMessage) -> None:
        assert await bot.app.dispatcher.submit(m)
        visible.append(m.msg_id in {r[1] for r in _rows(bot)})  # what an ack would promise

    async def go() -> None:
        tasks = [asyncio.create_task(submit_and_look(m)) for m in msgs]
        assert await asyncio.to_thread(written.wait, 10)  # the batch is in its transaction
        assert not any(t.done() for t in tasks) and _rows(bot) == []  # nobody acknowledged yet
        release.set()
        await asyncio.gather(*tasks)
        await bot.app.dispatcher.drain()

    asyncio.run(go())
    assert visible == [True] * 30


def test_a_submitter_that_gives_up_mid_transaction_still_gets_its_row_processed(
        bot: Bot, handled: list, monkeypatch: pytest.MonkeyPatch) -> None:
    real = repos.inbox_insert_many
    release, started = threading.Event(), threading.Event()

    def slow(s: Any, rows: list[dict[str, Any]]) -> list[int | None]:
        started.set()
        release.wait(10)
        return real(s, rows)

    monkeypatch.setattr(repos, "inbox_insert_many", slow)
    msg = _msgs(1, "x")[0]

    async def go() -> None:
        task = asyncio.create_task(bot.app.dispatcher.submit(msg))
        assert await asyncio.to_thread(started.wait, 10)  # the transaction has begun
        task.cancel()  # e.g. the HTTP client went away: no ack, but the row is being written
        release.set()
        await bot.app.dispatcher.drain()

    asyncio.run(go())
    assert [r[1:] for r in _rows(bot)] == [("x-0", "done")] and handled == [("zhang", "x0")]


@pytest.mark.skipif(bool(PG_URL), reason="checks the SQLite file itself")
def test_rows_are_in_the_sqlite_file(bot: Bot, handled: list) -> None:
    msgs = _msgs(50, "s")

    async def go() -> None:
        assert all(await asyncio.gather(*(bot.app.dispatcher.submit(m) for m in msgs)))

    asyncio.run(go())  # no drain: stored is enough, as after a crash right after the acks
    con = sqlite3.connect(bot.path)
    try:
        assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert [r[0] for r in con.execute("select msg_id from inbox order by id")] == [m.msg_id for m in msgs]
    finally:
        con.close()


def test_payload_is_the_dataclass_dict_and_round_trips() -> None:
    msgs = [console_message("zhang", "hi", "p-1", NOW),
            IncomingMessage("wecom", "p-2", Peer("wecom", "u1", "conv"), Kind.VOICE, NOW, text="t",
                            media=Media("mid", "amr"), platform_transcript="识别", event="button")]
    for m in msgs:
        want = asdict(m)
        want["kind"], want["received_at"] = m.kind.value, m.received_at.isoformat()
        assert to_payload(m) == want
        assert from_payload(to_payload(m)) == m
