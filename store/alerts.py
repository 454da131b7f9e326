"""Set-based queries behind the alert rules and the outbox: one statement per rule, never one per row."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, and_, case, cast, func, literal, or_, text, union_all, update
from sqlalchemy import select as sa_select  # typed for any number of columns (sqlmodel's: up to 4)
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from store.db import insert_ignoring_duplicates
from store.models import (
    DEAL_CLOSED,
    ActionItem,
    Contract,
    Customer,
    Deal,
    Installment,
    JobRun,
    Notification,
    OutgoingReply,
    Payment,
    StageChange,
    User,
    table_of,
)

# ---------------------------------------------------------------- rule candidates
#
# Each rule is one SELECT of (dedupe_key, rule, recipient_id, body) computed entirely in SQL, so a
# run over a million deals is `INSERT … SELECT … ON CONFLICT DO NOTHING` (see `enqueue_select`):
# Python never sees the rows, and objects already alerted for the period cost one index probe.
# The body holds the facts; the words are rendered at delivery (handlers/texts.alert_text), so a
# deferred push still says how many days it has been *now*.


def _dialect(s: Session) -> str:
    return s.get_bind().dialect.name


def _stamp(s: Session, at: Any) -> Any:
    """A UTC timestamp as 'YYYY-MM-DD HH:MM:SS.ffffff' text on every dialect (keys and facts)."""
    if _dialect(s) == "postgresql":
        return func.to_char(func.timezone("UTC", at), "YYYY-MM-DD HH24:MI:SS.US")
    return cast(at, String)  # SQLAlchemy already stores SQLite datetimes in exactly this form


def _text(x: Any) -> Any:
    return cast(x, String)


def _key(*parts: Any) -> Any:
    """'part:part:…' built in SQL (|| on both dialects)."""
    out = None
    for p in parts:
        p = literal(p, String) if isinstance(p, str) else _text(p)
        out = p if out is None else out + literal(":", String) + p
    return out


def _facts(s: Session, **fields: Any) -> Any:
    args: list[Any] = []
    for k, v in fields.items():
        args += [literal(k, String), v]
    return (func.json_build_object if _dialect(s) == "postgresql" else func.json_object)(*args)


def _candidates(key: Any, rule: str, recipient: Any, body: Any) -> Select:  # type: ignore[type-arg]
    return select(key.label("dedupe_key"), literal(rule, String).label("rule"),
                  recipient.label("recipient_id"), body.label("body"))


def _not_queued(key: Any) -> Any:
    """The candidate's key is not in the outbox yet: applied on the scanned table itself, before
    any join, so a run with nothing new looks up no names and builds no facts (PostgreSQL does not
    move an anti-join below the joins on its own)."""
    queued = aliased(Notification)
    return ~select(queued.id).where(queued.dedupe_key == key).exists()


def _owner_or_manager(owner: Any) -> Any:
    """A rep-level alert's recipient: the owner, or while the owner has left (inactive) the
    owner's manager, so an unattended customer is never silent."""
    return case((col(owner.active), owner.id), else_=owner.manager_id)


def _not_snoozed(today: date) -> Any:
    return or_(col(Deal.snoozed_until).is_(None), col(Deal.snoozed_until) <= today)


def _deal_candidates(s: Session, rule: str, key_prefix: str, level: str, *where: Any) -> Select:  # type: ignore[type-arg]
    """Open deals matching `where`, to their rep (level "rep") or the rep's manager ("mgr"), once
    per idle spell. The deal's columns come from the open-deal covering index; the anti-join on
    queued keys runs before the customer is looked up, so a run with nothing new reads no names."""
    owner = aliased(User)
    last = _stamp(s, Deal.last_activity_at)
    to = _owner_or_manager(owner) if level == "rep" else col(owner.manager_id)
    body = _facts(s, deal_id=Deal.id, customer_id=Deal.customer_id, customer=Customer.name, stage=Deal.stage,
                  amount=Deal.amount, last=last, owner=owner.name, left=~col(owner.active))
    key = _key(key_prefix, Deal.id, level, last)
    return (
        _candidates(key, rule, to, body)
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .join(owner, col(owner.id) == col(Deal.owner_id))
        .where(col(Deal.status) == "open", *where, to.is_not(None), _not_queued(key))
    )


