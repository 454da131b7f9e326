"""Test doubles: a channel that records replies and a clock that stands still."""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.types import Media, Peer, Reply, Submit


class FakeChannel:
    def __init__(self, name: str = "console") -> None:
        self.name = name
        self.sent: list[tuple[Peer, Reply]] = []
        self.submit: Submit | None = None

    async def start(self, submit: Submit) -> None:
        self.submit = submit

    async def stop(self) -> None:
        self.submit = None

    async def send(self, to: Peer, reply: Reply) -> None:
        self.sent.append((to, reply))

    async def fetch_media(self, media: Media) -> bytes:
        raise FileNotFoundError(media.key)

    def texts(self) -> list[str]:
        return [r.text for _, r in self.sent]

    def last(self) -> str:
        return self.sent[-1][1].text


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, **kw: float) -> None:
        self.current += timedelta(**kw)
