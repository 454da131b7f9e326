"""WeCom webhook benchmark: encrypted text callbacks per second and ack latency (wrk).

One run starts each server below as its own process on this machine, loads it with Debian's
`wrk` (a separate process, 1 thread, N connections) posting pre-encrypted, unique text
callbacks, and prints callbacks/s and ack latency p50/p99:

  bare-200       aiohttp handler that returns 200 without decrypting (reference)
  bare-decrypt   aiohttp handler that only decrypts the body with wechatpy and returns 200
  channel        bot.wecom route (size/DTD checks, signature, time window, decrypt, parse,
                 convert) with a no-op submit: the channel's own cost
  inbox          the real app: route + Dispatcher.submit (one SQLite transaction per message);
                 processing paused, so rows stay pending as in a burst
  inbox+asr      as `inbox` while two threads burn both cores in GIL-free native code, as two
                 faster-whisper workers do when the ASR queue is saturated
  batched(+asr)  as inbox(+asr) with a group-commit submit defined here (not in bot/dispatch.py):
                 concurrent callbacks share one inbox transaction (≤256 rows), each still
                 acknowledged only after its row is committed — a proposal for the core;
                 `+asr-nice`: the two ASR threads at nice 10 (os.setpriority on their thread ids)
  pipeline       the real app with processing on (200 registered reps send 帮助; replies go to a
                 fake WeCom API in another process, at most 30/min per rep as WeCom allows)

For the inbox modes the bench checks that every acknowledged callback is in the inbox.
Needs `apt-get install wrk`. Usage (repo root):
  .venv/bin/python bench/webhook_bench.py [--duration 10] [--connections 32] [--modes ...]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODES = ["bare-200", "bare-decrypt", "channel", "inbox", "inbox+asr", "batched", "batched+asr",
         "batched+asr-nice", "pipeline"]
REPS = 200  # registered reps Rep0..Rep199; callbacks cycle through them
NOTE = "帮助"

LUA = r"""
local reqs = {}
local idx = 0
init = function(args)
  for line in io.lines(args[1]) do
    local path, body = line:match("([^\t]+)\t(.*)")
    reqs[#reqs + 1] = wrk.format("POST", path, {["Content-Type"] = "text/xml"}, body)
  end
end
request = function()
  idx = idx % #reqs + 1
  return reqs[idx]
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %.1f %.1f %.1f\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


# ---------------------------------------------------------------- servers (child processes)


def _settings_env(db: str, api: str) -> dict[str, str]:
    from tests.builders import wecom_settings

    return {"SALESBOT_DATABASE_URL": f"sqlite:///{db}", **wecom_settings(api)}


def _burn(stop: threading.Event, nice: int) -> None:
    """GIL-free native work on one core, like a CTranslate2 decode (optionally at lower priority)."""
    import hashlib

    if nice:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)  # this thread only (Linux)

    buf = os.urandom(4 * 1024 * 1024)
    while not stop.is_set():
        hashlib.sha256(buf).digest()


