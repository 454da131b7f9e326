"""Typed forms of what a follow-up stores: the extracted record, its open questions and its effects.

`FollowUp.extracted` and `FollowUp.effects` are JSON columns; these models are the only way code
reads or writes them (`NoteRecord.of(fu)` / `fu.extracted = rec.dump()`), so a field is named and
typed in one place. Old rows load with defaults for fields added later.
"""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AmountBasis = Literal["order", "quote", "budget", "manual"]
# How strongly a deal amount is grounded: a note may replace an amount of equal or lower rank
# (a budget only fills an empty amount; the rep's own correction and a signed order rank highest).
BASIS_RANK: dict[str | None, int] = {None: 0, "budget": 1, "quote": 2, "order": 3, "manual": 3}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


class PainRec(_Model):
    category: str
    text: str
    span: list[int] | None = None


class AmountRec(_Model):
    value: float
    kind: str | None = None
    text: str = ""
    span: list[int] | None = None
    role: str | None = None  # our_quote, competitor, unit_price … (extraction.deal_amount)
    currency: str = "CNY"  # ISO 4217, never converted
    high: float | None = None  # the high end of a range (value is the low end)
    approx: bool = False  # written as an estimate or a bound (约, 左右, 二十几万)
    per: str | None = None  # the unit of a unit price (元/台 -> 台)


class ItemRec(_Model):
    text: str  # the note's span (evidence)
    due: date | None = None
    due_time: time | None = None  # wall-clock time of day (Asia/Shanghai) written with the due date
    owner: str | None = None  # self | team | customer
    span: list[int] | None = None
    summary: str | None = None  # self-contained wording for the to-do list

    @property
    def label(self) -> str:
        """What the to-do list shows: the self-contained wording when there is one."""
        return self.summary or self.text


class Option(_Model):
    """One answer to a question: a customer (id, name) or a value to apply."""

    id: int | None = None
    name: str
    value: float | None = None
    basis: AmountBasis | None = None


QuestionKind = Literal["customer", "new_deal", "contract", "amount", "new_customer"]


class Question(_Model):
    """Something the bot asked about this record; answered by `#<record> <n>` or a card button."""

    kind: QuestionKind
    options: list[Option] = Field(default_factory=list)
    open: bool = True


class DealAmount(_Model):
    """The amount this note proposes for its deal, and on what it rests."""

    value: float | None = None
    basis: AmountBasis | None = None
    text: str = ""
    ambiguous: bool = False
    approx: bool = False  # the note gave an estimate (约50万): shown as 约…


class InstallmentRec(_Model):
    label: str
    ratio: float | None = None
    amount: float | None = None
    due: date | None = None


class ContractRec(_Model):
    """A signing stated in the note; becomes a contract once the rep confirms."""

    amount: float | None = None
    installments: list[InstallmentRec] = Field(default_factory=list)


class NoteRecord(_Model):
    """The extracted record of one note (evaluation schema + evidence) and the bot's decisions."""

    customer_id: str | None = None  # extractor's match (the linked customer is FollowUp.customer_id)
    customer_mention: str | None = None
    customer_span: list[int] | None = None
    customer_score: float | None = None
    contacts: list[str] = Field(default_factory=list)
    contact_spans: list[list[int]] = Field(default_factory=list)
    pain_points: list[PainRec] = Field(default_factory=list)
    action_items: list[ItemRec] = Field(default_factory=list)
    dates: list[str] = Field(default_factory=list)
    date_spans: list[dict[str, Any]] = Field(default_factory=list)
    bad_dates: list[str] = Field(default_factory=list)  # written days that do not exist (2月30号)
    next_follow_up: date | None = None
    amounts: list[AmountRec] = Field(default_factory=list)
    competitors: list[str] = Field(default_factory=list)
    competitor_spans: list[list[int]] = Field(default_factory=list)
    stage: str | None = None
    stage_span: list[int] | None = None
    missing: list[str] = Field(default_factory=list)
    notice: str | None = None
    deal_amount: DealAmount | None = None
    contract: ContractRec | None = None
    new_opportunity: bool = False
    quote_sent: bool = False
    quote_no_reply: bool = False
    questions: list[Question] = Field(default_factory=list)
    new_deal_ok: bool = False  # the rep answered "新商机？" with yes
    contract_ok: bool = False  # the rep confirmed the signing: create the contract
    skip: list[str] = Field(default_factory=list)  # deal fields the rep took back (撤销 金额)

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> NoteRecord:
        return cls.model_validate(data or {})

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def unique_items(self) -> list[ItemRec]:
        """The to-dos as stored: a task said twice in one note (same wording and due) is one row."""
        seen: set[tuple[str, date | None]] = set()
        out = []
        for item in self.action_items:
            if (item.label, item.due) not in seen:
                seen.add((item.label, item.due))
                out.append(item)
        return out

    def question(self, kind: QuestionKind) -> Question | None:
        return next((q for q in self.questions if q.kind == kind and q.open), None)

    def open_questions(self) -> list[Question]:
        return [q for q in self.questions if q.open]

    def ask(self, q: Question) -> None:
        """Replace any open question of the same kind (one question per kind at a time)."""
        self.questions = [x for x in self.questions if x.kind != q.kind] + [q]

    def close(self, kind: QuestionKind) -> None:
        for q in self.questions:
            if q.kind == kind:
                q.open = False


DealField = Literal["stage", "amount", "last_activity_at", "quote_sent_at", "quote_answered_at"]


class Change(_Model):
    """One deal field a note changed; `old`/`new` are JSON forms (str/None) of the values."""

    field: DealField
    old: str | None
    new: str | None
    reverted: bool = False
    old_basis: str | None = None  # amount only: Deal.amount_kind before
    new_basis: str | None = None


class Effects(_Model):
    """What applying a record changed, so `unapply_followup` can put back exactly that."""

    action_item_ids: list[int] = Field(default_factory=list)
    contact_ids: list[int] = Field(default_factory=list)
    claimed_customer: bool = False
    deal_created: bool = False
    changes: list[Change] = Field(default_factory=list)
    contract_id: int | None = None

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> Effects:
        return cls.model_validate(data or {})

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def change(self, name: DealField) -> Change | None:
        return next((c for c in self.changes if c.field == name and not c.reverted), None)


def iso(v: datetime | date | None) -> str | None:
    return v.isoformat() if v is not None else None
