"""Visit notes → follow-up records, and the one-message corrections (改 / 撤销 / 确认 / 序号).

Voice (a later issue) is transcribed first and then calls `record_note`, so there is one note path.
Every mutation is idempotent for a replayed message: notes are keyed by the message's
source_key, corrections converge to the same state, and 撤销 remembers which message undid what.
"""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot import metrics
from bot.types import Button, Reply
from extraction.amounts import parse_amount
from extraction.dates import parse_date
from extraction.types import FollowUpDraft, MatchResult
from handlers import texts
from handlers.crm import normalized_name
from handlers.router import Context, Rejected, Router
from store import repos
from store.models import Customer, Deal, FollowUp, User

router = Router()
log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 3000
_CJK = re.compile(r"[\u4e00-\u9fff]")


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


def _record_from_draft(draft: FollowUpDraft) -> dict[str, Any]:
    record = draft.to_record()
    record["missing"] = draft.missing()
    return record


def _candidates(match: MatchResult) -> list[dict[str, Any]]:
    return [{"id": int(c.id), "name": c.name, "score": round(c.score, 3)} for c in match.alternates]


def _visible_candidates(s: Session, user: User, cands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for c in cands:
        cust = s.get(Customer, c["id"])
        if cust is not None and cust.merged_into_id is None and repos.can_see_customer(s, user, cust):
            out.append(c)
    return out


def _resolve_customer(
    s: Session, user: User, mention: str | None, match: MatchResult | None
) -> tuple[int | None, str | None, list[dict[str, Any]]]:
    """(customer id to link, notice for the reply, candidates to ask about)."""
    if match is None or mention is None:
        return None, None, []
    if match.best is not None:
        cust = s.get(Customer, int(match.best.id))
        if cust is None:
            return None, None, []
        if repos.can_see_customer(s, user, cust):
            return cust.id, None, []
        return None, texts.OWNED_BY_OTHER.format(name=mention), []
    cands = _visible_candidates(s, user, _candidates(match))
    if cands:
        return None, texts.ASK_PICK.format(options=texts.numbered(c["name"] for c in cands)), cands
    return None, texts.CUSTOMER_NOT_FOUND.format(name=mention), []


def _reply_for(s: Session, fu: FollowUp, ctx: Context, notice: str | None = None) -> Reply:
    svc = ctx.svc
    customer = s.get(Customer, fu.customer_id) if fu.customer_id else None
    deal = s.get(Deal, fu.deal_id) if fu.deal_id else None
    eff = fu.effects or {}
    move = None
    if eff.get("stage_set") and "prev_deal" in eff:
        move = (svc.settings.stage_label(eff["prev_deal"]["stage"]), svc.settings.stage_label(eff["stage_set"]))
    stage = fu.extracted.get("stage")
    if notice is None and fu.customer_id is None:
        notice = fu.extracted.get("notice")
    body = texts.render_record(
        fu.id,  # type: ignore[arg-type]
        fu.extracted,
        customer.name if customer else None,
        svc.settings.stage_label(stage) if stage else None,
        move,
        deal.id if deal else None,
        list(eff.get("action_item_ids", [])),
        svc.today(),
        notice,
        "已更新" if fu.corrected else "已记录",
    )
    buttons = (Button(f"confirm:{fu.id}", "确认"), Button(f"edit:{fu.id}", "修改"), Button(f"undo:{fu.id}", "撤销"))
    return Reply(body, ref=f"followup:{fu.id}", buttons=buttons)


def _stage_order(ctx: Context) -> list[str]:
    return [s for s in ctx.svc.settings.pipeline.stages if s != "lost"]


async def record_note(ctx: Context, text: str, transcript: str | None = None,
                      audio: dict[str, Any] | None = None) -> Reply:
    """The one note path: extract → match → store + deal + to-dos in one transaction → reply."""
    text = text.strip()
    if not text:
        return Reply(texts.EMPTY)
    if len(text) > MAX_NOTE_CHARS:
        return Reply(texts.TOO_LONG.format(n=len(text), limit=MAX_NOTE_CHARS))
    svc, key = ctx.svc, ctx.msg.source_key
    existing = await svc.db.run(repos.followup_by_source, key)
    if existing is None:
        draft = await _extract(ctx, text)
        if not _looks_like_note(text, draft):
            return Reply(texts.NOT_UNDERSTOOD)
        record = _record_from_draft(draft)
    else:
        record = {}

    def save(s: Session) -> Reply:
        fu = repos.followup_by_source(s, key)
        if fu is None:
            user = s.get(User, ctx.user.id)
            assert user is not None
            cid, notice, cands = _resolve_customer(
                s, user, record.get("customer_mention"), draft.customer.match if draft.customer else None
            )
            record["notice"] = notice
            record["candidates"] = cands
            fu = FollowUp(
                source_key=key,
                inbox_id=ctx.inbox_id,
                author_id=user.id,  # type: ignore[arg-type]
                customer_id=cid,
                raw_text=text,
                transcript=transcript,
                audio=audio or {},
                customer_mention=record.get("customer_mention"),
                extracted=record,
                created_at=svc.clock.now(),
            )
            s.add(fu)
            s.flush()
            repos.apply_followup(s, fu, user, _stage_order(ctx), svc.clock.now())
        return _reply_for(s, fu, ctx)

    try:
        return await svc.db.run(save)
    except IntegrityError:  # the same message raced in twice: the first one won
        return await svc.db.run(lambda s: _reply_for(s, repos.followup_by_source(s, key), ctx))  # type: ignore[arg-type]


async def _extract(ctx: Context, text: str) -> FollowUpDraft:
    return await asyncio.to_thread(ctx.svc.crm.extract, text, ctx.msg.received_at)


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
    except Exception:  # platform download failed: the rep can resend
        log.exception("fetching voice media %s failed", media.key)
        return Reply(texts.VOICE_FETCH_FAILED)
    if ctx.inbox_id is not None:
        await ctx.svc.db.run(repos.save_media, ctx.inbox_id, media.fmt, data)
    return data, media.fmt


async def _transcribe(ctx: Context, data: bytes, fmt: str) -> Any:
    """Transcribe on the shared pool; when it is full, say so once and wait for a free slot."""
    from speech import QueueFull

    pool = ctx.svc.transcriber()
    hotwords = await ctx.svc.db.run(repos.hotword_names, ctx.user)
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
    return t


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
        t = await _transcribe(ctx, *got)
    except SpeechError as exc:
        log.warning("voice note %s: %s", ctx.msg.source_key, exc)
        raise Rejected(Reply(exc.user_message), f"{type(exc).__name__}: {exc}") from exc
    text = t.text.strip() or (ctx.msg.platform_transcript or "").strip()
    if not text:
        raise Rejected(Reply(texts.VOICE_EMPTY), "no speech in the audio")
    audio = {"duration_s": round(t.duration_s, 2), "model": t.model, "timings": t.timings,
             "model_text": t.raw_text, "fixes": [list(f) for f in t.fixes],
             "platform_transcript": ctx.msg.platform_transcript}
    reply = await record_note(ctx, text, transcript=t.text, audio=audio)
    return replace(reply, text=texts.HEARD.format(text=text) + "\n" + reply.text)


# ---------------------------------------------------------------- corrections


def _reapply(ctx: Context, s: Session, fu: FollowUp, user: User, change: dict[str, Any]) -> None:
    """Undo the record's effects, change it, apply again: one code path for every correction."""
    now = ctx.svc.clock.now()
    repos.unapply_followup(s, fu, user, now)
    fu.corrected = True
    fu.corrections = [*fu.corrections, {**change, "by": ctx.msg.source_key, "at": now.isoformat()}]
    repos.apply_followup(s, fu, user, _stage_order(ctx), now)


def _missing_after(record: dict[str, Any], customer_id: int | None) -> list[str]:
    missing = [m for m in record.get("missing", []) if m != "customer" or customer_id is None]
    if record.get("next_follow_up") and "next_follow_up" in missing:
        missing.remove("next_follow_up")
    if customer_id is None and "customer" not in missing:
        missing.insert(0, "customer")
    return missing


def _link_customer(ctx: Context, s: Session, fu: FollowUp, user: User, customer: Customer) -> None:
    record = dict(fu.extracted)
    record["candidates"] = []
    record["notice"] = None
    fu.customer_id = customer.id
    fu.customer_mention = fu.customer_mention or customer.name
    record["missing"] = _missing_after(record, customer.id)
    fu.extracted = record
    _reapply(ctx, s, fu, user, {"field": "customer", "value": customer.id})


async def fix_customer(ctx: Context, name: str) -> Reply:
    if not name:
        return Reply(texts.USAGE_FIX)
    match = await _run_match(ctx, name)

    def work(s: Session) -> Reply:
        user = s.get(User, ctx.user.id)
        fu = repos.last_followup(s, ctx.user.id)  # type: ignore[arg-type]
        if fu is None or user is None:
            return Reply(texts.NO_RECORD)
        cid, notice, cands = _resolve_customer(s, user, name, match)
        if cid is None:
            if cands:
                record = dict(fu.extracted)
                record["candidates"] = cands
                fu.extracted = record
                s.add(fu)
            return Reply(notice or texts.CUSTOMER_NOT_FOUND.format(name=name))
        customer = s.get(Customer, cid)
        assert customer is not None
        if fu.customer_id != cid:
            _link_customer(ctx, s, fu, user, customer)
        return _reply_for(s, fu, ctx)

    return await ctx.svc.db.run(work)


async def _run_match(ctx: Context, name: str) -> MatchResult:
    return await asyncio.to_thread(ctx.svc.crm.match, name)


def _fix_date(ctx: Context, s: Session, fu: FollowUp, user: User, phrase: str) -> Reply:
    ref = fu.created_at.astimezone(ctx.svc.settings.tz).date()
    new = parse_date(phrase, ref)
    if new is None:
        return Reply(texts.BAD_DATE.format(text=phrase))
    record = dict(fu.extracted)
    old = record.get("next_follow_up")
    items = [dict(i) for i in record.get("action_items") or []]
    target = next((i for i in items if old and i.get("due") == old), None)
    if target is None:
        target = next((i for i in items if i.get("owner") in ("self", "team", None)), None)
    if target is None:
        target = {"text": "跟进客户", "due": None, "owner": "self", "span": None}
        items.append(target)
    target["due"] = new.isoformat()
    record["action_items"] = items
    record["next_follow_up"] = new.isoformat()
    record["dates"] = sorted({*record.get("dates", []), new.isoformat()} - ({old} if old else set()))
    record["missing"] = _missing_after(record, fu.customer_id)
    fu.extracted = record
    _reapply(ctx, s, fu, user, {"field": "date", "value": new.isoformat()})
    return _reply_for(s, fu, ctx)


def _fix_amount(ctx: Context, s: Session, fu: FollowUp, user: User, phrase: str) -> Reply:
    value = parse_amount(phrase)
    if value is None or value <= 0:
        return Reply(texts.BAD_AMOUNT.format(text=phrase))
    record = dict(fu.extracted)
    amounts = [dict(a) for a in record.get("amounts") or []]
    if amounts:
        # The corrected amount replaces the one the deal uses (order > quote > budget).
        order = {"order": 0, "quote": 1, "budget": 2}
        main = min(amounts, key=lambda a: order.get(a.get("kind"), 3))
        main["value"] = value
        main["kind"] = main.get("kind") if main.get("kind") in order else None
    else:
        amounts.append({"value": value, "kind": None, "text": phrase, "span": None})
    record["amounts"] = amounts
    fu.extracted = record
    _reapply(ctx, s, fu, user, {"field": "amount", "value": value})
    return _reply_for(s, fu, ctx)


_FIX_FIELDS = {"客户": "customer", "日期": "date", "时间": "date", "金额": "amount", "钱": "amount"}


@router.command("改", "/fix", glued=r"(客户|日期|时间|金额).*")
async def fix(ctx: Context) -> Reply:
    m = re.match(r"(客户|日期|时间|金额)\s*(.*)", ctx.args, re.S)
    if not m or not m.group(2).strip():
        return Reply(texts.USAGE_FIX)
    field, value = _FIX_FIELDS[m.group(1)], m.group(2).strip()
    if field == "customer":
        return await fix_customer(ctx, value)

    def work(s: Session) -> Reply:
        user = s.get(User, ctx.user.id)
        fu = repos.last_followup(s, ctx.user.id)  # type: ignore[arg-type]
        if fu is None or user is None:
            return Reply(texts.NO_RECORD)
        return (_fix_date if field == "date" else _fix_amount)(ctx, s, fu, user, value)

    return await ctx.svc.db.run(work)


def _revoke(ctx: Context, s: Session, fu: FollowUp) -> Reply:
    customer = s.get(Customer, fu.customer_id) if fu.customer_id else None
    repos.unapply_followup(s, fu, ctx.user, ctx.svc.clock.now())
    fu.status = "revoked"
    fu.revoked_by_key = ctx.msg.source_key
    s.add(fu)
    return Reply(texts.UNDONE.format(id=fu.id, customer=customer.name if customer else "未关联客户"))


def _confirm(s: Session, fu: FollowUp) -> Reply:
    fu.confirmed = True
    s.add(fu)
    return Reply(texts.CONFIRMED.format(id=fu.id))


@router.command("撤销", "/undo")
async def undo(ctx: Context) -> Reply:
    def work(s: Session) -> Reply:
        done = repos.followup_revoked_by(s, ctx.msg.source_key)
        if done is not None:  # a replay of the same 撤销 must not undo one more record
            return Reply(texts.UNDO_REPLAY.format(id=done.id))
        fu = repos.last_followup(s, ctx.user.id)  # type: ignore[arg-type]
        return _revoke(ctx, s, fu) if fu is not None else Reply(texts.NO_RECORD)

    return await ctx.svc.db.run(work)


@router.command("确认", "/confirm")
async def confirm(ctx: Context) -> Reply:
    def work(s: Session) -> Reply:
        fu = repos.last_followup(s, ctx.user.id)  # type: ignore[arg-type]
        return _confirm(s, fu) if fu is not None else Reply(texts.NO_RECORD)

    return await ctx.svc.db.run(work)


@router.event("button")
async def card_button(ctx: Context) -> Reply:
    """确认 / 修改 / 撤销 pressed on the card of one record: act on that record, not the latest."""
    m = re.fullmatch(r"(confirm|edit|undo):(\d+)", ctx.args.strip())
    if not m:
        return Reply(texts.UNKNOWN_BUTTON)
    action, fid = m.group(1), int(m.group(2))

    def work(s: Session) -> Reply:
        fu = s.get(FollowUp, fid)
        if fu is None or fu.author_id != ctx.user.id:
            return Reply(texts.RECORD_NOT_FOUND.format(id=fid))
        if fu.status == "revoked":
            return Reply(texts.UNDO_REPLAY.format(id=fid))
        if action == "confirm":
            return _confirm(s, fu)
        if action == "undo":
            return _revoke(ctx, s, fu)
        return Reply(texts.EDIT_HELP.format(id=fid))

    return await ctx.svc.db.run(work)


@router.event("enter")
async def enter(ctx: Context) -> Reply:
    return Reply(texts.GREETING.format(name=ctx.user.name))


@router.command("", glued=r"\d{1,2}")
async def pick(ctx: Context) -> Reply:
    """A bare number answers the last 'which customer did you mean?' question."""
    n = int(ctx.args)

    def work(s: Session) -> Reply:
        user = s.get(User, ctx.user.id)
        fu = repos.last_followup(s, ctx.user.id)  # type: ignore[arg-type]
        cands = (fu.extracted.get("candidates") if fu else None) or []
        if fu is None or user is None or not cands:
            return Reply(texts.NO_PENDING_PICK)
        if not 1 <= n <= len(cands):
            return Reply(texts.PICK_OUT_OF_RANGE.format(n=n, max=len(cands)))
        customer = s.get(Customer, cands[n - 1]["id"])
        if customer is None or not repos.can_see_customer(s, user, customer):
            return Reply(texts.NO_PENDING_PICK)
        _link_customer(ctx, s, fu, user, customer)
        return _reply_for(s, fu, ctx)

    return await ctx.svc.db.run(work)


@router.command("新建客户", "/new", glued=r".+")
async def new_customer(ctx: Context) -> Reply:
    name = ctx.args.strip()
    if not name:
        return Reply(texts.USAGE_NEW)
    match = await _run_match(ctx, name)

    def work(s: Session) -> Reply:
        user = s.get(User, ctx.user.id)
        assert user is not None
        existing = repos.customer_by_normalized(s, normalized_name(name))
        if existing is None and match.best is not None and match.score >= ctx.svc.settings.matching.auto_link:
            existing = s.get(Customer, int(match.best.id))
        if existing is not None:
            return Reply(texts.CUSTOMER_EXISTS.format(name=existing.name, id=existing.id))
        customer = repos.add_customer(s, name, normalized_name(name), user.id)
        lines = [texts.CUSTOMER_CREATED.format(name=name, id=customer.id, owner=user.name)]
        fu = repos.last_followup(s, user.id)  # type: ignore[arg-type]
        if fu is not None and fu.customer_id is None:
            _link_customer(ctx, s, fu, user, customer)
            lines.append(texts.LINKED.format(fid=fu.id, name=name))
        return Reply("\n".join(lines))

    return await ctx.svc.db.run(work)
