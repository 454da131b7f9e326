"""One full alert-rule evaluation over a large CRM (SQLite or PostgreSQL): time and SQL statement count.

Data (generated, fixed seed): 1,000,000 deals (10 % open, last touched within 30 days; the rest
closed over three years), 200,000 customers with follow-ups, 100,000 contracts with payments,
500 reps under 50 managers. The first evaluation enqueues the notifications; the second one
(same instant) finds them all already queued, which is what every later cron run looks like.

    .venv/bin/python bench/scheduler_bench.py            # full size
    .venv/bin/python bench/scheduler_bench.py --scale 0.1
    .venv/bin/python bench/scheduler_bench.py --url postgresql+psycopg://…   # the same on PostgreSQL

With --url the database's public schema is dropped and rebuilt at the newest migration first.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert, text  # noqa: E402

from bot.config import load_settings  # noqa: E402
from scheduler import jobs  # noqa: E402
from store.db import Database  # noqa: E402
from store.models import Contract, Customer, Deal, FollowUp, Payment, User  # noqa: E402
from store.touch import refresh_last_touch  # noqa: E402

NOW = datetime(2026, 6, 17, 2, 0, tzinfo=timezone.utc)  # Wednesday 10:00 Asia/Shanghai
STAGES = ["lead", "contacted", "needs", "quote", "trial", "negotiation"]


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def populate(db: Database, scale: float, rng: random.Random) -> dict[str, int]:
    n_deals, n_customers, n_contracts = int(1_000_000 * scale), int(200_000 * scale), int(100_000 * scale)
    n_reps, n_mgrs = max(5, int(500 * scale)), max(1, int(50 * scale))
    with db.engine.begin() as conn:
        conn.execute(insert(User), [{"id": i + 1, "name": f"经理{i}", "role": "manager", "active": True,
                                     "created_at": NOW} for i in range(n_mgrs)])
        conn.execute(insert(User), [{"id": n_mgrs + i + 1, "name": f"销售{i}", "role": "rep", "active": True,
                                     "manager_id": i % n_mgrs + 1, "created_at": NOW} for i in range(n_reps)])
        rep = lambda: rng.randint(n_mgrs + 1, n_mgrs + n_reps)  # noqa: E731
        progress(f"customers: {n_customers}")
        owners = [rep() for _ in range(n_customers)]
        conn.execute(insert(Customer), [{"id": i + 1, "name": f"客户{i}", "normalized_name": f"客户{i}",
                                         "aliases": [], "owner_id": owners[i], "updated_at": NOW,
                                         "created_at": NOW - timedelta(days=400),
                                         "last_touch_at": NOW - timedelta(days=400)} for i in range(n_customers)])
        progress("follow-ups: one to three per customer")
        fus = []
        for i in range(n_customers):
            for k in range(rng.randint(1, 3)):
                fus.append({"source_key": f"b:{i}:{k}", "author_id": owners[i], "customer_id": i + 1,
                            "raw_text": "拜访", "extracted": {}, "corrections": [], "effects": {},
                            "status": "active", "confirmed": False, "corrected": False,
                            "created_at": NOW - timedelta(days=rng.uniform(0, 90))})
        for i in range(0, len(fus), 50_000):
            conn.execute(insert(FollowUp), fus[i:i + 50_000])
        progress(f"deals: {n_deals}")
        batch = []
        for i in range(n_deals):
            cid = rng.randint(1, n_customers)
            is_open = rng.random() < 0.10
            last = NOW - timedelta(days=rng.uniform(0, 30) if is_open else rng.uniform(30, 1100))
            stage = rng.choice(STAGES) if is_open else rng.choice(["won", "lost"])
            batch.append({"id": i + 1, "customer_id": cid, "owner_id": owners[cid - 1], "title": f"商机{i}",
                          "stage": stage, "status": "open" if is_open else stage, "amount": rng.randint(1, 500) * 10_000,
                          "last_activity_at": last, "created_at": last, "updated_at": last})
            if len(batch) == 100_000:
                conn.execute(insert(Deal), batch)
                batch = []
        if batch:
            conn.execute(insert(Deal), batch)
        progress(f"contracts: {n_contracts}")
        contracts, payments = [], []
        for i in range(n_contracts):
            signed = NOW.date() - timedelta(days=rng.randint(0, 700))
            amount = rng.randint(5, 500) * 10_000
            contracts.append({"id": i + 1, "deal_id": rng.randint(1, n_deals), "number": f"HT{i}",
                              "signed_on": signed, "amount": amount, "due_on": signed + timedelta(days=60),
                              "created_at": NOW})
            r = rng.random()
            if r < 0.85:  # most are fully paid, some partly, some not at all
                payments.append({"contract_id": i + 1, "amount": amount if r < 0.75 else amount // 2,
                                 "paid_on": signed + timedelta(days=30), "created_at": NOW})
        conn.execute(insert(Contract), contracts)
        conn.execute(insert(Payment), payments)
        progress("newest touch per customer")
        refresh_last_touch(conn)  # bulk inserts bypass the ORM hook that keeps it
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    return {"deals": n_deals, "customers": n_customers, "contracts": n_contracts, "follow_ups": len(fus)}


def wait_for_autovacuum(db: Database, limit_s: float) -> float | None:
    """Seconds until the server's autovacuum has vacuumed and analyzed the outbox, None if not
    within `limit_s` (what a real tick, minutes after a mass insert, finds done)."""
    q = text("SELECT coalesce(autovacuum_count, 0) > 0 AND coalesce(autoanalyze_count, 0) > 0 "
             "FROM pg_stat_user_tables WHERE relname = 'notifications'")
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit_s:
        with db.engine.connect() as conn:
            if conn.execute(q).scalar():
                return time.perf_counter() - t0
        time.sleep(2)
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--db", default=None,
                    help="keep the generated database in this file and reuse it (outbox emptied first)")
    ap.add_argument("--url", default=None, help="a PostgreSQL URL instead (its schema is rebuilt)")
    ap.add_argument("--autovacuum-wait", type=float, default=300,
                    help="PostgreSQL: after the runs, wait up to this many seconds for autovacuum to "
                         "visit the outbox (as it does within a minute of a mass insert) and run once more")
    args = ap.parse_args()
    settings = load_settings(env={})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db or f"{tmp}/bench.db")
        fresh = args.url is not None or not path.exists()
        if args.url:
            with Database(args.url).engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db = Database(args.url)
            db.upgrade()
        else:
            db = Database(f"sqlite:///{path}")
            db.ensure_schema()
        if fresh:
            t0 = time.perf_counter()
            sizes = populate(db, args.scale, random.Random(3))
            progress(f"populated {sizes} in {time.perf_counter() - t0:.0f} s")
        else:
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM notifications"))
            progress(f"reusing {path} (outbox emptied)")
        statements = [0]

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(*_a: object) -> None:
            statements[0] += 1

        def timed(label: str) -> None:
            statements[0] = 0
            t0 = time.perf_counter()
            new = db.call(jobs.run_rules, settings, NOW, None)
            dt = time.perf_counter() - t0
            print(f"{label}: {dt:.2f} s, {statements[0]} SQL statements, {sum(new.values())} new outbox rows; "
                  f"by rule {new}", flush=True)

        timed("first run (enqueues)")
        timed("second run (all already queued)")
        if args.url and args.autovacuum_wait > 0:
            waited = wait_for_autovacuum(db, args.autovacuum_wait)
            if waited is None:
                print(f"autovacuum did not visit the outbox within {args.autovacuum_wait:.0f} s")
            else:
                timed(f"a later tick (autovacuum visited the outbox {waited:.0f} s after the second run)")
        with db.engine.connect() as conn:
            total = conn.execute(text("SELECT count(*) FROM notifications")).scalar()
        print(f"outbox rows: {total}")
        db.dispose()


if __name__ == "__main__":
    main()
