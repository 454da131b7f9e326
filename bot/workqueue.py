"""Where stored inbox messages are processed: in this process, or on a queue all boxes share.

One SQLite box (the default) works in-process: one asyncio queue per sender (`LocalQueue`).
Several boxes on PostgreSQL share procrastinate's queue in the same database (`SharedQueue`):
each stored message becomes a job deferred in the statement that stores its inbox row (both
or neither), locked by its sender, so a sender's messages run one at a time in arrival
order on whichever box takes them. Voice notes go to the `asr` queue, which a worker-only process
(`salesbot worker --queues asr`) may serve. A box that dies stops its heartbeat; after
`queue.stalled_seconds` a live box puts the dead box's jobs back in the queue. The inbox rows stay
the truth: a job for a row that is no longer pending does nothing.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from sqlmodel import Session

from bot.config import QueueSettings
from bot.types import IncomingMessage, Kind
from store import repos

log = logging.getLogger(__name__)

Process = Callable[[int, IncomingMessage], Awaitable[object]]
ProcessStored = Callable[[int], Awaitable[object]]
TASK = "salesbot.process_message"


class WorkQueue(Protocol):
    """What the dispatcher needs of a queue: record work in the inbox transaction, hand it over
    after the commit, run it, and say whether this process still has some in hand."""

    shared: bool
    one_statement: bool  # `insert` writes with one statement (run without a transaction around it)

    def insert(self, s: Session, rows: Sequence[dict[str, Any]], msgs: Sequence[IncomingMessage]
               ) -> list[int | None]: ...
    def enqueue(self, inbox_id: int, msg: IncomingMessage) -> None: ...
    @property
    def busy(self) -> bool: ...
    async def wait(self) -> None: ...
    async def start(self, queues: Sequence[str]) -> None: ...
    async def stop(self) -> None: ...


def queue_of(msg: IncomingMessage) -> str:
    """Voice notes need a speech model (maybe a GPU box's); everything else is quick."""
    return "asr" if msg.kind is Kind.VOICE else "notes"


def lock_of(msg: IncomingMessage) -> str:
    """One job at a time per sender: their messages run in the order they arrived."""
    return f"sender:{msg.channel}:{msg.sender.user_id}"


class LocalQueue:
    """In-process, per-sender FIFO queues (one box)."""

    shared = False
    one_statement = False

    def __init__(self, process: Process) -> None:
        self._process = process
        self._queues: dict[tuple[str, str], asyncio.Queue[tuple[int, IncomingMessage]]] = {}
        self._workers: set[asyncio.Task[None]] = set()

    def insert(self, s: Session, rows: Sequence[dict[str, Any]], msgs: Sequence[IncomingMessage]
               ) -> list[int | None]:
        """Just the inbox rows: they are queued in this process after the transaction commits."""
        return repos.inbox_insert_many(s, rows)

    def enqueue(self, inbox_id: int, msg: IncomingMessage) -> None:
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
                await self._process(inbox_id, msg)
            finally:
                queue.task_done()
            if queue.empty():  # the sender went quiet: let the worker end
                del self._queues[key]
                return

    @property
    def busy(self) -> bool:
        return bool(self._workers)

    async def wait(self) -> None:
        await asyncio.gather(*list(self._workers), return_exceptions=True)

    async def start(self, queues: Sequence[str]) -> None:
        """Nothing to start: a worker task is made per sender as messages arrive."""

    async def stop(self) -> None:
        await self.wait()


def _libpq_url(url: str) -> str:
    """procrastinate speaks libpq URLs (postgresql://…), SQLAlchemy's name the driver."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


class SharedQueue:
    """procrastinate's queue in the PostgreSQL database every box uses."""

    shared = True
    one_statement = True

    def __init__(self, url: str, settings: QueueSettings, process_stored: ProcessStored) -> None:
        try:
            import procrastinate
        except ImportError as exc:  # the postgres extra brings it
            raise RuntimeError("PostgreSQL needs the work queue: pip install 'salesbot[postgres]'") from exc
        conninfo = _libpq_url(url)
        self.settings = settings
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
        self._tasks: list[asyncio.Task[None]] = []
        self._opened = False

        @self.app.task(name=TASK)
        async def process_message(inbox_id: int) -> None:
            await process_stored(inbox_id)

    def insert(self, s: Session, rows: Sequence[dict[str, Any]], msgs: Sequence[IncomingMessage]
               ) -> list[int | None]:
        """The inbox rows and one job per new row (its sender's lock, its queue) in one statement:
        PostgreSQL stores both or neither."""
        return repos.inbox_insert_queued(s, rows, [(queue_of(m), lock_of(m)) for m in msgs], TASK)

    def enqueue(self, inbox_id: int, msg: IncomingMessage) -> None:
        """Nothing to do: the job was deferred with the row."""

    async def _open(self) -> None:
        if not self._opened:
            await self.app.open_async()
            self._opened = True

    async def start(self, queues: Sequence[str]) -> None:
        """Work on `queues` in this process, and put dead boxes' jobs back."""
        await self._open()
        q = self.settings
        worker = self.app.run_worker_async(
            queues=list(queues), concurrency=q.concurrency, wait=True, install_signal_handlers=False,
            fetch_job_polling_interval=q.poll_seconds, listen_notify=True, delete_jobs="successful",
            update_heartbeat_interval=max(1.0, q.stalled_seconds / 3), stalled_worker_timeout=q.stalled_seconds,
            shutdown_graceful_timeout=30)
        self._tasks = [asyncio.create_task(worker), asyncio.create_task(self._requeue_stalled())]

    async def _requeue_stalled(self) -> None:
        """Every few seconds: jobs whose box stopped its heartbeat go back to the queue (any box
        may do it; a job already put back by another is skipped)."""
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(self.settings.stalled_seconds / 3)
            try:
                for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self.settings.stalled_seconds):
                    try:
                        await manager.retry_job(job)
                        log.warning("job %s (inbox %s) of a dead box put back in the queue",
                                    job.id, job.task_kwargs.get("inbox_id"))
                    except Exception as exc:  # noqa: BLE001 - another box was quicker
                        log.info("stalled job %s not put back: %s", job.id, exc)
            except Exception:
                log.exception("looking for stalled jobs failed; trying again")

    @property
    def busy(self) -> bool:
        return False  # other boxes' work is not this process's to wait for

    async def wait(self) -> None:
        """Nothing local to wait for (`Dispatcher.drain` watches the inbox instead)."""

    async def stop(self) -> None:
        """Finish the jobs in hand (the worker's graceful stop), then close the pool."""
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._opened:
            await self.app.close_async()
            self._opened = False


def make_queue(url: str, settings: QueueSettings, process: Process, process_stored: ProcessStored) -> WorkQueue:
    """The shared queue on PostgreSQL (unless `queue.mode` keeps it local), in-process otherwise."""
    if settings.shared_on(url):
        return SharedQueue(url, settings, process_stored)
    return LocalQueue(process)
