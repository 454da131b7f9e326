"""WeCom webhook benchmark: encrypted text callbacks per second and ack latency (wrk).

One run starts each server below as its own process on this machine, loads it with Debian's
`wrk` (a separate process, 1 thread, N connections) posting pre-encrypted, unique text
callbacks, and prints callbacks/s and ack latency p50/p99:

  bare-200       aiohttp handler that returns 200 without decrypting (reference)
  bare-decrypt   aiohttp handler that only decrypts the body with wechatpy and returns 200
  channel        bot.wecom route (size/DTD checks, signature, time window, decrypt, parse,
                 convert) with a no-op submit: the channel's own cost
  inbox          the real app: route + Dispatcher.submit (group commit: callbacks arriving
                 together share one inbox transaction, each acknowledged only after its row is
                 committed); processing paused, so rows stay pending as in a burst
  single         as `inbox` with the former submit (one transaction per message), for comparison
  pipeline       the real app with processing on (200 registered reps send 帮助; replies go to a
                 fake WeCom API in another process, at most 30/min per rep as WeCom allows)

Any mode + `+asr`: two threads burn both cores in GIL-free native code, as two faster-whisper
workers do when the ASR queue is saturated; `+asr-nice`: those threads at nice 10
(os.setpriority on their thread ids). The "× bare-decrypt" column compares with bare-decrypt
under the same load (bare-decrypt+asr for +asr modes) when that mode ran.

For the inbox modes the bench checks that every acknowledged callback is in the inbox.
Any mode + `@pg` runs the same server on PostgreSQL (`--url`, schema reset each round; on
PostgreSQL each stored message also gets its work-queue job in the same statement), so
`--modes inbox inbox@pg` compares the two databases in one run (SALESBOT_QUEUE_MODE=local in the
environment leaves the work-queue jobs out, to see what they cost); `inbox@pg-x2` runs two copies
of the server on the port (SO_REUSEPORT), as two `serve` processes of one box do.
`--profile DIR` runs each server under cProfile and prints its top functions (slows it down).
Needs `apt-get install wrk`. Usage (repo root):
  .venv/bin/python bench/webhook_bench.py [--duration 10] [--connections 32] [--repeat 3] [--modes ...]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
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

MODES = ["bare-200", "bare-decrypt", "bare-decrypt+asr", "channel", "single", "single+asr", "inbox",
         "inbox+asr", "inbox+asr-nice", "pipeline"]
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


def _processes(mode: str) -> int:
    """`inbox@pg-x2`: two copies of the server sharing the port (PostgreSQL only)."""
    m = re.search(r"-x(\d+)$", mode)
    return int(m.group(1)) if m else 1


def _base(mode: str) -> str:
    """The server a mode runs, without its database and copies suffixes."""
    return re.sub(r"-x\d+$", "", mode).removesuffix("@pg")


def _db_url(db: str) -> str:
    """`db` is a SQLite file, or a PostgreSQL URL for the `@pg` modes."""
    return db if db.startswith("postgresql") else f"sqlite:///{db}"


def _settings_env(db: str, api: str) -> dict[str, str]:
    from tests.builders import wecom_settings

    queue = {k: v for k, v in os.environ.items() if k.startswith("SALESBOT_QUEUE_")}  # e.g. MODE=local
    return {"SALESBOT_DATABASE_URL": _db_url(db), **wecom_settings(api), **queue}


def _burn(stop: threading.Event, nice: int) -> None:
    """GIL-free native work on one core, like a CTranslate2 decode (optionally at lower priority)."""
    import hashlib

    if nice:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)  # this thread only (Linux)

    buf = os.urandom(4 * 1024 * 1024)
    while not stop.is_set():
        hashlib.sha256(buf).digest()


async def _serve(mode: str, port: int, db: str, api: str, profile: str | None) -> None:
    from aiohttp import web

    from tests.builders import AES_KEY, CORP_ID, TOKEN

    web_app = web.Application()
    app = None
    server = _base(mode).split("+", 1)[0]
    if server == "bare-200":
        async def ok(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(status=200)
        web_app.router.add_post("/wecom/callback", ok)
    elif server == "bare-decrypt":
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
        if server == "channel":
            async def noop(msg: object) -> bool:
                return True
            await channel.start(noop)
        else:
            if server != "pipeline":  # processing paused: rows (and on PostgreSQL their jobs) stay queued
                from bot.workqueue import SharedQueue

                Dispatcher._enqueue = lambda self, inbox_id, msg: None  # type: ignore[method-assign]

                async def paused(self: object, queues: object) -> None:
                    return None
                SharedQueue.start = paused  # type: ignore[method-assign,assignment]
            app = build_app(settings)
            app.add_channel(channel)
            await app.start()
            if server == "single":
                await channel.start(_single_submit(app.dispatcher))  # type: ignore[arg-type]
    stop = threading.Event()
    if "+asr" in mode:
        for _ in range(2):
            threading.Thread(target=_burn, args=(stop, 10 if _base(mode).endswith("-nice") else 0), daemon=True).start()
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024,
                      reuse_port=_processes(mode) > 1 or None).start()  # the copies share the port
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # parent closes stdin
    if prof is not None and profile:
        prof.disable()
        prof.dump_stats(profile)
    stop.set()
    await runner.cleanup()
    if app is not None:  # a pipeline backlog is left pending, as a crash would leave it
        app.svc.db.dispose()
    os._exit(0)


def _single_submit(dispatcher: object) -> object:
    """The former Dispatcher.submit: one inbox transaction (and thread hop) per message."""
    from bot.dispatch import to_payload
    from store import repos

    async def submit(msg: Any) -> bool:
        inbox_id = await dispatcher.svc.db.run(  # type: ignore[attr-defined]
            repos.inbox_insert, msg.channel, msg.msg_id, msg.sender.user_id, msg.kind.value,
            to_payload(msg), msg.received_at)
        if inbox_id is None:
            return False
        dispatcher._enqueue(inbox_id, msg)  # type: ignore[attr-defined]
        return True

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
    from sqlalchemy import create_engine, text

    engine = create_engine(_db_url(db))
    try:
        with engine.connect() as con:
            total = int(con.execute(text("select count(*) from inbox")).scalar_one())
            done = int(con.execute(text("select count(*) from inbox where status != 'pending'")).scalar_one())
            return total, done
    finally:
        engine.dispose()


def _fresh_postgres(url: str) -> None:
    """An empty schema at the newest migration (what `salesbot db upgrade` makes)."""
    from sqlalchemy import create_engine, text

    from store.db import Database

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    db = Database(url)
    db.upgrade()
    db.dispose()


def run_mode(mode: str, args: argparse.Namespace, reqs: Path, lua: Path, tmp: Path, api: str) -> dict:
    if "@pg" in mode:  # the same server on PostgreSQL (--url), a fresh schema every round
        if not args.url:
            raise SystemExit(f"{mode}: pass --url postgresql+psycopg://…")
        db = args.url
        _fresh_postgres(db)
    else:
        db = str(tmp / f"{mode}.db")
        for leftover in (db, db + "-wal", db + "-shm"):  # a fresh inbox every round
            Path(leftover).unlink(missing_ok=True)
    _seed(db, api)
    port = _free_port()
    prof = str(Path(args.profile).resolve() / f"{mode}.prof") if args.profile else None
    copies = _processes(mode)
    servers = [subprocess.Popen([sys.executable, __file__, "--serve", mode, "--port", str(port), "--db", db,
                                 "--api", api, *(["--prof-out", prof] if prof and i == 0 else [])],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
               for i in range(copies)]
    for server in servers:
        assert server.stdout is not None and server.stdout.readline().strip() == "READY", mode
    wrk = subprocess.run(["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--timeout", "5s",
                          "-s", str(lua), f"http://127.0.0.1:{port}/wecom/callback", "--", str(reqs)],
                         capture_output=True, text=True, check=True)
    line = next(x for x in wrk.stdout.splitlines() if x.startswith("RESULT"))
    total, non2xx, sock_err, dur_us, p50, p99, pmax = (float(x) for x in line.split()[1:])
    for server in servers:
        server.stdin.close()  # type: ignore[union-attr]
    for server in servers:
        server.wait(120)
    ok = int(total - non2xx)
    out = {"mode": mode, "rps": ok / (dur_us / 1e6), "acked": ok, "non2xx": int(non2xx),
           "socket_errors": int(sock_err), "p50_ms": p50 / 1000, "p99_ms": p99 / 1000, "max_ms": pmax / 1000}
    if prof:
        import pstats

        print(f"--- profile {mode} (cProfile, by own time)", file=sys.stderr)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(args.profile_top)
    if mode.startswith(("inbox", "single", "pipeline")):
        rows, done = _inbox_rows(db)
        out["inbox_rows"], out["processed"] = rows, done
        out["durable"] = rows >= ok
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="PostgreSQL URL for the `@pg` modes (e.g. inbox@pg); its schema is reset")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--requests", type=int, default=120_000, help="unique pre-encrypted callbacks")
    ap.add_argument("--modes", nargs="*", default=MODES)
    ap.add_argument("--repeat", type=int, default=1, help="rounds over all modes; the table shows medians")
    ap.add_argument("--profile", metavar="DIR", help="run each server under cProfile, stats into DIR")
    ap.add_argument("--profile-top", type=int, default=25)
    ap.add_argument("--serve", help=argparse.SUPPRESS)
    ap.add_argument("--prof-out", help=argparse.SUPPRESS)
    ap.add_argument("--fake-api", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--api", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve, args.port, args.db, args.api, args.prof_out))
        return
    if args.fake_api:
        _fake_api(args.fake_api)
        return

    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
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
        rounds: list[dict[str, dict]] = []
        try:
            for i in range(args.repeat):  # modes interleaved, so drift in the machine's load hits all
                rounds.append({})
                for mode in args.modes:
                    r = run_mode(mode, args, reqs, lua, tmp, api)
                    rounds[-1][mode] = r
                    print(json.dumps(dict(r, round=i + 1)), file=sys.stderr, flush=True)
        finally:
            api_proc.stdin.close()  # type: ignore[union-attr]
            sent = api_proc.stdout.readline() if api_proc.stdout else ""
            api_proc.wait(30)
        load_after = Path("/proc/loadavg").read_text().split()[:3]
        print(f"\nwrk -t1 -c{args.connections} -d{args.duration}s, {os.cpu_count()} CPUs, load average "
              f"{' '.join(load_before)} before / {' '.join(load_after)} after; fake API: {sent.strip()}"
              + ("; PROFILED (cProfile overhead)" if args.profile else "")
              + (f"; median of {args.repeat} interleaved rounds" if args.repeat > 1 else ""))
        print("| server | callbacks/s | × bare-decrypt (same load) | p50 ack ms | p99 ack ms | max ms | non-2xx "
              "| durable |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        verdicts = []
        for mode in args.modes:
            s = _summary(mode, rounds)
            spread = f" ({s['rps_min']:.0f}–{s['rps_max']:.0f})" if args.repeat > 1 else ""
            ratio = f"{s['ratio']:.2f}" if s["ratio"] is not None else "-"
            durable = "-"
            if s["durable"] is not None:
                durable = f"{'yes' if s['durable'] else 'NO'} ({s['rows']} rows, {s['processed']} processed)"
            print(f"| {mode} | {s['rps']:.0f}{spread} | {ratio} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | "
                  f"{s['max_ms']:.1f} | {s['errors']} | {durable} |")
            if mode.startswith("inbox"):
                ok = (s["rps"] >= 3000, s["ratio"] is None or s["ratio"] >= 0.4, s["p99_ms"] <= 50)
                verdicts.append(f"{mode}: ≥3,000/s {'yes' if ok[0] else 'no'}, ≥0.4× bare-decrypt "
                                f"{'yes' if ok[1] else 'no'}, p99 ≤ 50 ms {'yes' if ok[2] else 'no'}")
        if verdicts:
            print("\ntargets — " + "; ".join(verdicts))


def _summary(mode: str, rounds: list[dict[str, dict]]) -> dict[str, Any]:
    """Medians over rounds; the ratio is taken within each round (same load), then the median."""
    import statistics

    runs = [r[mode] for r in rounds]
    load = mode[len(mode.split("+", 1)[0]):]  # "", "+asr", "+asr-nice"
    ratios = [r[mode]["rps"] / r["bare-decrypt" + load]["rps"] for r in rounds if "bare-decrypt" + load in r]
    med = statistics.median
    return {
        "rps": med(x["rps"] for x in runs), "rps_min": min(x["rps"] for x in runs),
        "rps_max": max(x["rps"] for x in runs), "ratio": med(ratios) if ratios else None,
        "p50_ms": med(x["p50_ms"] for x in runs), "p99_ms": med(x["p99_ms"] for x in runs),
        "max_ms": max(x["max_ms"] for x in runs),
        "errors": sum(x["non2xx"] + x["socket_errors"] for x in runs),
        "durable": all(x["durable"] for x in runs) if "durable" in runs[0] else None,
        "rows": sum(x.get("inbox_rows", 0) for x in runs), "processed": sum(x.get("processed", 0) for x in runs),
    }


if __name__ == "__main__":
    main()
