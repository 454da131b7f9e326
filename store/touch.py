"""`customers.last_touch_at`: a customer's newest interaction, kept in the row for the silent-customer scan.

The value is exactly what the silent-customer rule used to compute per customer on every run:
greatest(newest active follow-up, newest deal activity), either one defaulting to the customer's
creation. Keeping it in the row turns that rule into one range scan of an index instead of two
index seeks per customer.

It is recomputed with that same expression (two index seeks) for every customer whose inputs a
flush changes: a follow-up added, deleted, revoked or moved to another customer (notes, 撤销,
corrections, merges), a deal added, deleted, touched or moved (notes, stage commands, undo,
merges), a customer created or back-dated. A session event does it, so no write path has to
remember to. Writes that bypass the ORM (`insert(Customer)` in the importer, bulk loads) must set
the column themselves or call `refresh_last_touch`: the column is NOT NULL, so on PostgreSQL a
forgotten one fails; SQLite, where migration 0005 had to add it with a constant default, would
store 1970 and the customer would show up as silent at once.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession

from store.models import Customer, Deal, FollowUp, table_of

# Per model: the attributes that feed a customer's newest touch.
_INPUTS: dict[type, tuple[str, ...]] = {
    FollowUp: ("customer_id", "status", "created_at"),
    Deal: ("customer_id", "last_activity_at"),
}
_PENDING = "last_touch_pending"  # session.info key: customer ids to recompute after the flush


def newest_touch(dialect: str) -> Any:
    """The touch of the `customers` row it is correlated with (UPDATE … SET or SELECT)."""
    c = table_of(Customer).c
    f, d = table_of(FollowUp).c, table_of(Deal).c
    fu = select(func.max(f.created_at)).where(f.customer_id == c.id, f.status == "active").scalar_subquery()
    dl = select(func.max(d.last_activity_at)).where(d.customer_id == c.id).scalar_subquery()
    greatest = func.greatest if dialect == "postgresql" else func.max  # SQLite's max(a, b) is scalar
    floor = func.coalesce(c.prior_touch_at, c.created_at)  # before any follow-up or deal
    return greatest(func.coalesce(fu, floor), func.coalesce(dl, floor), floor, type_=c.last_touch_at.type)


def refresh_last_touch(conn: Connection, customer_ids: Iterable[int] | None = None) -> None:
    """Recompute the touch of these customers (None: all of them) in one UPDATE per 500 ids."""
    table = table_of(Customer)
    stmt = table.update().values(last_touch_at=newest_touch(conn.dialect.name))
    if customer_ids is None:
        conn.execute(stmt)
        return
    ids = sorted(set(customer_ids))
    for i in range(0, len(ids), 500):
        conn.execute(stmt.where(table.c.id.in_(ids[i:i + 500])))


def _customers_touched(obj: Any, attrs: tuple[str, ...], changed_only: bool) -> set[int]:
    """The customer ids an object's pending change can move: before and after a customer_id change."""
    state = inspect(obj)
    ids: set[int] = set()
    if changed_only and not any(state.attrs[a].history.has_changes() for a in attrs):
        return ids
    hist = state.attrs["customer_id"].history
    for cid in (*hist.deleted, *hist.unchanged, *hist.added, getattr(obj, "customer_id", None)):
        if cid is not None:
            ids.add(cid)
    return ids


@event.listens_for(OrmSession, "before_flush")
def _collect(session: OrmSession, _ctx: Any, _instances: Any) -> None:
    pending: dict[str, Any] = session.info.setdefault(_PENDING, {"ids": set(), "new": []})
    for obj in session.new:
        if isinstance(obj, Customer):
            if obj.last_touch_at is None:  # no follow-up or deal can point at it yet
                obj.last_touch_at = obj.prior_touch_at or obj.created_at
            pending["new"].append(obj)  # recomputed once it has an id (an explicit id may have rows)
        elif type(obj) in _INPUTS:
            pending["ids"] |= _customers_touched(obj, _INPUTS[type(obj)], changed_only=False)
    for obj in session.dirty:
        if isinstance(obj, Customer) and any(inspect(obj).attrs[a].history.has_changes()
                                             for a in ("created_at", "prior_touch_at")):
            pending["ids"].add(obj.id)
        elif type(obj) in _INPUTS:
            pending["ids"] |= _customers_touched(obj, _INPUTS[type(obj)], changed_only=True)
    for obj in session.deleted:
        if type(obj) in _INPUTS:
            pending["ids"] |= _customers_touched(obj, _INPUTS[type(obj)], changed_only=False)


@event.listens_for(OrmSession, "after_soft_rollback")
def _forget(session: OrmSession, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(OrmSession, "after_flush_postexec")
def _refresh(session: OrmSession, _ctx: Any) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    ids = pending["ids"] | {c.id for c in pending["new"] if c.id is not None}
    if not ids:
        return
    refresh_last_touch(session.connection(), ids)
    for cid in ids:  # loaded customers read the new value on next access
        obj = session.identity_map.get(inspect(Customer).identity_key_from_primary_key((cid,)))
        if obj is not None:
            session.expire(obj, ["last_touch_at"])