def stale_deals(s: Session, rep_before: datetime, manager_before: datetime, today: date) -> Any:
    """Open, unsnoozed deals idle since before `rep_before` → their rep; before `manager_before`
    → also the rep's manager. Each level is a range scan of the open-deal covering index (cheaper
    than materializing one scan for both: that would fetch every customer's name up front)."""
    idle = (col(Deal.last_activity_at) < rep_before, _not_snoozed(today))
    return union_all(
        _deal_candidates(s, "stale_deal", "stale", "rep", *idle),
        _deal_candidates(s, "stale_deal_team", "stale", "mgr", *idle, col(Deal.last_activity_at) < manager_before),
    )


def quotes_without_reply(s: Session, sent_by: datetime, today: date) -> Select:  # type: ignore[type-arg]
    """Open, unsnoozed deals whose latest quote went out at or before `sent_by` and has no answer
    since (`quote_answered_at` missing or older than the quote) → their rep, once per quote: the
    key holds the quote's stamp, so a new quote can alert again. The stage plays no part; the
    scan is a range scan of the partial index over open deals with a quote out."""
    owner = aliased(User)
    sent = _stamp(s, Deal.quote_sent_at)
    body = _facts(s, deal_id=Deal.id, customer_id=Deal.customer_id, customer=Customer.name, stage=Deal.stage,
                  amount=Deal.amount, last=_stamp(s, Deal.last_activity_at), sent=sent, owner=owner.name,
                  left=~col(owner.active))
    to = _owner_or_manager(owner)
    unanswered = or_(col(Deal.quote_answered_at).is_(None), col(Deal.quote_answered_at) < col(Deal.quote_sent_at))
    key = _key("quote", Deal.id, sent)
    return (
        _candidates(key, "quote_no_reply", to, body)
        .join(Customer, col(Customer.id) == col(Deal.customer_id))
        .join(owner, col(owner.id) == col(Deal.owner_id))
        .where(col(Deal.status) == "open", col(Deal.quote_sent_at).is_not(None), col(Deal.quote_sent_at) <= sent_by,
               unanswered, _not_snoozed(today), to.is_not(None), _not_queued(key))
    )


def silent_customers(s: Session, silent_since: list[datetime]) -> Any:
    """Owned customers whose newest interaction (an active follow-up or deal activity; else their
    creation) is at or before the instant of a level: level 1 → the owner, 2 → the owner's manager.

    The newest touch is kept in `customers.last_touch_at` (store/touch.py), so each level is one
    range scan of the live-customer index by touch; the name is only read for a new alert.
    """
    parts = []
    for level, since in enumerate(silent_since, 1):
        owner = aliased(User)
        last = _stamp(s, Customer.last_touch_at)
        to = _owner_or_manager(owner) if level == 1 else col(owner.manager_id)
        rule = "silent_customer" if level == 1 else "silent_customer_team"
        body = _facts(s, customer_id=Customer.id, customer=Customer.name, last=last, owner=owner.name,
                      left=~col(owner.active))
        key = _key("silent", Customer.id, str(level), last)
        parts.append(_candidates(key, rule, to, body)
                     .join(owner, col(owner.id) == col(Customer.owner_id))
                     .where(col(Customer.merged_into_id).is_(None), col(Customer.last_touch_at) <= since,
                            to.is_not(None), _not_queued(key)))
    return parts[0] if len(parts) == 1 else union_all(*parts)


@dataclass(frozen=True, slots=True)
class Release:
    """An owned customer silent long enough to go back to the public pool."""

    customer_id: int
    customer: str
    last_touch_at: datetime
    owner_id: int
    owner: str
    owner_active: bool
    manager_id: int | None


def _releasable(silent_since: datetime) -> tuple[Any, ...]:
    """Owned, live customers whose newest touch is at or before `silent_since`."""
    return (col(Customer.owner_id).is_not(None), col(Customer.merged_into_id).is_(None),
            col(Customer.last_touch_at) <= silent_since)


