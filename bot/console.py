"""Local console channel: talk to the bot in a terminal, or send one message from a script."""
from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime, timezone
from typing import Callable, TextIO

from bot.types import IncomingMessage, Kind, Media, Peer, Reply, Submit

CHANNEL = "console"


def console_message(user: str, text: str, msg_id: str | None = None,
                    received_at: datetime | None = None) -> IncomingMessage:
    """An IncomingMessage as the console produces it; `/voice FILE` becomes a voice note."""
    kind, media = Kind.TEXT, None
    if text.startswith("/voice "):
        kind, media = Kind.VOICE, Media(key=text[7:].strip(), fmt=text.rsplit(".", 1)[-1].lower())
        text = ""
    return IncomingMessage(
        channel=CHANNEL,
        msg_id=msg_id or uuid.uuid4().hex,
        sender=Peer(CHANNEL, user),
        kind=kind,
        received_at=received_at or datetime.now(timezone.utc),
        text=text,
        media=media,
    )


class ConsoleChannel:
    name = CHANNEL

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._submit: Submit | None = None

    async def start(self, submit: Submit) -> None:
        self._submit = submit

    async def stop(self) -> None:
        self._submit = None

    async def send(self, to: Peer, reply: Reply) -> None:
        body = "\n".join("  " + line for line in reply.text.splitlines())
        print(f"🤖 → {to.user_id}\n{body}\n", file=self.out, flush=True)

    async def fetch_media(self, media: Media) -> bytes:
        with open(media.key, "rb") as f:
            return f.read()


async def repl(submit: Submit, drain: Callable[[], "asyncio.Future[None] | object"],
               user: str, switch_user: Callable[[str], bool], inp: TextIO | None = None) -> None:
    """Read lines from the terminal; `/as NAME` switches user, `/quit` leaves."""
    inp = inp or sys.stdin
    loop = asyncio.get_running_loop()
    while True:
        sys.stdout.write(f"{user}> ")
        sys.stdout.flush()
        line = await loop.run_in_executor(None, inp.readline)
        if not line:
            print()
            return
        line = line.rstrip("\n")
        if line.strip() in ("/quit", "/exit", "退出"):
            return
        if line.startswith("/as "):
            name = line[4:].strip()
            if switch_user(name):
                user = name
            else:
                print(f"没有用户 {name}")
            continue
        await submit(console_message(user, line))
        await drain()  # type: ignore[misc]
