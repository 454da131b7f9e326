"""Contracts, their payment schedules and payments; the quote facts on deals.

Like store/repos.py, every function takes an open Session and runs inside the caller's
transaction. `Contract.due_on` mirrors the earliest dated installment, so scans that start
from it (store/alerts.py) need no join to find candidates; what is actually owed by a day is
read from the installments.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, col, select

from store import repos
from store.models import Contract, Customer, Deal, Installment, Payment, StageChange, User, utcnow

# ---------------------------------------------------------------- writes


def create_contract(
    s: Session,
    deal: Deal,
    amount: Decimal,
    signed_on: date,
    installments: Sequence[tuple[str, Decimal, date | None]],
    *,
    followup_id: int | None = None,
    created_by_id: int | None = None,
    number: str | None = None,
    source_key: str | None = None,
    now: datetime | None = None,
) -> Contract:
    """A signed contract on `deal` with its schedule of (label, amount, due) rows, in order.

    `due_on` becomes the earliest dated installment (None without one), which is what the
    overdue scan starts from. `source_key` (the chat message) is unique: a replay must look
    the contract up with `contract_by_source` first. Raises ValueError for a non-positive
    amount or a schedule that adds up to more than the contract.
    """
    if amount <= 0:
        raise ValueError("contract amount must be positive")
    if any(a <= 0 for _, a, _ in installments):
        raise ValueError("installment amounts must be positive")
    if sum((a for _, a, _ in installments), Decimal(0)) > amount:
        raise ValueError("installments add up to more than the contract amount")
    dated = [d for _, _, d in installments if d is not None]
    contract = Contract(
        deal_id=deal.id,  # type: ignore[arg-type]
        number=number,
        signed_on=signed_on,
        amount=amount,
        due_on=min(dated) if dated else None,
        followup_id=followup_id,
        created_by_id=created_by_id,
        source_key=source_key,
        created_at=now or utcnow(),
    )
    s.add(contract)
    s.flush()
    for seq, (label, amt, due) in enumerate(installments, 1):
        s.add(Installment(contract_id=contract.id, seq=seq, amount=amt, due_on=due, label=label))  # type: ignore[arg-type]
    s.flush()
    return contract


def delete_contract(s: Session, contract_id: int) -> bool:
    """Remove a contract and its schedule (undo of a mistaken signing); refused (False) once a
    payment is recorded against it, because money received must not disappear with an undo."""
    contract = s.get(Contract, contract_id)
    if contract is None or s.exec(select(Payment.id).where(Payment.contract_id == contract_id)).first():
        return False
    for inst in installments_of(s, contract_id):
        s.delete(inst)
    s.flush()
    s.delete(contract)
    s.flush()
    return True


def record_payment(
    s: Session,
    contract: Contract,
    amount: Decimal,
    paid_on: date,
    note: str | None = None,
    *,
    source_key: str | None = None,
    now: datetime | None = None,
) -> Payment:
    """One payment received. Payments are applied to the installments in due order when the
    balance is read, so a payment needs no installment of its own."""
    if amount <= 0:
        raise ValueError("payment amount must be positive")
    payment = Payment(contract_id=contract.id, amount=amount, paid_on=paid_on, note=note,  # type: ignore[arg-type]
                      source_key=source_key, created_at=now or utcnow())
    s.add(payment)
    s.flush()
    return payment


def sign_deal(s: Session, customer: Customer, deal: Deal | None, amount: Decimal, by: User, title: str,
              now: datetime | None = None) -> tuple[Deal, str | None]:
    """The deal a signing closes, and its stage before: the open `deal` moved to won, or (when
    there is none) a new won deal owned by the customer's owner. Either way its amount becomes
    the order value (amount_kind "order") and the signing counts as activity."""
    now = now or utcnow()
    if deal is None:
        deal = Deal(customer_id=customer.id, owner_id=customer.owner_id or by.id, title=title,  # type: ignore[arg-type]
                    stage="won", status="won", amount=amount, amount_kind="order", last_activity_at=now,
                    created_at=now, updated_at=now)
        s.add(deal)
        s.flush()
        s.add(StageChange(deal_id=deal.id, to_stage="won", changed_by_id=by.id, source="command", at=now))  # type: ignore[arg-type]
        before = None
    else:
        before = deal.stage
        repos.set_stage(s, deal, "won", by, "command", now=now)
    deal.amount, deal.amount_kind = amount, "order"
    deal.last_activity_at = deal.updated_at = now
    s.add(deal)
    s.flush()
    return deal, before


def stamp_quote_sent(deal: Deal, at: datetime) -> None:
    """Our latest quote went out at `at`: from `at + quote_no_reply_hours` without an answer,
    the rep is reminded. A new quote restarts the wait (and may alert again)."""
    deal.quote_sent_at = at


def stamp_quote_answered(deal: Deal, at: datetime) -> None:
    """The customer answered the quote at `at` (accepted, rejected or countered): any answer
    at or after the quote's stamp ends the wait for that quote."""
    deal.quote_answered_at = at


# ---------------------------------------------------------------- reads


def contract_by_source(s: Session, source_key: str) -> Contract | None:
    return s.exec(select(Contract).where(Contract.source_key == source_key)).first()