async def _serve(mode: str, port: int, db: str, api: str) -> None:
    from aiohttp import web

    from tests.builders import AES_KEY, CORP_ID, TOKEN

    web_app = web.Application()
    app = None
    if mode == "bare-200":
        async def ok(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(status=200)
        web_app.router.add_post("/wecom/callback", ok)
    elif mode == "bare-decrypt":
        from wechatpy.enterprise.crypto import WeChatCrypto

        crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)

        async def decrypt(request: web.Request) -> web.Response:
            q = request.query
            crypto.decrypt_message(await request.read(), q["msg_signature"], q["timestamp"], q["nonce"])
            return web.Response(status=200)
        web_app.router.add_post("/wecom/callback", decrypt)
    else:
        from bot.app import build_app
        from bot.config import load_settings
        from bot.dispatch import Dispatcher
        from bot.wecom import WecomChannel

        settings = load_settings(env=_settings_env(db, api))
        channel = WecomChannel(settings.wecom)
        channel.verifier.window_s = 3600  # callbacks were encrypted before the run
        channel.install(web_app)
        if mode == "channel":
            async def noop(msg: object) -> bool:
                return True
            await channel.start(noop)
        else:
            if mode != "pipeline":
                Dispatcher._enqueue = lambda self, inbox_id, msg: None  # type: ignore[method-assign]
            app = build_app(settings)
            app.add_channel(channel)
            await app.start()
            if mode.startswith("batched"):
                await channel.start(_group_commit(app.dispatcher))  # type: ignore[arg-type]
    stop = threading.Event()
    if "+asr" in mode:
        for _ in range(2):
            threading.Thread(target=_burn, args=(stop, 10 if mode.endswith("-nice") else 0), daemon=True).start()
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # parent closes stdin
    stop.set()
    await runner.cleanup()
    if app is not None:  # a pipeline backlog is left pending, as a crash would leave it
        app.svc.db.dispose()
    os._exit(0)


def _group_commit(dispatcher: object) -> object:
    """A Dispatcher.submit replacement: callbacks arriving together share one transaction."""
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from bot.dispatch import to_payload
    from store.models import InboxMessage

    pending: list[tuple[object, asyncio.Future[bool]]] = []
    flushing = False

    def insert_many(s: Any, batch: list) -> list:
        """One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING: new ids, None for duplicates."""
        rows = [{"channel": m.channel, "msg_id": m.msg_id, "sender": m.sender.user_id, "kind": m.kind.value,
                 "payload": to_payload(m), "status": "pending", "received_at": m.received_at} for m in batch]
        stmt = (sqlite_insert(InboxMessage).values(rows).on_conflict_do_nothing()
                .returning(InboxMessage.id, InboxMessage.channel, InboxMessage.msg_id))  # type: ignore[arg-type]
        new = {(c, mid): i for i, c, mid in s.execute(stmt).all()}
        return [new.pop((m.channel, m.msg_id), None) for m in batch]

    async def flush() -> None:
        nonlocal flushing
        try:
            while pending:
                batch = pending[:256]
                del pending[:256]
                try:
                    ids = await dispatcher.svc.db.run(insert_many, [m for m, _ in batch])  # type: ignore[attr-defined]
                except Exception as exc:  # noqa: BLE001 - every waiter gets the error (→ HTTP 500)
                    for _, fut in batch:
                        fut.set_exception(exc)
                    continue
                for (msg, fut), inbox_id in zip(batch, ids):
                    if inbox_id is not None:
                        dispatcher._enqueue(inbox_id, msg)  # type: ignore[attr-defined]
                    fut.set_result(inbox_id is not None)
        finally:
            flushing = False

    async def submit(msg: object) -> bool:
        nonlocal flushing
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        pending.append((msg, fut))
        if not flushing:
            flushing = True
            asyncio.get_running_loop().create_task(flush())
        return await fut

    return submit


def _fake_api(port_file: str) -> None:
    from tests.builders import AGENT_ID, CORP_ID, SECRET
    from tests.servers import FakeWecom

    fake = FakeWecom(CORP_ID, SECRET, AGENT_ID).start()
    Path(port_file).write_text(fake.url)
    sys.stdin.readline()
    with fake.lock:
        print(json.dumps({"sent": len(fake.sent)}), flush=True)
    fake.stop()


# ---------------------------------------------------------------- the driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _make_requests(path: Path, n: int) -> None:
    from tests.builders import encrypt_callback, text_fields

    base = 8_000_000_000_000_000_000
    with path.open("w") as f:
        for i in range(n):
            cb = encrypt_callback(text_fields(f"Rep{i % REPS}", NOTE, msg_id=base + i))
            f.write(f"/wecom/callback?{urlencode(cb.query)}\t{cb.body.decode()}\n")


