"""Visit notes → follow-up records, and the reply that shows what the note changed.

Voice is transcribed first and then calls `record_note`, so there is one note path. A note is
stored under the message's source_key (a replay stores nothing twice); a note naming several
customers becomes one record per customer (`<key>`, `<key>#2`, …). What the bot is unsure of
becomes a question on the record, answered later by `#<record> <n>` (handlers/corrections.py).
"""
from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import metrics
from bot.types import Button, Reply
from extraction.types import FollowUpDraft, MatchResult
from handlers import texts
from handlers.router import Context, Rejected, Router
from store import repos
from store.models import Contract, Customer, Deal, FollowUp, User
from store.records import (
    AmountBasis,
    AmountRec,
    ContractRec,
    DealAmount,
    Effects,
    InstallmentRec,
    NoteRecord,
    Option,
    Question,
)

router = Router()
log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 3000
_CJK = re.compile(r"[\u4e00-\u9fff]")
_BASIS_OF_ROLE: dict[str, AmountBasis] = {"order": "order", "our_quote": "quote", "total": "quote", "budget": "budget"}


def _looks_like_note(text: str, draft: FollowUpDraft) -> bool:
    """Garbage (emoji, digits, keyboard mash) is answered with help instead of being stored."""
    found = (
        draft.customer is not None
        or draft.contacts
        or draft.action_items
        or draft.dates
        or draft.amounts
        or draft.stage
        or draft.pain_points
        or draft.competitors
    )
    return bool(found) and len(_CJK.findall(text)) >= 4


def build_record(draft: FollowUpDraft, text: str, ctx: Context) -> NoteRecord:
    """The typed record of a draft plus what the policy needs: amount roles, signing, quote facts."""
    from extraction import intent
    from extraction.contract_terms import find_contract_terms
    from extraction.deal_amount import read_amounts

    rec = NoteRecord.load(draft.to_record())
    found, proposal = read_amounts(draft)
    facts = {(f.span.start, f.span.end): f for f in found}
    rec.amounts = [AmountRec(value=a.value, kind=a.kind, text=a.text, span=a.span.to_list(),
                             role=facts[(a.span.start, a.span.end)].role
                             if (a.span.start, a.span.end) in facts else None,
                             currency=a.currency, high=a.high, approx=a.approx, per=a.per)
                   for a in draft.amounts]
    rec.amounts += [AmountRec(value=f.value, kind=f.kind, text=f.text, span=f.span.to_list(), role=f.role)
                    for f in facts.values() if f.role == "total"]
    if proposal is not None and (proposal.basis is not None or proposal.ambiguous):
        rec.deal_amount = DealAmount(value=proposal.value, basis=proposal.basis,  # type: ignore[arg-type]
                                     text=proposal.text, ambiguous=proposal.ambiguous, approx=proposal.approx)
        if proposal.ambiguous:
            rec.ask(Question(kind="amount", options=[
                Option(name=texts.amount_text(o.value, o.kind, o.role), value=o.value,
                       basis=_BASIS_OF_ROLE.get(o.role)) for o in proposal.options]))
    todo_spans = [a.span for a in draft.action_items]
    rec.quote_sent = intent.quote_sent(text, todo_spans)
    rec.quote_no_reply = intent.quote_no_reply(text)
    rec.new_opportunity = intent.new_opportunity(text)
    terms = find_contract_terms(text, ctx.svc.today())
    if terms is not None:
        rec.contract = ContractRec(amount=terms.amount, installments=[
            InstallmentRec(label=i.label, ratio=i.ratio, amount=i.amount, due=i.due) for i in terms.installments])
        rec.ask(Question(kind="contract"))
    return rec


def _industry_differs(mention: str, name: str) -> bool:
    """The note names a line of business the matched customer's name does not have (恒达自动化 vs
    恒达精密机械): likely another company with the same brand, so ask instead of linking."""
    from extraction.normalize import parse_name

    q, c = parse_name(mention), parse_name(name)
    if not q.industry or not c.industry:
        return False
    return not any(a in c.text or a in b or b in a for a in q.industry for b in c.industry)


def _options(s: Session, user: User, match: MatchResult) -> list[Option]:
    """Candidates the rep may see, best first, each once."""
    out: list[Option] = []
    ids = [int(c.id) for c in ((match.best,) if match.best else ()) + match.alternates]
    for cid in dict.fromkeys(ids):
        cust = s.get(Customer, cid)
        if cust is not None and cust.merged_into_id is None and repos.can_see_customer(s, user, cust):
            out.append(Option(id=cust.id, name=cust.name))
    return out


