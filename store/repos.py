"""Queries and updates per aggregate.

Every function takes an open Session and runs inside the caller's transaction
(`Database.call` / `Database.run`), so a handler's changes commit or roll back together.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, text, update
from sqlmodel import Session, col, select

from store.db import insert_ignoring_duplicates
from store.models import (
    ActionItem,
    Contact,
    Contract,
    Customer,
    CustomerMerge,
    Deal,
    FollowUp,
    InboxMessage,
    KnownCompetitor,
    MediaBlob,
    MergeEffects,
    RemovedContact,
    StageChange,
    User,
    UserIdentity,
    utcnow,
)
from store.records import (
    BASIS_RANK,
    AmountBasis,
    Change,
    ContractRec,
    Effects,
    NoteRecord,
    Option,
    Question,
    iso,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")  # local dates (contract signing) of UTC instants
# A quote this many times above or below the deal's amount is more likely a part, a unit price or a
# slip than the new deal value: the rep is asked which one stands.
JUMP_RATIO = 3

ROLES = ("rep", "manager", "admin")


# ---------------------------------------------------------------- helpers


def _insert_ignore(s: Session, model: type, values: dict[str, Any]) -> int | None:
    """The new row's id, or None when a unique key says it is a duplicate."""
    return s.execute(insert_ignoring_duplicates(s, model).values(**values)).scalar_one_or_none()


# ---------------------------------------------------------------- users and scope


def add_user(
    s: Session,
    name: str,
    role: str = "rep",
    manager: User | None = None,
    identities: dict[str, str] | None = None,
) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    user = User(name=name, role=role, manager_id=manager.id if manager else None)
    s.add(user)
    s.flush()
    for channel, im_id in (identities or {}).items():
        s.add(UserIdentity(user_id=user.id, channel=channel, im_id=im_id))  # type: ignore[arg-type]
    s.flush()
    return user


def user_by_identity(s: Session, channel: str, im_id: str) -> User | None:
    return s.exec(
        select(User)
        .join(UserIdentity, col(UserIdentity.user_id) == col(User.id))
        .where(UserIdentity.channel == channel, UserIdentity.im_id == im_id, col(User.active))
    ).first()


def find_user(s: Session, key: str) -> User | None:
    """A user by console id or display name (for `salesbot say --as`)."""
    return user_by_identity(s, "console", key) or s.exec(
        select(User).where(User.name == key, col(User.active))
    ).first()


def list_users(s: Session) -> list[User]:
    return list(s.exec(select(User).order_by(col(User.id))))


@dataclass(frozen=True, slots=True)
class Departure:
    """What `deactivate_user` did: who took over (None: customers freed to the public pool),
    how many customers and open to-dos moved, and the leaver's open deals (moved with `to`)."""

    user: str
    to: str | None
    manager_id: int | None
    customers: int
    deals: int
    items: int


def deactivate_user(s: Session, user: User, to: User | None, now: datetime) -> Departure:
    """Mark a leaver inactive (no alert ever goes to them again). With `to`, their customers,
    open deals and open to-dos pass to that colleague; without, the customers go back to the
    public pool, the open to-dos to their manager, and the open deals stay (their alerts then go to
    the manager, marked as a leaver's)."""
    user.active = False
    s.add(user)
    mine = (col(Customer.owner_id) == user.id, col(Customer.merged_into_id).is_(None))
    customers = list(s.exec(select(Customer).where(*mine)))
    for c in customers:
        c.owner_id = to.id if to else None
        c.updated_at = now
        s.add(c)
    deals = list(s.exec(select(Deal).where(col(Deal.owner_id) == user.id, Deal.status == "open")))
    for d in deals if to else []:
        d.owner_id = to.id  # type: ignore[union-attr,assignment]
        s.add(d)
    heir = to.id if to else user.manager_id
    items = list(s.exec(select(ActionItem).where(col(ActionItem.assignee_id) == user.id,
                                                 ActionItem.status == "open"))) if heir else []
    for i in items:
        i.assignee_id = heir  # type: ignore[assignment]
        s.add(i)
    return Departure(user.name, to.name if to else None, user.manager_id, len(customers), len(deals), len(items))


def identities_of(s: Session, user_id: int) -> list[UserIdentity]:
    return list(s.exec(select(UserIdentity).where(UserIdentity.user_id == user_id)))


def _scope(user: User, reports_of: Callable[[set[int]], set[int]]) -> set[int] | None:
    """Whose data `user` may see, walking the reporting chain down with `reports_of(managers)`."""
    if user.role == "admin":
        return None
    ids: set[int] = {user.id} if user.id is not None else set()
    frontier = set(ids) if user.role == "manager" else set()
    while frontier:
        frontier = reports_of(frontier) - ids
        ids |= frontier
    return ids


def scope_user_ids(s: Session, user: User) -> set[int] | None:
    """Whose data `user` may see: None means everyone (admin)."""
    return _scope(user, lambda managers: {i for i in s.exec(select(User.id).where(col(User.manager_id).in_(managers)))
                                          if i is not None})


def scopes_of(s: Session, users: Sequence[User]) -> dict[int, set[int] | None]:
    """`scope_user_ids` of many users from one read of the reporting lines (weekly reports)."""
    reports: dict[int, set[int]] = {}
    for uid, manager in s.exec(select(User.id, User.manager_id).where(col(User.manager_id).is_not(None))):
        reports.setdefault(manager, set()).add(uid)  # type: ignore[arg-type]
    return {u.id: _scope(u, lambda managers: {r for m in managers for r in reports.get(m, ())})  # type: ignore[misc]
            for u in users}


def can_see_customer(s: Session, user: User, customer: Customer) -> bool:
    """Unowned customers (the public pool) are visible to all; others by owner scope."""
    scope = scope_user_ids(s, user)
    return scope is None or customer.owner_id is None or customer.owner_id in scope


# ---------------------------------------------------------------- customers


