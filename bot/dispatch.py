"""Inbox-first dispatch: persist, acknowledge, then work — per sender, in order.

`submit` writes the message to the inbox (a duplicate `(channel, msg_id)` is dropped there) and
returns; a per-sender queue processes it in a tracked task; the reply goes back through the
message's channel. Rows still pending after a crash are resumed by `resume_pending` at start-up.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import datetime
from typing import Any

from bot import metrics
from bot.types import Channel, IncomingMessage, Kind, Media, Peer, Reply
from handlers import texts
from handlers.router import Context, Rejected, Router, Services
from store import repos

log = logging.getLogger(__name__)


def to_payload(msg: IncomingMessage) -> dict[str, Any]:
    d = asdict(msg)
    d["kind"] = msg.kind.value
    d["received_at"] = msg.received_at.isoformat()
    return d


def from_payload(d: dict[str, Any]) -> IncomingMessage:
    return IncomingMessage(
        channel=d["channel"],
        msg_id=d["msg_id"],
        sender=Peer(**d["sender"]),
        kind=Kind(d["kind"]),
        received_at=datetime.fromisoformat(d["received_at"]),
        text=d.get("text", ""),
        media=Media(**d["media"]) if d.get("media") else None,
        platform_transcript=d.get("platform_transcript"),
        event=d.get("event"),
    )


class Dispatcher:
    def __init__(self, svc: Services, router: Router, channels: dict[str, Channel]) -> None:
        self.svc = svc
        self.router = router
        self.channels = channels
        self._queues: dict[tuple[str, str], asyncio.Queue[tuple[int, IncomingMessage]]] = {}
        self._workers: set[asyncio.Task[None]] = set()

    # -- intake -----------------------------------------------------------------

    async def submit(self, msg: IncomingMessage) -> bool:
        """Persist then queue; returns False for a duplicate. Safe to acknowledge after it returns."""
        inbox_id = await self.svc.db.run(
            repos.inbox_insert, msg.channel, msg.msg_id, msg.sender.user_id, msg.kind.value,
            to_payload(msg), msg.received_at,
        )
        if inbox_id is None:
            log.info("duplicate message %s dropped", msg.source_key)
            return False
        self._enqueue(inbox_id, msg)
        return True

    async def resume_pending(self) -> int:
        """Queue every inbox row left pending by a crash or restart, oldest first."""
        rows = await self.svc.db.run(repos.inbox_pending)
        for row in rows:
            self._enqueue(row.id, from_payload(row.payload))  # type: ignore[arg-type]
        if rows:
            log.info("resumed %d pending inbox messages", len(rows))
        return len(rows)

    def _enqueue(self, inbox_id: int, msg: IncomingMessage) -> None:
        key = (msg.channel, msg.sender.user_id)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            task = asyncio.create_task(self._worker(key, queue))
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        queue.put_nowait((inbox_id, msg))

    async def _worker(self, key: tuple[str, str], queue: asyncio.Queue[tuple[int, IncomingMessage]]) -> None:
        while True:
            inbox_id, msg = await queue.get()
            try:
                await self.process(inbox_id, msg)
            finally:
                queue.task_done()
            if queue.empty():  # the sender went quiet: let the worker end
                del self._queues[key]
                return

    # -- work ---------------------------------------------------------------------

    async def process(self, inbox_id: int, msg: IncomingMessage) -> Reply:
        """Handle one stored message and send the reply; the inbox row records the outcome."""
        await self.svc.db.run(repos.inbox_started, inbox_id)
        channel = self.channels.get(msg.channel)
        try:
            reply = await self.handle(msg, inbox_id)
        except Rejected as exc:  # an input we cannot use: a clear answer, and the row says why
            await self.svc.db.run(repos.inbox_finish, inbox_id, "failed", str(exc))
            metrics.MESSAGES_FAILED.inc(channel=msg.channel)
            if channel is not None:
                await self._send(channel, msg, exc.reply)
            return exc.reply
        except Exception as exc:  # the user gets a friendly line; the operator gets the trace
            log.exception("handling %s failed", msg.source_key)
            await self.svc.db.run(repos.inbox_finish, inbox_id, "failed", f"{type(exc).__name__}: {exc}")
            metrics.MESSAGES_FAILED.inc(channel=msg.channel)
            reply = Reply(texts.INTERNAL_ERROR)
            if channel is not None:
                await self._send(channel, msg, reply)
            return reply
        if channel is not None:
            await self._send(channel, msg, reply)
        await self.svc.db.run(repos.inbox_finish, inbox_id, "done")
        metrics.MESSAGES_PROCESSED.inc(channel=msg.channel)
        return reply

    async def _send(self, channel: Channel, msg: IncomingMessage, reply: Reply) -> None:
        if not reply.text:
            return
        try:
            await channel.send(msg.sender, reply)
        except Exception:
            log.exception("sending the reply to %s failed", msg.source_key)

    async def handle(self, msg: IncomingMessage, inbox_id: int | None = None) -> Reply:
        """Route one message to its handler and return the reply (no inbox, no sending)."""
        user = await self.svc.db.run(repos.user_by_identity, msg.channel, msg.sender.user_id)
        if user is None:
            return Reply(texts.NOT_REGISTERED)
        if msg.kind in (Kind.IMAGE, Kind.FILE):
            return Reply(texts.UNSUPPORTED)
        handler, args = self.router.resolve(msg)
        if handler is None:
            if msg.kind is Kind.TEXT and args:
                return Reply(texts.UNKNOWN_COMMAND.format(word=args))
            if msg.kind is Kind.EVENT:  # platform events we do not act on get no answer
                return Reply("")
            return Reply(texts.UNSUPPORTED)
        channel = self.channels.get(msg.channel)

        async def say(line: str) -> None:
            if channel is not None:
                await self._send(channel, msg, Reply(line))

        ctx = Context(svc=self.svc, msg=msg, user=user, args=args, say=say, inbox_id=inbox_id,
                      fetch_media=channel.fetch_media if channel is not None else None)
        return await handler(ctx)

    async def drain(self) -> None:
        """Wait until every queued message is processed (tests, `salesbot say`, shutdown)."""
        while self._workers:
            await asyncio.gather(*list(self._workers), return_exceptions=True)
