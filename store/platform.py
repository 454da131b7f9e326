"""What the boxes sharing a database must agree on about a platform: the per-user send limits
(counted here, so every box keeps within them) and the access tokens (fetched once, used by all)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, text
from sqlmodel import Session, col, select

from store.models import PlatformSend, PlatformToken


def reserve_send(s: Session, channel: str, peer: str, now: datetime,
                 limits: Sequence[tuple[int, float]]) -> float:
    """Take a send slot for `peer` now (0.0), or say how many seconds until one is free.

    `limits` are (count, window seconds) pairs: at most `count` sends in any `window`. On
    PostgreSQL a transaction-scoped advisory lock per (channel, peer) makes count-then-insert
    atomic across boxes; SQLite serializes writers anyway. Sends older than twice the longest
    window are deleted: a reservation made a moment earlier on another box may still count those
    just older than one window.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"send:{channel}:{peer}"})
    horizon = now - timedelta(seconds=2 * max(w for _, w in limits))
    mine = (col(PlatformSend.channel) == channel, col(PlatformSend.peer) == peer)
    s.execute(delete(PlatformSend).where(*mine, col(PlatformSend.at) <= horizon))
    delay = 0.0
    for count, window in limits:
        since = now - timedelta(seconds=window)
        recent = list(s.exec(select(PlatformSend.at).where(*mine, col(PlatformSend.at) > since)
                             .order_by(col(PlatformSend.at).desc()).limit(count)))
        if len(recent) >= count:  # the oldest of the last `count` must leave the window first
            delay = max(delay, (recent[-1] - since).total_seconds())
    if delay <= 0:
        s.add(PlatformSend(channel=channel, peer=peer, at=now))
    return delay


def sends_in(s: Session, channel: str, peer: str, since: datetime) -> int:
    """How many sends to `peer` the boxes recorded since `since` (tests, metrics)."""
    return int(s.exec(select(func.count()).select_from(PlatformSend).where(
        col(PlatformSend.channel) == channel, col(PlatformSend.peer) == peer,
        col(PlatformSend.at) > since)).one())


def token(s: Session, key: str, now: datetime) -> str | None:
    """The shared token under `key` while it is valid."""
    row = s.get(PlatformToken, key)
    return row.token if row is not None and row.expires_at > now else None


def save_token(s: Session, key: str, value: str, expires_at: datetime, now: datetime) -> None:
    """Keep a freshly fetched token for every box (the last fetch wins; the platform hands out
    the same token during its lifetime anyway)."""
    from sqlalchemy.dialects import postgresql, sqlite

    ins = (postgresql if s.get_bind().dialect.name == "postgresql" else sqlite).insert(PlatformToken)
    values = {"key": key, "token": value, "expires_at": expires_at, "updated_at": now}
    s.execute(ins.values(**values).on_conflict_do_update(  # two boxes may fetch at once
        index_elements=["key"], set_={"token": value, "expires_at": expires_at, "updated_at": now}))
