"""Database tables.

Timestamps are UTC-aware datetimes; calendar dates (due dates, signing dates) are
Asia/Shanghai local dates. Money is Decimal yuan.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, cast

from pydantic import BaseModel
from pydantic import Field as PField
from sqlalchemy import JSON, Index, Table, UniqueConstraint, inspect, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """A table model's `__table__` (which SQLModel's typing does not declare)."""
    return cast(Table, inspect(model).local_table)  # a mapped table: a Table, typed as FromClause


MONEY_DIGITS, MONEY_PLACES = 16, 2  # NUMERIC(16, 2): every money column


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    role: str = Field(default="rep")  # rep | manager | admin
    manager_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class UserIdentity(SQLModel, table=True):
    """One IM account of a user: a user may be on WeCom, DingTalk and the console at once."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("channel", "im_id", name="uq_identity_channel_im"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    channel: str
    im_id: str


NOT_MERGED = text("merged_into_id IS NULL")


class Customer(SQLModel, table=True):
    __tablename__ = "customers"
    # Silent customers: a range scan over live customers by newest touch, covering the key's columns.
    __table_args__ = (Index("ix_customers_live_touch", "last_touch_at", "owner_id", "created_at", "merged_into_id",
                            sqlite_where=NOT_MERGED, postgresql_where=NOT_MERGED),)
    id: int | None = Field(default=None, primary_key=True)
    name: str
    normalized_name: str = Field(index=True)
    aliases: list[str] = Field(default_factory=list, sa_type=JSON)
    region: str | None = None
    owner_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    external_id: str | None = Field(default=None, index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="customers.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The last contact before the CRM knew the customer (an import's 最后跟进 column): the silence
    # clock starts there instead of at creation.
    prior_touch_at: datetime | None = None
    # Newest interaction (active follow-up or deal activity, else the prior contact or creation),
    # kept by store/touch.py on every flush that changes it; None only until the first flush.
    last_touch_at: datetime | None = Field(default=None, nullable=False)


class Contact(SQLModel, table=True):
    __tablename__ = "contacts"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    name: str
    title: str | None = None
    phone: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CustomerMerge(SQLModel, table=True):
    """One 合并客户: asked (pending), then confirmed (done), and what it moved, so it can be undone.

    A pending row is what the manager was shown; only its requester's 确认合并 within the window
    carries it out. `confirm_key` / `undo_key` are the messages that did it, so a replay finds them.
    """

    __tablename__ = "customer_merges"
    __table_args__ = (Index("ix_customer_merges_requester", "requested_by_id", "status", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    keep_id: int = Field(foreign_key="customers.id")
    drop_id: int = Field(foreign_key="customers.id")
    requested_by_id: int | None = Field(default=None, foreign_key="users.id")  # None: the command line
    status: str = "pending"  # pending | done | cancelled | expired | undone
    request_key: str | None = Field(default=None, unique=True)  # the 合并客户 message
    confirm_key: str | None = Field(default=None, unique=True)  # the 确认合并 message
    undo_key: str | None = Field(default=None, unique=True)  # the 撤销合并 message
    effects: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # MergeEffects
    created_at: datetime = Field(default_factory=utcnow)
    merged_at: datetime | None = None
    undone_at: datetime | None = None
    undone_by_id: int | None = Field(default=None, foreign_key="users.id")


class RemovedContact(BaseModel):
    """A contact of the dropped customer deleted at merge as a duplicate: kept to be recreated."""

    name: str
    title: str | None = None
    phone: str | None = None
    created_at: datetime


class MergeEffects(BaseModel):
    """What a merge changed (`CustomerMerge.effects`), so `unmerge` puts back exactly that."""

    deal_ids: list[int] = PField(default_factory=list)
    contact_ids: list[int] = PField(default_factory=list)
    removed_contacts: list[RemovedContact] = PField(default_factory=list)
    followup_ids: list[int] = PField(default_factory=list)
    item_ids: list[int] = PField(default_factory=list)
    aliases_added: list[str] = PField(default_factory=list)
    owner_filled: int | None = None  # the kept customer had no owner; the dropped one's was copied
    region_filled: str | None = None  # likewise for the region

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> MergeEffects:
        return cls.model_validate(data or {})

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


DEAL_CLOSED = ("won", "lost", "cancelled")  # every Deal.status but "open"
OPEN = text("status = 'open'")
QUOTE_OUT = text("status = 'open' AND quote_sent_at IS NOT NULL")
AMOUNT_KINDS = ("order", "quote", "budget", "manual")  # what Deal.amount is based on


class Deal(SQLModel, table=True):
    __tablename__ = "deals"
    # Alert scans: open deals by last activity (partial and covering: the stale, quote, funnel and
    # stalled-deal scans never read the table), recently closed ones (not the million closed long
    # ago), and a customer's newest deal activity as one index seek (store/touch.py).
    __table_args__ = (Index("ix_deals_open_activity", "status", "last_activity_at", "snoozed_until", "owner_id",
                            "customer_id", "stage", "amount", sqlite_where=OPEN, postgresql_where=OPEN),
                      Index("ix_deals_status_updated", "status", "updated_at"),
                      Index("ix_deals_customer_activity", "customer_id", "last_activity_at"),
                      # Quotes awaiting an answer: only open deals with a quote out are in it.
                      Index("ix_deals_open_quote", "quote_sent_at", "quote_answered_at", "snoozed_until",
                            "owner_id", sqlite_where=QUOTE_OUT, postgresql_where=QUOTE_OUT))
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    owner_id: int = Field(foreign_key="users.id", index=True)
    title: str
    stage: str = "lead"
    amount: Decimal | None = Field(default=None, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    amount_kind: str | None = None  # AMOUNT_KINDS: what `amount` rests on; None on rows from before 0008
    expected_close: date | None = None
    status: str = Field(default="open", index=True)  # open | won | lost | cancelled
    last_activity_at: datetime = Field(default_factory=utcnow, index=True)
    snoozed_until: date | None = None  # 暂停提醒: no alerts about this deal before this date
    # Facts, not stages, drive the "quote without reply" alert: when our latest quote went out,
    # and when the customer last answered one (an answer older than the quote answers nothing).
    quote_sent_at: datetime | None = None
    quote_answered_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class StageChange(SQLModel, table=True):
    __tablename__ = "stage_history"
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deals.id", index=True)
    from_stage: str | None = None
    to_stage: str
    changed_by_id: int | None = Field(default=None, foreign_key="users.id")
    followup_id: int | None = Field(default=None, foreign_key="followups.id")
    source: str = "command"  # note | command | undo
    at: datetime = Field(default_factory=utcnow)


class FollowUp(SQLModel, table=True):
    """One visit note turned into a record; `extracted` keeps every field with its evidence span."""

    __tablename__ = "followups"
    # A customer's newest active follow-up is one index seek (silent-customer alerts).
    __table_args__ = (Index("ix_followups_customer_status_created", "customer_id", "status", "created_at"),)
    id: int | None = Field(default=None, primary_key=True)
    source_key: str = Field(unique=True)  # "<channel>:<msg_id>": a replay stores nothing twice
    inbox_id: int | None = Field(default=None, foreign_key="inbox.id")
    author_id: int = Field(foreign_key="users.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    deal_id: int | None = Field(default=None, foreign_key="deals.id", index=True)
    raw_text: str
    transcript: str | None = None
    audio: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # duration, model, timings
    customer_mention: str | None = None
    extracted: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    next_follow_up: date | None = None
    stage: str | None = None
    amount: Decimal | None = Field(default=None, max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    confirmed: bool = False
    corrected: bool = False
    corrections: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default="active", index=True)  # active | revoked
    # What applying the note changed (deal before, rows created), so 撤销 and 改 can put it back.
    effects: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    revoked_by_key: str | None = Field(default=None, index=True)  # the 撤销 message, for replays
    created_at: datetime = Field(default_factory=utcnow, index=True)
    # 修改 pressed on its card: until a newer note, the rep's corrections without a number mean it
    focused_at: datetime | None = None


class ActionItem(SQLModel, table=True):
    __tablename__ = "action_items"
    id: int | None = Field(default=None, primary_key=True)
    followup_id: int | None = Field(default=None, foreign_key="followups.id", index=True)
    customer_id: int | None = Field(default=None, foreign_key="customers.id", index=True)
    deal_id: int | None = Field(default=None, foreign_key="deals.id")
    assignee_id: int = Field(foreign_key="users.id", index=True)  # the rep who follows it up
    owner_kind: str | None = None  # self | team | customer
    text: str
    due: date | None = Field(default=None, index=True)
    due_time: time | None = None  # wall-clock time of day (Asia/Shanghai), shown with the due date
    status: str = Field(default="open", index=True)  # open | done | cancelled
    done_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Contract(SQLModel, table=True):
    __tablename__ = "contracts"
    # A chat command stores its message's source_key: a replayed message finds its contract.
    __table_args__ = (Index("ux_contracts_source_key", "source_key", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = Field(foreign_key="deals.id", index=True)
    number: str | None = None
    signed_on: date = Field(index=True)
    amount: Decimal = Field(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    # The earliest dated installment when there is a schedule (the alert scans start from it).
    due_on: date | None = Field(default=None, index=True)
    followup_id: int | None = Field(default=None, foreign_key="followups.id", index=True)  # the note
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    source_key: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Installment(SQLModel, table=True):
    """One line of a contract's payment schedule (首付 30% by a date, 尾款 after acceptance)."""

    __tablename__ = "installments"
    # A contract's schedule, and what is due by a day, from the index alone (overdue alerts).
    __table_args__ = (Index("ix_installments_contract_due", "contract_id", "due_on", "seq", "amount"),)
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contracts.id")
    seq: int
    amount: Decimal = Field(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    due_on: date | None = None  # None: not tied to a date (e.g. "after acceptance")
    label: str


class Payment(SQLModel, table=True):
    __tablename__ = "payments"
    # A contract's paid sum from the index alone (contract alerts sum payments per contract).
    __table_args__ = (Index("ix_payments_contract_amount", "contract_id", "amount"),
                      Index("ux_payments_source_key", "source_key", unique=True))
    id: int | None = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contracts.id")
    amount: Decimal = Field(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES)
    paid_on: date
    note: str | None = None
    source_key: str | None = None  # the chat message that recorded it (replays store it once)
    created_at: datetime = Field(default_factory=utcnow)


class CustomerChange(SQLModel, table=True):
    """One write to a customer's identity (created, renamed, aliases, region, merged, unmerged).

    The ids only grow, so "the newest id" is a cheap version of the customer table that every
    process can compare, and "the ids after mine" say which customers its match index must re-read
    (store/changes.py)."""

    __tablename__ = "customer_changes"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused, even after pruning
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(index=True)
    at: datetime = Field(default_factory=utcnow)


class KnownCompetitor(SQLModel, table=True):
    """A competitor brand a rep confirmed (改 竞品): found in every later note (config adds more)."""

    __tablename__ = "known_competitors"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    added_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow)


class MediaBlob(SQLModel, table=True):
    """Audio of a voice message, kept once fetched so a restart never needs the platform again."""

    __tablename__ = "media"
    id: int | None = Field(default=None, primary_key=True)
    inbox_id: int = Field(foreign_key="inbox.id", unique=True)
    fmt: str
    data: bytes
    size: int
    created_at: datetime = Field(default_factory=utcnow)


class InboxMessage(SQLModel, table=True):
    """Every inbound message, written before the platform is acknowledged."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "msg_id", name="uq_inbox_channel_msg"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str
    msg_id: str
    sender: str
    kind: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default="pending", index=True)  # pending | done | failed
    error: str | None = None
    attempts: int = 0
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = None


class Notification(SQLModel, table=True):
    """Outbox of pushes; the unique dedupe key (rule, object, period) makes reruns harmless."""

    __tablename__ = "notifications"
    # Every index is paid for by each queued alert (a rule run can queue 400k): the dedupe key, the
    # recipient, and what is due (status, next attempt) for delivery; nothing looks rows up by rule.
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True)
    rule: str = "message"  # stale_deal, silent_customer, … (digest grouping)
    recipient_id: int = Field(foreign_key="users.id", index=True)
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = "pending"  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    sent_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # Which delivery round holds the row, and until when: boxes sharing one database each take
    # rows nobody holds (or whose holder's lease ran out), so a push is sent by one box only.
    claim_token: str | None = None
    claimed_until: datetime | None = None


class JobRun(SQLModel, table=True):
    """One tick of a cron job, recorded by the box that runs it: the unique (job, fire_time) lets
    exactly one of the boxes sharing the database run each tick, catch-up runs included."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "fire_time", name="uq_job_runs_tick"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str
    fire_time: datetime  # the tick's scheduled time (UTC), not when it ran
    box: str  # host:pid of the box that ran it
    started_at: datetime = Field(default_factory=utcnow)


class PlatformSend(SQLModel, table=True):
    """One message sent to one platform user, by any box: the per-user send limits (WeCom: 30 a
    minute per member) are counted here when several boxes share the database."""

    __tablename__ = "platform_sends"
    __table_args__ = (Index("ix_platform_sends_peer", "channel", "peer", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str
    peer: str
    at: datetime


class OutgoingReply(SQLModel, table=True):
    """The answer to one inbound message, stored with the message's outcome before it is sent:
    a box that dies after storing it leaves it to another box (after the claim runs out), and a
    reply that fails is retried with backoff instead of being lost."""

    __tablename__ = "replies"
    __table_args__ = (Index("ix_replies_due", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    inbox_id: int = Field(foreign_key="inbox.id", unique=True)  # one answer per message
    channel: str
    peer: str  # the platform user id it goes to
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # bot.types.reply_body
    status: str = "pending"  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None
    claim_token: str | None = None
    claimed_until: datetime | None = None
    # the previous holder's claim ran out: it may have sent it, so ask the platform to drop a duplicate
    in_doubt: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class PlatformToken(SQLModel, table=True):
    """A platform access token (WeCom's per app) shared by the boxes on one database: one box
    fetches it, every box uses it until it expires or the platform rejects it."""

    __tablename__ = "platform_tokens"
    key: str = Field(primary_key=True)  # e.g. "wecom:<corp id>:<agent id>"
    token: str
    expires_at: datetime
    updated_at: datetime = Field(default_factory=utcnow)
