"""Outbox delivery: pending pushes → one digest per recipient → their channel, with retries.

Rows are only ever marked sent after the channel accepted the message, so a crash or a failed
send means "try again later" (exponential backoff), never "lost"; after `max_attempts` a row
is marked dead and shows up in `salesbot outbox --status dead`. Quiet hours defer, never drop.
Rows are claimed before they are sent, so boxes sharing a database send each once.

Answers to inbound messages (`ReplyOutbox`) follow the same rules without quiet hours: stored
with the message's outcome, sent at once, retried when that fails or their box died.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from bot.config import Settings
from bot.types import Channel, Peer, Reply, reply_from_body
from handlers import texts
from handlers.router import Services
from scheduler.workdays import is_workday
from store import alerts, replies, repos
from store.db import BOX
from store.models import Notification, OutgoingReply

log = logging.getLogger(__name__)


def holding(settings: Settings, now: datetime) -> bool:
    """Pushes wait: inside quiet hours, or on a day off when pushes go on working days only."""
    day_off = settings.alerts.working_days_only and not is_workday(now.astimezone(settings.tz).date())
    return day_off or in_quiet_hours(settings, now)


def in_quiet_hours(settings: Settings, now: datetime) -> bool:
    if not settings.alerts.quiet_hours:
        return False
    start_s, end_s = settings.alerts.quiet_hours.split("-")
    start, end = time.fromisoformat(start_s), time.fromisoformat(end_s)
    t = now.astimezone(settings.tz).time()
    return (start <= t or t < end) if start > end else (start <= t < end)


def _funnel_chart(settings: Settings, rows: list[Any]) -> bytes | None:
    """The weekly funnel as a chart (the newest report in the digest), for channels that take images."""
    from scheduler.chart import FunnelBar, funnel_chart_png

    reports = [r.body for r in rows if r.rule == "weekly_funnel" and r.body.get("bars")]
    if not reports:
        return None
    f = reports[-1]
    bars = [FunnelBar(label, count, Decimal(amount), conv) for label, count, amount, conv in f["bars"]]
    return funnel_chart_png(texts.funnel_title(f), bars)


LATE_NOTICE_SECONDS = 30  # an answer this late says so …
LATE_NOTICE_QUIET = timedelta(minutes=10)  # … once per person in this long


def round_token() -> str:
    """Names one delivery round of this process in the rows it claims."""
    return f"{BOX}:{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def renewing(svc: Services, model: type[Notification | OutgoingReply], token: str,
                   claim_seconds: float, every: float) -> AsyncIterator[None]:
    """While the block runs, extend round `token`'s claim every `every` seconds to `claim_seconds`
    ahead: a send that waits for a platform's rate limit longer than the claim is not taken over,
    and sent a second time, by another box. A box that dies stops renewing; its rows come free
    when the last claim runs out, as before."""
    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            until = svc.clock.now() + timedelta(seconds=claim_seconds)
            try:
                await svc.db.run(alerts.renew_claim, model, token, until)
            except Exception as exc:  # noqa: BLE001 - the claim runs out as if this box had died
                log.warning("renewing the claim of delivery round %s failed: %s", token, exc)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class ReplyOutbox:
    """Answers to inbound messages: stored before they are sent (store/replies.py), sent by the
    box that made them, and, when that fails or the box dies, by any box later."""

    def __init__(self, svc: Services, channels: Mapping[str, Channel]) -> None:
        self.svc = svc
        self.channels = channels
        self._told: dict[tuple[str, str], datetime] = {}  # who was told their answers come late, when
        self.renew_every = svc.settings.queue.reply_claim_seconds / 3  # seconds; shorter in tests

    def lease(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.svc.settings.queue.reply_claim_seconds)

    def kept(self, token: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Keeps the claim of round `token` alive while its answers are being sent."""
        return renewing(self.svc, OutgoingReply, token, self.svc.settings.queue.reply_claim_seconds,
                        self.renew_every)

    async def send(self, channel: Channel, reply_id: int, token: str, peer: Peer, reply: Reply,
                   now: datetime | None = None) -> bool:
        """One try at an answer this round holds (at `now`); its row records how it went."""
        q = self.svc.settings.queue
        now = now or self.svc.clock.now()
        try:
            await channel.send(peer, reply)
        except Exception as exc:  # noqa: BLE001 - kept and retried with backoff
            log.warning("answer %s to %s not delivered: %s", reply_id, peer.user_id, exc)
            status = await self.svc.db.run(replies.mark_failed, reply_id, token, f"{type(exc).__name__}: {exc}",
                                           now, q.reply_retry_seconds, timedelta(hours=q.reply_give_up_hours))
            if status == "dead":
                log.error("answer %s to %s given up after %s h", reply_id, peer.user_id, q.reply_give_up_hours)
            return False
        if not await self.svc.db.run(replies.mark_sent, reply_id, token, now):
            log.warning("answer %s outlasted its claim (queue.reply_claim_seconds)", reply_id)
        if reply.resend and (n := await self.svc.db.run(replies.expedite, channel.name, now)):
            log.info("%s takes answers again: %d waiting answers brought forward", channel.name, n)
        return True

    def _tell_late(self, channel: str, peer: str, late: timedelta, now: datetime) -> bool:
        """Whether this late answer says it is late: once per person and outage (not again
        within LATE_NOTICE_QUIET of the last time this box said it)."""
        last = self._told.get((channel, peer))
        return late.total_seconds() >= LATE_NOTICE_SECONDS and (last is None or now - last >= LATE_NOTICE_QUIET)

    async def deliver_due(self, now: datetime | None = None) -> int:
        """Send the stored answers that are due here (failed before, or left by a dead box)."""
        now = now or self.svc.clock.now()
        token = round_token()
        rows = await self.svc.db.run(replies.claim, now, token, self.lease(now), list(self.channels))
        sent = 0
        if rows:
            async with self.kept(token):
                for r in rows:
                    sent += await self._deliver(r, token, now)
        if self._told:  # forget notices past their quiet time: the memory stays one outage long
            self._told = {k: t for k, t in self._told.items() if now - t < LATE_NOTICE_QUIET}
        return sent

    async def _deliver(self, r: OutgoingReply, token: str, now: datetime) -> bool:
        """One claimed answer of a round; a late one says it is late (once per person and outage)."""
        # a retry may follow a partial success (the text went, the card did not): a resend too
        reply = reply_from_body(r.body, key=f"reply-{r.id}", resend=r.in_doubt or r.attempts > 0)
        tell = r.attempts > 0 and self._tell_late(r.channel, r.peer, now - r.created_at, now)
        if tell:
            minutes = max(1, round((now - r.created_at).total_seconds() / 60))
            reply = dataclasses.replace(reply, text=texts.REPLY_LATE.format(minutes=minutes) + "\n" + reply.text)
        ok = await self.send(self.channels[r.channel], r.id or 0, token, Peer(r.channel, r.peer), reply, now)
        if ok and tell:
            self._told[(r.channel, r.peer)] = now  # said once: not again in this outage
        return ok


