"""A bounded transcription pool: N workers, a waiting line of at most `queue_size`, never blocking.

Why threads by default: CTranslate2 and PyAV release the GIL, so one shared model in N threads
(`num_workers=N`, `cpu_threads=1` each) runs as fast as N processes while holding one copy of the
weights and starting in one model load (bench/RESULTS.md "## Speech"). `mode="process"` is kept
for isolation (a native crash kills one worker, not the bot) and is measured in the bench too.

Back-pressure: `try_submit` raises QueueFull at once when `workers + queue_size` jobs are already
in flight, so a chat channel can answer "排队中，稍后回复" instead of blocking its acknowledgement.
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import IO, Any

from .base import QueueFull, Transcriber, Transcript
from .whisper import WhisperTranscriber

DEFAULT_QUEUE_SIZE = 8


class TranscriptionPool:
    """Runs Transcriber.transcribe in worker threads (or processes) behind a bounded queue."""

    def __init__(self, transcriber: Transcriber | Callable[[], Transcriber], *, workers: int = 2,
                 queue_size: int = DEFAULT_QUEUE_SIZE, mode: str = "thread") -> None:
        """`transcriber`: a shared instance (threads), or a zero-argument picklable factory
        (required for processes: each process builds and loads its own)."""
        if mode not in ("thread", "process"):
            raise ValueError("mode must be 'thread' or 'process'")
        if workers < 1 or queue_size < 0:
            raise ValueError("workers >= 1 and queue_size >= 0")
        self.workers, self.queue_size, self.mode = workers, queue_size, mode
        self._factory = transcriber if callable(transcriber) and not hasattr(transcriber, "transcribe") else None
        self._shared: Transcriber = None if self._factory else transcriber  # type: ignore[assignment]
        self._slots = threading.BoundedSemaphore(workers + queue_size)
        self._inflight = 0
        self._count_lock = threading.Lock()
        self._closed = False
        self._executor: cf.Executor
        if mode == "thread":
            if self._factory is not None:
                self._shared = self._factory()
            self._executor = cf.ThreadPoolExecutor(workers, thread_name_prefix="asr", initializer=_lower_priority)
        else:
            if self._factory is None:
                raise ValueError("mode='process' needs a picklable factory, not an instance")
            ctx = multiprocessing.get_context("spawn")  # fork would copy the event loop's threads
            self._executor = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                                    initargs=(self._factory,))

    @classmethod
    def from_settings(cls, speech: Any, *, queue_size: int | None = None, mode: str | None = None,
                      progress: IO[str] | None = sys.stderr, **overrides: Any) -> TranscriptionPool:
        """Pool sized by `settings.speech` (workers, cpu_threads, ...); one shared model for threads."""
        workers = int(getattr(speech, "workers", 1))
        queue_size = queue_size if queue_size is not None else getattr(speech, "queue_size", DEFAULT_QUEUE_SIZE)
        mode = mode or getattr(speech, "pool_mode", None) or "thread"
        if mode == "thread":
            t = WhisperTranscriber.from_settings(speech, num_workers=workers, progress=progress, **overrides)
            return cls(t, workers=workers, queue_size=queue_size, mode=mode)
        factory = _Factory(speech.model_dump() if hasattr(speech, "model_dump") else dict(vars(speech)), overrides)
        return cls(factory, workers=workers, queue_size=queue_size, mode=mode)

    @property
    def inflight(self) -> int:
        """Jobs running or waiting."""
        return self._inflight

    @property
    def queued(self) -> int:
        """Jobs waiting for a worker (for the salesbot_asr_queue_depth gauge)."""
        return max(0, self._inflight - self.workers)

    @property
    def capacity(self) -> int:
        return self.workers + self.queue_size

    def warm_up(self) -> cf.Future[None]:
        """Load the model(s) in the background so the first voice note does not pay for it."""
        if self.mode == "thread":
            return self._executor.submit(_load, self._shared)
        return self._executor.submit(_load_in_worker)

    def try_submit(self, audio: bytes, fmt: str | None, hotwords: Sequence[str] = ()) -> cf.Future[Transcript]:
        """Queue one job; raise QueueFull at once instead of waiting for a free slot."""
        if self._closed:
            raise RuntimeError("transcription pool is shut down")
        if not self._slots.acquire(blocking=False):
            raise QueueFull(f"{self.capacity} transcriptions already running or queued")
        with self._count_lock:
            self._inflight += 1
        queued_at = time.perf_counter()
        try:
            if self.mode == "thread":
                fut = self._executor.submit(_run, self._shared, audio, fmt, tuple(hotwords), queued_at)
            else:
                fut = self._executor.submit(_run_in_worker, audio, fmt, tuple(hotwords), queued_at)
        except BaseException:
            self._release(None)
            raise
        fut.add_done_callback(self._release)
        return fut

    async def transcribe(self, audio: bytes, fmt: str | None, hotwords: Sequence[str] = ()) -> Transcript:
        """Await a transcript from asyncio. Raises QueueFull (at once), AudioError, ModelError."""
        return await asyncio.wrap_future(self.try_submit(audio, fmt, hotwords))

    def shutdown(self, wait: bool = True, cancel_pending: bool = False) -> None:
        """Stop accepting jobs; finish running ones (and queued ones unless cancel_pending)."""
        self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=cancel_pending)

    async def aclose(self, cancel_pending: bool = False) -> None:
        """shutdown() without blocking the event loop."""
        await asyncio.to_thread(self.shutdown, True, cancel_pending)

    def _release(self, _fut: object) -> None:
        with self._count_lock:
            self._inflight -= 1
        self._slots.release()


ASR_NICE = 10  # transcription is background work: webhook acks must not queue behind it


def _lower_priority() -> None:
    """Run this worker (and the CTranslate2 threads it starts when it loads the model, which
    inherit it) at a lower CPU priority. bench/webhook_bench.py, with both cores busy in stand-in ASR
    threads: 2,290 acks/s at equal priority, 3,434/s at nice 10. Linux sets it per thread; else skipped."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ASR_NICE)
    except (AttributeError, OSError):
        pass


