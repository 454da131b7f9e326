"""Platform-neutral message types shared by channels, dispatcher and handlers.

This module imports nothing else from the project, so every layer can depend on it.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Awaitable, Callable, Protocol


class Kind(str, enum.Enum):
    TEXT = "text"
    VOICE = "voice"
    IMAGE = "image"
    FILE = "file"
    EVENT = "event"


@dataclass(frozen=True, slots=True)
class Peer:
    """Enough to answer someone: the channel, their IM id, and the conversation if any."""

    channel: str
    user_id: str
    conversation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Media:
    key: str  # WeCom MediaId, DingTalk downloadCode, or a local path for the console
    fmt: str = "amr"


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    channel: str
    msg_id: str  # (channel, msg_id) is the idempotency key
    sender: Peer
    kind: Kind
    received_at: datetime  # UTC-aware
    text: str = ""
    media: Media | None = None
    platform_transcript: str | None = None
    event: str | None = None

    @property
    def source_key(self) -> str:
        return f"{self.channel}:{self.msg_id}"


@dataclass(frozen=True, slots=True)
class Button:
    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    """What the bot says: plain text, optionally markdown and buttons for rich channels."""

    text: str
    markdown: bool = False
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    ref: str | None = None  # e.g. "followup:12" so a card press can act on that record


Submit = Callable[[IncomingMessage], Awaitable[bool]]


class Channel(Protocol):
    name: str

    async def start(self, submit: Submit) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, to: Peer, reply: Reply) -> None: ...

    async def fetch_media(self, media: Media) -> bytes: ...
