"""Contract and payment commands: 签约 (/sign), 收款 (/paid), 回款 (/receivables).

Permissions as everywhere: a rep acts on their own customers and deals, a manager on the
team's, an admin on all; contracts out of scope are reported as not found, never shown.
Every write carries the message's source_key on its row, so a replayed message (a crash
before the inbox row was closed) answers again without signing or booking anything twice.
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.types import Reply
from extraction.amounts import find_amounts
from extraction.contract_terms import ScheduleError, installment_schedule, parse_terms
from extraction.dates import find_dates
from extraction.types import Span
from handlers import texts
from handlers.commands import find_customer
from handlers.router import Context, Router
from store import contracts, repos
from store.models import Contract, Customer, Deal, Payment, User

router = Router()

_MINUS = "-－−—负"
_NUMBER = re.compile(r"(?:合同号|合同编号|编号|No\.?)\s*[:：]?\s*(?P<n>[A-Za-z0-9][A-Za-z0-9\-_/]*)", re.IGNORECASE)
_CODE = re.compile(r"(?<![A-Za-z0-9])(?P<n>[A-Za-z]{1,8}[-_/]?\d[A-Za-z0-9\-_/]*)(?![A-Za-z0-9])")
_ZERO = re.compile(r"(?<![\d.])0+(?:\.0+)?\s*(?:元|块|万|w|W)?(?![\d.])")
_CONTRACT_ID = re.compile(r"#(\d+)")


# ---------------------------------------------------------------- argument parsing (pure)


def _split_target(args: str) -> tuple[str, str]:
    """The first word (customer or contract) and the rest; "恒达120万" splits at the amount."""
    parts = args.strip().split(None, 1)
    head, rest = parts[0], (parts[1] if len(parts) > 1 else "")
    found = find_amounts(head)
    if found and found[0].span.start > 0:
        head, rest = head[:found[0].span.start], head[found[0].span.start:] + " " + rest
    while head and head[-1] in _MINUS:  # "恒达-5万": the sign belongs to the amount
        head, rest = head[:-1], head[-1] + rest
    return head, rest.strip()


def _contract_number(rest: str) -> tuple[str | None, str]:
    """An optional contract number (合同号 HT-001, or a code like HT-2026-001) and the rest."""
    m = _NUMBER.search(rest) or _CODE.search(rest)
    if m is None:
        return None, rest
    return m.group("n"), (rest[:m.start()] + " " + rest[m.end():]).strip()


def _bad_amount(text: str, skip: list[Span]) -> str | None:
    """The words of a negative or zero amount, if the text has one."""
    for a in find_amounts(text, skip=skip):
        before = text[:a.span.start].rstrip()
        if before and before[-1] in _MINUS:
            return before[-1] + a.text
    m = _ZERO.search(text)
    return m.group(0).strip() if m else None


def _inexact_amount(text: str, skip: list[Span]) -> str | None:
    """The words of an amount a contract or payment cannot book as yuan: another currency, a
    range or an estimate (约5万, 5-8万, 3万美元)."""
    for a in find_amounts(text, skip=skip):
        if a.currency != "CNY" or a.high is not None or a.approx:
            return a.text
    return None


@dataclass(frozen=True)
class SignArgs:
    name: str
    amount: Decimal
    schedule: list[tuple[str, Decimal, date | None]]
    number: str | None
    signed_on: date


def parse_sign(args: str, today: date) -> SignArgs | str:
    """`<客户> <金额> [合同号 X] [首付30% 下周五 …] [签约日期]` → SignArgs, or the reply that says
    what is wrong. A date outside the schedule is the signing date (not after today)."""
    name, rest = _split_target(args)
    number, rest = _contract_number(rest)
    dates = find_dates(rest, today)
    bad = _bad_amount(rest, [d.span for d in dates])
    if bad:
        return texts.NEGATIVE_AMOUNT.format(text=bad)
    inexact = _inexact_amount(rest, [d.span for d in dates])
    if inexact:
        return texts.INEXACT_AMOUNT.format(text=inexact)
    terms = parse_terms(rest, today)
    if not name or terms.amount is None:
        return texts.SIGN_NO_AMOUNT
    amount = Decimal(str(terms.amount)).quantize(Decimal("0.01"))
    try:
        schedule = installment_schedule(terms, amount)
    except ScheduleError as exc:
        if exc.reason == "over":
            return texts.SCHEDULE_OVER.format(amount=texts.fmt_money(amount))
        return texts.SCHEDULE_MISSING.format(label=exc.label)
    in_terms = [t.text for t in terms.installments]
    stray = [d for d in dates if not any(d.text in t for t in in_terms)]
    signed_on = stray[0].value if stray else today
    if signed_on > today:
        return texts.SIGN_FUTURE_DATE.format(text=stray[0].text)
    return SignArgs(name, amount, schedule, number, signed_on)


@dataclass(frozen=True)
class PaidArgs:
    target: str
    amount: Decimal
    paid_on: date


def parse_paid(args: str, today: date) -> PaidArgs | str:
    """`<客户或合同号> <金额> [日期]` → PaidArgs, or the reply that says what is wrong."""
    target, rest = _split_target(args)
    dates = find_dates(rest, today)
    skip = [d.span for d in dates]
    bad = _bad_amount(rest, skip)
    if bad:
        return texts.NEGATIVE_AMOUNT.format(text=bad)
    inexact = _inexact_amount(rest, skip)
    if inexact:
        return texts.INEXACT_AMOUNT.format(text=inexact)
    found = find_amounts(rest, skip=skip)
    if not target or not found:
        return texts.PAID_NO_AMOUNT
    paid_on = dates[0].value if dates else today
    if paid_on > today:
        return texts.PAID_FUTURE_DATE.format(text=dates[0].text)
    return PaidArgs(target, Decimal(str(found[0].value)).quantize(Decimal("0.01")), paid_on)


# ---------------------------------------------------------------- rendering


def _ref(c: Contract) -> str:
    return c.number or f"#{c.id}"


def _msg_day(ctx: Context) -> date:
    """Dates in a command are read relative to when the message was sent (also on a replay)."""
    return ctx.msg.received_at.astimezone(ctx.svc.settings.tz).date()


def _signed_reply(s: Session, c: Contract, today: date) -> Reply:
    deal = s.get(Deal, c.deal_id)
    customer = s.get(Customer, deal.customer_id) if deal else None
    name = customer.name if customer else "?"
    head = texts.SIGNED_HEAD_NUMBERED if c.number else texts.SIGNED_HEAD
    lines = [head.format(number=c.number, id=c.id, customer=name),
             texts.SIGNED_BODY.format(amount=texts.fmt_money(c.amount), signed=texts.fmt_date(c.signed_on, today),
                                   deal=c.deal_id)]
    schedule = contracts.installments_of(s, c.id)  # type: ignore[arg-type]
    lines.append(texts.SCHEDULE_HEAD if schedule else texts.SCHEDULE_NONE)
    lines += [texts.SCHEDULE_LINE.format(seq=i.seq, label=i.label, amount=texts.fmt_money(i.amount),
                                      due=texts.fmt_date(i.due_on, today) if i.due_on else texts.DUE_UNDATED)
              for i in schedule]
    lines.append(texts.PAID_HINT.format(ref=_ref(c)))
    return Reply("\n".join(lines))


def _paid_reply(s: Session, p: Payment, today: date) -> Reply:
    c = s.get(Contract, p.contract_id)
    assert c is not None
    deal = s.get(Deal, c.deal_id)
    customer = s.get(Customer, deal.customer_id) if deal else None
    paid = contracts.paid_total(s, c.id)  # type: ignore[arg-type]
    lines = [texts.PAID_HEAD.format(ref=_ref(c), customer=customer.name if customer else "?",
                                 amount=texts.fmt_money(p.amount), date=texts.fmt_date(p.paid_on, today)),
             texts.PAID_BALANCE.format(paid=texts.fmt_money(paid), total=texts.fmt_money(c.amount),
                                    balance=texts.fmt_money(max(c.amount - paid, Decimal(0))))]
    nxt = next((x for x in contracts.allocate(contracts.installments_of(s, c.id), paid)  # type: ignore[arg-type]
                if x.outstanding > 0), None)
    if paid >= c.amount:
        lines.append(texts.PAID_ALL)
    elif nxt is not None:
        due = nxt.installment.due_on
        lines.append(texts.PAID_NEXT.format(label=nxt.installment.label, amount=texts.fmt_money(nxt.outstanding),
                                         due=texts.fmt_date(due, today) if due else texts.DUE_UNDATED))
    return Reply("\n".join(lines))


def _status(due: date | None, today: date, dated_line: bool = False) -> str:
    """Overdue / due today / when (a line that shows its date already just says it waits)."""
    if due is None:
        return texts.STATUS_WAITING
    if due < today:
        return texts.STATUS_OVERDUE.format(days=(today - due).days)
    if due == today:
        return texts.STATUS_DUE_TODAY
    return texts.STATUS_WAITING if dated_line else texts.STATUS_DUE_ON.format(due=texts.fmt_date(due, today))


def _receivable_lines(r: contracts.Receivable, today: date) -> list[str]:
    lines = [texts.RECEIVABLE_LINE.format(ref=_ref(r.contract), customer=r.customer.name,
                                       amount=texts.fmt_money(r.contract.amount), paid=texts.fmt_money(r.paid),
                                       balance=texts.fmt_money(r.balance), status=_status(r.due_date(), today))]
    for x in r.schedule():
        if x.outstanding > 0:
            due = x.installment.due_on
            lines.append(texts.RECEIVABLE_INSTALLMENT.format(
                label=x.installment.label, amount=texts.fmt_money(x.outstanding),
                due=texts.fmt_date(due, today) if due else texts.DUE_UNDATED, status=_status(due, today, True)))
    return lines


# ---------------------------------------------------------------- 签约


def _user(s: Session, ctx: Context) -> User:
    user = s.get(User, ctx.user.id)
    assert user is not None
    return user


def _sign(s: Session, ctx: Context, a: SignArgs, key: str) -> Reply:
    done = contracts.contract_by_source(s, key)
    if done is not None:  # a replay: answer as the first time
        return _signed_reply(s, done, _msg_day(ctx))
    user = _user(s, ctx)
    customer, why = find_customer(ctx, s, user, a.name)
    if customer is None:
        return Reply(why or texts.USAGE_SIGN)
    if a.number and (taken := contracts.contract_by_number(s, a.number)) is not None:
        owner = s.get(Deal, taken.deal_id)
        other = s.get(Customer, owner.customer_id) if owner else None
        return Reply(texts.NUMBER_TAKEN.format(number=a.number, id=taken.id, customer=other.name if other else "?"))
    deal = repos.open_deal_for(s, customer.id)  # type: ignore[arg-type]
    scope = repos.scope_user_ids(s, user)
    if deal is not None and scope is not None and deal.owner_id not in scope:
        return Reply(texts.NOT_YOUR_DEAL.format(customer=customer.name, deal=deal.id))
    now = ctx.svc.clock.now()
    repos.claim_customer(s, customer, user)  # a public-pool customer belongs to who signs it
    deal, _ = contracts.sign_deal(s, customer, deal, a.amount, user, texts.DEAL_TITLE.format(customer=customer.name), now)
    c = contracts.create_contract(s, deal, a.amount, a.signed_on, a.schedule, created_by_id=user.id,
                                  number=a.number, source_key=key, now=now)
    return _signed_reply(s, c, _msg_day(ctx))


async def _keyed(ctx: Context, usage: str, parse: Callable[[str, date], Any], work: Callable[..., Reply]) -> Reply:
    """Parse a money command, then run `work` once per message: the row carries the message's
    source_key, so a message that raced in twice finds the first one's row on the retry."""
    if not ctx.args.strip():
        return Reply(usage)
    parsed = parse(ctx.args, _msg_day(ctx))
    if isinstance(parsed, str):
        return Reply(parsed)
    await asyncio.to_thread(ctx.svc.crm.index)  # matching sees the current CRM before the transaction
    key = ctx.msg.source_key
    try:
        return await ctx.svc.db.run(work, ctx, parsed, key)
    except IntegrityError:  # the same message raced in twice: the first one won
        return await ctx.svc.db.run(work, ctx, parsed, key)