def payment_by_source(s: Session, source_key: str) -> Payment | None:
    return s.exec(select(Payment).where(Payment.source_key == source_key)).first()


def contract_by_number(s: Session, number: str) -> Contract | None:
    """A contract by its number as written (case-insensitive); the newest if reused."""
    key = number.strip().lower()
    return s.exec(select(Contract).where(func.lower(Contract.number) == key)
                  .order_by(col(Contract.id).desc())).first()


def contracts_of_customer(s: Session, customer_id: int) -> list[Contract]:
    return list(s.exec(select(Contract).join(Deal, col(Deal.id) == col(Contract.deal_id))
                       .where(Deal.customer_id == customer_id)
                       .order_by(col(Contract.signed_on), col(Contract.id))))


def installments_of(s: Session, contract_id: int) -> list[Installment]:
    return list(s.exec(select(Installment).where(Installment.contract_id == contract_id)
                       .order_by(col(Installment.seq))))


def paid_total(s: Session, contract_id: int) -> Decimal:
    total = s.exec(select(func.coalesce(func.sum(Payment.amount), 0))
                   .where(Payment.contract_id == contract_id)).one()
    return Decimal(str(total))


@dataclass(frozen=True, slots=True)
class InstallmentStatus:
    installment: Installment
    outstanding: Decimal  # what is still unpaid of it, payments applied in due order


def allocate(installments: Sequence[Installment], paid: Decimal) -> list[InstallmentStatus]:
    """Apply what was paid to the installments earliest due first (undated ones last, in
    schedule order): the same order the overdue alert uses in SQL."""
    ordered = sorted(installments, key=lambda i: (i.due_on is None, i.due_on or date.max, i.seq))
    out, left = [], paid
    for inst in ordered:
        covered = min(left, inst.amount)
        left -= covered
        out.append(InstallmentStatus(inst, inst.amount - covered))
    return out


@dataclass
class Receivable:
    """A signed contract with a balance, its schedule and what has been paid."""

    contract: Contract
    deal: Deal
    customer: Customer
    paid: Decimal
    installments: list[Installment]

    @property
    def balance(self) -> Decimal:
        return self.contract.amount - self.paid

    def schedule(self) -> list[InstallmentStatus]:
        return allocate(self.installments, self.paid)

    def next_due(self) -> InstallmentStatus | None:
        """The earliest installment not fully paid (None without a schedule, or when paid)."""
        return next((x for x in self.schedule() if x.outstanding > 0), None)

    def due_date(self) -> date | None:
        """When the next money is due: the next installment's date, else the contract's."""
        if not self.installments:
            return self.contract.due_on
        nxt = self.next_due()
        return nxt.installment.due_on if nxt else None

    def due_by(self, day: date) -> Decimal:
        """Unpaid money whose due date is on or before `day`."""
        if not self.installments:
            due = self.contract.due_on
            return self.balance if due is not None and due <= day else Decimal(0)
        return sum((x.outstanding for x in self.schedule()
                    if x.installment.due_on is not None and x.installment.due_on <= day), Decimal(0))

    def days_overdue(self, today: date) -> int:
        """Days since the earliest unpaid due date that has passed (0: nothing overdue)."""
        due = self.due_date()
        return max(0, (today - due).days) if due is not None and self.balance > 0 else 0


def receivables(
    s: Session,
    owner_ids: Iterable[int] | None,
    *,
    customer_id: int | None = None,
    contract_ids: Iterable[int] | None = None,
) -> list[Receivable]:
    """Contracts with an unpaid balance on deals of `owner_ids` (None: everyone's), earliest
    due first; optionally of one customer or of given contracts. Replaces repos.receivables."""
    paid = (select(Payment.contract_id, func.sum(Payment.amount).label("paid"))
            .group_by(col(Payment.contract_id)).subquery())
    paid_sum = func.coalesce(paid.c.paid, 0)
    q = (select(Contract, Deal, Customer, paid_sum)
         .join(Deal, col(Deal.id) == col(Contract.deal_id))
         .join(Customer, col(Customer.id) == col(Deal.customer_id))
         .outerjoin(paid, paid.c.contract_id == col(Contract.id))
         .where(paid_sum < col(Contract.amount)))
    if owner_ids is not None:
        q = q.where(col(Deal.owner_id).in_(list(owner_ids)))
    if customer_id is not None:
        q = q.where(Deal.customer_id == customer_id)
    if contract_ids is not None:
        q = q.where(col(Contract.id).in_(list(contract_ids)))
    rows = list(s.exec(q))  # type: ignore[call-overload]
    schedules: dict[int, list[Installment]] = {}
    ids = [c.id for c, *_ in rows]
    for i in range(0, len(ids), 500):
        for inst in s.exec(select(Installment).where(col(Installment.contract_id).in_(ids[i:i + 500]))
                           .order_by(col(Installment.contract_id), col(Installment.seq))):
            schedules.setdefault(inst.contract_id, []).append(inst)
    out = [Receivable(c, d, cu, Decimal(str(p)), schedules.get(c.id, [])) for c, d, cu, p in rows]  # type: ignore[arg-type]
    out.sort(key=lambda r: (r.due_date() or date.max, r.contract.id))
    return out