class Notifier:
    def __init__(self, svc: Services, channels: Mapping[str, Channel], batch: int = 200) -> None:
        self.svc = svc
        self.channels = channels
        self.replies = ReplyOutbox(svc, channels)
        # pushes claimed per round: small rounds spread a burst over the boxes sharing the database
        # and keep one round well inside its claim (alerts.claim_seconds)
        self.batch = batch
        self.renew_every = svc.settings.alerts.claim_seconds / 3  # seconds; shorter in tests
        self._task: asyncio.Task[None] | None = None

    def _peer(self, user_id: int) -> tuple[Channel, Peer] | None:
        """The user's first IM account on a running channel (channel registration order)."""
        ids = {i.channel: i.im_id for i in self.svc.db.call(repos.identities_of, user_id)}
        for name, channel in self.channels.items():
            if name in ids:
                return channel, Peer(name, ids[name])
        return None

    async def deliver_due(self, now: datetime | None = None) -> int:
        """Send everything due now, merged per recipient; returns how many rows were sent.

        The rows are claimed first (store/alerts.claim_due), so boxes sharing the database never
        send one push twice; each outcome is recorded only for rows this round still holds."""
        now = now or self.svc.clock.now()
        if holding(self.svc.settings, now):
            return 0
        a = self.svc.settings.alerts
        token = round_token()
        rows = await self.svc.db.run(alerts.claim_due, now, token, now + timedelta(seconds=a.claim_seconds),
                                     self.batch)
        by_recipient: dict[int, list[Notification]] = {}
        for r in rows:
            by_recipient.setdefault(r.recipient_id, []).append(r)
        if not by_recipient:
            return 0
        sent = 0
        async with renewing(self.svc, Notification, token, a.claim_seconds, self.renew_every):
            for user_id, group in by_recipient.items():
                sent += await self._push(user_id, group, token, now)
        return sent

    async def _push(self, user_id: int, group: list[Notification], token: str, now: datetime) -> int:
        """One recipient's claimed pushes as one digest; how many rows were sent."""
        a = self.svc.settings.alerts
        ids = [r.id for r in group if r.id is not None]
        target = await asyncio.to_thread(self._peer, user_id)
        if target is None:
            await self.svc.db.run(alerts.mark_failed, ids, "no IM account on a running channel", now,
                                  a.retry_base_seconds, a.max_attempts, token)
            return 0
        channel, peer = target
        try:
            text = texts.render_digest([texts.alert_item(self.svc.settings, r.rule, r.body, now) for r in group])
            image = (await asyncio.to_thread(_funnel_chart, self.svc.settings, group)
                     if channel.takes_images else None)
            await channel.send(peer, Reply(text, image=image))
        except Exception as exc:  # noqa: BLE001 - any channel failure: retry later with backoff
            log.warning("push to user %s failed: %s", user_id, exc)
            await self.svc.db.run(alerts.mark_failed, ids, f"{type(exc).__name__}: {exc}", now,
                                  a.retry_base_seconds, a.max_attempts, token)
            return 0
        held: int = await self.svc.db.run(alerts.mark_sent, ids, now, token)
        if held < len(ids):
            log.warning("push to user %s outlasted its claim (alerts.claim_seconds): %d of %d "
                        "rows were taken by another box", user_id, len(ids) - held, len(ids))
        return held

    async def run(self) -> None:
        """Pushes every `alerts.delivery_interval_seconds`; answers that failed or were left by a
        dead box more often (a third of `queue.reply_retry_seconds`)."""
        a, q = self.svc.settings.alerts, self.svc.settings.queue
        await asyncio.gather(_every(a.delivery_interval_seconds, self.deliver_due, "outbox delivery"),
                             _every(max(1.0, q.reply_retry_seconds / 3), self.replies.deliver_due,
                                    "answer delivery"))

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


async def _every(seconds: float, work: Callable[[], Awaitable[int]], what: str) -> None:
    while True:
        try:
            await work()
        except Exception:
            log.exception("%s failed; retrying next round", what)
        await asyncio.sleep(seconds)
