"""Alert rules as plain functions of (session, settings, now) → planned notifications.

The same functions run from cron, tests and `salesbot jobs run-once`. "Already sent" lives in
the outbox: each planned push carries a dedupe key (rule, object, period), so a rerun or a
restart enqueues nothing twice. Delivery (quiet hours, retries, digests) is bot/notifier.py.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable

from sqlmodel import Session

from bot.config import Settings
from handlers import texts
from scheduler.workdays import is_workday, workday_cutoff
from store import alerts


@dataclass(frozen=True, slots=True)
class Planned:
    key: str
    rule: str
    recipient_id: int
    title: str
    line: str

    def row(self, now: datetime) -> dict[str, object]:
        return {"dedupe_key": self.key, "rule": self.rule, "recipient_id": self.recipient_id,
                "body": {"title": self.title, "line": self.line}, "status": "pending", "attempts": 0,
                "next_attempt_at": now, "created_at": now}


Rule = Callable[[Session, Settings, datetime], list[Planned]]


def _local(settings: Settings, now: datetime) -> datetime:
    return now.astimezone(settings.tz)


def _start_of(settings: Settings, d: date) -> datetime:
    """The UTC instant at which local day `d` begins."""
    return datetime.combine(d, time.min, tzinfo=settings.tz)


def _day(settings: Settings, at: datetime) -> date:
    return at.astimezone(settings.tz).date()


def stale_deals(s: Session, settings: Settings, now: datetime) -> list[Planned]:
    """≥ N working days untouched → the rep; ≥ M → also the rep's manager. Once per idle spell."""
    a = settings.alerts
    today = _local(settings, now).date()
    rep_cut = workday_cutoff(today, a.stale_deal_rep_days)
    mgr_cut = workday_cutoff(today, a.stale_deal_manager_days)
    out = []
    for d in alerts.stale_deals(s, _start_of(settings, rep_cut + timedelta(days=1)), today):
        last = _day(settings, d.last_activity_at)
        line = texts.alert_deal_line(d.deal_id, d.customer, settings.stage_label(d.stage), d.amount, last)
        out.append(Planned(f"stale:{d.deal_id}:rep:{last}", "stale_deal", d.owner_id,
                           texts.ALERT_STALE_REP.format(n=a.stale_deal_rep_days), line))
        if last <= mgr_cut and d.manager_id is not None:
            out.append(Planned(f"stale:{d.deal_id}:mgr:{last}", "stale_deal_team", d.manager_id,
                               texts.ALERT_STALE_MGR.format(n=a.stale_deal_manager_days),
                               f"{line} · {d.owner}"))
    return out


def silent_customers(s: Session, settings: Settings, now: datetime) -> list[Planned]:
    """No interaction for the first threshold → owner; for the second → manager, who may release."""
    levels = settings.alerts.silent_customer_days
    out = []
    for c in alerts.silent_customers(s, now - timedelta(days=levels[0])):
        days = (now - c.last_interaction).days
        last = _day(settings, c.last_interaction)
        reached = [n for n in levels if days >= n]
        line = texts.alert_customer_line(c.customer_id, c.customer, days)
        out.append(Planned(f"silent:{c.customer_id}:1:{last}", "silent_customer", c.owner_id,
                           texts.ALERT_SILENT_OWNER.format(n=levels[0]), line))
        if len(reached) >= 2 and c.manager_id is not None:
            out.append(Planned(f"silent:{c.customer_id}:2:{last}", "silent_customer_team", c.manager_id,
                               texts.ALERT_SILENT_MGR.format(n=levels[1]), f"{line} · {c.owner}"))
    return out


def unpaid_contracts(s: Session, settings: Settings, now: datetime) -> list[Planned]:
    """Signed ≥ N days with no payment → collection list to the manager; overdue → rep + manager daily."""
    today = _local(settings, now).date()
    n = settings.alerts.unpaid_after_signing_days
    out = []
    for c in alerts.contracts_without_payment(s, today - timedelta(days=n)):
        to = c.manager_id or c.owner_id
        line = texts.alert_contract_line(c.number or f"#{c.contract_id}", c.customer, c.amount, c.paid,
                                         f"签订于 {texts.fmt_date(c.signed_on, today)}") + f" · {c.owner}"
        out.append(Planned(f"unpaid:{c.contract_id}", "unpaid_contract", to,
                           texts.ALERT_UNPAID.format(n=n), line))
    for c in alerts.overdue_contracts(s, today):
        assert c.due_on is not None
        line = texts.alert_contract_line(c.number or f"#{c.contract_id}", c.customer, c.amount, c.paid,
                                         f"已逾期{(today - c.due_on).days}天")
        for who, suffix in ((c.owner_id, ""), (c.manager_id, f" · {c.owner}")):
            if who is not None:
                out.append(Planned(f"overdue:{c.contract_id}:{who}:{today}", "payment_overdue", who,
                                   texts.ALERT_OVERDUE, line + suffix))
    return out


