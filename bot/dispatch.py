"""Inbox-first dispatch: persist, acknowledge, then work — per sender, in order.

`submit` writes the message to the inbox (a duplicate `(channel, msg_id)` is dropped there) and
returns; the work queue (bot/workqueue.py) runs it, one message at a time per sender: in this
process on one SQLite box (rows still pending after a crash are resumed by `resume_pending` at
start-up), on procrastinate's queue that every box shares on PostgreSQL (the job is deferred in
the inbox transaction). The reply goes back through the message's channel.

Inbox writes are group-committed: one writer task takes every message submitted while the
previous transaction was running and stores them all in one transaction (one WAL commit and
one thread hop instead of one per message; bench/webhook_bench.py, bench/RESULTS.md "Webhook").
Each `submit` still returns only after its own row is committed, so an acknowledged message is
always in the inbox; a failed transaction fails every submit in it, and their callers answer
non-2xx so the platform delivers again.
"""
from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot import metrics
from bot.notifier import ReplyOutbox, round_token
from bot.types import Channel, IncomingMessage, Kind, Media, Peer, Reply, reply_body
from bot.workqueue import WorkQueue, make_queue
from handlers import texts
from handlers.router import Context, Rejected, Router, Services
from store import replies, repos

log = logging.getLogger(__name__)

BATCH_MAX = 256  # messages per inbox transaction: bounds one batch's time on the db thread

_MSG_FIELDS = tuple(f.name for f in fields(IncomingMessage))
_PEER_FIELDS = tuple(f.name for f in fields(Peer))
_MEDIA_FIELDS = tuple(f.name for f in fields(Media))


# Terminal escape sequences (CSI such as "\x1b[31m", OSC, and two-character ESC forms).
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_INVISIBLE = frozenset(("Cc", "Cf", "Cs", "Co"))


def clean_text(text: str) -> str:
    """Invisible junk out before anything is stored or echoed: terminal escapes, control and
    format characters (zero-width spaces, bidi overrides); line breaks and tabs stay."""
    if text.isprintable():
        return text
    text = _ESCAPES.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in _INVISIBLE)


def clean_message(msg: IncomingMessage) -> IncomingMessage:
    if msg.text.isprintable() and (msg.platform_transcript or "").isprintable():
        return msg
    transcript = clean_text(msg.platform_transcript) if msg.platform_transcript else msg.platform_transcript
    return replace(msg, text=clean_text(msg.text), platform_transcript=transcript)


class InboxWriteError(Exception):
    """The inbox transaction holding this message failed: it is not stored, do not acknowledge."""


def to_payload(msg: IncomingMessage) -> dict[str, Any]:
    """The JSON form of a message (same dict as `dataclasses.asdict`).

    Built field by field: asdict's recursive deep copy cost 20 µs per callback, and every
    field holds an immutable value.
    """
    d = {name: getattr(msg, name) for name in _MSG_FIELDS}
    d["sender"] = {name: getattr(msg.sender, name) for name in _PEER_FIELDS}
    if msg.media is not None:
        d["media"] = {name: getattr(msg.media, name) for name in _MEDIA_FIELDS}
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


def _inbox_row(msg: IncomingMessage) -> dict[str, Any]:
    return {"channel": msg.channel, "msg_id": msg.msg_id, "sender": msg.sender.user_id,
            "kind": msg.kind.value, "payload": to_payload(msg), "received_at": msg.received_at}


