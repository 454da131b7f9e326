"""Deal stage judged from one note (README §2 stage; issue 13: precision first).

A predicted stage moves a real deal in the CRM and a missing one does no harm, so a stage
is given only on evidence stated as happened.  Cue classes (lexicon/stage_cues.txt) say
what each stage looks like; modality classes (lexicon/stage_modality.txt) say when a cue
is *not* evidence: a negator right before it (还没签), a condition or fear (如果签了,
怕丢单), a plan or a future date in its clause (下周签), a wish (想试用), hearsay.

Cues are searched outside our own planned action items and outside contact names.
Signing and award verbs look at who signed: 跟别家签了 / a competitor 中标 is `lost`,
never `won`.  `lost` wins over every other stage; a note with standing evidence of both
`won` and `lost` gets no stage.  Otherwise the furthest stage wins; `null` cues
(after-sales, complaints, replenishment) give no stage when nothing beyond `contacted`
is present.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from .lexload import _lines, alternation
from .regexgate import CueIndex, gate_groups, scan_checked
from .types import Span

ORDER = ("lead", "contacted", "needs", "quote", "trial", "negotiation", "won")
EARLY = frozenset({"lead", "contacted", "needs", "null"})
WINDOW = 16  # characters of left context a modality marker may sit in
NEAR_NEG = 3  # a negator counts only this close before the cue
BLANK = "\u3000"  # our planned actions: a gap no cue crosses
NAME = "\u25a1"  # names (customer, contacts): part of the clause, never a cue
# a space ends a clause in unpunctuated voice notes, but not inside Latin text (IEC 60601)
_HARD_RX = r"[，。；;！!？?\n\r\t、,…~～：:（）()【】\[\]\"“”'‘’《》]|(?<![A-Za-z0-9])\s|\s(?![A-Za-z0-9])"
_HARD = re.compile(_HARD_RX)
# the last hard boundary of a window: a greedy run backs off from the right to the first place a
# boundary matches; `(?=.)` keeps it left of the window's last character (see `_last_hard`)
_LAST_HARD = re.compile(f".*(?:{_HARD_RX})(?=.)", re.DOTALL)
_LAST_HARD_AT_END = re.compile(f".*(?:{_HARD_RX})", re.DOTALL)
_PREP = re.compile(r"(?:跟|和|与)")


@dataclass(frozen=True, slots=True)
class Cue:
    """One cue class line: the stage it is evidence for and which modality it tolerates."""

    stage: str
    rx: re.Pattern[str]
    neg_ok: bool
    future_ok: bool
    wish_ok: bool
    demand_ok: bool
    signer: bool
    by_object: bool
    weak: bool  # a topic word: a first meeting or undecided specs turn it back (^contacted)
    early: bool  # an early stage or a cap (^stage): wishes, plans and hearsay are fine
    veto: bool  # a topic word (~stage): forbids earlier stages, never predicts one
    current: bool  # about this deal only: a cue on an earlier deal (上批的尾款) is no evidence


@dataclass(frozen=True, slots=True)
class Modality:
    boundary: re.Pattern[str]
    neg: re.Pattern[str]
    hypo: re.Pattern[str]
    ask: re.Pattern[str]
    future: re.Pattern[str]
    wish: re.Pattern[str]
    demand: re.Pattern[str]
    near: re.Pattern[str]
    hearsay: re.Pattern[str]
    after: re.Pattern[str]
    us: re.Pattern[str]
    party: re.Pattern[str]
    others: re.Pattern[str]
    undecided: re.Pattern[str]
    moot: re.Pattern[str]
    prior: re.Pattern[str]
    new_deal: re.Pattern[str]
    new_ask: re.Pattern[str]
    target: re.Pattern[str]
    history: re.Pattern[str]
    included: re.Pattern[str]
    other_owner: re.Pattern[str]


@lru_cache(maxsize=1)
def _cues() -> tuple[Cue, ...]:
    out = []
    defects = alternation("pain_defects.txt")
    for line in _lines("stage_cues.txt"):
        head, _, rx = line.partition(" ")
        rx = rx.replace("DEFECT", defects)  # the failure words pains uses
        stage, _, flags = head.partition("/")
        # veto classes (~stage) are checked like late cues; caps (^stage) like early ones
        early = stage.lstrip("^") in EARLY
        wish = early or "w" in flags
        out.append(Cue(stage, re.compile(rx.strip()), "n" in flags, early or "f" in flags,
                       wish, wish or "d" in flags, "s" in flags, "o" in flags, "k" in flags,
                       early, stage.startswith("~"), "p" in flags))
    return tuple(out)


@lru_cache(maxsize=1)
def _scanners() -> tuple[re.Pattern[str], ...]:
    """The cue patterns `find_stage` runs over a note (`scan_checked`); gates come from `_cues`."""
    return tuple(scan_checked(c.rx) for c in _cues())


@lru_cache(maxsize=1)
def _cue_index() -> CueIndex:
    """Gate words per cue: regexgate's literal gates plus the word groups the parsed pattern
    proves necessary (`gate_groups`).

    regexgate leaves a cue ungated when an alternative starts with a group (处理售后) and
    so runs it on every note; the extra groups only ever skip a cue that cannot match."""
    return CueIndex(gate_lists=[gate_groups(c.rx, exclude=BLANK + NAME) for c in _cues()])


@lru_cache(maxsize=1)
def _modality() -> Modality:
    table = {}
    for line in _lines("stage_modality.txt"):
        name, _, rx = line.partition(" ")
        table[name] = re.compile(rx.strip())
    return Modality(**table)


def _blank(text: str, spans: Iterable[Span], fill: str = BLANK) -> str:
    """`text` with every character inside `spans` replaced by `fill` (same length for a
    one-character fill).  Built from slices, and no copy at all when nothing is blanked."""
    if not spans:  # the usual case: nothing to blank (an empty list or tuple)
        return text
    n = len(text)
    cuts = sorted((max(0, s.start), min(n, s.end)) for s in spans)
    parts: list[str] = []
    pos = 0  # everything before `pos` is in `parts` already
    for a, b in cuts:
        a = max(a, pos)  # overlapping spans: only the part not filled yet
        if a >= b:
            continue
        parts.append(text[pos:a])
        parts.append(fill * (b - a))
        pos = b
    if not parts:
        return text
    parts.append(text[pos:])
    return "".join(parts)


def _last_hard(t: str, lo: int, pos: int) -> int:
    """Index of the last hard boundary (`_HARD`) in t[lo:pos], or -1.

    Every `_HARD` match is one character long, so its matches are the places it matches at.
    One backwards search in C finds the last one: the window ends one character past `pos` so
    that the look-ahead at pos - 1 sees t[pos], as `_HARD.match(t, pos - 1)` does (look-behinds
    see the whole string either way), and `(?=.)` keeps the boundary before `pos`; at the end of
    the text the look-ahead sees the end, as it does there."""
    if pos < len(t):
        m = _LAST_HARD.match(t, lo, pos + 1)
    else:
        m = _LAST_HARD_AT_END.match(t, lo, pos)
    return m.end() - 1 if m else -1


def _left_start(t: str, pos: int, mod: Modality) -> int:
    """Start of the cue's clause left of `pos`: the last boundary, at most WINDOW back."""
    lo = max(0, pos - WINDOW)
    hard = _last_hard(t, lo, pos)
    start = hard + 1 if hard >= 0 else lo
    for m in mod.boundary.finditer(t, start, pos):
        start = max(start, m.end())
    return start


