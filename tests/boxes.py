"""One box of a multi-process test: the real app on a shared database, run as a child process.

`python -m tests.boxes deliver OUT [--hang-at N]` runs the outbox delivery (bot/notifier.py) until
nothing is pending, pushing to a platform that is a file: one JSON line per message it received.
With --hang-at the N-th send never returns (the box holds its claim), so the test can kill -9 it
there. The database URL and settings come from SALESBOT_* variables, as for `salesbot serve`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

from bot.app import build_app
from bot.config import load_settings
from bot.types import Media, Peer, Reply, Submit
from store import alerts


class FilePlatform:
    """A channel whose platform is a file: a message counts as received once its line is written."""

    name = "console"
    takes_images = False

    def __init__(self, out: Path, hang_at: int | None) -> None:
        self.out, self.hang_at, self.sends = out, hang_at, 0

    async def start(self, submit: Submit) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def send(self, to: Peer, reply: Reply) -> None:
        self.sends += 1
        if self.sends == self.hang_at:  # mid-burst, holding claimed pushes: the test kills us here
            self.out.with_suffix(".hung").write_text("hung")
            await asyncio.sleep(3600)
        await asyncio.sleep(0.003)  # the platform's round trip, during which the other box works
        with self.out.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"to": to.user_id, "text": reply.text}, ensure_ascii=False) + "\n")

    async def fetch_media(self, media: Media) -> bytes:
        raise NotImplementedError


async def deliver(out: Path, hang_at: int | None, deadline_s: float) -> int:
    app = build_app(load_settings())
    app.add_channel(FilePlatform(out, hang_at))
    app.notifier.batch = 10
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            sent = await app.notifier.deliver_due()
            if not (await app.svc.db.run(alerts.backlog)).get("pending"):
                return 0
        except Exception as exc:  # a busy database: the next round retries, as Notifier.run does
            print(f"round failed: {exc}", file=sys.stderr)
            sent = 0
        if not sent:
            await asyncio.sleep(0.1)  # nothing free now: a dead box's claim has yet to run out
    return 1


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=["deliver"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--hang-at", type=int)
    ap.add_argument("--deadline", type=float, default=120.0)
    args = ap.parse_args()
    return asyncio.run(deliver(args.out, args.hang_at, args.deadline))


if __name__ == "__main__":
    sys.exit(main())
