"""Wiring: settings → database → services → router → dispatcher → channels."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from bot.config import Settings
from bot.dispatch import Dispatcher
from bot.notifier import Notifier
from bot.types import Channel
from handlers import build_router
from handlers.crm import CrmIndex
from handlers.router import Clock, Services, SystemClock
from store.db import Database

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    svc: Services
    dispatcher: Dispatcher
    notifier: Notifier
    channels: dict[str, Channel] = field(default_factory=dict)
    scheduler: object | None = None

    def add_channel(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    async def start(self, background: bool = False) -> None:
        """Resume work left pending by a crash, then open the channels.

        `background` also starts the outbox delivery loop and the cron scheduler (serve, demo).
        """
        await self.dispatcher.resume_pending()
        await self.dispatcher.queue.start(self.settings.queue.queues)
        for ch in self.channels.values():
            await ch.start(self.dispatcher.submit)
        if background:
            from scheduler.setup import build_scheduler

            self.notifier.start()
            sched = build_scheduler(self.svc)
            sched.start()
            self.scheduler = sched

    async def work(self, queues: list[str], stop: asyncio.Event) -> None:
        """A worker-only process (`salesbot worker`): jobs of `queues` from the shared queue, with
        the channels only to send replies; no HTTP, no intake, no scheduler."""
        await self.dispatcher.queue.start(queues)
        try:
            await stop.wait()
        finally:
            await self.dispatcher.queue.stop()
            for ch in self.channels.values():
                await ch.stop()
            self.svc.db.dispose()

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)  # type: ignore[attr-defined]
            self.scheduler = None
        await self.notifier.stop()
        if self.dispatcher.queue.shared:  # finish the jobs in hand; the queue keeps the rest
            await self.dispatcher.queue.stop()
        await self.dispatcher.drain()  # late replies still have their channel
        for ch in self.channels.values():
            await ch.stop()
        if self.svc.speech is not None and hasattr(self.svc.speech, "aclose"):
            await self.svc.speech.aclose()
        self.svc.db.dispose()


def build_app(settings: Settings, clock: Clock | None = None, db: Database | None = None) -> App:
    db = db or Database(settings.database.url, settings.database.echo)
    db.ensure_schema()
    m = settings.matching
    crm = CrmIndex(db, settings.extraction.competitors, (m.auto_link, m.ask), settings.tz)
    svc = Services(settings=settings, db=db, clock=clock or SystemClock(), crm=crm)
    channels: dict[str, Channel] = {}
    dispatcher = Dispatcher(svc, build_router(), channels)
    return App(settings=settings, svc=svc, dispatcher=dispatcher, notifier=Notifier(svc, channels),
               channels=channels)
