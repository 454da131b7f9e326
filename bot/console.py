"""Local console channel: talk to the bot in a terminal, or send one message from a script."""
from __future__ import annotations

import asyncio
import re
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.types import IncomingMessage, Kind, Media, Peer, Reply, Submit
from handlers.texts import (
    CONSOLE_AS_USAGE,
    CONSOLE_NO_USER,
    CONSOLE_VOICE_MISSING,
    CONSOLE_VOICE_USAGE,
)

CHANNEL = "console"
IMAGE_LINE = "  🖼 图片已保存：{path}"  # a terminal cannot show the chart: say where it is


def voice_problem(line: str) -> str | None:
    """Why a `/voice` line cannot be sent (no file named, or no such file), else None."""
    if line.strip() != "/voice" and not line.startswith("/voice "):
        return None
    path = line[6:].strip()
    if not path:
        return CONSOLE_VOICE_USAGE
    if not Path(path).expanduser().is_file():
        return CONSOLE_VOICE_MISSING.format(path=path)
    return None


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
        received_at=received_at or datetime.now(UTC),
        text=text,
        media=media,
    )


class ConsoleChannel:
    name = CHANNEL
    takes_images = True  # Reply.image: saved as a file

    def __init__(self, out: TextIO | None = None, image_dir: Path | str | None = None) -> None:
        self.out = out or sys.stdout
        self._submit: Submit | None = None
        self._image_dir = Path(image_dir) if image_dir is not None else None

    async def start(self, submit: Submit) -> None:
        self._submit = submit

    async def stop(self) -> None:
        self._submit = None

    async def send(self, to: Peer, reply: Reply) -> None:
        body = "\n".join("  " + line for line in reply.text.splitlines())
        if reply.image:
            path = await asyncio.to_thread(self.save_image, to.user_id, reply.image)
            body = f"{body}\n{IMAGE_LINE.format(path=path)}" if body else IMAGE_LINE.format(path=path)
        print(f"🤖 → {to.user_id}\n{body}\n", file=self.out, flush=True)

    def save_image(self, user: str, png: bytes) -> Path:
        """Write a reply's PNG to the image directory (a temp dir unless given) and return its path."""
        if self._image_dir is None:
            self._image_dir = Path(tempfile.mkdtemp(prefix="salesbot-images-"))
        self._image_dir.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", user)[:40] or "user"
        path = self._image_dir / f"{safe}-{datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}.png"
        path.write_bytes(png)
        return path

    async def fetch_media(self, media: Media) -> bytes:
        return await asyncio.to_thread(Path(media.key).read_bytes)


async def repl(submit: Submit, drain: Callable[[], asyncio.Future[None] | object],
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
        if line.strip() == "/as" or line.startswith("/as "):
            name = line[3:].strip()
            if not name:
                print(CONSOLE_AS_USAGE)
            elif switch_user(name):
                user = name
            else:
                print(CONSOLE_NO_USER.format(name=name))
            continue
        problem = voice_problem(line)
        if problem:
            print(problem)
            continue
        await submit(console_message(user, line))
        await drain()  # type: ignore[misc]
