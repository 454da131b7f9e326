"""Platform-neutral message types shared by channels, dispatcher and handlers.

This module imports nothing else from the project, so every layer can depend on it.
"""
from __future__ import annotations

import base64
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


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
    """What the bot says: plain text, optionally markdown, buttons and a picture for rich channels.

    `image` is a PNG (e.g. the weekly funnel chart) sent after the text where the platform
    can upload pictures (WeCom); the console saves it to a file, DingTalk leaves it out.
    """

    text: str
    markdown: bool = False
    buttons: tuple[Button, ...] = field(default_factory=tuple)
    ref: str | None = None  # e.g. "followup:12" so a card press can act on that record
    image: bytes | None = None
    # A stored answer's own id ("reply-17"): a platform that needs a unique id per card gets a
    # stable one, so a resend is the same message, not a second one.
    key: str | None = None
    # Sent again after a try whose outcome is unknown (its box died): ask the platform to drop it
    # if the first try arrived.
    resend: bool = False
    # The answer to a card press that changed nothing (修改): the card keeps its buttons.
    keep_card: bool = False


def reply_body(reply: Reply) -> dict[str, Any] | None:
    """The JSON form a reply is stored in (the reply outbox); None when there is nothing to send."""
    if not reply.text.strip() and reply.image is None:
        return None
    body: dict[str, Any] = {"text": reply.text, "markdown": reply.markdown, "ref": reply.ref,
                            "buttons": [[b.key, b.label] for b in reply.buttons], "keep_card": reply.keep_card}
    if reply.image is not None:
        body["image"] = base64.b64encode(reply.image).decode("ascii")
    return body


def reply_from_body(body: dict[str, Any], key: str | None = None, resend: bool = False) -> Reply:
    image = body.get("image")
    return Reply(body.get("text", ""), markdown=bool(body.get("markdown")),
                 buttons=tuple(Button(k, label) for k, label in body.get("buttons", [])), ref=body.get("ref"),
                 image=base64.b64decode(image) if image else None, key=key, resend=resend,
                 keep_card=bool(body.get("keep_card")))


def ref_id(ref_or_key: str | None) -> str | None:
    """The record id in a ref or button key: "followup:12" / "undo:12" → "12"."""
    if not ref_or_key or ":" not in ref_or_key:
        return None
    return ref_or_key.rsplit(":", 1)[-1] or None


def answers_press(reply: Reply, key: str) -> bool:
    """Whether `reply` is the answer to a press of the card button `key` (e.g. "undo:12").

    Matched on the record id: the reply's ref, or, for replies without a ref (the button
    handlers answer in text), a "#12" in the text. Unrelated replies (a progress line, a
    command's answer) therefore never consume a press, and the pressed card is updated with
    the right answer.
    """
    rid = ref_id(key)
    if rid is None:
        return False
    if reply.ref is not None:
        return ref_id(reply.ref) == rid
    text = reply.text
    at = text.find(f"#{rid}")
    while at != -1:
        end = at + 1 + len(rid)
        if end == len(text) or not text[end].isdigit():
            return True
        at = text.find(f"#{rid}", end)
    return False


Submit = Callable[[IncomingMessage], Awaitable[bool]]


DEGRADED_AFTER = 3  # consecutive failed platform calls before /healthz says "degraded"


@dataclass
class ChannelHealth:
    """What a platform's API said lately, from real calls: /healthz shows it, `serve` checks the
    credentials with it at start. A credential error (wrong secret, untrusted IP) degrades at once."""

    failures: int = 0
    last_error: str | None = None
    checked: bool = False

    def ok(self) -> None:
        self.failures, self.last_error, self.checked = 0, None, True

    def failed(self, error: str, credentials: bool = False) -> None:
        self.failures += DEGRADED_AFTER if credentials else 1
        self.last_error, self.checked = error, True

    @property
    def state(self) -> str:
        if not self.checked:
            return "unchecked"
        return "degraded" if self.failures >= DEGRADED_AFTER else "ok"


class Channel(Protocol):
    name: str
    takes_images: bool  # whether send() delivers Reply.image (else only the text goes out)

    async def start(self, submit: Submit) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, to: Peer, reply: Reply) -> None: ...

    async def fetch_media(self, media: Media) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Press:
    """A card button press awaiting its answer: the platform's handle to update that card
    (WeCom response_code, DingTalk outTrackId) and the button key (e.g. "undo:12")."""

    token: str
    key: str


class PendingPresses:
    """Per user, the card presses not answered yet (bounded: handles expire on the platforms)."""

    def __init__(self, keep: int = 20) -> None:
        self.keep = keep
        self._by_user: dict[str, list[Press]] = {}

    def add(self, user: str, press: Press) -> None:
        presses = self._by_user.setdefault(user, [])
        presses.append(press)
        del presses[:-self.keep]

    def take(self, user: str, reply: Reply) -> Press | None:
        """The press this reply answers (same record), oldest first; None for other replies."""
        presses = self._by_user.get(user, [])
        for i, p in enumerate(presses):
            if answers_press(reply, p.key):
                return presses.pop(i)
        return None