def silent_to_release(s: Session, silent_since: datetime) -> list[Release]:
    """The customers `release_silent` would free, with who to tell."""
    q = (sa_select(col(Customer.id), col(Customer.name), col(Customer.last_touch_at), col(User.id), col(User.name),
                   col(User.active), col(User.manager_id))
         .join(User, col(User.id) == col(Customer.owner_id))
         .where(*_releasable(silent_since))
         .order_by(col(Customer.last_touch_at), col(Customer.id)))
    return [Release(*row) for row in s.execute(q)]


def release_silent(s: Session, silent_since: datetime, now: datetime) -> int:
    """Put the customers silent since `silent_since` back into the public pool, in one UPDATE;
    returns how many."""
    result = s.exec(update(Customer).where(*_releasable(silent_since))
                    .values(owner_id=None, updated_at=now).execution_options(synchronize_session=False),
                    execution_options={"preserve_rowcount": True})
    return int(result.rowcount)


def _paid() -> Any:
    return (select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.contract_id == Contract.id)
            .scalar_subquery())


def _scheduled() -> Any:
    """The contract has a payment schedule (one probe of the installments index)."""
    return select(Installment.id).where(Installment.contract_id == Contract.id).exists()


def _due_before(today: date) -> Any:
    """What the contract's schedule asked for before `today` (dated installments only)."""
    return (select(func.coalesce(func.sum(Installment.amount), 0))
            .where(Installment.contract_id == Contract.id, col(Installment.due_on) < today).scalar_subquery())


def _overdue_since(c: Any, today: date) -> Any:
    """For a row `c` of the owed CTE: the due date of the earliest installment that payments
    (applied earliest due first) do not cover and that fell due before `today`; the contract's
    own due date without a schedule. Evaluated only for new keys (it sits in the facts)."""
    i, j = aliased(Installment), aliased(Installment)
    upto = (select(func.sum(j.amount))
            .where(j.contract_id == i.contract_id, col(j.due_on).is_not(None),
                   or_(col(j.due_on) < col(i.due_on), and_(col(j.due_on) == col(i.due_on), col(j.seq) <= col(i.seq))))
            .scalar_subquery())
    first = (select(func.min(i.due_on))
             .where(i.contract_id == c.id, col(i.due_on) < today, upto > c.paid).scalar_subquery())
    return func.coalesce(first, c.due_on)


def _owed(where: Callable[[Any], list[Any]], paid: Any = None) -> Any:
    """Contracts matching `where(paid)` that still have a balance, with what the alert needs
    (`paid` is summed per contract unless the caller knows it: 0 when no payment exists)."""
    paid = _paid() if paid is None else paid
    owner = aliased(User)
    return (
        sa_select(col(Contract.id), col(Contract.number), col(Contract.deal_id), col(Deal.customer_id),
                  col(Contract.signed_on), col(Contract.due_on), col(Contract.amount), paid.label("paid"),
                  _owner_or_manager(owner).label("owner_id"), col(owner.name).label("owner"),
                  col(owner.manager_id), (~col(owner.active)).label("left"))
        .select_from(Contract)
        .join(Deal, col(Deal.id) == col(Contract.deal_id))
        .join(owner, col(owner.id) == col(Deal.owner_id))
        .where(paid < Contract.amount, *where(paid))
        .cte("owed")
    )


def _contract_facts(s: Session, c: Any, team: bool, due_on: Any = None) -> Any:
    # The name is looked up in the facts, which are only built for keys not queued yet.
    customer = select(Customer.name).where(Customer.id == c.customer_id).scalar_subquery()
    return _facts(s, contract_id=c.id, deal_id=c.deal_id, number=c.number, customer=customer,
                  signed_on=c.signed_on, due_on=c.due_on if due_on is None else due_on, amount=c.amount,
                  paid=c.paid, owner=c.owner, team=literal(team), left=c.left)


