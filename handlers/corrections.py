"""One-message corrections of a record: 改, 撤销, 确认, answers (`#12 1`), 不是这家, 新建客户, 待关联.

Each acts on the latest record or on one named by number (`#12`), only the author's own. Every
change goes through `_reapply` (undo the record's effects, change the record, apply again), so a
correction and the original note share one policy, and a replayed message converges to the same
state.
"""
from __future__ import annotations

import asyncio
import re

from sqlmodel import Session

from bot.types import Reply
from extraction.amounts import parse_amount
from extraction.timex import parse_due
from extraction.types import MatchResult
from handlers import texts
from handlers.crm import normalized_name
from handlers.followup import reply_for, resolve_customer, stage_order
from handlers.router import Context, Router
from store import repos
from store.models import Customer, FollowUp, User
from store.records import DealAmount, ItemRec, NoteRecord, Option

router = Router()

_NUM = re.compile(r"#\s*(\d+)\s*")
_FIX_FIELDS = {"客户": "customer", "日期": "date", "时间": "date", "金额": "amount", "钱": "amount",
               "竞品": "competitors"}
_NONE = {"无", "没有", "空", "清空", "-"}
_UNDO_FIELDS = {"金额": "amount", "阶段": "stage", "报价": "quote"}


def _number(args: str) -> tuple[int | None, str]:
    """A leading `#12` (the record number) and the rest of the arguments."""
    m = _NUM.match(args)
    return (int(m.group(1)), args[m.end():].strip()) if m else (None, args.strip())


def _record(s: Session, ctx: Context, fid: int | None) -> FollowUp | None:
    """Record `#fid` of this rep, or their latest active one."""
    if fid is not None:
        fu = repos.followup_of(s, ctx.user.id, fid)  # type: ignore[arg-type]
        return fu if fu is not None and fu.status == "active" else None
    return repos.last_followup(s, ctx.user.id)  # type: ignore[arg-type]


def _missing_reply(fid: int | None) -> Reply:
    return Reply(texts.RECORD_NOT_FOUND.format(id=fid) if fid is not None else texts.NO_RECORD)


def _reapply(ctx: Context, s: Session, fu: FollowUp, user: User, rec: NoteRecord,
             change: dict[str, object]) -> None:
    """Undo the record's effects, change it, apply again: one code path for every correction.

    A customer change ({"field": "customer", "value": id or None}) relinks the record in between.
    """
    now = ctx.svc.clock.now()
    repos.unapply_followup(s, fu, user, now)
    if change["field"] == "customer":
        fu.customer_id = change["value"]  # type: ignore[assignment]
    fu.extracted = rec.dump()
    fu.corrected = True
    fu.corrections = [*fu.corrections, {**change, "by": ctx.msg.source_key, "at": now.isoformat()}]
    repos.apply_followup(s, fu, user, stage_order(ctx), now)


def _user(s: Session, ctx: Context) -> User:
    user = s.get(User, ctx.user.id)
    assert user is not None
    return user


def link_customer(ctx: Context, s: Session, fu: FollowUp, user: User, customer: Customer) -> None:
    rec = NoteRecord.load(fu.extracted)
    rec.close("customer")
    rec.notice = None
    fu.customer_mention = fu.customer_mention or customer.name
    _reapply(ctx, s, fu, user, rec, {"field": "customer", "value": customer.id})


# ---------------------------------------------------------------- 改


async def fix_customer(ctx: Context, fid: int | None, name: str) -> Reply:
    if not name:
        return Reply(texts.USAGE_FIX)
    match = await _run_match(ctx, name)

    def work(s: Session) -> Reply:
        user, fu = _user(s, ctx), _record(s, ctx, fid)
        if fu is None:
            return _missing_reply(fid)
        cid, notice, question = resolve_customer(s, user, name, match)
        if cid is None and question is not None:
            cid = _named(name, question.options)
        if cid is None:
            if question is not None:
                rec = NoteRecord.load(fu.extracted)
                rec.ask(question)
                fu.extracted = rec.dump()
                s.add(fu)
                return reply_for(s, fu, ctx)
            return Reply(notice or texts.CUSTOMER_NOT_FOUND.format(name=name))
        customer = s.get(Customer, cid)
        assert customer is not None
        if fu.customer_id != cid:
            link_customer(ctx, s, fu, user, customer)
        return reply_for(s, fu, ctx)

    return await ctx.svc.db.run(work)