def resolve_customer(s: Session, user: User, mention: str | None,
                     match: MatchResult | None) -> tuple[int | None, str | None, Question | None]:
    """(customer id to link, notice for the reply, question to ask instead of linking)."""
    if match is None or mention is None:
        return None, None, None
    if match.best is not None:
        cust = s.get(Customer, int(match.best.id))
        if cust is None:
            return None, None, None
        if not repos.can_see_customer(s, user, cust):
            return None, texts.OWNED_BY_OTHER.format(name=mention), None
        if not _industry_differs(mention, cust.name):
            return cust.id, None, None
        match = MatchResult(None, match.score, (match.best, *match.alternates))
    opts = _options(s, user, match)
    if opts:
        return None, None, Question(kind="customer", options=opts)
    return None, texts.CUSTOMER_NOT_FOUND.format(name=mention), None


def _question_lines(rec: NoteRecord, fid: int, customer: Customer | None) -> list[str]:
    out = []
    for q in rec.open_questions():
        opts = texts.numbered(o.name or texts.amount_text(o.value or 0, o.basis, None) for o in q.options)
        if q.kind == "customer":
            out.append(texts.Q_CUSTOMER.format(options=opts, fid=fid))
        elif q.kind == "new_deal":
            out.append(texts.Q_NEW_DEAL.format(customer=customer.name if customer else "", fid=fid))
        elif q.kind == "amount":
            out.append(texts.Q_AMOUNT.format(options=opts, fid=fid))
        elif q.kind == "contract" and rec.contract is not None:
            out.append(texts.Q_CONTRACT.format(amount=texts.fmt_money(rec.contract.amount), fid=fid,
                                               plan=texts.contract_plan(rec.contract.installments)))
    return out


def _change_lines(ctx: Context, deal: Deal, eff: Effects) -> list[str]:
    label = ctx.svc.settings.stage_label
    lines = []
    for c in eff.changes:
        if c.reverted:
            continue
        if c.field == "stage":
            lines.append(texts.change_line(deal.id, "stage", label(c.old or ""), label(c.new or "")))  # type: ignore[arg-type]
        elif c.field == "amount":
            lines.append(texts.change_line(deal.id, "amount", texts.fmt_money(c.old),  # type: ignore[arg-type]
                                           texts.fmt_money(c.new)))  # type: ignore[arg-type]
        elif c.field in ("quote_sent_at", "quote_answered_at"):
            lines.append(texts.quote_line(deal.id, c.field == "quote_sent_at"))  # type: ignore[arg-type]
    return lines


def _missing(s: Session, rec: NoteRecord, customer_id: int | None, deal: Deal | None) -> list[str]:
    """What a rep is expected to give; the next follow-up only where it helps (not on a won or lost
    deal, not when a to-do already has a date)."""
    out = []
    if customer_id is None:
        out.append("customer")
    if not rec.contacts:
        out.append("contacts")
    closed = deal.status != "open" if deal is not None else (
        customer_id is not None and repos.has_won_deal(s, customer_id))
    if rec.next_follow_up is None and not closed and not any(i.due for i in rec.action_items):
        out.append("next_follow_up")
    return out