def contracts_without_payment(s: Session, signed_on_or_before: date, today: date,  # type: ignore[type-arg]
                              due_by: date) -> Select:
    """Signed long enough ago with no payment at all → one collection line to the manager (else
    the rep), once its money falls due by `due_by` (today plus the lead time: "N天后到期"), or
    at once when no due date was agreed; a snoozed deal keeps its contracts off the list too."""
    no_payment = ~select(Payment.id).where(Payment.contract_id == Contract.id).exists()
    falls_due = or_(col(Contract.due_on).is_(None), col(Contract.due_on) <= due_by)
    c = _owed(lambda paid: [col(Contract.signed_on) <= signed_on_or_before, no_payment, falls_due,
                            _not_snoozed(today), _not_queued(_key("unpaid", Contract.id))], paid=literal(0)).c
    to = func.coalesce(c.manager_id, c.owner_id)
    return _candidates(_key("unpaid", c.id), "unpaid_contract", to, _contract_facts(s, c, False))


def overdue_contracts(s: Session, today: date) -> Any:
    """Money due before today and not paid → rep and manager, a new key every day.

    Without a schedule: past the contract's due date with a balance. With one: the
    installments due before today add up to more than was paid (a paid 首付 leaves the contract
    quiet until the next installment falls due); the facts' `due_on` is when the unpaid money
    fell due. `Contract.due_on` is the earliest installment, so the range scan on it still
    selects the candidates. One scan serves both recipients (a CTE used twice is materialized)."""
    def where(paid: Any) -> list[Any]:
        return [col(Contract.due_on) < today, _not_snoozed(today),
                or_(~_scheduled(), _due_before(today) > paid)]

    c = _owed(where).c
    since = _overdue_since(c, today)
    day = today.isoformat()
    return union_all(
        _candidates(_key("overdue", c.id, c.owner_id, day), "payment_overdue", c.owner_id,
                    _contract_facts(s, c, False, since)),
        _candidates(_key("overdue", c.id, c.manager_id, day), "payment_overdue", c.manager_id,
                    _contract_facts(s, c, True, since)).where(c.manager_id.is_not(None)),
    )


def due_items(s: Session, today: date) -> Select:  # type: ignore[type-arg]
    """Open to-dos due today or earlier → their assignee's morning digest, once a day (the
    customer's own commitments are listed apart there: `owner` is the item's owner kind)."""
    body = _facts(s, item_id=ActionItem.id, text=ActionItem.text, due=ActionItem.due, due_time=ActionItem.due_time,
                  customer=Customer.name, owner=ActionItem.owner_kind)
    return (
        _candidates(_key("todo", ActionItem.id, today.isoformat()), "due_items", ActionItem.assignee_id, body)
        .select_from(ActionItem)
        .outerjoin(Customer, col(Customer.id) == col(ActionItem.customer_id))
        .where(col(ActionItem.status) == "open", col(ActionItem.due) <= today)
    )


def _to_active(candidates: Select) -> Select:  # type: ignore[type-arg]
    """Only candidates for people still here: no alert ever goes to a user who left (the rules
    send a leaver's rep-level alerts to the manager instead)."""
    c = candidates.subquery()
    return select(c.c.dedupe_key, c.c.rule, c.c.recipient_id, c.c.body).where(
        c.c.recipient_id.in_(select(User.id).where(col(User.active))))


def planned_rows(s: Session, candidates: Select) -> list[tuple[str, str, int, dict[str, Any]]]:  # type: ignore[type-arg]
    """What a rule would push (dry runs, tests): (dedupe_key, rule, recipient_id, facts)."""
    rows = s.exec(_to_active(candidates).order_by(text("recipient_id"), text("dedupe_key")))  # type: ignore[call-overload]
    return [(k, r, int(to), body if isinstance(body, dict) else json.loads(body)) for k, r, to, body in rows]


