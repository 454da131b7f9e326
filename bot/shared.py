"""Per-user send limits of the platforms, kept across every box that shares the database.

A channel asks its limiter for a slot before each send (`reserve`: 0.0 = go now, else seconds to
wait). `LocalLimiter` counts in this process (one box); `SharedLimiter` counts in the database
(store/platform.py), so two boxes together never exceed what one may send. A key is whatever the
platform counts by: a member for WeCom's per-member limit, an API path for DingTalk's per-app QPS.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from store import platform
from store.db import Database

log = logging.getLogger(__name__)

LIMIT_MARGIN_S = 1.0  # a send counts for a window and this much more: platforms' clocks differ …
LIMIT_MARGIN_SHARE = 0.1  # … but never more than this share of the window (a 1 s QPS window)
SHARED_TOKEN_REREAD_S = 300.0  # a token read from the database is trusted this long, then read again

Limits = tuple[tuple[int, float], ...]  # (count, window seconds): at most `count` in any `window`


def widened(limits: Sequence[tuple[int, float]], margin: float = LIMIT_MARGIN_S) -> Limits:
    """Each window made a little longer, so a platform counting from a slightly different clock
    never sees one send too many."""
    return tuple((count, window + min(margin, window * LIMIT_MARGIN_SHARE)) for count, window in limits)


class Limiter(Protocol):
    async def reserve(self, user: str) -> float: ...


async def wait_for_slot(limiter: Limiter, key: str, sleep: Callable[[float], Awaitable[object]],
                        what: str) -> None:
    """Hold this send until `limiter` gives `key` a slot: over a limit nothing is sent (the
    platform would drop or refuse it), it is sent later."""
    while (delay := await limiter.reserve(key)) > 0:
        log.info("%s limit reached; next send in %.1f s", what, delay)
        await sleep(delay)


class LocalLimiter:
    """Sliding windows per key, in this process (one box)."""

    def __init__(self, limits: Sequence[tuple[int, float]], clock: Callable[[], float] = time.monotonic) -> None:
        self.limits, self.clock = widened(limits), clock
        self._sent: dict[str, deque[float]] = {}
        self._horizon = max(w for _, w in self.limits)

    def wait(self, key: str) -> float:
        now = self.clock()
        q = self._sent.get(key)
        if not q:
            return 0.0
        while q and q[0] <= now - self._horizon:
            q.popleft()
        delay = 0.0
        for count, window in self.limits:
            recent = [t for t in q if t > now - window]
            if len(recent) >= count:
                delay = max(delay, recent[-count] + window - now)
        return delay

    def record(self, key: str) -> None:
        self._sent.setdefault(key, deque()).append(self.clock())

    async def reserve(self, user: str) -> float:
        """Take a slot now (0.0), or say how long until one is free."""
        delay = self.wait(user)
        if delay <= 0:
            self.record(user)
        return delay


class SharedLimiter:
    """Per-key windows counted in the database by every box."""

    def __init__(self, db: Database, channel: str, limits: Sequence[tuple[int, float]],
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.channel, self.limits, self.clock = db, channel, widened(limits), clock

    async def reserve(self, user: str) -> float:
        now = datetime.fromtimestamp(self.clock(), UTC)
        delay: float = await self.db.run(platform.reserve_send, self.channel, user, now, self.limits)
        return delay


class TokenStore(Protocol):
    async def get(self) -> str | None: ...
    async def put(self, token: str, ttl_s: float) -> None: ...


class SharedTokens:
    """One access token for every box: read from the database, written by whichever box fetched."""

    def __init__(self, db: Database, key: str, clock: Callable[[], float] = time.time) -> None:
        self.db, self.key, self.clock = db, key, clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    async def get(self) -> str | None:
        found: str | None = await self.db.run(platform.token, self.key, self._now())
        return found

    async def put(self, token: str, ttl_s: float) -> None:
        now = self._now()
        await self.db.run(platform.save_token, self.key, token, now + timedelta(seconds=ttl_s), now)


async def token_from_others(tokens: TokenStore | None, stale: str | None) -> str | None:
    """A token another box fetched (or refreshed), unless it is the one just refused."""
    if tokens is None:
        return None
    found = await tokens.get()
    return found if found and found != stale else None