def reply_for(s: Session, fu: FollowUp, ctx: Context, notice: str | None = None) -> Reply:
    """The card of one record: the deal as it stands now, what this note changed, open questions."""
    assert fu.id is not None  # a stored follow-up
    customer = s.get(Customer, fu.customer_id) if fu.customer_id else None
    deal = s.get(Deal, fu.deal_id) if fu.deal_id else None
    rec, eff = NoteRecord.load(fu.extracted), Effects.load(fu.effects)
    deal_text, changes = None, []
    if deal is not None:
        deal_text = texts.deal_line(deal.id, ctx.svc.settings.stage_label(deal.stage),  # type: ignore[arg-type]
                                    deal.amount, deal.amount_kind)
        changes = _change_lines(ctx, deal, eff)
        if eff.deal_created:
            changes.insert(0, texts.NEW_DEAL_LINE.format(id=deal.id))
        contract = s.get(Contract, eff.contract_id) if eff.contract_id else None
        if contract is not None:
            changes.append(texts.CONTRACT_LINE.format(id=contract.id, amount=texts.fmt_money(contract.amount)))
    if notice is None and fu.customer_id is None:
        notice = rec.notice
    labels = dict(zip(eff.action_item_ids, rec.unique_items()))
    body = texts.render_record(
        fu.id, rec, customer.name if customer else None, deal_text, changes,
        list(labels.items()), ctx.svc.today(), notice, "已更新" if fu.corrected else "已记录",
        _question_lines(rec, fu.id, customer) + [texts.Q_BAD_DATE.format(text=t) for t in rec.bad_dates],
        _missing(s, rec, fu.customer_id, deal),  # type: ignore[arg-type]
    )
    buttons: tuple[Button, ...] = (Button(f"confirm:{fu.id}", "确认"), Button(f"edit:{fu.id}", "修改"), Button(f"undo:{fu.id}", "撤销"))
    q = next(iter(rec.open_questions()), None)
    if q is not None and q.kind in ("new_deal", "contract"):
        yes = texts.NEW_DEAL_OPTIONS[0] if q.kind == "new_deal" else texts.CONTRACT_OPTIONS[0]
        buttons = (Button(f"answer:{fu.id}:1", yes), *buttons)
    return Reply(body, ref=f"followup:{fu.id}", buttons=buttons)


def stage_order(ctx: Context) -> list[str]:
    return [s for s in ctx.svc.settings.pipeline.stages if s != "lost"]


def _new_followup(ctx: Context, s: Session, user: User, key: str, text: str, rec: NoteRecord,
                  cid: int | None, transcript: str | None, audio: dict[str, Any] | None) -> FollowUp:
    fu = FollowUp(source_key=key, inbox_id=ctx.inbox_id, author_id=user.id,  # type: ignore[arg-type, call-arg]
                  customer_id=cid, raw_text=text, transcript=transcript, audio=audio or {},
                  customer_mention=rec.customer_mention, extracted=rec.dump(), created_at=ctx.svc.clock.now())
    repos.focus_followup(s, fu.author_id, None, ctx.svc.clock.now())  # a new note is what 改 means now
    s.add(fu)
    s.flush()
    repos.apply_followup(s, fu, user, stage_order(ctx), ctx.svc.clock.now())
    return fu


def _store_one(ctx: Context, s: Session, user: User, key: str, text: str, draft: FollowUpDraft,
               transcript: str | None, audio: dict[str, Any] | None, found: list[Option],
               book: Sequence[str] | None = None) -> FollowUp:
    """Store one record; `found` lists the customers of a note that could not be split (then ask);
    `book` is the rep's book a voice note was transcribed with (loaded here when not given)."""
    rec = build_record(draft, text, ctx)
    if found:
        cid, question = None, _which_of(s, user, found)
        rec.notice = texts.Q_SPLIT_NOTICE.format(names="、".join(o.name for o in found))
    else:
        cid, rec.notice, question = resolve_customer(s, user, rec.customer_mention,
                                                     draft.customer.match if draft.customer else None)
    if transcript is not None and question is None:  # what the ear could not settle, asked
        book = book if book is not None else repos.hotword_names(s, user, ctx.svc.today(), None)
        if cid is not None:  # 横达 or 衡达? the same sound
            question = _same_sound(s, user, text, cid, book)
            cid = None if question is not None else cid
        else:  # a voice note is never an orphan
            question = _sounds_like(s, user, text, book)
            rec.notice = None if question is not None else rec.notice or texts.VOICE_NO_CUSTOMER
    if question is not None:
        rec.ask(question)
    return _new_followup(ctx, s, user, key, text, rec, cid, transcript, audio)


def _sounds_like(s: Session, user: User, text: str, book: Sequence[str]) -> Question | None:
    """The customers of the rep's book a transcript may have misheard (鸿达 for 恒达), as a choice."""
    from speech.correct import soundalike_names

    names = soundalike_names(text, book)
    if not names:
        return None
    by_name = {c.name: c for c in repos.customers_named(s, names)}
    opts = [Option(id=c.id, name=c.name) for n in names if (c := by_name.get(n)) is not None
            and repos.can_see_customer(s, user, c)]
    return Question(kind="customer", options=opts) if opts else None