def enqueue_select(s: Session, candidates: Select, now: datetime,  # type: ignore[type-arg]
                   send_at: datetime | None = None) -> int:
    """INSERT the rule's candidates into the outbox (due at `send_at`, default now), skipping
    dedupe keys already there; returns new rows."""
    from sqlalchemy.dialects import postgresql, sqlite

    c = _to_active(candidates).subquery()
    queued = aliased(Notification)
    src = sa_select(
        c.c.dedupe_key, c.c.rule, c.c.recipient_id, c.c.body,
        literal("pending", String).label("status"), literal(0).label("attempts"),
        literal(send_at or now, table_of(Notification).c.next_attempt_at.type).label("next_attempt_at"),
        literal(now, table_of(Notification).c.created_at.type).label("created_at"),
    ).where(~select(queued.id).where(queued.dedupe_key == c.c.dedupe_key).exists())
    # The anti-join skips queued keys before their facts are built; ON CONFLICT still guards
    # against a concurrent run (a WHERE is also what keeps SQLite from parsing it as a join).
    cols = ["dedupe_key", "rule", "recipient_id", "body", "status", "attempts", "next_attempt_at", "created_at"]
    ins = (postgresql if _dialect(s) == "postgresql" else sqlite).insert(Notification)
    stmt = ins.from_select(cols, src).on_conflict_do_nothing()  # type: ignore[attr-defined]
    if _dialect(s) == "sqlite":  # Python's sqlite3 reports no rowcount for a WITH … INSERT
        s.execute(stmt)
        return int(s.execute(text("SELECT changes()")).scalar_one())
    # PostgreSQL: with the outbox's statistics saying "empty" (a first run) the planner probes
    # the queued keys by scanning the outbox, once per candidate, and that scan also reads every
    # row this INSERT has added so far: quadratic (624 s at a million deals). The unique index
    # on the key is what the anti-join must use, whatever the statistics say.
    s.execute(text("SET LOCAL enable_seqscan = off"))
    result = s.exec(stmt, execution_options={"preserve_rowcount": True})  # else -1 on PostgreSQL
    s.execute(text("RESET enable_seqscan"))
    return int(result.rowcount)


def managers(s: Session) -> list[User]:
    return list(s.exec(select(User).where(User.role == "manager", col(User.active))))


@dataclass
class FunnelCell:
    count: int = 0
    amount: Decimal = Decimal(0)
    stalled: int = 0
    priced: int = 0  # deals with an amount (the others are shown as not filled in)


@dataclass
class FunnelData:
    """Aggregates per owner, so a manager's funnel is a sum over their team (no per-deal rows)."""

    cells: dict[tuple[int, str, str], FunnelCell]  # (owner, stage, status)
    furthest: dict[tuple[int, int], int]  # (owner, furthest stage rank) → deals
    days_in_stage: dict[tuple[int, str], tuple[float, int]]  # (owner, stage) → (sum of days, n)
    _by_owner: dict[int, FunnelData] = field(default_factory=dict, repr=False, compare=False)

    def of(self, owners: set[int] | None) -> FunnelData:
        """The aggregates of these owners only (None: everyone's), without walking every owner's
        for each team: the per-owner split is made once."""
        if owners is None:
            return self
        if not self._by_owner:
            for name in ("cells", "furthest", "days_in_stage"):
                for k, v in getattr(self, name).items():
                    getattr(self._by_owner.setdefault(k[0], FunnelData({}, {}, {})), name)[k] = v
        out = FunnelData({}, {}, {})
        for o in owners:
            if (part := self._by_owner.get(o)) is not None:
                out.cells.update(part.cells)
                out.furthest.update(part.furthest)
                out.days_in_stage.update(part.days_in_stage)
        return out


def _rank(stage_col: Any, stages: list[str]) -> Any:
    return case({s: i for i, s in enumerate(stages)}, value=stage_col, else_=-1)


