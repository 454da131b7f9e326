"""Set-based queries behind the alert rules: one statement per rule, never one per row.

Each returns plain tuples with what the rule needs to address and word its alert (owner,
owner's manager, names, amounts), so evaluation over a million deals stays a few queries.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import and_, case, func, or_, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from store.db import insert_ignoring_duplicates
from store.models import ActionItem, Contract, Customer, Deal, FollowUp, Notification, Payment, StageChange, User


@dataclass(frozen=True, slots=True)
class DealRow:
    deal_id: int
    customer_id: int
    customer: str
    stage: str
    amount: Decimal | None
    last_activity_at: datetime
    owner_id: int
    owner: str
    manager_id: int | None


def _deal_rows(s: Session, *where: Any, limit: int | None = None) -> list[DealRow]:
    owner = aliased(User)
    q = (
        select(Deal.id, Deal.customer_id, Customer.name, Deal.stage, Deal.amount, Deal.last_activity_at,
               Deal.owner_id, owner.name, owner.manager_id)
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .join(owner, col(owner.id) == col(Deal.owner_id))
        .where(Deal.status == "open", *where)
        .order_by(col(Deal.last_activity_at), col(Deal.id))
        .limit(limit)
    )
    return [DealRow(*r) for r in s.exec(q)]  # type: ignore[call-overload]


def _not_snoozed(today: date) -> Any:
    return or_(col(Deal.snoozed_until).is_(None), col(Deal.snoozed_until) <= today)


def stale_deals(s: Session, touched_before: datetime, today: date) -> list[DealRow]:
    """Open, unsnoozed deals whose last activity is before the given instant."""
    return _deal_rows(s, col(Deal.last_activity_at) < touched_before, _not_snoozed(today))


def quotes_without_reply(s: Session, touched_by: datetime, today: date) -> list[DealRow]:
    """Deals sitting in the quote stage with nothing recorded since (the quote was the last touch)."""
    return _deal_rows(s, Deal.stage == "quote", col(Deal.last_activity_at) <= touched_by,
                      _not_snoozed(today))


@dataclass(frozen=True, slots=True)
class CustomerRow:
    customer_id: int
    customer: str
    last_interaction: datetime
    owner_id: int
    owner: str
    manager_id: int | None


def silent_customers(s: Session, silent_since: datetime) -> list[CustomerRow]:
    """Owned customers whose newest interaction (a follow-up or deal activity; else their
    creation) is at or before the instant."""
    touches = union_all(
        select(FollowUp.customer_id.label("cid"), FollowUp.created_at.label("at"))  # type: ignore[union-attr]
        .where(FollowUp.status == "active", col(FollowUp.customer_id).is_not(None)),
        select(Deal.customer_id.label("cid"), Deal.last_activity_at.label("at")),  # type: ignore[attr-defined]
    ).subquery()
    last_touch = select(touches.c.cid, func.max(touches.c.at).label("last")).group_by(touches.c.cid).subquery()
    last = func.coalesce(last_touch.c.last, Customer.created_at)
    owner = aliased(User)
    q = (
        select(Customer.id, Customer.name, last, owner.id, owner.name, owner.manager_id)
        .join(owner, col(owner.id) == col(Customer.owner_id))
        .outerjoin(last_touch, last_touch.c.cid == col(Customer.id))
        .where(col(Customer.merged_into_id).is_(None), last <= silent_since)
        .order_by(last, col(Customer.id))
    )
    out = []
    for cid, name, at, oid, oname, mid in s.exec(q):  # type: ignore[call-overload]
        if isinstance(at, str):  # SQLite returns max()/coalesce() of datetimes as text
            at = datetime.fromisoformat(at)
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        out.append(CustomerRow(cid, name, at, oid, oname, mid))
    return out


@dataclass(frozen=True, slots=True)
class ContractRow:
    contract_id: int
    number: str | None
    deal_id: int
    customer: str
    signed_on: date
    due_on: date | None
    amount: Decimal
    paid: Decimal
    owner_id: int
    owner: str
    manager_id: int | None

    @property
    def balance(self) -> Decimal:
        return self.amount - self.paid


def _contract_rows(s: Session, *where: Any) -> list[ContractRow]:
    paid = (
        select(Payment.contract_id, func.sum(Payment.amount).label("paid"))
        .group_by(col(Payment.contract_id))
        .subquery()
    )
    owner = aliased(User)
    paid_sum = func.coalesce(paid.c.paid, 0)
    q = (
        select(Contract.id, Contract.number, Deal.id, Customer.name, Contract.signed_on, Contract.due_on,
               Contract.amount, paid_sum, owner.id, owner.name, owner.manager_id)
        .join(Deal, col(Deal.id) == col(Contract.deal_id))
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .join(owner, col(owner.id) == col(Deal.owner_id))
        .outerjoin(paid, paid.c.contract_id == col(Contract.id))
        .where(paid_sum < Contract.amount, *where)
        .order_by(col(Contract.signed_on), col(Contract.id))
    )
    return [ContractRow(*r[:7], Decimal(str(r[7])), *r[8:]) for r in s.exec(q)]  # type: ignore[call-overload]


def contracts_without_payment(s: Session, signed_on_or_before: date) -> list[ContractRow]:
    no_payment = ~select(Payment.id).where(Payment.contract_id == Contract.id).exists()
    return _contract_rows(s, col(Contract.signed_on) <= signed_on_or_before, no_payment)


def overdue_contracts(s: Session, today: date) -> list[ContractRow]:
    return _contract_rows(s, col(Contract.due_on) < today, _not_snoozed(today))


@dataclass(frozen=True, slots=True)
class ItemRow:
    item_id: int
    text: str
    due: date
    customer: str | None
    assignee_id: int


def due_items(s: Session, today: date) -> list[ItemRow]:
    q = (
        select(ActionItem.id, ActionItem.text, ActionItem.due, Customer.name, ActionItem.assignee_id)
        .outerjoin(Customer, col(Customer.id) == col(ActionItem.customer_id))
        .where(ActionItem.status == "open", col(ActionItem.due) <= today)
        .order_by(col(ActionItem.assignee_id), col(ActionItem.due), col(ActionItem.id))
    )
    return [ItemRow(*r) for r in s.exec(q)]  # type: ignore[call-overload]


def managers(s: Session) -> list[User]:
    return list(s.exec(select(User).where(User.role == "manager", col(User.active))))


@dataclass
class FunnelCell:
    count: int = 0
    amount: Decimal = Decimal(0)
    stalled: int = 0


@dataclass
class FunnelData:
    """Aggregates per owner, so a manager's funnel is a sum over their team (no per-deal rows)."""

    cells: dict[tuple[int, str, str], FunnelCell]  # (owner, stage, status)
    furthest: dict[tuple[int, int], int]  # (owner, furthest stage rank) → deals
    days_in_stage: dict[tuple[int, str], tuple[float, int]]  # (owner, stage) → (sum of days, n)


