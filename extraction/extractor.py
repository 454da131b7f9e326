"""Note text -> FollowUpDraft.  Pure: no I/O except loading lexicon files once.

Pipeline: dates -> customer mention -> contacts -> clauses -> competitors -> pains ->
actions -> next_follow_up -> amounts -> stage.  Each step is a small module; this file
only wires them together and applies the record-level rules (README §2).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from . import pain_model
from .actions import find_actions, finish_actions
from .amounts import find_amounts
from .clauses import split_clauses
from .competitors import find_competitors
from .contacts import find_contacts, mention_spans, to_simplified
from .dates import find_dates_checked
from .pains import find_pains
from .stage import find_stage, future_spans
from .stage_model import decide
from .timex import deadlines, due_time, find_times
from .types import CustomerMention, FollowUpDraft, PainPoint, Span

if TYPE_CHECKING:  # pragma: no cover
    from .customers import CustomerIndex

# a clause that states what the customer wants, not what has happened
_WISH = re.compile(r"^(?:他们|她们|他|她|客户|对方|老板)?(?:也|还|都)?(?:想|希望|想要|打算)")
_LATIN_NAME = re.compile(r"[A-Za-z][A-Za-z\-]{1,20}")  # one Latin word, no role in front
SHANGHAI = timezone(timedelta(hours=8))
MAX_CHARS = 5000  # longer input is truncated: notes are short; bounds the run time


def ref_date(ref_time: datetime, tz: tzinfo = SHANGHAI) -> date:
    """The local date of the message (in `tz`, app.timezone; Asia/Shanghai by default)."""
    if ref_time.tzinfo is None:
        return ref_time.date()
    return ref_time.astimezone(tz).date()


_CONTROL = frozenset({"Cc", "Cf", "Cs"})


def _clean(text: str) -> str:
    """Replace control characters by spaces; keep length so spans stay valid.

    Printable text has none (Cc, Cf and Cs are never printable), so most notes are returned
    as they are; otherwise only the note's distinct characters are looked up."""
    if text.isprintable():
        return text
    bad = {c for c in set(text) if c != "\n" and unicodedata.category(c) in _CONTROL}
    return text.translate({ord(c): " " for c in bad}) if bad else text


_USER_WORDS_FOR: tuple[int, int] = (0, 0)  # (id of the index, how many of its words were fed)


def _sync_user_words(customers: Any) -> None:
    """Feed CRM names/aliases to jieba: all of them for a new index, then only those added to it
    (a customer created or renamed in place) — cheap when nothing changed."""
    global _USER_WORDS_FOR
    if customers is None:
        return
    words: list[str] = getattr(customers, "words", None) or []
    seen_index, fed = _USER_WORDS_FOR
    if seen_index == id(customers) and fed == len(words):
        return
    from .segment import add_user_words, ensure_user_words
    if seen_index == id(customers):
        add_user_words(words[fed:])
    else:
        ensure_user_words(words)
    _USER_WORDS_FOR = (id(customers), len(words))


def _find_mention(customers: Any, text: str) -> CustomerMention | None:
    if customers is None:
        return None
    _sync_user_words(customers)
    try:
        return customers.find_mention(text)
    except Exception:  # noqa: BLE001  # the matcher is someone else's module: never let it kill a note
        return None


def _outside(pains: list[PainPoint], spans: list[Span]) -> list[PainPoint]:
    """The pains not inside any of `spans`."""
    return [p for p in pains if not any(t.start <= p.span.start and p.span.end <= t.end for t in spans)]