def _clause_left(t: str, pos: int) -> str:
    """The text of the punctuation-bounded clause left of `pos` (hearsay scope)."""
    lo = max(0, pos - 3 * WINDOW)
    hard = _last_hard(t, lo, pos)
    return t[hard + 1:pos] if hard >= 0 else t[lo:pos]


def _is_evidence(t: str, m: re.Match[str], cue: Cue, mod: Modality,
                 future_dates: list[Span]) -> bool:
    """Whether the cue is stated as happened (not negated, planned, wished or hypothetical)."""
    s, e = m.span()
    ls = _left_start(t, s, mod)
    left = t[ls:s]
    ctx = t[ls:e]  # the left context and the cue (m matched t)
    if mod.hypo.search(ctx) or mod.after.match(t, e):
        return False
    # a loss heard second hand (听说最后给了X) is still a loss: the rep reports it as news
    whole: str | None = None  # the clause left of the cue, read at most once
    if not cue.early:
        if mod.ask.search(ctx):
            return False
        if cue.stage != "lost":
            whole = _clause_left(t, s)
            if mod.hearsay.search(whole):
                return False
    # A-not-A questions (能不能, 有没有) are no negation; a topic word (veto) must not be
    # negated anywhere in its clause (没法上台架测试 is no trial talk)
    near = ls if cue.veto else max(ls, s - NEAR_NEG)
    if not cue.neg_ok and mod.neg.search(mod.ask.sub(BLANK, t[near:e])):
        return False
    if cue.veto and mod.moot.match(t, e):
        return False  # 价格倒不是问题: the topic is said not to matter
    if cue.current and mod.prior.search(left):
        return False  # 上批货的尾款还没结: an earlier deal, not this one
    if cue.stage == "needs" and mod.undecided.match(t, e):
        return False  # 数量还没定: the requirement is not gathered yet
    if not cue.future_ok:
        if mod.future.search(ctx) or mod.near.search(left):
            return False
        if any(ls <= d.start < e for d in future_dates):
            return False
    if not cue.wish_ok and mod.wish.search(left):
        return False
    if cue.veto:  # a topic word inside a demand, wish or condition is no talk of it
        if whole is None:
            whole = _clause_left(t, s)
        if mod.demand.search(whole) or mod.hypo.search(whole) or mod.wish.search(whole):
            return False
    return cue.demand_ok or not mod.demand.search(left)