def _rank(stage_col: Any, stages: list[str]) -> Any:
    return case({s: i for i, s in enumerate(stages)}, value=stage_col, else_=-1)


def _days_between(s: Session, later: Any, earlier: Any) -> Any:
    if s.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def funnel_data(s: Session, stages: list[str], stall_before: datetime, since: datetime) -> FunnelData:
    """Pipeline of open deals plus deals closed since `since`, aggregated in three statements."""
    recent = or_(Deal.status == "open", col(Deal.updated_at) >= since)
    stalled = func.sum(case((and_(Deal.status == "open", col(Deal.last_activity_at) < stall_before), 1), else_=0))
    cells = {
        (o, st, status): FunnelCell(int(n), Decimal(str(amt or 0)), int(stl or 0))
        for o, st, status, n, amt, stl in s.exec(  # type: ignore[call-overload]
            select(Deal.owner_id, Deal.stage, Deal.status, func.count(), func.sum(Deal.amount), stalled)
            .where(recent).group_by(col(Deal.owner_id), col(Deal.stage), col(Deal.status)))
    }
    hist = (
        select(StageChange.deal_id, func.max(_rank(StageChange.to_stage, stages)).label("r"))
        .where(StageChange.source != "undo").group_by(col(StageChange.deal_id)).subquery()
    )
    now_rank, hist_rank = _rank(Deal.stage, stages), func.coalesce(hist.c.r, -1)
    far = case((hist_rank > now_rank, hist_rank), else_=now_rank).label("far")
    furthest = {
        (o, int(r)): int(n)
        for o, r, n in s.exec(  # type: ignore[call-overload]
            select(Deal.owner_id, far, func.count()).outerjoin(hist, hist.c.deal_id == col(Deal.id))
            .where(recent).group_by(col(Deal.owner_id), far))
    }
    nxt = func.lead(StageChange.at).over(partition_by=StageChange.deal_id, order_by=StageChange.at)
    spans = (
        select(StageChange.deal_id, StageChange.to_stage, StageChange.at, nxt.label("next_at"))
        .where(StageChange.source != "undo", col(StageChange.at) >= since).subquery()
    )
    days = _days_between(s, spans.c.next_at, spans.c.at)
    dwell = {
        (o, st): (float(total or 0), int(n))
        for o, st, total, n in s.exec(  # type: ignore[call-overload]
            select(Deal.owner_id, spans.c.to_stage, func.sum(days), func.count(spans.c.next_at))
            .join(Deal, col(Deal.id) == spans.c.deal_id)
            .where(spans.c.next_at.is_not(None)).group_by(col(Deal.owner_id), spans.c.to_stage))
    }
    return FunnelData(cells, furthest, dwell)


