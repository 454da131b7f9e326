"""Alert rules as plain functions of (session, settings, now) → planned notifications.

The same functions run from cron, tests and `salesbot jobs run-once`. "Already sent" lives in
the outbox: each planned push carries a dedupe key (rule, object, period), so a rerun or a
restart enqueues nothing twice. Delivery (quiet hours, retries, digests) is bot/notifier.py.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlmodel import Session

from bot.config import Settings
from handlers import texts
from scheduler.workdays import is_workday, workday_cutoff
from store import alerts


@dataclass(frozen=True, slots=True)
class Planned:
    """One push as a dry run shows it (the outbox stores key, rule, recipient and facts)."""

    key: str
    rule: str
    recipient_id: int
    facts: dict[str, Any]
    title: str
    line: str

    def row(self, now: datetime, send_at: datetime) -> dict[str, object]:
        return {"dedupe_key": self.key, "rule": self.rule, "recipient_id": self.recipient_id,
                "body": self.facts, "status": "pending", "attempts": 0, "next_attempt_at": send_at,
                "created_at": now}


# A rule yields SQL candidate queries (store/alerts.py) — enqueued without leaving the database —
# or, for the few per-manager reports, pushes planned in Python.
Rule = Callable[[Session, Settings, datetime], list["Select[Any] | Planned"]]


def _local(settings: Settings, now: datetime) -> datetime:
    return now.astimezone(settings.tz)


def push_at(settings: Settings, now: datetime) -> datetime:
    """When pushes queued at `now` go out: at once on a working day after `alerts.push_time`,
    else at the push time of today or of the next day that counts (working days only, unless
    `alerts.working_days_only` is off). Everything queued before a push time is due at the same
    instant, so each person gets it as one message."""
    a = settings.alerts
    local = _local(settings, now)
    at = time.fromisoformat(a.push_time)

    def counts(d: date) -> bool:
        return is_workday(d) or not a.working_days_only

    if counts(local.date()) and local.time() >= at:
        return now
    d = local.date() if local.time() < at else local.date() + timedelta(days=1)
    while not counts(d):
        d += timedelta(days=1)
    return datetime.combine(d, at, tzinfo=settings.tz).astimezone(now.tzinfo)


def _start_of(settings: Settings, d: date) -> datetime:
    """The UTC instant at which local day `d` begins."""
    return datetime.combine(d, time.min, tzinfo=settings.tz)


def stale_deals(s: Session, settings: Settings, now: datetime) -> list[Select[Any] | Planned]:
    """≥ N working days untouched → the rep; ≥ M → also the rep's manager. Once per idle spell."""
    a = settings.alerts
    today = _local(settings, now).date()
    rep_cut = _start_of(settings, workday_cutoff(today, a.stale_deal_rep_days) + timedelta(days=1))
    mgr_cut = _start_of(settings, workday_cutoff(today, a.stale_deal_manager_days) + timedelta(days=1))
    return [alerts.stale_deals(s, rep_cut, mgr_cut, today)]


def silent_customers(s: Session, settings: Settings, now: datetime) -> list[Select[Any] | Planned]:
    """No interaction for the first threshold → owner; for the second → manager, who may release."""
    levels = settings.alerts.silent_customer_days[:2]
    return [alerts.silent_customers(s, [now - timedelta(days=n) for n in levels])]


def release_silent(s: Session, settings: Settings, now: datetime) -> list[Select[Any] | Planned]:
    """Customers silent `alerts.release_silent_days` → the public pool (run_rules applies it), the
    former owner (if still here) and their manager told; nothing when the setting is 0."""
    n = settings.alerts.release_silent_days
    if not n:
        return []
    out: list[Select[Any] | Planned] = []
    for r in alerts.silent_to_release(s, now - timedelta(days=n)):
        facts = {"customer_id": r.customer_id, "customer": r.customer, "owner": r.owner, "left": not r.owner_active,
                 "last": r.last_touch_at.isoformat(), "days": n}
        key = f"release:{r.customer_id}:{r.last_touch_at.isoformat()}"
        if r.owner_active:
            out.append(_planned(settings, now, f"{key}:owner", "customer_released", r.owner_id, facts))
        if r.manager_id is not None:
            out.append(_planned(settings, now, f"{key}:mgr", "customer_released_team", r.manager_id, facts))
    return out


