"""`customer_changes`: a log of writes to customers' identity, for match indexes in every process.

A session event appends one row per customer whose name, aliases, region or merge state a flush
creates or changes, so no write path has to remember to. Writes that bypass the ORM (the
importer's batched `insert(Customer)`) call `record` themselves. Readers keep the newest id they
applied: `newest` tells them whether anything changed (one primary-key lookup, whatever the CRM's
size), `changed_since` which customers to re-read.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import event, func, insert, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from store.models import Customer, CustomerChange, table_of, utcnow

_IDENTITY = ("name", "aliases", "region", "merged_into_id")  # what a match index reads
_PENDING = "customer_changes_pending"  # session.info key: customers to log after the flush


def record(conn: Connection, customer_ids: Iterable[int]) -> None:
    """Log a write to these customers (for writes that bypass the ORM)."""
    now = utcnow()
    rows = [{"customer_id": cid, "at": now} for cid in sorted(set(customer_ids))]
    if rows:
        conn.execute(insert(table_of(CustomerChange)), rows)


def newest(s: Session) -> int:
    """The newest change id (0 when none): equal ids mean the same customer table."""
    return int(s.exec(select(func.max(CustomerChange.id))).one() or 0)


def entry(s: Session, change_id: int) -> tuple[int, datetime] | None:
    """(customer id, time) of one change, None when there is none: a reader that remembers the
    entry it stopped at can tell "the log grew" from "the log was replaced" (a restored backup
    that has grown past the same id since)."""
    row = s.get(CustomerChange, change_id) if change_id else None
    return None if row is None else (row.customer_id, row.at)


def changed_since(s: Session, after: int) -> tuple[int, list[Customer]]:
    """(newest change id, the customers changed after `after`, merged ones too)."""
    rows = s.exec(select(CustomerChange.id, CustomerChange.customer_id).where(col(CustomerChange.id) > after)).all()
    if not rows:
        return after, []
    ids = sorted({cid for _, cid in rows})
    customers: list[Customer] = []
    for i in range(0, len(ids), 500):
        customers += s.exec(select(Customer).where(col(Customer.id).in_(ids[i:i + 500]))).all()
    return max(change_id or 0 for change_id, _ in rows), customers


def _identity_changed(obj: Customer) -> bool:
    state = inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in _IDENTITY)


@event.listens_for(OrmSession, "before_flush")
def _collect(session: OrmSession, _ctx: Any, _instances: Any) -> None:
    pending: list[Customer] = session.info.setdefault(_PENDING, [])
    pending += [o for o in session.new if isinstance(o, Customer)]
    pending += [o for o in session.dirty if isinstance(o, Customer) and _identity_changed(o)]


@event.listens_for(OrmSession, "after_flush")
def _log(session: OrmSession, _ctx: Any) -> None:
    pending: list[Customer] = session.info.pop(_PENDING, [])
    ids = [c.id for c in pending if c.id is not None]
    if ids:
        record(session.connection(), ids)