_AWARD = re.compile(r"中标|中了标")


def _signer(t: str, m: re.Match[str], mod: Modality, ours: list[Span], rivals: list[Span]) -> str:
    """Who signed or won: 'us' (we, the customer, a contact), 'other' (a rival) or '?'."""
    s = m.start()
    ls = _left_start(t, s, mod)
    region = t[ls:m.end()]
    pm = None
    for found in _PREP.finditer(region):
        pm = found  # the last one
    if pm is None:  # no 跟X: the subject is the customer or us unless a rival is named
        if any(ls <= r.start < m.end() for r in rivals) and not mod.us.search(region):
            return "other"
        if _AWARD.search(m.group(0)) and not mod.us.search(region) and (
                mod.party.search(t, ls, s) or any(ls <= o.start < s for o in ours)):
            return "?"  # 他们中标了X项目: the customer won its own tender (a project for us, not a deal)
        return "us"
    a = ls + pm.end()
    verb = re.search(r"签|中|合作|下单|成交|拿下", t[a:m.end()])
    b = a + verb.start() if verb else m.end()
    who = t[a:b]
    if any(a <= r.start < b for r in rivals) or mod.others.search(who):
        return "other"
    if (not who.strip(BLANK + NAME) or mod.us.match(who) or mod.party.match(who)
            or any(o.start < b and a < o.end for o in ours)):
        return "us"
    return "?"


def _rival_owned(t: str, start: int, mod: Modality, rivals: list[Span]) -> bool:
    """Whether a topic word belongs to a rival: X的 / X家的 / 别家的 right before it."""
    left = t[max(0, start - 3):start]
    if not left.endswith("的"):
        return False
    owner_end = start - (2 if left.endswith("家的") else 1)
    return any(r.end == owner_end for r in rivals) or bool(mod.other_owner.search(t, max(0, owner_end - 4), owner_end + 1))