def _apply_releases(s: Session, settings: Settings, now: datetime) -> None:
    """The release itself, after its notices are queued (a leaver's customer with no manager too)."""
    n = settings.alerts.release_silent_days
    if n:
        alerts.release_silent(s, now - timedelta(days=n), now)


def unpaid_contracts(s: Session, settings: Settings, now: datetime) -> list[Select[Any] | Planned]:
    """Signed ≥ N days with no payment → collection list to the manager; overdue → rep + manager daily."""
    today = _local(settings, now).date()
    n = settings.alerts.unpaid_after_signing_days
    due_by = today + timedelta(days=settings.alerts.collection_lead_days)
    return [alerts.contracts_without_payment(s, today - timedelta(days=n), today, due_by),
            alerts.overdue_contracts(s, today)]


def quotes_without_reply(s: Session, settings: Settings, now: datetime) -> list[Select[Any] | Planned]:
    """A quote sent ≥ N hours ago (deals.quote_sent_at) with no answer since → the rep, once per quote."""
    today = _local(settings, now).date()
    return [alerts.quotes_without_reply(s, now - timedelta(hours=settings.alerts.quote_no_reply_hours), today)]


def due_items(s: Session, settings: Settings, now: datetime) -> list[Select[Any] | Planned]:
    """Morning digest of to-dos due today or overdue, per rep, on working days only."""
    today = _local(settings, now).date()
    return [alerts.due_items(s, today)] if is_workday(today) else []


@dataclass(frozen=True, slots=True)
class FunnelRow:
    stage: str
    count: int  # deals in the stage now (won: closed won in the window)
    amount: Decimal | None  # None: no deal in the stage has an amount
    unpriced: int  # deals in the stage without an amount
    conversion: float | None  # share of deals that reached this stage and went on to the next
    avg_days: float | None  # mean dwell time of stage spells that ended in the window


def funnel_rows(stages: list[str], data: alerts.FunnelData, scope: set[int] | None) -> tuple[list[FunnelRow], int, int]:
    """One team's funnel from the per-owner aggregates: (rows, lost deals, stalled deals)."""
    data = data.of(scope)
    count: dict[tuple[str, str], int] = defaultdict(int)
    priced: dict[tuple[str, str], int] = defaultdict(int)
    amount: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    n_stalled = 0
    for (_, stage, status), cell in data.cells.items():
        count[(stage, status)] += cell.count
        priced[(stage, status)] += cell.priced
        amount[(stage, status)] += cell.amount
        n_stalled += cell.stalled
    reached = [0] * len(stages)
    for (_, rank), n in data.furthest.items():
        if rank >= 0:
            for k in range(rank + 1):
                reached[k] += n
    dwell: dict[str, tuple[float, int]] = {}
    for (_, stage), (t, k) in data.days_in_stage.items():
        total, n = dwell.get(stage, (0.0, 0))
        dwell[stage] = (total + t, n + k)
    rows = []
    for i, st in enumerate(stages):
        key = (st, "won") if st == "won" else (st, "open")
        conv = reached[i + 1] / reached[i] if i + 1 < len(stages) and reached[i] else None
        total, n = dwell.get(st, (0.0, 0))
        rows.append(FunnelRow(st, count[key], amount[key] if priced[key] else None, count[key] - priced[key],
                              conv, total / n if n and st != "won" else None))
    lost = sum(n for (_, status), n in count.items() if status == "lost")
    return rows, lost, n_stalled