def _same_sound(s: Session, user: User, text: str, cid: int, book: Sequence[str]) -> Question | None:
    """A voice note linked to a customer whose name sounds exactly like another customer's of
    the rep's book: which one, asked, not guessed."""
    from speech.correct import same_sound_names

    linked = s.get(Customer, cid)
    if linked is None:
        return None
    others = same_sound_names(text, linked.name, book)
    if not others:
        return None
    opts = [Option(id=linked.id, name=linked.name)] + [
        Option(id=c.id, name=c.name) for c in repos.customers_named(s, others)
        if c.id != linked.id and repos.can_see_customer(s, user, c)]
    return Question(kind="customer", options=opts) if len(opts) > 1 else None


def _which_of(s: Session, user: User, found: list[Option]) -> Question | None:
    opts = [o for o in found if o.id is not None
            and (c := s.get(Customer, o.id)) is not None and repos.can_see_customer(s, user, c)]
    return Question(kind="customer", options=opts) if opts else None


async def record_note(ctx: Context, text: str, transcript: str | None = None,
                      audio: dict[str, Any] | None = None, book: Sequence[str] | None = None) -> Reply:
    """The one note path: extract → match → store + deal + to-dos in one transaction → reply;
    a voice note passes its `transcript`, `audio` facts and the `book` it was transcribed with."""
    text = text.strip()
    if not text:
        return Reply(texts.EMPTY)
    if len(text) > MAX_NOTE_CHARS:
        return Reply(texts.TOO_LONG.format(n=len(text), limit=MAX_NOTE_CHARS))
    svc, key = ctx.svc, ctx.msg.source_key
    existing = await svc.db.run(repos.followups_for_message, key)
    parts: list[tuple[str, FollowUpDraft]] = []
    unclear: list[Option] = []
    if not existing:
        draft = await _extract(ctx, text)
        if not _looks_like_note(text, draft):
            return Reply(texts.NOT_UNDERSTOOD)
        parts, unclear = await _split(ctx, text, draft)

    def save(s: Session) -> Reply:
        fus = repos.followups_for_message(s, key)
        if not fus:
            user = s.get(User, ctx.user.id)
            assert user is not None
            for i, (part, d) in enumerate(parts):
                fus.append(_store_one(ctx, s, user, key if i == 0 else f"{key}#{i + 1}", part, d,
                                      transcript, audio, unclear, book))
        replies = [reply_for(s, fu, ctx) for fu in fus]
        if len(replies) == 1:
            return replies[0]
        head = texts.SPLIT_HEAD.format(n=len(replies))
        return replace(replies[0], text="\n\n".join([head, *(r.text for r in replies)]))

    return await _run_once(ctx, save)


async def _split(ctx: Context, text: str, draft: FollowUpDraft) -> tuple[list[tuple[str, FollowUpDraft]], list[Option]]:
    """One (text, draft) per customer when the note clearly covers several; else the whole note,
    with the customers found when they could not be told apart."""
    sp = await asyncio.to_thread(ctx.svc.crm.split, text)
    found = [Option(id=int(m.match.best.id) if m.match.best else None, name=m.match.best.name if m.match.best else m.text)
             for m in sp.mentions]
    if sp.segments and sp.clear:
        return [(seg.text, await _extract(ctx, seg.text)) for seg in sp.segments], []
    if len(sp.mentions) >= 2:
        return [(text, draft)], found
    return [(text, draft)], []


async def _extract(ctx: Context, text: str) -> FollowUpDraft:
    return await asyncio.to_thread(ctx.svc.crm.extract, text, ctx.msg.received_at)


@router.command("报价", "/quote")
async def quote_command(ctx: Context) -> Reply:
    """`报价 <客户> [金额]`: our quote went out. Stored as a record like a note saying so, so the
    same policy stamps the deal (stage, amount as a quote, the 48-hour clock) and 撤销 undoes it."""
    from extraction.amounts import parse_amount
    from handlers.commands import find_customer

    m = re.fullmatch(r"(\S+)\s*(.*)", ctx.args.strip(), re.DOTALL)
    if not m:
        return Reply(texts.USAGE_QUOTE)
    name, rest = m.group(1), m.group(2).strip()
    value = parse_amount(rest) if rest else None
    if rest and (value is None or value <= 0):
        return Reply(texts.BAD_AMOUNT.format(text=rest))
    await asyncio.to_thread(ctx.svc.crm.index)  # matching sees the current CRM before the transaction
    key = ctx.msg.source_key

    def work(s: Session) -> Reply:
        fu = repos.followup_by_source(s, key)
        if fu is None:
            user = s.get(User, ctx.user.id)
            assert user is not None
            customer, why = find_customer(ctx, s, user, name)
            if customer is None:
                return Reply(why or texts.USAGE_QUOTE)
            rec = NoteRecord(customer_mention=name, stage="quote", quote_sent=True, deal_amount=DealAmount(
                value=value, basis="quote", text=rest) if value is not None else None)
            fu = _new_followup(ctx, s, user, key, ctx.msg.text.strip(), rec, customer.id, None, None)
        return reply_for(s, fu, ctx)

    return await _run_once(ctx, work)