def _rival_object(t: str, m: re.Match[str], mod: Modality, rivals: list[Span]) -> bool:
    """Whether what follows the verb (up to the clause end) names a rival or 别家."""
    end = m.end()
    stop = min(len(t), end + WINDOW)
    hard = _HARD.search(t, end, stop)
    stop = hard.start() if hard else stop
    return any(end <= r.start < stop for r in rivals) or bool(mod.others.match(t, end))


def find_stage(text: str, masked: Iterable[Span], wishes: Iterable[Span] = (), *,
               future_dates: Iterable[Span] = (), ours: Iterable[Span] = (),
               rivals: Iterable[Span] = ()) -> tuple[str | None, Span | None]:
    """(stage, evidence span) or (None, span-or-None).

    `masked`: our planned actions and contact names (blanked, never evidence).
    `wishes`: clauses that state a wish; only early-stage cues count there.
    `future_dates`: spans of dates after the ref date (a cue next to one is a plan).
    `ours`: the customer mention and contacts (跟王总签了 is won); `rivals`: competitors.
    """
    mod = _modality()
    masked = list(masked)
    ours_l, rivals_l = list(ours), list(rivals)
    t = _blank(_blank(text, masked), ours_l, NAME)
    t_late = _blank(t, wishes)
    fut = list(future_dates)
    hits: dict[str, Span] = {}
    vetoes: set[str] = set()
    lost_spans: list[Span] = []
    won_spans: list[Span] = []
    caps: dict[str, Span] = {}
    loss_talk: list[Span] = []  # loss words no lost cue knows (确定丢了)
    later: list[tuple[str, Span]] = []  # every stage hit, for a loss followed by a new deal
    strong_needs = False
    cues, scanners = _cues(), _scanners()
    for i in _cue_index().candidates(text):  # t and t_late only blank parts of the text
        cue = cues[i]
        # wish clauses hide late cues; veto words are judged by the modality checks alone
        src = t if cue.early or cue.veto else t_late
        for m in scanners[i].finditer(src):
            if not _is_evidence(src, m, cue, mod, fut):
                continue
            stage = cue.stage
            if cue.veto and (_rival_owned(src, m.start(), mod, rivals_l) or mod.target.search(src, max(0, m.start() - 2), m.start())
                             or mod.included.search(src, max(0, m.start() - 4), m.start())):
                continue  # X的方案 (a rival's), 目标单价 (a requirement), 含两年质保 (an offer's content)
            if stage == "~won" and _AWARD.search(m.group(0)) and _signer(src, m, mod, ours_l, rivals_l) == "?":
                continue  # 他们中标了X项目: the customer's own tender, as for the won cue
            if stage.startswith("~"):
                vetoes.add(stage[1:])
                if stage == "~lost":
                    loss_talk.append(Span(m.start(), m.end()))
                break
            if stage.startswith("^"):
                caps.setdefault(stage[1:], Span(m.start(), m.end()))
                continue
            if stage == "needs" and not cue.weak:
                strong_needs = True
            if cue.signer:
                who = _signer(src, m, mod, ours_l, rivals_l)
                if stage == "won" and who != "us":
                    stage = "lost" if who == "other" else ""
                elif stage == "lost" and who == "us":
                    stage = ""
            if cue.by_object and not _rival_object(src, m, mod, rivals_l):
                continue
            if stage == "quote" and "比" not in m.group(0) and any(m.start() <= r.start < m.end() for r in rivals_l):
                continue  # 看过X的方案: a rival's proposal, not ours
            if not stage:
                continue
            span = Span(m.start(), m.end())
            if stage == "lost":
                lost_spans.append(span)
            elif stage == "won":
                won_spans.append(span)
            hits.setdefault(stage, span)
            if not cue.weak:
                later.append((stage, span))
    # a won cue inside a lost cue (最后还是跟别家签了) is part of the loss
    won_spans = [w for w in won_spans if not any(x.start <= w.start and w.end <= x.end for x in lost_spans)]
    if lost_spans:
        fresh = _after_loss(text, lost_spans, later)
        if fresh is not None:
            return fresh
        if won_spans or _new_request(text, lost_spans):  # contradicting evidence: no stage rather than a wrong one
            return None, None
        return "lost", lost_spans[0]
    if "lost" in vetoes and (hits.keys() - {"null"}):
        fresh = _after_loss(text, loss_talk, later) if loss_talk else None
        if fresh is not None:
            return fresh  # 那单丢了，另外想采购二十台: the new deal's stage
        return None, None  # loss talk in words no lost cue knows: do not guess a stage
    if "null" in hits and won_spans and all(mod.history.search(t, max(0, w.start - WINDOW), w.end + 12) for w in won_spans):
        won_spans = []  # 合同去年就签了，今天又困人了: a signing told as history in an after-sales note
    if not won_spans:
        hits.pop("won", None)
    else:
        hits["won"] = won_spans[0]
    best = None
    for st in ORDER:
        if st in hits:
            best = st
    if "contacted" in caps and best is None and "null" not in hits:
        best = "contacted"  # requirements said to be open: a conversation took place
        hits["contacted"] = caps["contacted"]
    late_talk = any(v in ORDER and ORDER.index(v) > ORDER.index("needs") for v in vetoes)
    if ("lead" in caps and "null" not in hits and not late_talk and "lost" not in vetoes
            and (best is None or ORDER.index(best) <= ORDER.index("needs"))):
        return "lead", caps["lead"]  # no conversation yet: what is known came second hand
    if "contacted" in caps and best == "needs" and not strong_needs:
        best = "contacted"
        hits.setdefault("contacted", caps["contacted"])
    if "null" in hits and (best is None or ORDER.index(best) <= ORDER.index("contacted")):
        return None, hits["null"]
    if best is None:
        return None, None
    if "reorder" in vetoes and ORDER.index(best) <= ORDER.index("needs"):
        return None, None  # replenishment of existing business: a quantity is no new need
    if any(v in ORDER and ORDER.index(v) > ORDER.index(best) for v in vetoes):
        return None, None  # a later stage is talked about in words no cue knows
    return best, hits[best]