def _run(t: Transcriber, audio: bytes, fmt: str | None, hotwords: tuple[str, ...], queued_at: float) -> Transcript:
    started = time.perf_counter()
    result = t.transcribe(audio, fmt, hotwords)
    timings = dict(result.timings, queued_s=round(started - queued_at, 4))
    return replace(result, timings=timings)


def _load(t: Transcriber | None) -> None:
    load = getattr(t, "load", None)
    if load is not None:
        load()


class _Factory:
    """Picklable recipe for a worker process's own WhisperTranscriber."""

    def __init__(self, speech: dict[str, Any], overrides: dict[str, Any]) -> None:
        self.speech, self.overrides = speech, overrides

    def __call__(self) -> Transcriber:
        from types import SimpleNamespace

        return WhisperTranscriber.from_settings(SimpleNamespace(**self.speech), num_workers=1, **self.overrides)


_worker: Transcriber | None = None
_worker_error: Exception | None = None


def _init_worker(factory: Callable[[], Transcriber]) -> None:
    """Build and load this process's model at start, so jobs never pay for loading."""
    global _worker, _worker_error
    _lower_priority()
    try:
        _worker = factory()
        _load(_worker)
    except Exception as exc:  # noqa: BLE001 - raising here would break the whole pool silently
        _worker_error = exc  # reported with each job instead (e.g. ModelError: what to configure)


def _run_in_worker(audio: bytes, fmt: str | None, hotwords: tuple[str, ...], queued_at: float) -> Transcript:
    # perf_counter is system-wide on Linux (CLOCK_MONOTONIC), so queued_s stays meaningful here.
    if _worker_error is not None:
        raise _worker_error
    assert _worker is not None, "worker not initialised"
    return _run(_worker, audio, fmt, hotwords, queued_at)


def _load_in_worker() -> None:
    if _worker_error is not None:
        raise _worker_error