def _named(name: str, options: list[Option]) -> int | None:
    """The one candidate whose full name contains what the rep typed: typing it is the answer."""
    typed = normalized_name(name)
    hits = [o.id for o in options if typed and typed in normalized_name(o.name)]
    return hits[0] if len(hits) == 1 else None


async def _run_match(ctx: Context, name: str) -> MatchResult:
    return await asyncio.to_thread(ctx.svc.crm.match, name)


def _fix_date(ctx: Context, s: Session, fu: FollowUp, user: User, phrase: str) -> Reply:
    ref = fu.created_at.astimezone(ctx.svc.settings.tz).date()
    parsed = parse_due(phrase, ref)
    if parsed is None:
        return Reply(texts.BAD_DATE.format(text=phrase))
    new, at = parsed
    rec = NoteRecord.load(fu.extracted)
    old = rec.next_follow_up
    target = next((i for i in rec.action_items if old and i.due == old), None)
    if target is None:
        target = next((i for i in rec.action_items if i.owner in ("self", "team", None)), None)
    if target is None:
        target = ItemRec(text=texts.DEFAULT_TODO, owner="self")
        rec.action_items.append(target)
    target.due = new
    target.due_time = at
    rec.next_follow_up = new
    rec.dates = sorted({*rec.dates, new.isoformat()} - ({old.isoformat()} if old else set()))
    _reapply(ctx, s, fu, user, rec, {"field": "date", "value": new.isoformat()})
    return reply_for(s, fu, ctx)


def _fix_amount(ctx: Context, s: Session, fu: FollowUp, user: User, phrase: str) -> Reply:
    """The rep's own figure is the deal amount (basis "manual": a later budget cannot replace it)."""
    value = parse_amount(phrase)
    if value is None or value <= 0:
        return Reply(texts.BAD_AMOUNT.format(text=phrase))
    rec = NoteRecord.load(fu.extracted)
    rec.deal_amount = DealAmount(value=value, basis="manual", text=phrase)
    rec.close("amount")
    rec.skip = [f for f in rec.skip if f != "amount"]
    _reapply(ctx, s, fu, user, rec, {"field": "amount", "value": value})
    return reply_for(s, fu, ctx)


def _fix_competitors(ctx: Context, s: Session, fu: FollowUp, user: User, phrase: str) -> Reply:
    """The record's competitors are what the rep says; each becomes known for every later note."""
    names = [] if phrase in _NONE else [n for n in re.split(r"[、,，;；\s]+|和|及", phrase) if len(n) >= 2]
    if phrase not in _NONE and not names:
        return Reply(texts.USAGE_FIX)
    rec = NoteRecord.load(fu.extracted)
    rec.competitors, rec.competitor_spans = list(dict.fromkeys(names)), []
    fu.extracted = rec.dump()
    fu.corrected = True
    fu.corrections = [*fu.corrections, {"field": "competitors", "value": rec.competitors,
                                        "by": ctx.msg.source_key, "at": ctx.svc.clock.now().isoformat()}]
    s.add(fu)
    repos.remember_competitors(s, rec.competitors, user.id)
    return reply_for(s, fu, ctx)


_FIXERS = {"date": _fix_date, "amount": _fix_amount, "competitors": _fix_competitors}


@router.command("改", "/fix", glued=r"(客户|日期|时间|金额|竞品).*")
async def fix(ctx: Context) -> Reply:
    m = re.match(r"(客户|日期|时间|金额|竞品)\s*(.*)", ctx.args, re.DOTALL)
    if not m:
        return Reply(texts.USAGE_FIX)
    fid, value = _number(m.group(2))
    if not value:
        return Reply(texts.USAGE_FIX)
    field = _FIX_FIELDS[m.group(1)]
    if field == "customer":
        return await fix_customer(ctx, fid, value)

    def work(s: Session) -> Reply:
        fu = _record(s, ctx, fid)
        if fu is None:
            return _missing_reply(fid)
        return _FIXERS[field](ctx, s, fu, _user(s, ctx), value)

    return await ctx.svc.db.run(work)