async def _run_once(ctx: Context, work: Any) -> Reply:
    """Run a keyed write; if the same message raced in twice, the retry finds the first one's rows."""
    try:
        return await ctx.svc.db.run(work)
    except IntegrityError:  # the same message raced in twice: the first one won
        return await ctx.svc.db.run(work)


@router.note()
async def text_note(ctx: Context) -> Reply:
    return await record_note(ctx, ctx.args)


QUEUE_POLL_SECONDS = 1.0


async def _audio(ctx: Context) -> tuple[bytes, str] | Reply:
    """The voice message's audio: stored copy first (replays, restarts), else fetched and stored."""
    media = ctx.msg.media
    if media is None or ctx.fetch_media is None:
        return Reply(texts.VOICE_NO_AUDIO)
    if ctx.inbox_id is not None:
        stored = await ctx.svc.db.run(repos.media_for, ctx.inbox_id)
        if stored is not None:
            return stored.data, stored.fmt
    try:
        data = await ctx.fetch_media(media)
    except Exception as exc:  # noqa: BLE001 - platform download failed: the rep can resend
        # one line, no traceback: the console shows the log next to the chat
        log.warning("fetching voice media %s failed: %s: %s", media.key, type(exc).__name__, exc)
        return Reply(texts.VOICE_FETCH_FAILED)
    if ctx.inbox_id is not None:
        await ctx.svc.db.run(repos.save_media, ctx.inbox_id, media.fmt, data)
    return data, media.fmt


async def _transcribe(ctx: Context, data: bytes, fmt: str) -> tuple[Any, list[str]]:
    """Transcribe on the shared pool; when it is full, say so once and wait for a free slot.
    Returns the transcript and the rep's book it was made with."""
    from speech import QueueFull

    pool = ctx.svc.transcriber()
    # the whole book, most likely first: the prompt takes the first names, correction all of them
    hotwords = await ctx.svc.db.run(repos.hotword_names, ctx.user, ctx.svc.today(), None)
    told = False
    while True:
        try:
            t = await pool.transcribe(data, fmt, hotwords)
            break
        except QueueFull:
            if not told:
                await ctx.say(QueueFull.user_message)
                told = True
            await asyncio.sleep(QUEUE_POLL_SECONDS)
    metrics.ASR_SECONDS.inc(t.timings.get("transcribe_s", 0.0))
    metrics.ASR_QUEUE_DEPTH.set(getattr(pool, "queued", 0))
    return t, hotwords


@router.voice()
async def voice_note(ctx: Context) -> Reply:
    """Voice is transcribed first, then follows exactly the text-note path."""
    from speech import SpeechError

    existing = await ctx.svc.db.run(repos.followup_by_source, ctx.msg.source_key)
    if existing is not None:  # a replay: answer as the first time, without transcribing again
        return await record_note(ctx, existing.raw_text)
    got = await _audio(ctx)
    if isinstance(got, Reply):
        raise Rejected(got, "voice media unavailable")
    await ctx.say(texts.TRANSCRIBING)
    try:
        t, book = await _transcribe(ctx, *got)
    except SpeechError as exc:
        log.warning("voice note %s: %s", ctx.msg.source_key, exc)
        raise Rejected(Reply(exc.user_message), f"{type(exc).__name__}: {exc}") from exc
    text = t.text.strip() or (ctx.msg.platform_transcript or "").strip()
    if not text:
        raise Rejected(Reply(texts.VOICE_EMPTY), "no speech in the audio")
    audio = {"duration_s": round(t.duration_s, 2), "model": t.model, "timings": t.timings,
             "model_text": t.raw_text, "fixes": [list(f) for f in t.fixes],
             "platform_transcript": ctx.msg.platform_transcript}
    reply = await record_note(ctx, text, transcript=t.text, audio=audio, book=book)
    return replace(reply, text=texts.HEARD.format(text=text) + "\n" + reply.text)
