"""Test doubles: a channel that records replies and a clock that stands still."""
from __future__ import annotations

from datetime import datetime, timedelta

from bot.types import Media, Peer, Reply, Submit


class FakeChannel:
    takes_images = True

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
        with open(media.key, "rb") as f:  # like the console: the media key is a local path
            return f.read()

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


class FakeTranscriber:
    """Stands in for the speech pool: returns scripted text, can be full or fail first."""

    def __init__(self, text: str, full_times: int = 0, error: Exception | None = None) -> None:
        self.text = text
        self.full_times = full_times
        self.error = error
        self.calls: list[tuple[bytes, str | None, tuple[str, ...]]] = []

    async def transcribe(self, audio: bytes, fmt: str | None, hotwords=()):  # type: ignore[no-untyped-def]
        from speech import QueueFull, Transcript

        if self.full_times > 0:
            self.full_times -= 1
            raise QueueFull("busy")
        if self.error is not None:
            raise self.error
        self.calls.append((audio, fmt, tuple(hotwords)))
        return Transcript(text=self.text, raw_text=self.text, language="zh", duration_s=4.2,
                          model="fake-whisper", timings={"decode_s": 0.01, "transcribe_s": 0.5})