class Dispatcher:
    def __init__(self, svc: Services, router: Router, channels: dict[str, Channel]) -> None:
        self.svc = svc
        self.router = router
        self.channels = channels
        # in-process per-sender queues on SQLite; procrastinate's shared queue on PostgreSQL
        self.queue: WorkQueue = make_queue(svc.db.url, svc.settings.queue, self.process, self.process_stored)
        self.replies = ReplyOutbox(svc, channels)
        # submitted, not yet in a transaction: (message, its inbox row, the submitter's future)
        self._intake: list[tuple[IncomingMessage, dict[str, Any], asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._inbox_thread: ThreadPoolExecutor | None = None

    # -- intake -----------------------------------------------------------------

    async def submit(self, msg: IncomingMessage) -> bool:
        """Persist then queue; returns False for a duplicate. Safe to acknowledge after it returns.

        Returns only once the transaction holding the message has committed; raises
        InboxWriteError when it failed (nothing of that batch is stored).
        """
        msg = clean_message(msg)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._intake.append((msg, _inbox_row(msg), fut))
        writer = self._writer
        if writer is None or writer.done() or writer.get_loop() is not loop:
            if writer is not None and not writer.done():  # its loop is gone; so are its waiters
                self._intake = [e for e in self._intake if e[2].get_loop() is loop]
            self._writer = loop.create_task(self._write_inbox())
        return await fut

    async def _write_inbox(self) -> None:
        """The single inbox writer: one transaction per batch of waiting submits, in submit order.

        Per-sender order holds because batches commit one after another and each batch is
        queued for processing in submit order before the next one starts.
        """
        batch: list[tuple[IncomingMessage, dict[str, Any], asyncio.Future[bool]]] = []
        try:
            while self._intake:
                batch = [e for e in self._intake[:BATCH_MAX] if not e[2].done()]  # skip cancelled
                del self._intake[:BATCH_MAX]
                if not batch:
                    continue
                try:
                    ids = await self._store(batch)
                except Exception as exc:  # noqa: BLE001 - to every waiter (→ non-2xx, redelivery)
                    log.error("inbox write of %d messages failed: %s: %s",
                              len(batch), type(exc).__name__, exc)
                    _fail(batch, exc)
                    batch = []
                    continue
                for (msg, _, fut), inbox_id in zip(batch, ids):
                    if inbox_id is None:
                        log.info("duplicate message %s dropped", msg.source_key)
                    else:  # queued even if its submitter gave up: the row is stored
                        self._enqueue(inbox_id, msg)
                    if not fut.done():
                        fut.set_result(inbox_id is not None)
                batch = []
        finally:  # cancelled (shutdown): whoever still waits must not acknowledge
            stopped = RuntimeError("inbox writer stopped")
            _fail(batch, stopped)
            _fail(self._intake, stopped)
            self._intake.clear()

    async def _store(self, batch: list[tuple[IncomingMessage, dict[str, Any], asyncio.Future[bool]]]
                     ) -> list[int | None]:
        """One transaction on the inbox's own thread: acks never queue behind processing's
        database calls in the default pool. A queue that stores a batch with one statement has it
        sent alone, without a transaction around it (one round trip instead of four)."""
        if self._inbox_thread is None:
            self._inbox_thread = ThreadPoolExecutor(1, thread_name_prefix="salesbot-inbox")
        write = self.svc.db.call_statement if self.queue.one_statement else self.svc.db.call
        return await asyncio.get_running_loop().run_in_executor(self._inbox_thread, write, self._insert, batch)

    def _insert(self, s: Session, batch: list[tuple[IncomingMessage, dict[str, Any], asyncio.Future[bool]]]
                ) -> list[int | None]:
        """The inbox rows, and on a shared queue their jobs, in one transaction."""
        return self.queue.insert(s, [row for _, row, _ in batch], [msg for msg, _, _ in batch])

    async def resume_pending(self) -> int:
        """Queue every inbox row left pending by a crash or restart, oldest first (in-process
        queue only: a shared queue's jobs outlive the process)."""
        if self.queue.shared:
            return 0
        rows = await self.svc.db.run(repos.inbox_pending)
        for row in rows:
            self._enqueue(row.id, from_payload(row.payload))  # type: ignore[arg-type]
        if rows:
            log.info("resumed %d pending inbox messages", len(rows))
        return len(rows)

    def _enqueue(self, inbox_id: int, msg: IncomingMessage) -> None:
        self.queue.enqueue(inbox_id, msg)

    # -- work ---------------------------------------------------------------------

    async def process_stored(self, inbox_id: int) -> None:
        """A shared-queue job: process the stored message unless it already was (a job put back
        after its box died may find the row done)."""
        row = await self.svc.db.run(repos.inbox_row, inbox_id)
        if row is None or row.status != "pending":
            log.info("inbox %s already %s: nothing to do", inbox_id, row.status if row else "gone")
            return
        await self.process(inbox_id, from_payload(row.payload))  # type: ignore[arg-type]

    async def process(self, inbox_id: int, msg: IncomingMessage) -> Reply:
        """Handle one stored message and answer it; the inbox row records the outcome.

        The answer is stored in the transaction that closes the row (store/replies.py), then sent:
        a failed send is retried by the reply outbox, and an answer stored by a box that then died
        is sent by another, so a processed message is never left unanswered."""
        await self.svc.db.run(repos.inbox_started, inbox_id)
        status, error = "done", None
        try:
            reply = await self.handle(msg, inbox_id)
        except Rejected as exc:  # an input we cannot use: a clear answer, and the row says why
            status, error, reply = "failed", str(exc), exc.reply
        except Exception as exc:  # the user gets a friendly line; the operator gets the trace
            log.exception("handling %s failed", msg.source_key)
            status, error, reply = "failed", f"{type(exc).__name__}: {exc}", Reply(texts.INTERNAL_ERROR)
        (metrics.MESSAGES_PROCESSED if status == "done" else metrics.MESSAGES_FAILED).inc(channel=msg.channel)
        await self._answer(inbox_id, msg, status, error, reply)
        return reply

    async def _answer(self, inbox_id: int, msg: IncomingMessage, status: str, error: str | None,
                      reply: Reply) -> None:
        channel = self.channels.get(msg.channel)
        now = self.svc.clock.now()
        token = round_token() if channel is not None else None  # no channel here: any box may send it
        lease = self.replies.lease(now) if channel is not None else None
        reply_id = await self.svc.db.run(replies.finish, inbox_id, status, error, msg.channel,
                                         msg.sender.user_id, reply_body(reply), token, lease, now)
        if reply_id is not None and channel is not None and token is not None:
            async with self.replies.kept(token):  # a wait for the platform's limit keeps the claim
                await self.replies.send(channel, reply_id, token, msg.sender, replace(reply, key=f"reply-{reply_id}"))

    async def _send(self, channel: Channel, msg: IncomingMessage, reply: Reply) -> None:
        """A progress line (正在识别…): sent at once, not kept; the answer itself is."""
        if not reply.text:
            return
        try:
            await channel.send(msg.sender, reply)
        except Exception:
            log.exception("sending a progress line to %s failed", msg.source_key)

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
        """Wait until every submitted message is stored and processed (tests, `salesbot say`,
        shutdown); on a shared queue, until the inbox has nothing pending, on any box."""
        loop = asyncio.get_running_loop()
        while True:
            writer = self._writer
            if writer is not None and not writer.done() and writer.get_loop() is loop:
                await asyncio.wait([writer])
            elif self.queue.busy:
                await self.queue.wait()
            elif self.queue.shared and await self._pending_anywhere():
                await asyncio.sleep(0.05)
            else:
                return

    async def _pending_anywhere(self) -> bool:
        pending: int = await self.svc.db.run(repos.inbox_pending_count)
        return pending > 0


def _fail(entries: list[tuple[IncomingMessage, dict[str, Any], asyncio.Future[bool]]],
          cause: BaseException) -> None:
    """Fail each still-waiting submit with its own exception (one shared instance would collect
    every waiter's traceback)."""
    for msg, _, fut in entries:
        if not fut.done():
            err = InboxWriteError(f"storing {msg.source_key} failed: {cause!r}")
            err.__cause__ = cause
            fut.set_exception(err)