@router.command("签约", "/sign")
async def sign(ctx: Context) -> Reply:
    """Record a signed contract with its payment schedule; the customer's deal becomes won."""
    return await _keyed(ctx, texts.USAGE_SIGN, parse_sign, _sign)


# ---------------------------------------------------------------- 收款


def _contract_in_scope(s: Session, user: User, target: str) -> Contract | None | bool:
    """The contract `target` names (#id or number) if the user may see it; None if it looks
    like a contract reference but names none in scope (reported as not found); False if it
    is no contract reference at all (then it is a customer)."""
    m = _CONTRACT_ID.fullmatch(target)
    c = s.get(Contract, int(m.group(1))) if m else contracts.contract_by_number(s, target)
    if c is None:
        return None if m or _CODE.fullmatch(target) else False
    deal = s.get(Deal, c.deal_id)
    scope = repos.scope_user_ids(s, user)
    return c if deal is not None and (scope is None or deal.owner_id in scope) else None


def _pick_contract(ctx: Context, s: Session, user: User, a: PaidArgs) -> Contract | Reply:
    """The contract a payment goes to: the one named, else the customer's only one with a balance."""
    found = _contract_in_scope(s, user, a.target)
    if found is None:
        return Reply(texts.CONTRACT_NOT_FOUND.format(ref=a.target))
    if isinstance(found, Contract):
        return found
    customer, why = find_customer(ctx, s, user, a.target)
    if customer is None:
        return Reply((why or "") + "\n" + texts.USAGE_PAID)
    open_ = contracts.receivables(s, repos.scope_user_ids(s, user), customer_id=customer.id)
    if not open_:
        return Reply(texts.NO_OPEN_CONTRACT.format(customer=customer.name))
    if len(open_) > 1:
        options = texts.numbered(f"{_ref(r.contract)} · 合同额 {texts.fmt_money(r.contract.amount)}"
                                 f" · 待回 {texts.fmt_money(r.balance)}" for r in open_)
        return Reply(texts.ASK_CONTRACT.format(customer=customer.name, n=len(open_), options=options,
                                            amount=texts.fmt_money(a.amount)))
    return open_[0].contract