def add_customer(
    s: Session,
    name: str,
    normalized_name: str,
    owner_id: int | None,
    region: str | None = None,
    aliases: Sequence[str] = (),
    external_id: str | None = None,
) -> Customer:
    c = Customer(
        name=name,
        normalized_name=normalized_name,
        owner_id=owner_id,
        region=region,
        aliases=list(aliases),
        external_id=external_id,
    )
    s.add(c)
    s.flush()
    return c


def all_customers(s: Session) -> list[Customer]:
    return list(s.exec(select(Customer).where(col(Customer.merged_into_id).is_(None))))


def customer_by_normalized(s: Session, normalized: str) -> Customer | None:
    return s.exec(
        select(Customer).where(
            Customer.normalized_name == normalized, col(Customer.merged_into_id).is_(None)
        )
    ).first()


def claim_customer(s: Session, customer: Customer, user: User) -> None:
    """A rep who records a note on a public-pool customer becomes its owner."""
    if customer.owner_id is None:
        customer.owner_id = user.id
        customer.updated_at = utcnow()
        s.add(customer)


@dataclass
class CustomerCard:
    customer: Customer
    owner: User | None
    deals: list[Deal]
    followups: list[FollowUp]
    open_items: list[ActionItem]
    contacts: list[Contact]


def customer_card(s: Session, customer_id: int, followups: int = 3) -> CustomerCard:
    c = s.get(Customer, customer_id)
    assert c is not None
    return CustomerCard(
        customer=c,
        owner=s.get(User, c.owner_id) if c.owner_id else None,
        deals=list(
            s.exec(select(Deal).where(Deal.customer_id == customer_id).order_by(col(Deal.id)))
        ),
        followups=list(
            s.exec(
                select(FollowUp)
                .where(FollowUp.customer_id == customer_id, FollowUp.status == "active")
                .order_by(col(FollowUp.created_at).desc(), col(FollowUp.id).desc())
                .limit(followups)
            )
        ),
        open_items=list(
            s.exec(
                select(ActionItem)
                .where(ActionItem.customer_id == customer_id, ActionItem.status == "open")
                .order_by(col(ActionItem.due).is_(None), col(ActionItem.due), col(ActionItem.id))
            )
        ),
        contacts=list(s.exec(select(Contact).where(Contact.customer_id == customer_id))),
    )


def ensure_contact(s: Session, customer_id: int, name: str) -> Contact | None:
    """Add a contact unless one with the same name (or containing it) exists; None if existed."""
    existing = list(s.exec(select(Contact).where(Contact.customer_id == customer_id)))
    for c in existing:
        if c.name == name or name in c.name:
            return None
        if c.name in name:  # "王总" known, now "采购部王总": keep the fuller form
            c.name = name
            s.add(c)
            return None
    contact = Contact(customer_id=customer_id, name=name)
    s.add(contact)
    s.flush()
    return contact


# ---------------------------------------------------------------- deals


def open_deal_for(s: Session, customer_id: int) -> Deal | None:
    return s.exec(
        select(Deal)
        .where(Deal.customer_id == customer_id, Deal.status == "open")
        .order_by(col(Deal.last_activity_at).desc(), col(Deal.id).desc())
    ).first()


def deals_owned(s: Session, owner_ids: Iterable[int] | None, status: str | None = "open") -> list[Deal]:
    q = select(Deal)
    if owner_ids is not None:
        q = q.where(col(Deal.owner_id).in_(list(owner_ids)))
    if status:
        q = q.where(Deal.status == status)
    return list(s.exec(q.order_by(col(Deal.last_activity_at))))


def status_for_stage(stage: str) -> str:
    return {"won": "won", "lost": "lost"}.get(stage, "open")