# ---------------------------------------------------------------- 撤销 / 确认


def _revoke(ctx: Context, s: Session, fu: FollowUp) -> Reply:
    customer = s.get(Customer, fu.customer_id) if fu.customer_id else None
    repos.unapply_followup(s, fu, ctx.user, ctx.svc.clock.now())
    fu.status = "revoked"
    fu.revoked_by_key = ctx.msg.source_key
    s.add(fu)
    return Reply(texts.UNDONE.format(id=fu.id, customer=customer.name if customer else texts.NO_CUSTOMER))


def _age_hours(ctx: Context, fu: FollowUp) -> float:
    return (ctx.svc.clock.now() - fu.created_at).total_seconds() / 3600


def _within_window(ctx: Context, fu: FollowUp) -> bool:
    return _age_hours(ctx, fu) <= ctx.svc.settings.app.undo_window_hours


def _confirm_undo(ctx: Context, s: Session, fu: FollowUp) -> Reply:
    customer = s.get(Customer, fu.customer_id) if fu.customer_id else None
    text = fu.raw_text if len(fu.raw_text) <= 30 else fu.raw_text[:30] + "…"
    when = texts.fmt_date(fu.created_at.astimezone(ctx.svc.settings.tz).date(), ctx.svc.today())
    return Reply(texts.UNDO_CONFIRM.format(id=fu.id, customer=customer.name if customer else texts.NO_CUSTOMER,
                                           when=when, text=text))


def _undo_field(ctx: Context, s: Session, fu: FollowUp, field: str, label: str) -> Reply:
    change = repos.revert_change(s, fu, field, ctx.user, ctx.svc.clock.now())
    if change is None:
        return Reply(texts.NO_FIELD_CHANGE.format(id=fu.id, field=label))
    return Reply(texts.FIELD_UNDONE.format(id=fu.id, deal=fu.deal_id, field=label,
                                           new=_shown(ctx, field, change.new), old=_shown(ctx, field, change.old)))


def _shown(ctx: Context, field: str, v: str | None) -> str:
    """A changed deal value as the rep reads it (stage label, money, or whether a quote was out)."""
    if field == "stage":
        return ctx.svc.settings.stage_label(v or "")
    if field == "amount":
        return texts.fmt_money(v)  # type: ignore[arg-type]
    return texts.QUOTE_SENT if v else "—"


def _too_old(ctx: Context, fu: FollowUp) -> Reply:
    return Reply(texts.UNDO_TOO_OLD.format(id=fu.id, ago=texts.ago(_age_hours(ctx, fu)),
                                           hours=ctx.svc.settings.app.undo_window_hours))


@router.command("撤销", "/undo", glued=r"(#\s*\d+.*|金额|阶段|报价)")
async def undo(ctx: Context) -> Reply:
    fid, rest = _number(ctx.args)
    confirmed = rest.endswith("确认")
    rest = rest.removesuffix("确认").strip()
    if rest and rest not in _UNDO_FIELDS:
        return Reply(texts.USAGE_UNDO)

    def work(s: Session) -> Reply:
        done = repos.followup_revoked_by(s, ctx.msg.source_key)
        if done is not None:  # a replay of the same 撤销 must not undo one more record
            return Reply(texts.UNDO_REPLAY.format(id=done.id))
        old = repos.followup_of(s, ctx.user.id, fid) if fid is not None else None  # type: ignore[arg-type]
        if old is not None and old.status == "revoked":
            return Reply(texts.UNDO_REPLAY.format(id=fid))
        fu = _record(s, ctx, fid)
        if fu is None:
            return _missing_reply(fid)
        if rest:
            if fid is None and not _within_window(ctx, fu):
                return _too_old(ctx, fu)
            return _undo_field(ctx, s, fu, _UNDO_FIELDS[rest], rest)
        if _within_window(ctx, fu) or confirmed:
            return _revoke(ctx, s, fu)
        return _too_old(ctx, fu) if fid is None else _confirm_undo(ctx, s, fu)

    return await ctx.svc.db.run(work)


def _confirm(s: Session, fu: FollowUp) -> Reply:
    fu.confirmed = True
    s.add(fu)
    return Reply(texts.CONFIRMED.format(id=fu.id))