def quotes_without_reply(s: Session, settings: Settings, now: datetime) -> list[Planned]:
    hours = settings.alerts.quote_no_reply_hours
    today = _local(settings, now).date()
    out = []
    for d in alerts.quotes_without_reply(s, now - timedelta(hours=hours), today):
        last = _day(settings, d.last_activity_at)
        line = texts.alert_deal_line(d.deal_id, d.customer, settings.stage_label(d.stage), d.amount, last)
        out.append(Planned(f"quote:{d.deal_id}:{d.last_activity_at.isoformat()}", "quote_no_reply",
                           d.owner_id, texts.ALERT_QUOTE.format(n=hours), line))
    return out


def due_items(s: Session, settings: Settings, now: datetime) -> list[Planned]:
    """Morning digest of to-dos due today or overdue, per rep, on working days only."""
    today = _local(settings, now).date()
    if not is_workday(today):
        return []
    out = []
    for it in alerts.due_items(s, today):
        late = (today - it.due).days
        line = f"#{it.item_id} " + (f"【{it.customer}】" if it.customer else "") + it.text + (
            f" · 已逾期{late}天" if late else " · 今天到期")
        out.append(Planned(f"todo:{it.item_id}:{today}", "due_items", it.assignee_id,
                           texts.ALERT_TODO, line))
    return out


def weekly_funnel(s: Session, settings: Settings, now: datetime) -> list[Planned]:
    """Per manager: count, amount, conversion, days in stage and stalled deals, one message a week."""
    from store import repos

    today = _local(settings, now).date()
    year, week, _ = today.isocalendar()
    stages = [st for st in settings.pipeline.stages if st != "lost"]
    stall = _start_of(settings, workday_cutoff(today, settings.alerts.stale_deal_manager_days) + timedelta(days=1))
    data = alerts.funnel_data(s, stages, stall, now - timedelta(days=FUNNEL_WINDOW_DAYS))
    out = []
    for m in alerts.managers(s):
        scope = repos.scope_user_ids(s, m)
        report = texts.render_funnel(settings, stages, data, scope, alerts.stalled_deals(s, scope, stall))
        out.append(Planned(f"funnel:{m.id}:{year}-W{week:02d}", "weekly_funnel", m.id,  # type: ignore[arg-type]
                           texts.ALERT_FUNNEL.format(week=f"{year}年第{week}周"), report))
    return out


FUNNEL_WINDOW_DAYS = 90  # closed deals and stage dwell times of the last quarter


RULES: dict[str, Rule] = {
    "stale_deals": stale_deals,
    "silent_customers": silent_customers,
    "unpaid_contracts": unpaid_contracts,
    "quotes_without_reply": quotes_without_reply,
    "due_items": due_items,
    "weekly_funnel": weekly_funnel,
}
DAILY_RULES = ("stale_deals", "silent_customers", "unpaid_contracts", "quotes_without_reply")


def evaluate(s: Session, settings: Settings, now: datetime, names: tuple[str, ...] | None = None) -> list[Planned]:
    out: list[Planned] = []
    for name in names or tuple(RULES):
        out.extend(RULES[name](s, settings, now))
    return out


def run_rules(s: Session, settings: Settings, now: datetime, names: tuple[str, ...] | None = None,
              dry_run: bool = False) -> tuple[list[Planned], int]:
    """Evaluate rules and (unless dry run) enqueue; returns the plan and how many rows were new."""
    plan = evaluate(s, settings, now, names)
    if dry_run:
        return plan, 0
    return plan, alerts.enqueue_many(s, [p.row(now) for p in plan])


def group_by_recipient(plan: list[Planned]) -> dict[int, list[Planned]]:
    out: dict[int, list[Planned]] = defaultdict(list)
    for p in plan:
        out[p.recipient_id].append(p)
    return out