def _days_between(s: Session, later: Any, earlier: Any) -> Any:
    if s.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def funnel_data(s: Session, stages: list[str], stall_before: datetime, since: datetime) -> FunnelData:
    """Pipeline of open deals plus deals closed since `since`, aggregated in two statements.

    The deals come from two index range scans (open; closed and updated since) rather than a
    scan of every deal ever closed.
    """
    cols = (col(Deal.id), col(Deal.owner_id), col(Deal.stage), col(Deal.status), col(Deal.amount),
            col(Deal.last_activity_at))
    d = union_all(
        sa_select(*cols).where(col(Deal.status) == "open"),
        sa_select(*cols).where(col(Deal.status).in_(DEAL_CLOSED), col(Deal.updated_at) >= since),
    ).subquery()
    hist = (
        select(StageChange.deal_id, func.max(_rank(StageChange.to_stage, stages)).label("r"))
        .where(StageChange.source != "undo").group_by(col(StageChange.deal_id)).subquery()
    )
    now_rank, hist_rank = _rank(d.c.stage, stages), func.coalesce(hist.c.r, -1)
    far = case((hist_rank > now_rank, hist_rank), else_=now_rank).label("far")
    stalled = func.sum(case((and_(d.c.status == "open", d.c.last_activity_at < stall_before), 1), else_=0))
    cells: dict[tuple[int, str, str], FunnelCell] = {}
    furthest: dict[tuple[int, int], int] = {}
    # One pass over the deals feeds both the stage cells and the furthest-stage counts.
    for o, st, status, r, n, amt, stl, priced in s.execute(
            sa_select(d.c.owner_id, d.c.stage, d.c.status, far, func.count(), func.sum(d.c.amount), stalled,
                      func.count(d.c.amount))
            .outerjoin(hist, hist.c.deal_id == d.c.id)
            .group_by(d.c.owner_id, d.c.stage, d.c.status, far)):
        cell = cells.setdefault((o, st, status), FunnelCell())
        cell.count += int(n)
        cell.amount += Decimal(str(amt or 0))
        cell.stalled += int(stl or 0)
        cell.priced += int(priced or 0)
        furthest[(o, int(r))] = furthest.get((o, int(r)), 0) + int(n)
    nxt = func.lead(StageChange.at).over(partition_by=col(StageChange.deal_id), order_by=col(StageChange.at))
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


def stalled_by_owner(s: Session, stall_before: datetime, limit: int = 10) -> dict[int, list[DealRow]]:
    """Each rep's `limit` longest-idle open deals, in one statement: any team's top `limit` is
    among its members' lists, so the weekly report needs no query per manager."""
    owner = aliased(User)
    rn = func.row_number().over(partition_by=col(Deal.owner_id),
                                order_by=(col(Deal.last_activity_at), col(Deal.id))).label("rn")
    ranked = (
        sa_select(col(Deal.id), col(Deal.customer_id), col(Deal.stage), col(Deal.amount), col(Deal.last_activity_at),
                  col(Deal.owner_id), rn)
        .where(col(Deal.status) == "open", col(Deal.last_activity_at) < stall_before)
        .subquery()
    )
    q = (
        sa_select(ranked.c.id, ranked.c.customer_id, col(Customer.name), ranked.c.stage, ranked.c.amount,
                  ranked.c.last_activity_at, ranked.c.owner_id, col(owner.name), col(owner.manager_id))
        .join(Customer, col(Customer.id) == ranked.c.customer_id)
        .join(owner, col(owner.id) == ranked.c.owner_id)
        .where(ranked.c.rn <= limit)
    )
    out: dict[int, list[DealRow]] = {}
    for r in s.execute(q):
        row = DealRow(*r)
        out.setdefault(row.owner_id, []).append(row)
    return out


# ---------------------------------------------------------------- outbox


def enqueue_many(s: Session, rows: list[dict[str, Any]]) -> int:
    """Insert notifications, skipping dedupe keys already present and recipients who left (no
    alert ever goes to an inactive user); returns how many are new."""
    if rows:
        active = set(s.exec(select(User.id).where(col(User.active))))
        rows = [r for r in rows if r["recipient_id"] in active]
    if not rows:
        return 0
    stmt = insert_ignoring_duplicates(s, Notification)
    new = 0
    for i in range(0, len(rows), 500):
        new += len(s.execute(stmt, rows[i:i + 500]).all())
    return new


def _claimable(now: datetime) -> Any:
    """Pending, due, and held by no live delivery round."""
    return and_(col(Notification.status) == "pending", col(Notification.next_attempt_at) <= now,
                or_(col(Notification.claimed_until).is_(None), col(Notification.claimed_until) < now))


