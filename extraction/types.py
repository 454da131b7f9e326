"""Plain data types for the extraction engine.

The engine is pure: text in, `FollowUpDraft` out. Every extracted value carries the
`Span` of the note text it came from, so replies and the audit trail can show evidence.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

PAIN_CATEGORIES = (
    "competitor", "price", "budget", "decision", "quality",
    "technical", "delivery", "inventory", "service", "other",
)
AMOUNT_KINDS = ("budget", "quote", "order", "payment", "other")
OWNERS = ("self", "team", "customer")
TIME_KINDS = ("day", "period", "before", "after")
STAGES = ("lead", "contacted", "needs", "quote", "trial", "negotiation", "won", "lost")


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character offsets [start, end) into the note text."""

    start: int
    end: int

    def to_list(self) -> list[int]:
        return [self.start, self.end]


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """A CRM customer as the extractor sees it (no database objects)."""

    id: str
    name: str
    region: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Outcome of matching one name: `best` is None when nothing is safe to link."""

    best: Candidate | None
    score: float
    alternates: tuple[Candidate, ...] = ()


@dataclass(frozen=True, slots=True)
class CustomerMention:
    text: str
    span: Span
    match: MatchResult

    @property
    def customer_id(self) -> str | None:
        return self.match.best.id if self.match.best else None


@dataclass(frozen=True, slots=True)
class TextItem:
    """A contact or competitor: the string as written plus where."""

    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Contact(TextItem):
    """A customer-side contact: a `TextItem` plus the phone / WeChat id written next to it.

    `phone` is digits only (a mobile without +86; a landline with area code; an extension as
    "-8": "02158881234-8"); `wechat` is the id as written.  Neither changes `text`, which is
    the string the evaluation scores."""

    phone: str | None = None
    wechat: str | None = None


@dataclass(frozen=True, slots=True)
class PainPoint:
    category: str
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class DateMention:
    value: date
    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class TimeMention:
    """Any resolved time expression, for the record's `date_spans` and for to-do due times:
    "day" (one calendar day, `time` set when a time of day was written with it or alone),
    "period" (`start`..`end`, both inclusive: a week, month, quarter, year, 上旬, a range
    X到Y, a window 近三年, a holiday's days off), "before" / "after" (an open range bounded
    by `start`: 2019年以前, 国庆以后).  `DateMention`s are the §3 subset of these; durations
    (试了两周) are not time mentions at all."""

    kind: str  # one of TIME_KINDS
    start: date
    text: str
    span: Span
    end: date | None = None  # the last day of a period
    time: time | None = None  # wall-clock time of day, Asia/Shanghai

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.start.isoformat(), "end": self.end.isoformat() if self.end else None,
                "time": self.time.strftime("%H:%M") if self.time else None, "kind": self.kind,
                "text": self.text, "span": self.span.to_list()}


@dataclass(frozen=True, slots=True)
class Amount:
    """A sum of money.  `value` is the amount (the low end of a range, whose high end is
    `high`), in `currency` (ISO 4217; never converted); `approx` when written as an estimate
    (约, 左右, 二十几万); `per` is the unit of a unit price (元/台 -> "台")."""

    value: float
    kind: str | None
    text: str
    span: Span
    currency: str = "CNY"
    high: float | None = None
    approx: bool = False
    per: str | None = None


@dataclass(frozen=True, slots=True)
class ActionItemDraft:
    """A to-do.  `text` is the exact span of the note (what the evaluation scores);
    `summary` is the same task rewritten to stand alone in a to-do list a week later:
    pronouns resolved to the contact or customer, a bare verb given its object, the
    doer named for customer commitments, no time words (the due date is shown apart)."""

    text: str
    span: Span
    due: date | None = None
    owner: str | None = None  # "self" | "team" | "customer"
    involves_customer: bool = True
    summary: str = ""
    due_time: time | None = None  # a time of day written with the due date (明天下午三点)


@dataclass(slots=True)
class FollowUpDraft:
    """One structured follow-up record extracted from a note."""

    text: str
    customer: CustomerMention | None = None
    contacts: list[TextItem] = field(default_factory=list)
    pain_points: list[PainPoint] = field(default_factory=list)
    action_items: list[ActionItemDraft] = field(default_factory=list)
    dates: list[DateMention] = field(default_factory=list)
    times: list[TimeMention] = field(default_factory=list)  # every resolved mention, dates included
    bad_dates: list[TextItem] = field(default_factory=list)  # days that do not exist (2月30号)
    next_follow_up: date | None = None
    amounts: list[Amount] = field(default_factory=list)
    competitors: list[TextItem] = field(default_factory=list)
    stage: str | None = None
    stage_span: Span | None = None

    @property
    def customer_id(self) -> str | None:
        return self.customer.customer_id if self.customer else None

    def missing(self) -> list[str]:
        """Fields a rep is expected to give but the note did not (keys, not labels)."""
        out = []
        if self.customer is None or self.customer.customer_id is None:
            out.append("customer")
        if not self.contacts:
            out.append("contacts")
        if self.next_follow_up is None:
            out.append("next_follow_up")
        return out

    def to_record(self) -> dict[str, Any]:
        """The record in the schema of the evaluation README, plus evidence spans."""
        cust = self.customer
        return {
            "customer_id": cust.customer_id if cust else None,
            "customer_mention": cust.text if cust else None,
            "customer_span": cust.span.to_list() if cust else None,
            "customer_score": round(cust.match.score, 4) if cust else None,
            "contacts": [c.text for c in self.contacts],
            "contact_spans": [c.span.to_list() for c in self.contacts],
            # aligned with "contacts"; None where no number / id was written next to the person
            "contact_phones": [getattr(c, "phone", None) for c in self.contacts],
            "contact_wechats": [getattr(c, "wechat", None) for c in self.contacts],
            "pain_points": [
                {"category": p.category, "text": p.text, "span": p.span.to_list()}
                for p in self.pain_points
            ],
            "action_items": [
                {
                    "text": a.text,
                    "due": a.due.isoformat() if a.due else None,
                    "due_time": a.due_time.strftime("%H:%M") if a.due_time else None,
                    "owner": a.owner,
                    "summary": a.summary or a.text,
                    "span": a.span.to_list(),
                }
                for a in self.action_items
            ],
            "dates": sorted({d.value.isoformat() for d in self.dates}),
            "date_spans": [t.to_dict() for t in self.times],
            "bad_dates": [t.text for t in self.bad_dates],
            "next_follow_up": self.next_follow_up.isoformat() if self.next_follow_up else None,
            "amounts": [
                {"value": a.value, "kind": a.kind, "text": a.text, "span": a.span.to_list(),
                 "currency": a.currency, "high": a.high, "approx": a.approx, "per": a.per}
                for a in self.amounts
            ],
            "competitors": [c.text for c in self.competitors],
            "competitor_spans": [c.span.to_list() for c in self.competitors],
            "stage": self.stage,
            "stage_span": self.stage_span.to_list() if self.stage_span else None,
        }