def set_stage(
    s: Session,
    deal: Deal,
    stage: str,
    by: User | None,
    source: str,
    followup_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """Move a deal to `stage` and write the history row; False when nothing changed."""
    if deal.stage == stage:
        return False
    now = now or utcnow()
    s.add(
        StageChange(
            deal_id=deal.id,  # type: ignore[arg-type]
            from_stage=deal.stage,
            to_stage=stage,
            changed_by_id=by.id if by else None,
            followup_id=followup_id,
            source=source,
            at=now,
        )
    )
    deal.stage = stage
    deal.status = status_for_stage(stage)
    deal.updated_at = now
    s.add(deal)
    return True


def stage_history(s: Session, deal_id: int) -> list[StageChange]:
    return list(
        s.exec(select(StageChange).where(StageChange.deal_id == deal_id).order_by(col(StageChange.id)))
    )


# ---------------------------------------------------------------- follow-ups


def followup_by_source(s: Session, source_key: str) -> FollowUp | None:
    return s.exec(select(FollowUp).where(FollowUp.source_key == source_key)).first()


def followups_for_message(s: Session, source_key: str) -> list[FollowUp]:
    """The records one message became: `<key>`, then `<key>#2`, … when it named several customers."""
    like = source_key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "#%"
    rows = s.exec(select(FollowUp).where(or_(col(FollowUp.source_key) == source_key,
                                             col(FollowUp.source_key).like(like, escape="\\"))))
    return sorted(rows, key=lambda f: f.id)  # type: ignore[arg-type, return-value]


def followup_of(s: Session, author_id: int, followup_id: int) -> FollowUp | None:
    """An active record by number, only the author's own (records are edited by who wrote them)."""
    fu = s.get(FollowUp, followup_id)
    return fu if fu is not None and fu.author_id == author_id else None


def recent_followups(s: Session, author_id: int, limit: int = 50) -> list[FollowUp]:
    return list(s.exec(
        select(FollowUp)
        .where(FollowUp.author_id == author_id, FollowUp.status == "active")
        .order_by(col(FollowUp.created_at).desc(), col(FollowUp.id).desc())
        .limit(limit)
    ))


def unlinked_followups(s: Session, author_id: int, limit: int = 20) -> list[FollowUp]:
    """The author's active records without a customer, newest first (待关联)."""
    return list(s.exec(
        select(FollowUp)
        .where(FollowUp.author_id == author_id, FollowUp.status == "active",
               col(FollowUp.customer_id).is_(None))
        .order_by(col(FollowUp.created_at).desc(), col(FollowUp.id).desc())
        .limit(limit)
    ))


def last_followup(s: Session, author_id: int) -> FollowUp | None:
    """The record a correction without a number means: the one whose card's 修改 was pressed
    since the author's newest note (`focus_followup`), else that newest note."""
    return s.exec(
        select(FollowUp)
        .where(FollowUp.author_id == author_id, FollowUp.status == "active")
        .order_by(col(FollowUp.focused_at).is_not(None).desc(), col(FollowUp.created_at).desc(),
                  col(FollowUp.id).desc())
    ).first()


def focus_followup(s: Session, author_id: int, fu: FollowUp | None, now: datetime) -> None:
    """Make `fu` the record the author's next unnumbered correction means (None: their newest
    note again, as when they send a new one)."""
    s.execute(update(FollowUp).where(col(FollowUp.author_id) == author_id, col(FollowUp.focused_at).is_not(None))
              .values(focused_at=None).execution_options(synchronize_session=False))
    if fu is not None:
        fu.focused_at = now
        s.add(fu)


def followup_revoked_by(s: Session, source_key: str) -> FollowUp | None:
    return s.exec(select(FollowUp).where(FollowUp.revoked_by_key == source_key)).first()


def apply_followup(
    s: Session,
    fu: FollowUp,
    author: User,
    stage_order: Sequence[str],
    now: datetime | None = None,
) -> None:
    """Carry a follow-up's record into the CRM: deal, stage, amount, quote facts, to-dos, contacts.

    The policy (what a note may change) lives here; what it did change is written to `fu.effects`
    as typed `Effects`, so `unapply_followup` can undo exactly that. Questions the bot needs
    answered first (a new deal on a won customer, an ambiguous amount) go onto the record.
    """
    now = now or utcnow()
    rec = NoteRecord.load(fu.extracted)
    eff = Effects()
    deal: Deal | None = None
    if fu.customer_id is not None:
        customer = s.get(Customer, fu.customer_id)
        assert customer is not None
        if customer.owner_id is None:
            eff.claimed_customer = True
            claim_customer(s, customer, author)
        rec.stage = fit_stage(rec.stage, stage_order)  # pipeline.stages: only configured stages
        deal = _deal_for_note(s, fu, customer, rec, author, stage_order, now, eff)
        if deal is not None:
            _update_deal(s, deal, fu, rec, author, stage_order, now, eff)
            if rec.contract is not None and rec.contract_ok:
                _make_contract(s, deal, fu, rec.contract, author, now, eff)
        for name in rec.contacts:
            contact = ensure_contact(s, fu.customer_id, name)
            if contact is not None:
                eff.contact_ids.append(contact.id)  # type: ignore[arg-type]
    fu.deal_id = deal.id if deal else None
    fu.stage = rec.stage
    fu.next_follow_up = rec.next_follow_up
    da = rec.deal_amount
    fu.amount = Decimal(str(da.value)) if da and da.value is not None and not da.ambiguous else None
    for item in rec.unique_items():
        ai = ActionItem(followup_id=fu.id, customer_id=fu.customer_id, deal_id=fu.deal_id,
                        assignee_id=author.id, owner_kind=item.owner, text=item.label,  # type: ignore[arg-type]
                        due=item.due, due_time=item.due_time, created_at=now)
        s.add(ai)
        s.flush()
        eff.action_item_ids.append(ai.id)  # type: ignore[arg-type]
    fu.extracted = rec.dump()
    fu.effects = eff.dump()
    s.add(fu)


def _deal_for_note(s: Session, fu: FollowUp, customer: Customer, rec: NoteRecord, author: User,
                   stage_order: Sequence[str], now: datetime, eff: Effects) -> Deal | None:
    """The deal a note is about: the open one, else a new one only when the note shows an opportunity.

    A customer whose deal is won gets no new deal from after-sales talk; a new opportunity there
    ("想加购10台") is asked about first ("新商机？").
    """
    deal = open_deal_for(s, customer.id)  # type: ignore[arg-type]
    if deal is not None:
        return deal
    if has_won_deal(s, customer.id):  # type: ignore[arg-type]
        if rec.new_deal_ok:
            return _create_deal(s, fu, customer, _new_deal_stage(rec, stage_order), author, now, eff)
        if rec.new_opportunity and not any(q.kind == "new_deal" for q in rec.questions):
            rec.ask(Question(kind="new_deal"))
        return None
    if rec.new_deal_ok or (rec.stage and rec.stage != "lost"):
        return _create_deal(s, fu, customer, _new_deal_stage(rec, stage_order), author, now, eff)
    return None


def has_won_deal(s: Session, customer_id: int) -> bool:
    return s.exec(select(Deal.id).where(Deal.customer_id == customer_id, Deal.status == "won")).first() is not None


def _create_deal(s: Session, fu: FollowUp, customer: Customer, stage: str, author: User, now: datetime,
                 eff: Effects) -> Deal:
    deal = Deal(customer_id=customer.id, owner_id=customer.owner_id or author.id,  # type: ignore[arg-type, call-arg]
                title=f"{customer.name} 商机", stage=stage, status=status_for_stage(stage),
                last_activity_at=now, created_at=now, updated_at=now)
    s.add(deal)
    s.flush()
    s.add(StageChange(deal_id=deal.id, to_stage=stage, changed_by_id=author.id,  # type: ignore[arg-type]
                      followup_id=fu.id, source="note", at=now))
    eff.deal_created = True
    return deal


def _update_deal(s: Session, deal: Deal, fu: FollowUp, rec: NoteRecord, author: User,
                 stage_order: Sequence[str], now: datetime, eff: Effects) -> None:
    """Stage forward only, amount by its basis, quote facts, activity: each change recorded."""
    if not eff.deal_created:
        eff.changes.append(Change(field="last_activity_at", old=iso(deal.last_activity_at), new=iso(now)))
        deal.last_activity_at = now
        if rec.stage and "stage" not in rec.skip and _moves_forward(deal.stage, rec.stage, stage_order):
            eff.changes.append(Change(field="stage", old=deal.stage, new=rec.stage))
            set_stage(s, deal, rec.stage, author, "note", fu.id, now)
    if "amount" not in rec.skip:
        _update_amount(deal, rec, eff)
    if "quote" not in rec.skip:
        _quote_facts(deal, rec, now, eff)
    deal.updated_at = now
    s.add(deal)


def _update_amount(deal: Deal, rec: NoteRecord, eff: Effects) -> None:
    """Order over quote over budget: a budget only fills an empty amount; ambiguity is asked."""
    da = rec.deal_amount
    if da is None or da.basis is None:
        return
    if da.ambiguous or da.value is None:
        return  # the question was put on the record when it was extracted
    new = Decimal(str(da.value))
    if deal.amount == new and deal.amount_kind == da.basis:
        return
    if deal.amount is not None and (da.basis == "budget" or BASIS_RANK[da.basis] < BASIS_RANK.get(deal.amount_kind, 0)):
        return
    if deal.amount and da.basis == "quote" and not JUMP_RATIO >= new / deal.amount >= 1 / JUMP_RATIO:
        if not any(q.kind == "amount" for q in rec.questions):  # asked once; the answer is final
            rec.ask(Question(kind="amount", options=[Option(name="", value=float(new), basis=da.basis),
                                                     Option(name="", value=float(deal.amount),
                                                            basis=cast(AmountBasis, deal.amount_kind or "quote"))]))
        if rec.question("amount") is not None:
            return
    eff.changes.append(Change(field="amount", old=_money(deal.amount), new=_money(new),
                              old_basis=deal.amount_kind, new_basis=da.basis))
    deal.amount = new
    deal.amount_kind = da.basis


def _quote_facts(deal: Deal, rec: NoteRecord, now: datetime, eff: Effects) -> None:
    """Our quote sent stamps the deal; a later note with the customer's answer stamps the answer."""
    if rec.quote_sent:
        eff.changes.append(Change(field="quote_sent_at", old=iso(deal.quote_sent_at), new=iso(now)))
        deal.quote_sent_at = now
        return
    sent, answered = deal.quote_sent_at, deal.quote_answered_at
    if sent is not None and sent < now and (answered is None or answered < sent) and not rec.quote_no_reply:
        eff.changes.append(Change(field="quote_answered_at", old=iso(answered), new=iso(now)))
        deal.quote_answered_at = now


def _make_contract(s: Session, deal: Deal, fu: FollowUp, terms: ContractRec, author: User, now: datetime,
                   eff: Effects) -> None:
    """The signing the rep confirmed: a contract with its payment plan; the deal is won at that value."""
    from store.contracts import create_contract

    value = terms.amount if terms.amount is not None else (float(deal.amount) if deal.amount is not None else None)
    if value is None:
        return
    if deal.stage != "won":
        eff.changes.append(Change(field="stage", old=deal.stage, new="won"))
        set_stage(s, deal, "won", author, "note", fu.id, now)
    amount = Decimal(str(value))
    if deal.amount != amount or deal.amount_kind != "order":
        eff.changes.append(Change(field="amount", old=_money(deal.amount), new=_money(amount),
                                  old_basis=deal.amount_kind, new_basis="order"))
        deal.amount, deal.amount_kind = amount, "order"
    plan = _plan(terms, amount)
    contract = create_contract(s, deal, amount, now.astimezone(SHANGHAI).date(), plan,
                               followup_id=fu.id, created_by_id=author.id)
    eff.contract_id = contract.id


def _plan(terms: ContractRec, total: Decimal) -> list[tuple[str, Decimal, date | None]]:
    """The payment plan of a confirmed signing; a plan that does not add up keeps its stated rows."""
    from extraction.contract_terms import (
        ContractTerms,
        InstallmentTerm,
        ScheduleError,
        installment_schedule,
    )

    ct = ContractTerms(float(total), tuple(InstallmentTerm(i.label, i.ratio, i.amount, i.due, "")
                                           for i in terms.installments))
    try:
        return installment_schedule(ct, total)
    except ScheduleError:
        return [(i.label, Decimal(str(i.amount if i.amount is not None else float(total) * (i.ratio or 0))), i.due)
                for i in terms.installments if i.amount is not None or i.ratio]


def _money(v: Decimal | None) -> str | None:
    return str(v) if v is not None else None


def _decimal(v: str | None) -> Decimal | None:
    return Decimal(v) if v is not None else None


def _instant(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v is not None else None


def _restore(deal: Deal, c: Change, s: Session, by: User | None, fu: FollowUp, now: datetime) -> None:
    """Put one changed deal field back, unless something later changed it again."""
    if c.field == "stage":
        if deal.stage == c.new and c.old is not None:
            set_stage(s, deal, c.old, by, "undo", fu.id, now)
    elif c.field == "amount":
        if deal.amount == _decimal(c.new):
            deal.amount, deal.amount_kind = _decimal(c.old), c.old_basis
    elif getattr(deal, c.field) == _instant(c.new):
        setattr(deal, c.field, _instant(c.old))
    deal.updated_at = now
    s.add(deal)


def unapply_followup(s: Session, fu: FollowUp, by: User | None, now: datetime | None = None) -> None:
    """Undo exactly what `apply_followup` did (used by 撤销 and before re-applying a correction)."""
    now = now or utcnow()
    eff = Effects.load(fu.effects)
    for item_id in eff.action_item_ids:
        item = s.get(ActionItem, item_id)
        if item is not None and item.status == "open":
            s.delete(item)
        elif item is not None:
            item.followup_id = None  # keep finished work, detach from the record
            s.add(item)
    for contact_id in eff.contact_ids:
        contact = s.get(Contact, contact_id)
        if contact is not None:
            s.delete(contact)
    s.flush()
    if eff.contract_id is not None:
        from store.contracts import delete_contract

        delete_contract(s, eff.contract_id)
    deal = s.get(Deal, fu.deal_id) if fu.deal_id else None
    if deal is not None:
        if eff.deal_created and _deal_is_only(s, deal, fu):
            for row in stage_history(s, deal.id):  # type: ignore[arg-type]
                s.delete(row)
            fu.deal_id = None
            s.add(fu)
            s.flush()
            s.delete(deal)
        else:
            for c in reversed(eff.changes):
                if not c.reverted:
                    _restore(deal, c, s, by, fu, now)
    if eff.claimed_customer and fu.customer_id is not None:
        customer = s.get(Customer, fu.customer_id)
        if customer is not None:
            customer.owner_id = None
            s.add(customer)
    fu.effects = {}
    fu.deal_id = None
    s.add(fu)
    s.flush()


def revert_change(s: Session, fu: FollowUp, field: str, by: User | None, now: datetime) -> Change | None:
    """Take back one deal change of a record (撤销 金额 / 撤销 阶段); the record keeps the rest.

    The field is also remembered on the record, so a later correction does not re-apply it.
    """
    eff = Effects.load(fu.effects)
    names = ("quote_sent_at", "quote_answered_at") if field == "quote" else (field,)
    found = [c for c in eff.changes if c.field in names and not c.reverted]
    deal = s.get(Deal, fu.deal_id) if fu.deal_id else None
    if not found or deal is None:
        return None
    for c in found:
        _restore(deal, c, s, by, fu, now)
        c.reverted = True
    rec = NoteRecord.load(fu.extracted)
    rec.skip = sorted({*rec.skip, field})
    fu.extracted = rec.dump()
    fu.effects = eff.dump()
    s.add(fu)
    s.flush()
    return found[0]


def _deal_is_only(s: Session, deal: Deal, fu: FollowUp) -> bool:
    """True when nothing but this follow-up ever touched the deal (safe to delete)."""
    others = s.exec(
        select(func.count(col(FollowUp.id))).where(
            FollowUp.deal_id == deal.id, FollowUp.id != fu.id, FollowUp.status == "active"
        )
    ).one()
    contracts = s.exec(select(func.count(col(Contract.id))).where(Contract.deal_id == deal.id)).one()
    return not others and not contracts


def fit_stage(stage: str | None, order: Sequence[str]) -> str | None:
    """A stage the extractor read (its keys: extraction.stage.ORDER and "lost"), on the configured
    pipeline `order`: itself when configured, else the nearest configured stage before it (never
    more progress than the note said); None when none is configured before it."""
    from extraction.stage import ORDER

    if stage is None or stage in order:
        return stage
    if stage not in ORDER:
        return None
    earlier = [st for st in ORDER[:ORDER.index(stage)] if st in order]
    return earlier[-1] if earlier else None


def _new_deal_stage(rec: NoteRecord, order: Sequence[str]) -> str:
    """A new deal's stage: the note's, else "needs" as it fits the pipeline, else its first stage."""
    return rec.stage or fit_stage("needs", order) or order[0]


def _moves_forward(current: str, new: str, order: Sequence[str]) -> bool:
    if new == "lost":
        return current != "lost"
    if current not in order or new not in order:
        return current != new
    return order.index(new) > order.index(current)


# ---------------------------------------------------------------- action items


def open_items(s: Session, assignee_ids: Iterable[int] | None) -> list[ActionItem]:
    q = select(ActionItem).where(ActionItem.status == "open")
    if assignee_ids is not None:
        q = q.where(col(ActionItem.assignee_id).in_(list(assignee_ids)))
    return list(
        s.exec(q.order_by(col(ActionItem.due).is_(None), col(ActionItem.due), col(ActionItem.id)))
    )


# ---------------------------------------------------------------- competitors


def known_competitors(s: Session) -> list[str]:
    """Competitor brands reps confirmed (改 竞品), oldest first."""
    return list(s.exec(select(KnownCompetitor.name).order_by(col(KnownCompetitor.id))))


def remember_competitors(s: Session, names: Iterable[str], user_id: int | None) -> None:
    """Make confirmed brands known for every later note; a name already known is kept once."""
    for name in names:
        _insert_ignore(s, KnownCompetitor, {"name": name, "added_by_id": user_id, "created_at": utcnow()})


# ---------------------------------------------------------------- inbox


def inbox_insert(s: Session, channel: str, msg_id: str, sender: str, kind: str,
                 payload: dict[str, Any], received_at: datetime) -> int | None:
    """Persist one inbound message; None when (channel, msg_id) was already stored."""
    return inbox_insert_many(s, [{"channel": channel, "msg_id": msg_id, "sender": sender, "kind": kind,
                                  "payload": payload, "received_at": received_at}])[0]


def _inbox_values(rows: Sequence[dict[str, Any]]) -> tuple[dict[tuple[str, str], int], list[dict[str, Any]]]:
    """Each (channel, msg_id)'s first position in `rows`, and the new rows' column values."""
    firsts: dict[tuple[str, str], int] = {}
    values: list[dict[str, Any]] = []
    for i, r in enumerate(rows):
        key = (r["channel"], r["msg_id"])
        if key in firsts:
            continue
        firsts[key] = i
        values.append({"channel": r["channel"], "msg_id": r["msg_id"], "sender": r["sender"],
                       "kind": r["kind"], "payload": r["payload"], "status": "pending", "attempts": 0,
                       "received_at": r["received_at"]})
    return firsts, values


def inbox_insert_many(s: Session, rows: Sequence[dict[str, Any]]) -> list[int | None]:
    """Persist many inbound messages in one statement (group commit); ids aligned with `rows`.

    Each row has `inbox_insert`'s arguments as keys. None marks a duplicate, whether of a
    stored row or of an earlier row in `rows` (the first occurrence wins). One executemany
    of the dialect's insert-ignore with RETURNING on the Core connection: SQLAlchemy sends it
    as multi-row VALUES from a cached statement and skips the ORM's bulk-insert bookkeeping
    (20 µs per row with the commit, against 130 µs for a freshly compiled multi-row INSERT).
    """
    firsts, values = _inbox_values(rows)
    ids: list[int | None] = [None] * len(rows)
    if not values:
        return ids
    stmt = insert_ignoring_duplicates(s, InboxMessage).returning(
        col(InboxMessage.channel), col(InboxMessage.msg_id))
    # RETURNING order is unspecified (and skipped duplicates return nothing): map by key
    for new_id, channel, msg_id in s.connection().execute(stmt, values):
        ids[firsts[(channel, msg_id)]] = new_id
    return ids


# procrastinate 3.10's own entry point for deferring jobs (its `defer_jobs` query calls it too):
# the new inbox rows and one job per new row in one statement, one round trip. The job's
# arguments are {"inbox_id": id}; jobs are numbered in arrival order, which is the order a
# worker takes one sender's (locked) jobs in.
_INBOX_WITH_JOBS = text("""
WITH arrived AS (
  SELECT * FROM unnest(CAST(:channel AS text[]), CAST(:msg_id AS text[]), CAST(:sender AS text[]),
                       CAST(:kind AS text[]), CAST(:payload AS json[]), CAST(:received_at AS timestamptz[]),
                       CAST(:queue AS text[]), CAST(:lock AS text[]))
    WITH ORDINALITY AS a(channel, msg_id, sender, kind, payload, received_at, queue, lock, pos)),
stored AS (
  INSERT INTO inbox (channel, msg_id, sender, kind, payload, status, attempts, received_at)
  SELECT channel, msg_id, sender, kind, payload, 'pending', 0, received_at FROM arrived ORDER BY pos
  ON CONFLICT DO NOTHING
  RETURNING id, channel, msg_id),
jobs AS (
  SELECT procrastinate_defer_jobs_v1(array_agg(
           ROW(a.queue, :task, 0, a.lock, NULL, jsonb_build_object('inbox_id', stored.id), NULL)
             ::procrastinate_job_to_defer_v1 ORDER BY a.pos)) AS ids
  FROM stored JOIN arrived AS a USING (channel, msg_id))
SELECT stored.id, stored.channel, stored.msg_id, (SELECT cardinality(ids) FROM jobs) FROM stored
""")


def inbox_insert_queued(s: Session, rows: Sequence[dict[str, Any]], jobs: Sequence[tuple[str, str]],
                        task: str) -> list[int | None]:
    """`inbox_insert_many` on PostgreSQL plus, for each new row, a procrastinate job of `task`
    on queue `jobs[i][0]` with lock `jobs[i][1]`, in the same statement: a stored message is
    never without its job, nor a job without its message. Half the time of deferring the jobs
    through procrastinate's Python API after the insert (2.2 against 4.0 ms for 32 messages)."""
    firsts, values = _inbox_values(rows)
    ids: list[int | None] = [None] * len(rows)
    if not values:
        return ids
    picked = [jobs[firsts[(v["channel"], v["msg_id"])]] for v in values]
    params: dict[str, Any] = {k: [v[k] for v in values] for k in ("channel", "msg_id", "sender", "kind",
                                                                  "received_at")}
    params["payload"] = [json.dumps(v["payload"], ensure_ascii=False) for v in values]
    params["queue"] = [q for q, _ in picked]
    params["lock"] = [lock for _, lock in picked]
    params["task"] = task
    for new_id, channel, msg_id, _ in s.connection().execute(_INBOX_WITH_JOBS, params):
        ids[firsts[(channel, msg_id)]] = new_id
    return ids


def inbox_pending(s: Session) -> list[InboxMessage]:
    return list(
        s.exec(select(InboxMessage).where(InboxMessage.status == "pending").order_by(col(InboxMessage.id)))
    )


def inbox_row(s: Session, inbox_id: int) -> InboxMessage | None:
    return s.get(InboxMessage, inbox_id)


def inbox_pending_count(s: Session) -> int:
    return int(s.exec(select(func.count()).select_from(InboxMessage)
                      .where(InboxMessage.status == "pending")).one())


def inbox_started(s: Session, inbox_id: int) -> None:
    row = s.get(InboxMessage, inbox_id)
    if row is not None:
        row.attempts += 1
        s.add(row)


def inbox_finish(s: Session, inbox_id: int, status: str, error: str | None = None) -> None:
    row = s.get(InboxMessage, inbox_id)
    if row is not None:
        row.status = status
        row.error = error
        row.processed_at = utcnow()
        s.add(row)


# ---------------------------------------------------------------- merge


@dataclass
class MergeSide:
    """One customer of a proposed merge as the manager is shown it before confirming."""

    customer: Customer
    owner: User | None
    deals: int
    contacts: int
    followups: int
    items: int


@dataclass
class MergePreview:
    keep: MergeSide
    drop: MergeSide


def _count(s: Session, model: Any, customer_id: int, *where: Any) -> int:
    q = select(func.count()).select_from(model).where(model.customer_id == customer_id, *where)
    return int(s.exec(q).one())


def merge_side(s: Session, customer_id: int) -> MergeSide:
    c = s.get(Customer, customer_id)
    assert c is not None
    return MergeSide(
        customer=c,
        owner=s.get(User, c.owner_id) if c.owner_id else None,
        deals=_count(s, Deal, customer_id),
        contacts=_count(s, Contact, customer_id),
        followups=_count(s, FollowUp, customer_id, FollowUp.status == "active"),
        items=_count(s, ActionItem, customer_id, ActionItem.status == "open"),
    )


def merge_preview(s: Session, keep_id: int, drop_id: int) -> MergePreview:
    """Both cards of a merge, for the question before it (chat and command line alike)."""
    _check_mergeable(s, keep_id, drop_id)
    return MergePreview(merge_side(s, keep_id), merge_side(s, drop_id))


@dataclass
class _Moved:
    """Two customers of a merge and how many rows went from one to the other (or back)."""

    keep: Customer
    drop: Customer
    deals: int
    contacts: int
    followups: int
    items: int


@dataclass
class MergeResult(_Moved):
    effects: MergeEffects | None = None
    merge_id: int | None = None

    @classmethod
    def of(cls, keep: Customer, drop: Customer, eff: MergeEffects, merge_id: int | None = None) -> MergeResult:
        """The counts a merge's recorded effects stand for."""
        return cls(keep, drop, deals=len(eff.deal_ids), contacts=len(eff.contact_ids),
                   followups=len(eff.followup_ids), items=len(eff.item_ids), effects=eff, merge_id=merge_id)


def _check_mergeable(s: Session, keep_id: int, drop_id: int) -> tuple[Customer, Customer]:
    if keep_id == drop_id:
        raise ValueError("cannot merge a customer into itself")
    keep, drop = s.get(Customer, keep_id), s.get(Customer, drop_id)
    if keep is None or drop is None or keep.merged_into_id or drop.merged_into_id:
        raise ValueError("both customers must exist and not be merged already")
    return keep, drop


def merge_customers(s: Session, keep_id: int, drop_id: int, now: datetime | None = None) -> MergeResult:
    """Fold customer `drop` into `keep` in one transaction; the dropped names become aliases.

    The dropped row stays (merged_into_id set) so old references and audits still resolve, and
    the result's `effects` say exactly what moved, so `unmerge` can put it back.
    """
    keep, drop = _check_mergeable(s, keep_id, drop_id)
    now = now or utcnow()
    eff = MergeEffects()
    for deal in s.exec(select(Deal).where(Deal.customer_id == drop_id)):
        deal.customer_id = keep_id
        s.add(deal)
        eff.deal_ids.append(deal.id)  # type: ignore[arg-type]
    known = {c.name for c in s.exec(select(Contact).where(Contact.customer_id == keep_id))}
    for contact in s.exec(select(Contact).where(Contact.customer_id == drop_id)):
        if contact.name in known:
            eff.removed_contacts.append(RemovedContact(name=contact.name, title=contact.title, phone=contact.phone,
                                                       created_at=contact.created_at))
            s.delete(contact)
        else:
            contact.customer_id = keep_id
            s.add(contact)
            eff.contact_ids.append(contact.id)  # type: ignore[arg-type]
    for fu in s.exec(select(FollowUp).where(FollowUp.customer_id == drop_id)):
        fu.customer_id = keep_id
        s.add(fu)
        eff.followup_ids.append(fu.id)  # type: ignore[arg-type]
    for item in s.exec(select(ActionItem).where(ActionItem.customer_id == drop_id)):
        item.customer_id = keep_id
        s.add(item)
        eff.item_ids.append(item.id)  # type: ignore[arg-type]
    aliases = [a for a in [*keep.aliases, drop.name, *drop.aliases] if a != keep.name]
    eff.aliases_added = [a for a in dict.fromkeys(aliases) if a not in keep.aliases]
    keep.aliases = list(dict.fromkeys(aliases))
    if keep.owner_id is None and drop.owner_id is not None:
        keep.owner_id = eff.owner_filled = drop.owner_id
    if not keep.region and drop.region:
        keep.region = eff.region_filled = drop.region
    keep.updated_at = drop.updated_at = now
    drop.merged_into_id = keep_id
    s.add(keep)
    s.add(drop)
    s.flush()
    return MergeResult.of(keep, drop, eff)


def request_merge(s: Session, keep_id: int, drop_id: int, user_id: int | None, key: str | None,
                  now: datetime) -> CustomerMerge:
    """The merge a user was just shown, pending their 确认合并; it replaces any older pending one.

    A replayed 合并客户 message finds the row it already made.
    """
    if key is not None:
        old = s.exec(select(CustomerMerge).where(CustomerMerge.request_key == key)).first()
        if old is not None:
            return old
    _check_mergeable(s, keep_id, drop_id)
    if user_id is not None:
        for stale in s.exec(select(CustomerMerge).where(CustomerMerge.requested_by_id == user_id,
                                                        CustomerMerge.status == "pending")):
            stale.status = "cancelled"
            s.add(stale)
    m = CustomerMerge(keep_id=keep_id, drop_id=drop_id, requested_by_id=user_id, request_key=key,
                      created_at=now)
    s.add(m)
    s.flush()
    return m


def pending_merge(s: Session, user_id: int) -> CustomerMerge | None:
    """The one merge waiting for this user's 确认合并 (only what they were shown last)."""
    return s.exec(select(CustomerMerge)
                  .where(CustomerMerge.requested_by_id == user_id, CustomerMerge.status == "pending")
                  .order_by(col(CustomerMerge.id).desc())).first()


def merge_confirmed_by(s: Session, key: str) -> CustomerMerge | None:
    """The merge a message already confirmed (a replayed 确认合并 must not merge again)."""
    return s.exec(select(CustomerMerge).where(CustomerMerge.confirm_key == key)).first()


def merge_undone_by(s: Session, key: str) -> CustomerMerge | None:
    return s.exec(select(CustomerMerge).where(CustomerMerge.undo_key == key)).first()


def close_merge(s: Session, m: CustomerMerge, status: str) -> None:
    """A pending merge that will not happen: expired, or its customers changed meanwhile."""
    m.status = status
    s.add(m)


def carry_out_merge(s: Session, m: CustomerMerge, key: str | None, now: datetime) -> MergeResult:
    """Do a pending merge and record what it moved on its row (ValueError: no longer possible)."""
    r = merge_customers(s, m.keep_id, m.drop_id, now)
    m.status, m.confirm_key, m.merged_at = "done", key, now
    m.effects = r.effects.dump()  # type: ignore[union-attr]
    s.add(m)
    s.flush()
    r.merge_id = m.id
    return r


def merge_result(s: Session, m: CustomerMerge) -> MergeResult:
    """A done merge's result as it was reported (for a replayed confirmation)."""
    eff = MergeEffects.load(m.effects)
    keep, drop = s.get(Customer, m.keep_id), s.get(Customer, m.drop_id)
    assert keep is not None and drop is not None
    return MergeResult.of(keep, drop, eff, merge_id=m.id)


def latest_merge(s: Session, user_id: int | None) -> CustomerMerge | None:
    """The newest carried-out merge (done or undone) of a user; None: of anyone (command line)."""
    q = select(CustomerMerge).where(col(CustomerMerge.status).in_(("done", "undone")))
    if user_id is not None:
        q = q.where(CustomerMerge.requested_by_id == user_id)
    return s.exec(q.order_by(col(CustomerMerge.merged_at).desc(), col(CustomerMerge.id).desc())).first()


@dataclass
class UnmergeResult(_Moved):
    aliases: list[str]
    owner_cleared: bool
    region_cleared: bool


def unmerge(s: Session, m: CustomerMerge, by_id: int | None, key: str | None, now: datetime) -> UnmergeResult:
    """Undo a done merge: the dropped customer is live again and gets back what moved.

    Moved rows only change customer, so whatever was done to them since the merge stays. A row
    that has since been moved to a third customer is left there; so are an owner or region the
    merge filled in and someone changed since. Contacts deleted as duplicates are recreated.
    ValueError when the kept customer has itself been merged away since (undo that first).
    """
    keep, drop = s.get(Customer, m.keep_id), s.get(Customer, m.drop_id)
    assert keep is not None and drop is not None and m.status == "done"
    if keep.merged_into_id is not None:
        raise ValueError(f"customer {keep.id} was merged into {keep.merged_into_id} since")
    eff = MergeEffects.load(m.effects)
    counts = {}
    for name, model, ids in (("deals", Deal, eff.deal_ids), ("contacts", Contact, eff.contact_ids),
                             ("followups", FollowUp, eff.followup_ids), ("items", ActionItem, eff.item_ids)):
        rows = list(s.exec(select(model).where(col(model.id).in_(ids), model.customer_id == keep.id))) if ids else []
        for row in rows:
            row.customer_id = drop.id
            s.add(row)
        counts[name] = len(rows)
    for rc in eff.removed_contacts:
        s.add(Contact(customer_id=drop.id, name=rc.name, title=rc.title, phone=rc.phone,  # type: ignore[arg-type]
                      created_at=rc.created_at))
    counts["contacts"] += len(eff.removed_contacts)
    aliases = [a for a in eff.aliases_added if a in keep.aliases]
    keep.aliases = [a for a in keep.aliases if a not in eff.aliases_added]
    owner_cleared = eff.owner_filled is not None and keep.owner_id == eff.owner_filled
    if owner_cleared:
        keep.owner_id = None
    region_cleared = eff.region_filled is not None and keep.region == eff.region_filled
    if region_cleared:
        keep.region = None
    keep.updated_at = drop.updated_at = now
    drop.merged_into_id = None
    m.status, m.undone_at, m.undone_by_id, m.undo_key = "undone", now, by_id, key
    for row in (keep, drop, m):
        s.add(row)
    s.flush()
    return UnmergeResult(keep, drop, aliases=aliases, owner_cleared=owner_cleared,
                         region_cleared=region_cleared, **counts)


# ---------------------------------------------------------------- media


def media_for(s: Session, inbox_id: int) -> MediaBlob | None:
    return s.exec(select(MediaBlob).where(MediaBlob.inbox_id == inbox_id)).first()


def save_media(s: Session, inbox_id: int, fmt: str, data: bytes) -> None:
    """Keep fetched audio once per message (a replay finds it instead of downloading again)."""
    _insert_ignore(s, MediaBlob, {"inbox_id": inbox_id, "fmt": fmt, "data": data, "size": len(data),
                                  "created_at": utcnow()})


HOTWORD_DAYS = 3  # to-dos and planned follow-ups this close to today make a customer likely
RECENT_NOTES = 30  # the rep's latest notes whose customers come next


def _likely_customers(s: Session, user: User, today: date, limit: int | None) -> list[int]:
    """The customer ids a rep is most likely to talk about today, most likely first: to-dos and
    planned follow-ups due around today, the customers of their latest notes, open deals by
    newest activity, then the rest of their book by newest interaction (never by a row's edit
    time, which says nothing about what the rep does)."""
    near = (today - timedelta(days=HOTWORD_DAYS), today + timedelta(days=HOTWORD_DAYS))
    scope = scope_user_ids(s, user)
    owned = [] if scope is None else [col(Deal.owner_id).in_(list(scope))]
    queries = [
        select(ActionItem.customer_id).where(col(ActionItem.assignee_id) == user.id, ActionItem.status == "open",
                                             col(ActionItem.due).between(*near))
        .order_by(col(ActionItem.due)),
        select(FollowUp.customer_id).where(col(FollowUp.author_id) == user.id, FollowUp.status == "active",
                                           col(FollowUp.next_follow_up).between(*near)),
        select(FollowUp.customer_id).where(col(FollowUp.author_id) == user.id, FollowUp.status == "active")
        .order_by(col(FollowUp.created_at).desc()).limit(RECENT_NOTES),
        select(Deal.customer_id).where(Deal.status == "open", *owned)
        .order_by(col(Deal.last_activity_at).desc()).limit(limit),
    ]
    ids: dict[int, None] = {}
    for q in queries:
        ids.update((i, None) for i in s.exec(q) if i is not None)  # type: ignore[call-overload]
    book = select(Customer.id).where(col(Customer.merged_into_id).is_(None))
    if scope is not None:
        book = book.where(col(Customer.owner_id).in_(list(scope)))
    live = set(s.exec(book.where(col(Customer.id).in_(list(ids))))) if ids else set()
    ranked = [i for i in ids if i in live]
    if limit is None or len(ranked) < limit:
        rest = s.exec(book.where(col(Customer.id).not_in(ranked)).order_by(col(Customer.last_touch_at).desc())
                      .limit(None if limit is None else limit - len(ranked)))
        ranked += [i for i in rest if i is not None]
    return ranked[:limit]


def customers_named(s: Session, names: Sequence[str]) -> list[Customer]:
    """Live customers with exactly these names."""
    return list(s.exec(select(Customer).where(col(Customer.name).in_(list(names)),
                                              col(Customer.merged_into_id).is_(None))))


def hotword_names(s: Session, user: User, today: date | None = None, limit: int | None = 30) -> list[str]:
    """The customers a rep most likely names today, most likely first, then their contacts: the
    Whisper prompt takes the first ones within its budget, the correction by sound the whole list
    (`limit=None`: the rep's whole book)."""
    ids = _likely_customers(s, user, today or utcnow().astimezone(SHANGHAI).date(), limit)
    by_id = {c.id: c.name for c in s.exec(select(Customer).where(col(Customer.id).in_(ids)))} if ids else {}
    names = [by_id[i] for i in ids if i in by_id]
    if ids:
        names += list(s.exec(select(Contact.name).where(col(Contact.customer_id).in_(ids))))
    return list(dict.fromkeys(names))[:limit]