def claimable_ids(s: Session, ids: Select[Any]) -> Any:
    """What `UPDATE … WHERE id IN (…)` may claim of the rows `ids` picks (with its LIMIT).

    On PostgreSQL the rows are locked with SKIP LOCKED (another box's round is not waited for)
    and picked once, in a MATERIALIZED CTE: as a plain subquery the planner may rescan it for
    each row (a nested-loop semi-join) and the round claims more rows than its LIMIT.
    SQLite serializes writers, so the subquery is enough there.
    """
    if _dialect(s) != "postgresql":
        return ids.scalar_subquery()
    picked = ids.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
    return select(picked.c.id)


def claim_due(s: Session, now: datetime, token: str, lease_until: datetime,
              limit: int = 1000) -> list[Notification]:
    """Take the pushes due now for one delivery round (`token`) until `lease_until`.

    Boxes sharing a database each take rows nobody holds, so every push is sent by one box; a
    box that dies holding rows frees them when its lease runs out. One UPDATE … RETURNING: on
    PostgreSQL the inner SELECT skips rows another round is claiming (no waiting), and the
    UPDATE re-checks the claim on each row it locks; SQLite serializes writers anyway.
    """
    ids = select(Notification.id).where(_claimable(now)).order_by(
        col(Notification.recipient_id), col(Notification.id)).limit(limit)
    stmt = (update(Notification).where(col(Notification.id).in_(claimable_ids(s, ids)), _claimable(now))
            .values(claim_token=token, claimed_until=lease_until).returning(Notification)
            .execution_options(synchronize_session=False))
    rows = list(s.scalars(stmt))
    rows.sort(key=lambda n: (n.recipient_id, n.id))
    return rows


def renew_claim(s: Session, model: type[Notification | OutgoingReply], token: str, until: datetime) -> int:
    """Extend to `until` the claim of the rows delivery round `token` still holds (never shorten
    it): their box is alive and still sending, e.g. waiting for a platform's rate limit, so no other
    box may take them. Works for pushes and answers alike (the same claim columns)."""
    stmt = (update(model).where(col(model.claim_token) == token, col(model.status) == "pending",
                                col(model.claimed_until) < until)
            .values(claimed_until=until).execution_options(synchronize_session=False))
    return int(s.execute(stmt).rowcount)  # type: ignore[attr-defined]


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


def claim_tick(s: Session, job: str, fire_time: datetime, box: str, now: datetime) -> bool:
    """Record that `box` runs `job`'s tick at `fire_time`; False when another box already does."""
    row = {"job": job, "fire_time": fire_time, "box": box, "started_at": now}
    return s.execute(insert_ignoring_duplicates(s, JobRun), [row]).first() is not None


def backlog(s: Session) -> dict[str, int]:
    rows = s.exec(select(Notification.status, func.count()).group_by(col(Notification.status)))
    return {status: int(n) for status, n in rows}  # type: ignore[misc]



def _held(s: Session, ids: list[int], token: str) -> list[Notification]:
    """The rows of `ids` this delivery round still holds."""
    return list(s.exec(select(Notification).where(col(Notification.id).in_(ids),
                                                  Notification.claim_token == token)))


def mark_sent(s: Session, ids: list[int], now: datetime, token: str) -> int:
    """Record a delivered push and free its claim; returns how many rows this round still held
    (fewer means its lease ran out mid-send and another box may send them too: logged)."""
    held = _held(s, ids, token)
    for n in held:
        n.status, n.sent_at, n.attempts = "sent", now, n.attempts + 1
        n.claim_token = n.claimed_until = None
        s.add(n)
    return len(held)


def mark_failed(s: Session, ids: list[int], error: str, now: datetime, base_seconds: int,
                max_attempts: int, token: str) -> int:
    """Count a failed attempt and free the claim: back off exponentially, or mark dead after
    max attempts."""
    from datetime import timedelta

    dead = 0
    for n in _held(s, ids, token):
        n.attempts += 1
        n.last_error = error[:500]
        n.claim_token = n.claimed_until = None
        if n.attempts >= max_attempts:
            n.status = "dead"
            dead += 1
        else:
            n.next_attempt_at = now + timedelta(seconds=base_seconds * 2 ** (n.attempts - 1))
        s.add(n)
    return dead
