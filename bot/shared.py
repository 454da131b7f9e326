"""Per-user send limits of the platforms, kept across every box that shares the database.

A channel asks its limiter for a slot before each send (`reserve`: 0.0 = go now, else seconds to
wait). bot/wecom.MemberLimiter counts in this process (one box); `SharedLimiter` counts in the
database (store/platform.py), so two boxes together never exceed what one may send.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from store import platform
from store.db import Database

LIMIT_MARGIN_S = 1.0  # a send counts for a window and this much more: platforms' clocks differ
SHARED_TOKEN_REREAD_S = 300.0  # a token read from the database is trusted this long, then read again


def widened(limits: Sequence[tuple[int, float]], margin: float = LIMIT_MARGIN_S) -> tuple[tuple[int, float], ...]:
    return tuple((count, window + margin) for count, window in limits)


class Limiter(Protocol):
    async def reserve(self, user: str) -> float: ...


class SharedLimiter:
    """Per-user windows counted in the database by every box."""

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