def _seed(db: str, api: str) -> None:
    from bot.app import build_app
    from bot.config import load_settings
    from store import repos

    app = build_app(load_settings(env=_settings_env(db, api)))
    def seed(s: Any) -> None:
        for i in range(REPS):
            repos.add_user(s, f"销售{i}", "rep", None, {"wecom": f"Rep{i}"})

    app.svc.db.call(seed)
    app.svc.db.dispose()


def _inbox_rows(db: str) -> tuple[int, int]:
    """(all rows, rows already processed)."""
    con = sqlite3.connect(db)
    try:
        total = int(con.execute("select count(*) from inbox").fetchone()[0])
        done = int(con.execute("select count(*) from inbox where status != 'pending'").fetchone()[0])
        return total, done
    finally:
        con.close()


def run_mode(mode: str, args: argparse.Namespace, reqs: Path, lua: Path, tmp: Path, api: str) -> dict:
    db = str(tmp / f"{mode}.db")
    _seed(db, api)
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", mode, "--port", str(port), "--db", db,
                               "--api", api], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    assert server.stdout is not None and server.stdout.readline().strip() == "READY", mode
    wrk = subprocess.run(["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "5s",
                          "-s", str(lua), f"http://127.0.0.1:{port}/wecom/callback", "--", str(reqs)],
                         capture_output=True, text=True, check=True)
    line = next(x for x in wrk.stdout.splitlines() if x.startswith("RESULT"))
    total, non2xx, sock_err, dur_us, p50, p99, pmax = (float(x) for x in line.split()[1:])
    server.stdin.close()  # type: ignore[union-attr]
    server.wait(120)
    ok = int(total - non2xx)
    out = {"mode": mode, "rps": ok / (dur_us / 1e6), "acked": ok, "non2xx": int(non2xx),
           "socket_errors": int(sock_err), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "max_ms": pmax / 1000}
    if mode.startswith(("inbox", "batched", "pipeline")):
        rows, done = _inbox_rows(db)
        out["inbox_rows"], out["processed"] = rows, done
        out["durable"] = rows >= ok
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--requests", type=int, default=120_000, help="unique pre-encrypted callbacks")
    ap.add_argument("--modes", nargs="*", default=MODES)
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--fake-api", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--api", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve, args.port, args.db, args.api))
        return
    if args.fake_api:
        _fake_api(args.fake_api)
        return

    with tempfile.TemporaryDirectory(prefix="webhook-bench-") as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        reqs, lua = tmp / "requests.tsv", tmp / "bench.lua"
        _make_requests(reqs, args.requests)
        lua.write_text(LUA)
        print(f"encrypted {args.requests} callbacks in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        port_file = tmp / "api.url"
        api_proc = subprocess.Popen([sys.executable, __file__, "--fake-api", str(port_file)], cwd=ROOT,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        api = port_file.read_text()
        results = []
        try:
            for mode in args.modes:
                r = run_mode(mode, args, reqs, lua, tmp, api)
                results.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
        finally:
            api_proc.stdin.close()  # type: ignore[union-attr]
            sent = api_proc.stdout.readline() if api_proc.stdout else ""
            api_proc.wait(30)
        decrypt = next((r["rps"] for r in results if r["mode"] == "bare-decrypt"), None)
        print(f"\nwrk -t1 -c{args.connections} -d{args.duration}s, {os.cpu_count()} CPUs; fake API: {sent.strip()}")
        print("| server | callbacks/s | × bare-decrypt | p50 ack ms | p99 ack ms | max ms | non-2xx | durable |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in results:
            ratio = f"{r['rps'] / decrypt:.2f}" if decrypt else "-"
            durable = "-"
            if "durable" in r:
                durable = f"{'yes' if r['durable'] else 'NO'} ({r['inbox_rows']} rows, {r['processed']} processed)"
            print(f"| {r['mode']} | {r['rps']:.0f} | {ratio} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                  f"{r['max_ms']:.1f} | {r['non2xx'] + r['socket_errors']} | {durable} |")


if __name__ == "__main__":
    main()