@router.command("确认", "/confirm", glued=r"#\s*\d+")
async def confirm(ctx: Context) -> Reply:
    fid, _ = _number(ctx.args)

    def work(s: Session) -> Reply:
        fu = _record(s, ctx, fid)
        return _confirm(s, fu) if fu is not None else _missing_reply(fid)

    return await ctx.svc.db.run(work)


# ---------------------------------------------------------------- answers to questions


def answer(ctx: Context, s: Session, fu: FollowUp, n: int) -> Reply:
    """Answer the record's first open question with option `n` (1-based)."""
    rec = NoteRecord.load(fu.extracted)
    q = next(iter(rec.open_questions()), None)
    if q is None:
        return Reply(texts.NO_OPEN_QUESTION.format(fid=fu.id))
    user = _user(s, ctx)
    size = len(q.options) if q.options else 2
    if not 1 <= n <= size:
        return Reply(texts.PICK_OUT_OF_RANGE.format(n=n, max=size))
    if q.kind == "customer":
        customer = s.get(Customer, q.options[n - 1].id)
        if customer is None or customer.merged_into_id or not repos.can_see_customer(s, user, customer):
            return Reply(texts.NO_PENDING_PICK)
        link_customer(ctx, s, fu, user, customer)
        return reply_for(s, fu, ctx)
    rec.close(q.kind)
    if q.kind == "amount":
        opt = q.options[n - 1]
        rec.deal_amount = DealAmount(value=opt.value, basis=opt.basis or "quote", text=opt.name)
    elif q.kind == "new_deal":
        rec.new_deal_ok = n == 1
        if n == 2:
            _save(s, fu, rec)
            return Reply(texts.ANSWERED_NO_DEAL.format(fid=fu.id))
    elif q.kind == "contract":
        if n == 2:
            _save(s, fu, rec)
            return Reply(texts.ANSWERED_NO_CONTRACT.format(fid=fu.id))
        if fu.deal_id is None:
            return Reply(texts.CONTRACT_NEEDS_DEAL.format(fid=fu.id))
        rec.contract_ok = True
    _reapply(ctx, s, fu, user, rec, {"field": q.kind, "value": n})
    return reply_for(s, fu, ctx)


def _save(s: Session, fu: FollowUp, rec: NoteRecord) -> None:
    fu.extracted = rec.dump()
    s.add(fu)


def _latest_asking(s: Session, ctx: Context) -> FollowUp | None:
    """The newest record of this rep with an open question (older questions stay answerable by #)."""
    for fu in repos.recent_followups(s, ctx.user.id):  # type: ignore[arg-type]
        if NoteRecord.load(fu.extracted).open_questions():
            return fu
    return None


@router.command("", glued=r"\d{1,2}")
async def pick(ctx: Context) -> Reply:
    """A bare number answers the newest open question of this rep."""
    n = int(ctx.args)

    def work(s: Session) -> Reply:
        fu = _latest_asking(s, ctx)
        return answer(ctx, s, fu, n) if fu is not None else Reply(texts.NO_PENDING_PICK)

    return await ctx.svc.db.run(work)


@router.command("#", glued=r"\d+\s*[\s:：，,]\s*\d{1,2}")
async def pick_for(ctx: Context) -> Reply:
    """`#12 1`: answer the question of record 12."""
    fid, n = (int(x) for x in re.findall(r"\d+", ctx.args)[:2])

    def work(s: Session) -> Reply:
        fu = _record(s, ctx, fid)
        return answer(ctx, s, fu, n) if fu is not None else _missing_reply(fid)

    return await ctx.svc.db.run(work)


@router.command("待关联", "/unlinked")
async def unlinked(ctx: Context) -> Reply:
    def work(s: Session) -> Reply:
        rows = repos.unlinked_followups(s, ctx.user.id)  # type: ignore[arg-type]
        if not rows:
            return Reply(texts.NO_UNLINKED)
        tz, today = ctx.svc.settings.tz, ctx.svc.today()
        lines = [texts.UNLINKED_HEAD.format(n=len(rows))]
        for fu in rows:
            when = texts.fmt_date(fu.created_at.astimezone(tz).date(), today)
            lines.append(texts.unlinked_line(fu.id, when, fu.customer_mention, fu.raw_text))  # type: ignore[arg-type]
        lines.append(texts.UNLINKED_TAIL)
        return Reply("\n".join(lines))

    return await ctx.svc.db.run(work)


