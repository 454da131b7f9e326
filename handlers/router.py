"""Router, Context and Services: how a message finds its handler.

Commands are a command word (Chinese or /english) followed by whitespace and arguments;
a few commands also accept their arguments glued on ("完成12", "查恒达") when the rest
looks like an argument. Anything else is a visit note.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Settings
from bot.types import IncomingMessage, Kind, Media, Reply
from store.db import Database
from store.models import User

if TYPE_CHECKING:
    from handlers.crm import CrmIndex


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Services:
    """Long-lived collaborators, built once in bot/app.py."""

    settings: Settings
    db: Database
    clock: Clock
    crm: CrmIndex
    speech: Any = None  # a speech.TranscriptionPool (or a test fake); built on first voice note

    def today(self) -> date:
        return self.clock.now().astimezone(self.settings.tz).date()

    def transcriber(self) -> Any:
        """The shared transcription pool, created (not yet loaded) on first use."""
        if self.speech is None:
            from speech import TranscriptionPool

            self.speech = TranscriptionPool.from_settings(self.settings.speech)
        return self.speech


async def _no_progress(_: str) -> None:
    return None


@dataclass
class Context:
    svc: Services
    msg: IncomingMessage
    user: User
    args: str = ""
    say: Callable[[str], Awaitable[None]] = field(default=_no_progress)
    inbox_id: int | None = None
    fetch_media: Callable[[Media], Awaitable[bytes]] | None = None


Handler = Callable[[Context], Awaitable[Reply]]


class Rejected(Exception):
    """The message cannot be processed (bad audio …): answer `reply`, keep the inbox row as failed."""

    def __init__(self, reply: Reply, error: str) -> None:
        super().__init__(error)
        self.reply = reply


@dataclass
class _Command:
    words: tuple[str, ...]
    handler: Handler
    glued: re.Pattern[str] | None


class Router:
    def __init__(self) -> None:
        self.commands: list[_Command] = []
        self.note_handler: Handler | None = None
        self.voice_handler: Handler | None = None
        self.event_handlers: dict[str, Handler] = {}

    def command(self, *words: str, glued: str | None = None) -> Callable[[Handler], Handler]:
        """Register a command; `glued` is a regex the text after a glued word must fully match."""

        def deco(fn: Handler) -> Handler:
            self.commands.append(_Command(words, fn, re.compile(glued) if glued else None))
            return fn

        return deco

    def note(self) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.note_handler = fn
            return fn

        return deco

    def voice(self) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            self.voice_handler = fn
            return fn

        return deco

    def event(self, name: str) -> Callable[[Handler], Handler]:
        """Platform events: "enter" (opened the bot), "button" (a card button; text = its key)."""

        def deco(fn: Handler) -> Handler:
            self.event_handlers[name] = fn
            return fn

        return deco

    def include(self, other: Router) -> None:
        self.commands.extend(other.commands)
        self.event_handlers.update(other.event_handlers)
        self.note_handler = other.note_handler or self.note_handler
        self.voice_handler = other.voice_handler or self.voice_handler

    def resolve(self, msg: IncomingMessage) -> tuple[Handler | None, str]:
        """The handler for a message and the argument text; (None, word) for an unknown /command."""
        if msg.kind is Kind.VOICE:
            return self.voice_handler, ""
        if msg.kind is Kind.EVENT:
            return self.event_handlers.get(msg.event or ""), msg.text
        text = msg.text.strip()
        for cmd in self.commands:
            for word in cmd.words:
                if not text.lower().startswith(word.lower()):
                    continue
                rest = text[len(word):]
                if word and not rest:
                    return cmd.handler, ""
                if word and rest[0].isspace():
                    return cmd.handler, rest.strip()
                if cmd.glued is not None and cmd.glued.fullmatch(rest.strip()):
                    return cmd.handler, rest.strip()
        if text.startswith("/"):
            return None, text.split()[0]
        return self.note_handler, text