def _after_loss(text: str, lost: list[Span], hits: list[tuple[str, Span]]) -> tuple[str, Span] | None:
    """A loss told as background, then a new deal (上次的标被X拿走了，不过这次新接了…需要两套):
    the stage of what follows, when firm cues (not topic words) show a new conversation or
    later and a new-deal word comes before the furthest of them."""
    end = max(x.end for x in lost)
    after = [(st, sp) for st, sp in hits if sp.start >= end and st in ORDER
             and ORDER.index(st) >= ORDER.index("contacted")]
    if not after:
        return None
    best = max(after, key=lambda h: ORDER.index(h[0]))
    return best if _modality().new_deal.search(text, end, best[1].start) else None


def _new_request(text: str, lost: list[Span]) -> bool:
    """A loss told as background, then a new request whose stage no firm cue names: the note is
    about the new opportunity, so 'lost' would move the wrong deal (precision first: no stage)."""
    end = max(x.end for x in lost)
    mod = _modality()
    nd = mod.new_deal.search(text, end)
    return nd is not None and mod.new_ask.search(text, nd.end()) is not None


_PAST_PREFIX = re.compile(r"(?:去年|前年|上个月|上月|上周|上礼拜|上星期)$")


def future_spans(text: str, dates: Iterable[tuple[date, Span]], ref: date) -> list[Span]:
    """Spans of the dates after `ref` (a cue next to one is a plan, not a fact).

    A date written right after 去年/上个月 is past whatever it resolved to (the resolver
    may roll 去年12月18日 forward), so it never makes a signing a plan."""
    return [sp for d, sp in dates if d > ref and not _PAST_PREFIX.search(text, 0, sp.start)]
