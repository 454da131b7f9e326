"""Which amount in a note may set the deal amount, and which must never touch it.

Managers trust the deal amount, yet a note carries many amounts: a competitor's price, a unit
price, a deposit, a gap between two offers. Each amount the extractor found gets a *role* from
how Chinese attributes money inside a clause: who the clause is about (我们 / 友商 / 发那科 /
the customer, carried over from the previous clause when the subject is dropped), per-unit forms
(单价, 每台, 元/台), difference forms (差了5万, 便宜3万) and the nearest cue word (合同, 报价, 预算,
定金, 到账). Only an order value, our quote (or one unit price × the stated quantity) and a budget
may propose a deal amount, in that order; when the top basis holds two values and no cue says which
one is final, the proposal is ambiguous so the bot asks instead of guessing.

Only yuan may set the deal: an amount in another currency (5万美元) has its role but no basis, and is
never converted.  A range (预算20到30万) is asked about, offering its two ends; an estimate (约80万,
二十几万, 不超过50万) may set the deal but the proposal says `approx` so it is shown as 约….

Pure: reads a `FollowUpDraft` (numbers, kinds and spans from `extraction.amounts`) and never
reparses money; cue words live in lexicon/deal_amount_cues.txt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise

from .amounts import cn_to_number
from .clauses import Clause, split_clauses
from .lexload import load_table
from .types import Amount, FollowUpDraft, Span

ROLES = ("order", "our_quote", "budget", "competitor", "unit_price", "total",
         "deposit", "difference", "payment", "other")
BASES = ("order", "quote", "budget")  # proposal order: the first basis with a fact wins
_WINDOW = 12  # how far back (characters) a cue word still attaches to an amount
_SENTENCE_END = frozenset("。！!？?；;\n")
_FILLERS = "了|个|大概|大约|约|将近|近|足足|整整|差不多|有|能|再|就|才|都|也|还|足有|至少|只|大约有"


@dataclass(frozen=True, slots=True)
class AmountFact:
    """One amount of the note with the part it plays; `text` is what the rep is shown."""

    value: float  # yuan
    kind: str | None  # the extractor's kind: budget|quote|order|payment|other|None
    role: str  # one of ROLES
    text: str  # e.g. "78万" or "2800元/台 × 30台 = 8.4万"
    span: Span
    currency: str = "CNY"  # ISO 4217; only CNY may become the deal amount (never converted)
    high: float | None = None  # the high end of a written range (value is the low end)
    approx: bool = False  # written as an estimate or a bound (约, 左右, 二十几万, 不超过)


@dataclass(frozen=True, slots=True)
class DealAmountProposal:
    """What the note says the deal is worth; `value` is None when the bot must ask."""

    value: float | None
    basis: str | None  # "order" | "quote" | "budget"
    text: str  # evidence / display text
    ambiguous: bool  # two different values of the top basis, or whose price it is is unclear
    options: tuple[AmountFact, ...]  # what to ask about when ambiguous
    approx: bool = False  # the value was written as an estimate: show it as 约…


# ---------------------------------------------------------------- cue words


@dataclass(frozen=True, slots=True)
class _Cues:
    role_of: dict[str, str]  # cue word -> its class in deal_amount_cues.txt (order, sum, lower …)
    role_re: re.Pattern[str]  # every role cue at every start (lookahead, longest first)
    final_re: re.Pattern[str]
    diff_re: re.Pattern[str]  # a difference cue (and fillers) right before the amount
    party_re: re.Pattern[str]
    party_of: dict[str, str]  # word -> ours|third|maybe_third|customer
    object_marks: tuple[str, ...]
    price_verb_re: re.Pattern[str]
    unit_before_re: re.Pattern[str]  # 每台 / 一台 / 单台 (+ 价格 …) right before the amount
    unit_after_re: re.Pattern[str]  # 元/台, 块一台 right after the amount
    qty_re: re.Pattern[str]


def _alt(words: tuple[str, ...] | list[str]) -> str:
    return "|".join(map(re.escape, sorted(set(words), key=len, reverse=True)))


@lru_cache(maxsize=1)
def _cues() -> _Cues:
    classes: dict[str, list[str]] = {}
    for key, rest in load_table("deal_amount_cues.txt"):
        classes.setdefault(key, []).extend(rest.split())
    role_classes = ("order", "contract", "volume", "our_quote", "sum", "budget", "deposit",
                    "payment", "unit_price", "other", "revise", "lower")
    role_of: dict[str, str] = {}
    for cls in role_classes:
        for w in classes.get(cls, []):
            role_of.setdefault(w, cls)
    party_of: dict[str, str] = {}
    for cls in ("ours", "third", "maybe_third", "customer"):
        for w in classes.get(cls, []):
            party_of.setdefault(w, cls)
    units = _alt(classes.get("qty_unit", []))
    cn = "零〇一二两三四五六七八九十百千"
    return _Cues(
        role_of=role_of,
        role_re=re.compile(rf"(?=({_alt(list(role_of))}))"),
        final_re=re.compile(_alt(classes.get("final", []) + classes.get("revise", []) + classes.get("lower", []))),
        diff_re=re.compile(rf"(?:{_alt(classes.get('difference', []))})(?:{_FILLERS})*$"),
        party_re=re.compile(_alt(list(party_of))),
        party_of=party_of,
        object_marks=tuple(sorted(classes.get("object_mark", []), key=len, reverse=True)),
        price_verb_re=re.compile(
            rf"(?:那边|这边|家)?(?:也|都|还|就|又|先|之前|当时)?(?:{_alt(classes.get('price_verb', []))})"),
        unit_before_re=re.compile(
            rf"(?<!第)(?:每|一|单)(?P<u>{units})(?!月|年|季|星期|礼拜|周|小时|天|次)[^\d\s，,。；;、]{{0,4}}$"),
        unit_after_re=re.compile(rf"^\s*(?:元|块钱|块)?\s*(?:/|／|每|一)\s*(?P<u>{units})"),
        qty_re=re.compile(
            rf"(?:数量(?:是|为|有|共|大概|约|[:：])*)?(?<![\d.,])(?P<n>\d+(?:\.\d+)?|[{cn}]+)(?P<wan>万)?"
            rf"(?:(?P<u>{units})(?!点|月|小时|工作日|星期|礼拜|季度|周|年|钟|亿|万))?"),
    )


# ---------------------------------------------------------------- parties (who a price belongs to)


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    party: str  # ours | third | third_maybe (对方报…: a vendor unless a budget cue says otherwise) | customer
    is_object: bool


_TIME_WORD = re.compile(r"^(?:[上下这本]个?(?:周|月|礼拜|星期)|[今明昨前后]天|[去今明]年|当时|之前|后来)")
_QUOTES_TO_THEM = re.compile(r"(?:这边|那边)?(?:也|都|还|就|又|先|之前)?给(?:他们|她们|客户|甲方)\S{0,3}?(?:报|开)")


def _occurrences(text: str, word: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(re.escape(word), text)] if word else []


def _party_tokens(text: str, draft: FollowUpDraft) -> list[_Token]:
    """Subjects and objects that can own a price: our side, competitors, the customer."""
    cues = _cues()
    fixed: list[tuple[int, int, str]] = []
    for comp in draft.competitors:
        if not _TIME_WORD.match(comp.text):  # 上周报了50万: a time word, not a vendor
            fixed += [(a, b, "third") for a, b in _occurrences(text, comp.text)]
    if draft.customer is not None:
        fixed += [(a, b, "customer") for a, b in _occurrences(text, draft.customer.text)]
    fixed += [(c.span.start, c.span.end, "customer") for c in draft.contacts]
    # a vendor quoting to the customer is a third party even when it was read as the customer
    fixed = [(a, b, "third" if p == "customer" and _QUOTES_TO_THEM.match(text, b) else p)
             for a, b, p in fixed]
    spans = [(a, b) for a, b, _ in fixed]
    for m in cues.party_re.finditer(text):
        if any(m.start() < e and s < m.end() for s, e in spans):
            continue
        party = cues.party_of[m.group(0)]
        if party == "maybe_third":  # 对方报了… is another vendor; 对方说/对方预算 is the customer
            party = "third_maybe" if cues.price_verb_re.match(text, m.end()) else "customer"
        elif party == "customer" and _QUOTES_TO_THEM.match(text, m.end()):
            party = "third"
        fixed.append((m.start(), m.end(), party))
    out = []
    for a, b, party in sorted(fixed):
        before = text[max(0, a - 3):a]
        out.append(_Token(a, b, party, before.endswith(cues.object_marks)))
    return out


_OWN_AFTER = re.compile(r"(?:这边|那边|家)?(?:的|报的|给的|开的|出的)(?:报价|价格|价钱|价|单价|总价)?"
                        r"(?:是|为|才|就|也|都|大概|差不多|约)*$")
_MODIFIER = re.compile(r"(?:这边|那边)?的(?!报价|价格|价钱|价|单价|总价)")
_OWN_OF = re.compile(r"(?:这边|那边|家)?的")
_OWNER_RIGHT = re.compile(r"(?:这边|那边|家)?(?:的|报的|给的|开的|出的)")
_WE_QUOTE_TO = re.compile(r"给(?:他们|她们|他|她|客户|对方|人家|甲方)(?:\S{0,3}?)(?:报|开)|报给")
_COORDINATION = re.compile(r"^(?:和|跟|与|及)$")
_BOTH = re.compile(r"(?:都|也|两家|双方|分别)")


def _topic(text: str, clause: Clause, tokens: list[_Token]) -> str | None:
    """Who a clause is about: its first subject, or 我们 when it says 给他们报 / 报给."""
    for t in tokens:
        if clause.start <= t.start < clause.end and not t.is_object and not _MODIFIER.match(text, t.end):
            return t.party
    if _WE_QUOTE_TO.search(clause.text):
        return "ours"
    return None


@dataclass(frozen=True, slots=True)
class _Owner:
    party: str | None
    unclear: bool  # 我们和友商都报了 / 分别报了: the amount could be either side's


def _owner(text: str, a: Amount, clause: Clause, tokens: list[_Token], carried: str | None) -> _Owner:
    """The party an amount belongs to (possessive, then the nearest subject, then the topic)."""
    left_tokens = [t for t in tokens if clause.start <= t.start and t.end <= a.span.start]
    if left_tokens:  # 我们的78万 / 发那科报的50万: a possessive right before the amount decides
        last = left_tokens[-1]
        gap = text[last.end:a.span.start]
        # an object owns only by 的 (比我们的78万); 给他们报的价 is the subject's price
        if _OWN_AFTER.match(gap) and not (last.is_object and not _OWN_OF.match(gap)):
            return _Owner(last.party, False)
    for t in tokens:  # 50万是发那科报的
        gap = text[a.span.end:t.start]
        if a.span.end <= t.start < clause.end and gap in ("", "是", "为", "也是", "就是") \
                and t.party != "customer" and _OWNER_RIGHT.match(text, t.end):
            return _Owner(t.party, False)
    for x, y in pairwise(left_tokens):  # 我们和友商都报了…
        sides = {x.party.removesuffix("_maybe"), y.party.removesuffix("_maybe")}
        if sides == {"ours", "third"} and _COORDINATION.match(text[x.end:y.start]) \
                and _BOTH.match(text, y.end):
            return _Owner("ours", True)
    subjects = [t for t in left_tokens if not t.is_object and not _MODIFIER.match(text, t.end)]
    if subjects:
        return _Owner(subjects[-1].party, False)
    if _WE_QUOTE_TO.search(text[clause.start:a.span.start]):
        return _Owner("ours", False)
    return _Owner(carried, False)


# ---------------------------------------------------------------- roles


@dataclass(frozen=True, slots=True)
class _Read:
    role: str
    final: bool
    unclear: bool
    unit: str | None  # the counting unit of a unit price (台), when the note says it
    priced: bool = True  # a unit price of ours (not a per-unit budget): it may make a total


def _nearest_cue(text: str, lo: int, hi: int, after: int, stop: int) -> str | None:
    """The role cue nearest before `hi` within [lo, hi); else one right after the amount.

    A sum word (一共, 总价) defers to a cue further back: 预算一共80万 is a budget.
    """
    cues = _cues()
    window = text[lo:hi]
    found: list[tuple[int, int, str]] = []  # (end, length, word)
    for m in cues.role_re.finditer(window):
        w = m.group(1)
        found.append((m.start() + len(w), len(w), w))
    found.sort(reverse=True)
    roles = [cues.role_of[w] for _, _, w in found]
    if roles:
        if roles[0] == "sum":
            return next((r for r in roles if r != "sum"), "sum")
        return roles[0]
    right = text[after:stop]
    m2 = re.match(r"(?:的|已经|已|都|还|也|刚刚|刚|了|左右|上下|多|的样子)*", right)
    rest = right[m2.end():] if m2 else right
    for w in sorted(cues.role_of, key=len, reverse=True):
        if rest.startswith(w):
            return cues.role_of[w]
    return None


_KIND_ROLE = {"budget": "budget", "quote": "our_quote", "order": "order", "payment": "payment"}


def _read(text: str, a: Amount, clause: Clause, prev: Clause | None, prev_amount: AmountFact | None,
          owner: _Owner, earlier: list[str], signed: bool) -> _Read:
    """The role of one amount: difference, competitor, unit price, then the nearest cue."""
    cues = _cues()
    prev_end = prev_amount.span.end if prev_amount else 0
    lo = max(clause.start, prev_end, a.span.start - _WINDOW)
    if prev is not None and _APPOSITION.match(text[clause.start:a.span.start]):
        lo = max(prev.start, prev_end, a.span.start - _WINDOW)  # 作为保证金，大概三十五万
    left = text[lo:a.span.start]
    right = text[a.span.end:clause.end]
    final = bool(cues.final_re.search(left))
    if cues.diff_re.search(left) or _COMPARED.search(left) or re.match(r"(?:的)?(?:差价|差距|差额)", right):
        return _Read("difference", final, False, None)
    role = _nearest_cue(text, lo, a.span.start, a.span.end, clause.end)
    if owner.party == "third" or (owner.party == "third_maybe" and role != "budget"):
        return _Read("competitor", final, False, None)
    mu = cues.unit_after_re.match(right) or cues.unit_before_re.search(left)
    if mu and role not in ("other", "deposit", "payment"):  # 成本每瓶八块 is a cost, not a price
        return _Read("unit_price", final, False, mu.group("u"), role != "budget")
    if role in ("contract", "sum"):
        role = "order" if signed else "our_quote"
    elif role == "volume":
        role = "order" if signed else "budget"
    if role in ("revise", "lower"):
        final = True
        if prev_amount is not None and prev_amount.span.start >= clause.start \
                and "从" in text[clause.start:prev_amount.span.start]:
            role = prev_amount.role  # 从X降到Y: Y is a new X
        else:
            last = next((r for r in reversed(earlier) if r in ("order", "our_quote", "budget")), None)
            if role == "lower":
                role = "order" if last == "order" else "our_quote"
            else:
                role = last or "our_quote"
    elif role is None:
        role = _KIND_ROLE.get(a.kind or "", "other")
        if role == "order" and not signed:
            role = "our_quote"  # a contract value before signing is still the price on the table
        if owner.party == "ours" and role == "other":
            role = "our_quote"
    if owner.party == "ours" and role == "budget":  # 我们最多能给到40万 is our price
        role = "our_quote"
    return _Read(role, final, owner.unclear and role in ("our_quote", "order"), None)


# X比我们高3万: a comparison ending right before the amount names a gap
_COMPARED = re.compile(r"比[^，。；;\d]{1,8}?(?:高|低|多|少|贵|便宜)(?:了|出|出了)?(?:" + _FILLERS + ")*$")
# an amount that opens its clause belongs to the clause before: 作为保证金，大概三十五万
_APPOSITION = re.compile(r"^(?:大概|大约|约|差不多|将近|才|只有|就|是|也就|一共|总共|共|左右)*$")


# ---------------------------------------------------------------- quantities and totals


@dataclass(frozen=True, slots=True)
class _Qty:
    value: float
    unit: str | None
    span: Span


def _quantities(text: str, taken: list[tuple[int, int]]) -> list[_Qty]:
    """Counts of goods (30台, 两百套, 数量30); never part of an amount, a date or 每台/一台."""
    out: list[_Qty] = []
    for m in _cues().qty_re.finditer(text):
        unit = m.group("u")
        stated = m.group(0).startswith("数量")
        if not unit and not stated:
            continue
        a, b = m.span()
        if any(a < e and s < b for s, e in taken):
            continue
        n = m.group("n")
        if not n[0].isdigit() and len(n) > 1 and all(c not in "十百千" for c in n):
            continue  # 两三台 is a range, not 23
        if text[max(0, m.start("n") - 1):m.start("n")] in ("每", "单"):
            continue
        v = cn_to_number(n)
        if v is None:
            continue
        v *= 1e4 if m.group("wan") else 1
        if v <= 1:
            continue  # 一台6800 is a unit price
        out.append(_Qty(v, unit, Span(a, b)))
    return out


def _money(v: float) -> str:
    """78万 / 2800元 / 1.2亿: how a rep writes an amount."""
    def trim(x: float) -> str:
        return f"{x:.4f}".rstrip("0").rstrip(".")
    if v >= 1e8:
        return trim(v / 1e8) + "亿"
    if v >= 1e4:
        return trim(v / 1e4) + "万"
    return trim(v) + "元"


def _total(text: str, draft: FollowUpDraft, units: list[tuple[AmountFact, str | None]],
           taken: list[tuple[int, int]]) -> AmountFact | None:
    """One unit price × the one stated quantity, when the note gives exactly one of each."""
    if len({round(f.value, 2) for f, _ in units}) != 1:
        return None  # two unit prices (or none of ours): no single total to compute
    up, unit = units[0]
    if up.currency != "CNY" or up.high is not None:
        return None  # a foreign price or a price range: no yuan total to state
    unit = next((u for _, u in units if u), unit)
    qtys = _quantities(text, taken)
    if unit:
        same = [q for q in qtys if q.unit == unit]
        qtys = same or [q for q in qtys if q.unit is None]
    if len({q.value for q in qtys}) != 1:
        return None
    q = qtys[0]
    unit = unit or q.unit
    value = round(up.value * q.value, 2)
    per = f"{_money(up.value)}/{unit}" if unit else _money(up.value)
    count = f"{q.value:g}{unit or ''}"
    span = Span(min(up.span.start, q.span.start), max(up.span.end, q.span.end))
    kind = "order" if draft.stage == "won" else "quote"
    return AmountFact(value, kind, "total", f"{per} × {count} = {_money(value)}", span, approx=up.approx)


# ---------------------------------------------------------------- public API


@dataclass(frozen=True, slots=True)
class _Analysis:
    facts: tuple[AmountFact, ...]
    final: tuple[bool, ...]
    unclear: tuple[bool, ...]


# the deal is signed: contract words and sums then name the order value
_SIGNED = re.compile(r"(?<![没未])(?<!准备)(?<!可以)(?<!打算)(?<!等着)"
                     r"(?:签了|签约了|签下来|签下了|签好了|签完了|签订了|签署了|已签|已于[^，。；]{0,12}签"
                     r"|下了单|下单了|下了PO|PO下来了|订单确认|中标了)")


def _mask(text: str, amounts: list[Amount]) -> str:
    """Keep 2,800 in one clause: commas inside amount spans are not clause breaks."""
    chars = list(text)
    for a in amounts:
        for i in range(a.span.start, min(a.span.end, len(chars))):
            if chars[i] in ",，":
                chars[i] = "0"
    return "".join(chars)


def _clause_at(clauses: list[Clause], pos: int) -> int:
    """Index of the clause holding `pos` (the last one starting before it)."""
    at = 0
    for i, c in enumerate(clauses):
        if c.start <= pos:
            at = i
    return at


def _analyse(draft: FollowUpDraft) -> _Analysis:
    text = draft.text
    amounts = sorted(draft.amounts, key=lambda x: x.span.start)
    if not amounts:
        return _Analysis((), (), ())
    clauses = split_clauses(_mask(text, amounts)) or [Clause(text, 0, len(text))]
    tokens = _party_tokens(text, draft)
    # the subject carried into a clause that drops it (same sentence only)
    carried: list[str | None] = []
    prev_topic: str | None = None
    for i, c in enumerate(clauses):
        same_sentence = i > 0 and not any(ch in _SENTENCE_END for ch in text[clauses[i - 1].end:c.start])
        carried.append(prev_topic if same_sentence else None)
        prev_topic = _topic(text, c, tokens) or (prev_topic if same_sentence else None)
    signed = draft.stage == "won" or bool(_SIGNED.search(text))
    facts: list[AmountFact] = []
    finals: list[bool] = []
    unclear: list[bool] = []
    units: list[tuple[AmountFact, str | None]] = []
    roles: list[str] = []
    for a in amounts:
        ci = _clause_at(clauses, a.span.start)
        clause = clauses[ci]
        same_sentence = ci > 0 and not any(ch in _SENTENCE_END for ch in text[clauses[ci - 1].end:clause.start])
        owner = _owner(text, a, clause, tokens, carried[ci])
        r = _read(text, a, clause, clauses[ci - 1] if same_sentence else None,
                  facts[-1] if facts else None, owner, roles, signed)
        roles.append(r.role)
        fact = AmountFact(a.value, a.kind, r.role, a.text, a.span, a.currency, a.high, a.approx)
        facts.append(fact)
        finals.append(r.final)
        unclear.append(r.unclear)
        if r.role == "unit_price" and r.priced:
            units.append((fact, r.unit))
    if units:
        taken = [(x.span.start, x.span.end) for x in amounts] + [(d.span.start, d.span.end) for d in draft.dates]
        total = _total(text, draft, units, taken)
        if total is not None:
            at = facts.index(units[0][0]) + 1
            facts.insert(at, total)
            finals.insert(at, False)
            unclear.insert(at, False)
    return _Analysis(tuple(facts), tuple(finals), tuple(unclear))


def amount_facts(draft: FollowUpDraft) -> list[AmountFact]:
    """Every amount of the note with its role, in text order (a computed total follows its unit price)."""
    return list(_analyse(draft).facts)


def _basis(f: AmountFact) -> str | None:
    if f.currency != "CNY":
        return None  # 5万美元 is never a yuan deal amount; the rep sees it among the amounts
    if f.role == "order" or (f.role == "total" and f.kind == "order"):
        return "order"
    if f.role in ("our_quote", "total"):
        return "quote"
    return "budget" if f.role == "budget" else None


def deal_amount_proposal(draft: FollowUpDraft) -> DealAmountProposal | None:
    """The amount the deal should take from this note, or None when no amount may touch it.

    order > our quote (or unit price × quantity) > budget; a computed total counts only when the
    basis has no amount stated outright. Two values in the top basis: the one a 最终/最后/改成
    cue marks wins (the last such), otherwise the proposal is ambiguous and lists the options.
    A range (预算20到30万) never sets the deal by itself: the bot asks, offering its two ends.
    Amounts in another currency (5万美元) never propose a deal amount (it is kept in yuan).
    """
    return _propose(_analyse(draft))


def read_amounts(draft: FollowUpDraft) -> tuple[list[AmountFact], DealAmountProposal | None]:
    """`amount_facts` and `deal_amount_proposal` from one analysis (the note path needs both)."""
    an = _analyse(draft)
    return list(an.facts), _propose(an)


def _ends(f: AmountFact) -> tuple[AmountFact, ...]:
    """A range (20到30万) is asked about as its two ends; any other amount as itself."""
    if f.high is None:
        return (f,)
    return (replace(f, high=None), replace(f, value=f.high, high=None))


def _propose(an: _Analysis) -> DealAmountProposal | None:
    for basis in BASES:
        idx = [i for i, f in enumerate(an.facts) if _basis(f) == basis]
        if not idx:
            continue
        explicit = [i for i in idx if an.facts[i].role != "total"]
        idx = explicit or idx
        values = {round(an.facts[i].value, 2) for i in idx}
        if len(values) == 1 and an.facts[idx[0]].high is None:
            f = an.facts[idx[0]]
            return DealAmountProposal(f.value, basis, f.text, False, (), f.approx)
        finals = [i for i in idx if an.final[i] and not an.unclear[i]]
        if finals and not any(an.unclear[i] for i in idx) and an.facts[finals[-1]].high is None:
            f = an.facts[finals[-1]]
            return DealAmountProposal(f.value, basis, f.text, False, (), f.approx)
        options: list[AmountFact] = []
        for f in (e for i in idx for e in _ends(an.facts[i])):
            if all(round(o.value, 2) != round(f.value, 2) for o in options):
                options.append(f)
        return DealAmountProposal(None, basis, " / ".join(o.text for o in options), True, tuple(options))
    return None


__all__ = ["ROLES", "AmountFact", "DealAmountProposal", "amount_facts", "deal_amount_proposal", "read_amounts"]