def extract(text: str, *, ref_time: datetime, customers: CustomerIndex | None = None,
            known_competitors: Iterable[str] = (), tz: tzinfo = SHANGHAI) -> FollowUpDraft:
    """Turn one visit note into a follow-up record (see the evaluation README §2); relative
    dates (明天, 下周三) count from the note's local date in `tz`."""
    if not isinstance(text, str):
        raise TypeError("text must be a str")
    if not isinstance(ref_time, datetime):
        raise TypeError("ref_time must be a datetime")
    original = text
    text = _clean(text[:MAX_CHARS])
    ref = ref_date(ref_time, tz)
    draft = FollowUpDraft(text=original)
    if not text.strip():
        return draft

    dates, bad_dates = find_dates_checked(text, ref)
    mention = _find_mention(customers, text)
    draft.customer = mention
    blocked = [d.span for d in dates]
    if mention is not None:
        blocked.append(mention.span)
    contacts = find_contacts(text, blocked, customer_named=mention is not None)
    # brands the company lists or reps confirmed are found wherever they are mentioned.  A bare
    # Latin word read as an English name (Takaya) may be a brand: when a competitor construction
    # claims it, it is a competitor and not a contact.
    latin = [c for c in contacts if _LATIN_NAME.fullmatch(c.text)]
    competitors = find_competitors(text, blocked + [c.span for c in contacts if c not in latin],
                                   known=tuple(known_competitors))
    claimed = {c.text.casefold() for c in competitors}
    contacts = [c for c in contacts if not (c in latin and c.text.casefold() in claimed)]
    competitors = [c for c in competitors
                   if not any(k.span.start < c.span.end and c.span.start < k.span.end for k in contacts)]
    contact_spans = [c.span for c in contacts]
    # a competitor cannot also be a contact or the customer
    cuts = [d.span.start for d in dates]
    for d in dates:  # "周五前" -> the task clause starts after the deadline word
        e = d.span.end
        for suf in ("之前", "以前", "前", "之后", "以后", "后"):
            if text.startswith(suf, e):
                e += len(suf)
                break
        cuts.append(e)
    clauses = split_clauses(text, cuts)
    heads = contact_spans + ([mention.span] if mention else [])
    times = find_times(text, ref, dates)
    due_dates = deadlines(dates, times)  # 国庆后, 这周内: days a to-do can be due on
    starts = [d.span.start for d in due_dates]
    # the same cuts (a note without dates) give the same clauses: no step changes the list
    action_clauses = clauses if set(starts) == set(cuts) else split_clauses(text, starts)
    actions = find_actions(text, action_clauses, due_dates, ref, contact_spans)
    actions = finish_actions(text, actions, due_dates, contacts, mention.text if mention else None,
                             ref=ref, clauses=action_clauses)
    actions = [replace(a, due_time=due_time(times, due_dates, a.due, a.span)) if a.due else a for a in actions]
    # pain cues are Simplified too: match the converted copy, keep the note's own characters
    simple = to_simplified(text)
    pains = [PainPoint(p.category, text[p.span.start:p.span.end], p.span)
             for p in find_pains(simple, clauses, competitors, heads + mention_spans(text, blocked))] \
        if (mention is not None or contacts) else []
    # what we plan to do (我把补充条款拟好发他) is never the customer's problem
    ours_todo = [a.span for a in actions if a.owner in ("self", "team")]
    if mention is not None or contacts:  # the learned second look over spans and clauses (pain_model.py)
        pains = pain_model.refine(text, clauses, _outside(pains, ours_todo), [c.text for c in competitors])
    pains = _outside(pains, ours_todo)
    amounts = find_amounts(text, [d.span for d in dates])

    # internal notes (no organisation, no person, only internal tasks) have no follow-up
    has_customer = (mention is not None or bool(contacts)
                    or any(a.involves_customer and a.owner in ("self", "team") for a in actions))
    nfu = None
    if has_customer:
        cands = [a.due for a in actions
                 if a.due is not None and a.due >= ref and a.owner in ("self", "team") and a.involves_customer]
        nfu = min(cands) if cands else None
    masked = [a.span for a in actions if a.owner in ("self", "team")]
    wishes = [c.span for c in clauses if _WISH.match(c.text)]
    # stage: a cue next to a future date is a plan; who signed decides won vs lost
    ours = contact_spans + ([mention.span] if mention else [])
    # stage cues are Simplified: match on the same-length folded copy (試點 reads as 试点)
    stage, stage_span = find_stage(simple, masked, wishes,
                                   future_dates=future_spans(text, ((d.value, d.span) for d in dates), ref),
                                   ours=ours, rivals=[c.span for c in competitors])
    stage, stage_span = decide(stage, stage_span, simple)  # the bigram model's second opinion
    if not has_customer and stage in ("contacted", "needs"):
        stage, stage_span = None, None

    draft.contacts = contacts
    draft.competitors = competitors
    draft.pain_points = pains
    draft.action_items = actions
    draft.dates = dates
    draft.times = times
    draft.bad_dates = bad_dates
    draft.next_follow_up = nfu
    draft.amounts = amounts
    draft.stage = stage
    draft.stage_span = stage_span
    return draft