@router.command("不是这家", "/notthis", glued=r"#\s*\d+")
async def not_this(ctx: Context) -> Reply:
    """The record's customer is wrong: unlink it (its deal changes are undone) and say how to relink."""
    fid, _ = _number(ctx.args)

    def work(s: Session) -> Reply:
        fu = _record(s, ctx, fid)
        if fu is None:
            return _missing_reply(fid)
        customer = s.get(Customer, fu.customer_id) if fu.customer_id else None
        if customer is None:
            return Reply(texts.NOT_LINKED.format(id=fu.id))
        rec = NoteRecord.load(fu.extracted)
        rec.close("customer")
        _reapply(ctx, s, fu, _user(s, ctx), rec, {"field": "customer", "value": None})
        return Reply(texts.NOT_THIS.format(id=fu.id, name=customer.name))

    return await ctx.svc.db.run(work)


@router.command("新建客户", "/new", glued=r".+")
async def new_customer(ctx: Context) -> Reply:
    """Create a customer and link a record to it; a similar existing name is confirmed first."""
    fid, name = _number(ctx.args)
    confirmed = name.endswith("确认") and len(name) > 2
    name = name.removesuffix("确认").strip() if confirmed else name
    if not name:
        return Reply(texts.USAGE_NEW)
    match = await _run_match(ctx, name)

    def work(s: Session) -> Reply:
        user = _user(s, ctx)
        existing = repos.customer_by_normalized(s, normalized_name(name))
        if existing is not None:
            return Reply(texts.CUSTOMER_EXISTS.format(name=existing.name, id=existing.id))
        similar = _similar(s, match)
        if similar is not None and not confirmed:
            return Reply(texts.CUSTOMER_SIMILAR.format(name=similar.name, id=similar.id, new=name))
        customer = repos.add_customer(s, name, normalized_name(name), user.id)
        lines = [texts.CUSTOMER_CREATED.format(name=name, id=customer.id, owner=user.name)]
        fu = _record(s, ctx, fid) if fid is not None else next(iter(repos.unlinked_followups(s, user.id, 1)), None)  # type: ignore[arg-type]
        if fu is not None and fu.customer_id is None and (fid is not None or _within_window(ctx, fu)):
            link_customer(ctx, s, fu, user, customer)
            lines.append(texts.LINKED.format(fid=fu.id, name=name))
        return Reply("\n".join(lines))

    return await ctx.svc.db.run(work)


def _similar(s: Session, match: MatchResult) -> Customer | None:
    cand = match.best or next(iter(match.alternates), None)
    return s.get(Customer, int(cand.id)) if cand is not None else None


# ---------------------------------------------------------------- card buttons and events


@router.event("button")
async def card_button(ctx: Context) -> Reply:
    """A button on the card of one record acts on that record, not the latest."""
    m = re.fullmatch(r"(confirm|edit|undo|answer):(\d+)(?::(\d+))?", ctx.args.strip())
    if not m:
        return Reply(texts.UNKNOWN_BUTTON)
    action, fid = m.group(1), int(m.group(2))

    def work(s: Session) -> Reply:
        fu = repos.followup_of(s, ctx.user.id, fid)  # type: ignore[arg-type]
        if fu is None:
            return Reply(texts.RECORD_NOT_FOUND.format(id=fid))
        if fu.status == "revoked":
            return Reply(texts.UNDO_REPLAY.format(id=fid))
        if action == "confirm":
            return _confirm(s, fu)
        if action == "undo":
            return _revoke(ctx, s, fu) if _within_window(ctx, fu) else _confirm_undo(ctx, s, fu)
        if action == "answer":
            return answer(ctx, s, fu, int(m.group(3) or 1))
        repos.focus_followup(s, fu.author_id, fu, ctx.svc.clock.now())  # 改 without a number means it now
        return Reply(texts.EDIT_HELP.format(id=fid), ref=f"followup:{fid}", keep_card=True)

    return await ctx.svc.db.run(work)


@router.event("enter")
async def enter(ctx: Context) -> Reply:
    return Reply(texts.GREETING.format(name=ctx.user.name))