def weekly_funnel(s: Session, settings: Settings, now: datetime) -> list[Select[Any] | Planned]:
    """Per manager: count, amount, conversion, days in stage and stalled deals, one message a week.

    The facts keep the per-stage numbers too, so a channel that takes images gets a chart.
    """
    from store import repos

    today = _local(settings, now).date()
    year, week, _ = today.isocalendar()
    stages = [st for st in settings.pipeline.stages if st != "lost"]
    stall = _start_of(settings, workday_cutoff(today, settings.alerts.stale_deal_manager_days) + timedelta(days=1))
    data = alerts.funnel_data(s, stages, stall, now - timedelta(days=FUNNEL_WINDOW_DAYS))
    stalled_by_owner = alerts.stalled_by_owner(s, stall, STALLED_LISTED)
    out: list[Select[Any] | Planned] = []
    managers = alerts.managers(s)
    scopes = repos.scopes_of(s, managers)
    for m in managers:
        scope = scopes[m.id]  # type: ignore[index]
        owners = stalled_by_owner if scope is None else scope
        stalled = sorted((d for o in owners for d in stalled_by_owner.get(o, ())),
                         key=lambda d: (d.last_activity_at, d.deal_id))[:STALLED_LISTED]
        rows, lost, n_stalled = funnel_rows(stages, data, scope)
        facts = {"week": f"{year}年第{week}周", "team_name": texts.team_name(m.name),
                 "text": texts.render_funnel(settings, rows, lost, n_stalled, stalled, FUNNEL_WINDOW_DAYS),
                 "bars": [[settings.stage_label(r.stage), r.count, str(r.amount or 0), r.conversion if r.count else None]
                          for r in rows]}
        out.append(_planned(settings, now, f"funnel:{m.id}:{year}-W{week:02d}", "weekly_funnel", m.id, facts))  # type: ignore[arg-type]
    return out


STALLED_LISTED = 10  # stalled deals named in a weekly report (all are counted)
FUNNEL_WINDOW_DAYS = 90  # closed deals and stage dwell times of the last quarter


RULES: dict[str, Rule] = {
    "stale_deals": stale_deals,
    "silent_customers": silent_customers,
    "unpaid_contracts": unpaid_contracts,
    "quotes_without_reply": quotes_without_reply,
    "due_items": due_items,
    "weekly_funnel": weekly_funnel,
    "release_silent": release_silent,
}
DAILY_RULES = ("stale_deals", "silent_customers", "release_silent", "unpaid_contracts", "quotes_without_reply")
# What a rule changes besides queueing pushes, applied by run_rules (never by a dry run).
EFFECTS: dict[str, Callable[[Session, Settings, datetime], None]] = {
    "release_silent": _apply_releases,
}


def _planned(settings: Settings, now: datetime, key: str, rule: str, recipient_id: int,
             facts: dict[str, Any]) -> Planned:
    title, line = texts.alert_text(settings, rule, facts, now)
    return Planned(key, rule, recipient_id, facts, title, line)


def evaluate(s: Session, settings: Settings, now: datetime, names: tuple[str, ...] | None = None) -> list[Planned]:
    """Everything the rules would push now, rendered (dry runs and tests; enqueue with run_rules)."""
    out: list[Planned] = []
    for name in names or tuple(RULES):
        for part in RULES[name](s, settings, now):
            if isinstance(part, Planned):
                out.append(part)
            else:
                out.extend(_planned(settings, now, *row) for row in alerts.planned_rows(s, part))
    return out


def run_rules(s: Session, settings: Settings, now: datetime, names: tuple[str, ...] | None = None) -> dict[str, int]:
    """Evaluate rules straight into the outbox; returns the new rows per rule (already queued ones skip)."""
    new: dict[str, int] = {}
    send_at = push_at(settings, now)
    for name in names or tuple(RULES):
        parts = RULES[name](s, settings, now)
        planned = [p.row(now, send_at) for p in parts if isinstance(p, Planned)]
        new[name] = alerts.enqueue_many(s, planned) + sum(
            alerts.enqueue_select(s, p, now, send_at) for p in parts if not isinstance(p, Planned))
        if name in EFFECTS:
            EFFECTS[name](s, settings, now)
    return new


def group_by_recipient(plan: list[Planned]) -> dict[int, list[Planned]]:
    out: dict[int, list[Planned]] = defaultdict(list)
    for p in plan:
        out[p.recipient_id].append(p)
    return out