def stalled_deals(s: Session, owner_ids: Iterable[int] | None, stall_before: datetime,
                  limit: int = 10) -> list[DealRow]:
    where = [col(Deal.last_activity_at) < stall_before]
    if owner_ids is not None:
        where.append(col(Deal.owner_id).in_(list(owner_ids)))
    return _deal_rows(s, *where, limit=limit)


# ---------------------------------------------------------------- outbox


def enqueue_many(s: Session, rows: list[dict[str, Any]]) -> int:
    """Insert notifications, skipping dedupe keys already present; returns how many are new."""
    if not rows:
        return 0
    stmt = insert_ignoring_duplicates(s, Notification)
    new = 0
    for i in range(0, len(rows), 500):
        new += len(s.execute(stmt, rows[i:i + 500]).all())
    return new


def due_notifications(s: Session, now: datetime, limit: int = 1000) -> list[Notification]:
    return list(
        s.exec(
            select(Notification)
            .where(Notification.status == "pending", col(Notification.next_attempt_at) <= now)
            .order_by(col(Notification.recipient_id), col(Notification.id))
            .limit(limit)
        )
    )


def notifications(s: Session, status: str | None = None, recipient_ids: Iterable[int] | None = None,
                  since: datetime | None = None, limit: int = 200) -> list[Notification]:
    q = select(Notification)
    if status:
        q = q.where(Notification.status == status)
    if recipient_ids is not None:
        q = q.where(col(Notification.recipient_id).in_(list(recipient_ids)))
    if since is not None:
        q = q.where(col(Notification.created_at) >= since)
    return list(s.exec(q.order_by(col(Notification.id).desc()).limit(limit)))


def backlog(s: Session) -> dict[str, int]:
    rows = s.exec(select(Notification.status, func.count()).group_by(col(Notification.status)))
    return {status: int(n) for status, n in rows}  # type: ignore[misc]



def mark_sent(s: Session, ids: list[int], now: datetime) -> None:
    for n in s.exec(select(Notification).where(col(Notification.id).in_(ids))):
        n.status, n.sent_at, n.attempts = "sent", now, n.attempts + 1
        s.add(n)


def mark_failed(s: Session, ids: list[int], error: str, now: datetime, base_seconds: int,
                max_attempts: int) -> int:
    """Count a failed attempt: back off exponentially, or mark dead after max attempts."""
    from datetime import timedelta

    dead = 0
    for n in s.exec(select(Notification).where(col(Notification.id).in_(ids))):
        n.attempts += 1
        n.last_error = error[:500]
        if n.attempts >= max_attempts:
            n.status = "dead"
            dead += 1
        else:
            n.next_attempt_at = now + timedelta(seconds=base_seconds * 2 ** (n.attempts - 1))
        s.add(n)
    return dead