def _paid(s: Session, ctx: Context, a: PaidArgs, key: str) -> Reply:
    done = contracts.payment_by_source(s, key)
    if done is not None:  # a replay: answer as the first time, book nothing
        return _paid_reply(s, done, _msg_day(ctx))
    user = _user(s, ctx)
    picked = _pick_contract(ctx, s, user, a)
    if isinstance(picked, Reply):
        return picked
    balance = picked.amount - contracts.paid_total(s, picked.id)  # type: ignore[arg-type]
    if balance <= 0:
        return Reply(texts.CONTRACT_PAID_OFF.format(ref=_ref(picked)))
    if a.amount > balance:
        return Reply(texts.OVERPAID.format(amount=texts.fmt_money(a.amount), ref=_ref(picked),
                                        balance=texts.fmt_money(balance)))
    p = contracts.record_payment(s, picked, a.amount, a.paid_on, source_key=key, now=ctx.svc.clock.now())
    return _paid_reply(s, p, _msg_day(ctx))


@router.command("收款", "/paid")
async def paid(ctx: Context) -> Reply:
    """Record a payment received on a contract (named by number, or the customer's only one)."""
    return await _keyed(ctx, texts.USAGE_PAID, parse_paid, _paid)


# ---------------------------------------------------------------- 回款


@router.command("回款", "/receivables")
async def receivables(ctx: Context) -> Reply:
    """Contracts with a balance in the user's scope: what is left, the installments still open,
    and how long the earliest unpaid one has been overdue."""
    def work(s: Session) -> Reply:
        rows = contracts.receivables(s, repos.scope_user_ids(s, ctx.user))
        if not rows:
            return Reply(texts.NO_RECEIVABLES)
        today = ctx.svc.today()
        total = sum((r.balance for r in rows), Decimal(0))
        lines = [texts.RECEIVABLES_HEAD.format(n=len(rows), total=texts.fmt_money(total))]
        for r in rows:
            lines += _receivable_lines(r, today)
        return Reply("\n".join(lines))

    return await ctx.svc.db.run(work)
