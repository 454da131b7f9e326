"""A signed contract stated in a note: its value and its payment schedule.

Pure (text and today in, `ContractTerms` out), like the rest of the extraction engine; money and
dates are read by `extraction.amounts` and `extraction.dates`.

Whether a note *states* a signing is decided by cue classes rather than sentence lists: a
completed-signing pattern (合同签了, 签了合同, 签约了, 合同回来了, 盖章回来了, PO下来了 …) counts
only when nothing in its clause turns it into something else:

- negation attached to the verb (还没签下来, 合同未签), unless it is a non-negating compound
  (没想到合同签了, 不到一周就签了);
- intent, modality or condition before it (准备 / 打算 / 争取 / 如果 / 等 / 会 / 应该 …);
- a date after today before it (下周一合同签了再说 is a plan);
- a question after it (合同签了吗 / 签了没);
- a competitor as the other party (跟友商签了合同, 签了西门子).

The schedule is read per installment label (首付, 预付款, 进度款, 尾款, 质保金 …): the text from the
label to the next label or sentence end, continued over comma-clauses that carry a date, a ratio,
an amount or a payment verb ("首付30%，下周五前打过来").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .amounts import cn_to_number, find_amounts
from .dates import find_dates
from .lexload import load_list
from .types import Amount, Span


@dataclass(frozen=True, slots=True)
class InstallmentTerm:
    """One payment of the schedule as the note states it (ratio of the total, or an amount)."""

    label: str
    ratio: float | None
    amount: float | None
    due: date | None
    text: str
    paid: bool = False  # the note says it has already arrived (首付已经到账)


@dataclass(frozen=True, slots=True)
class ContractTerms:
    amount: float | None  # the contract value; None when the note does not say it
    installments: tuple[InstallmentTerm, ...] = ()
    evidence: str = ""  # the words that state the signing

    def total(self) -> float | None:
        """The contract value, or what an installment's ratio and amount imply (30%是36万 → 120万)."""
        if self.amount is not None:
            return self.amount
        for t in self.installments:
            if t.ratio and t.amount:
                return round(t.amount / t.ratio, 2)
        return None


class ScheduleError(ValueError):
    """The stated schedule does not fit the contract value ("missing": an installment without
    amount or ratio that is not the remainder; "over": more than the contract value)."""

    def __init__(self, reason: str, label: str = "") -> None:
        super().__init__(f"{reason}: {label}" if label else reason)
        self.reason = reason
        self.label = label


REMAINDER_LABEL = "余款"  # what the schedule adds when the stated installments leave a balance

# ---------------------------------------------------------------- signing cues

_P = r"[^，,。；;！!？?\s]"  # any character inside a clause
_DOC = r"(?:采购合同|框架协议|合同|协议|订单|单子)"
_SIGN = r"(?:签署|签订|签)"
_SIGNED_PATTERNS = (
    rf"{_DOC}{_P}{{0,6}}?(?P<v>{_SIGN})(?:了|完了|好了|下来了|下了)",       # 合同签了 / 合同昨天签好了
    rf"(?P<v>{_SIGN})(?:了|完|好|下了?){_P}{{0,10}}?{_DOC}",                # 签了合同 / 签了120万的合同
    rf"(?P<v>{_SIGN}){_DOC}了",                                            # 签合同了 / 签订单了
    r"(?P<v>签约)(?:了|成功|完成|完毕)|(?:已经?|完成了?|正式)(?P<v2>签约)",  # 签约了 / 已签约
    r"(?P<v>签)(?:下来|回来)了",                                           # 单子签下来了
    r"(?:合同|协议|双签版?)(?:已经?)?(?P<v>(?:寄|拿|传)?回来了|回传了|收到了)",  # 合同回来了
    rf"(?P<v>盖)(?:好|完)?了?章{_P}{{0,3}}?(?:回来了|回传了|了)",            # 盖章回来了 / 盖好章了
    r"(?:PO|po|采购订单|采购单|订单)(?:已经?)?(?P<v>下来了|下了|到了|确认了|发过来了|来了)",  # PO下来了
    r"(?P<v>下)(?:了(?:PO|po|订单|采购单|单)|(?:PO|po|订单|单)了)",           # 下了PO / 下单了
    r"(?:已经?|正式)(?P<v>成交)|(?P<v2>成交)了",
)
_SIGNED = [re.compile(p) for p in _SIGNED_PATTERNS]

# Negation attached to the verb (a few characters of filler allowed: 还没跟客户签下来) …
_NEG = re.compile(rf"(?:没有?|未|不|别|无法|没能|尚未){_P}{{0,6}}$")
# … except compounds where the negator negates nothing about the signing.
_NOT_NEG = re.compile(r"没想到|没多久|没几天|没过多久|不到|不久|不过|不错|不少|差不多|不仅|不但|不管|不用")
# Intent, modality and condition anywhere before the verb in its clause.
_INTENT = re.compile(
    r"准备|打算|计划|预计|预期|争取|希望|有望|估计|应该|可能|也许|或许|即将|将要|就要|快要|马上|尽快|力争"
    r"|到时候|如果|要是|假如|万一|一旦|只要|能不能|能否|是否|可以|能够|(?<![可功性])能(?![力源])"
    r"|(?<!没)想(?!到)|等(?!了|待了)|(?<![开完散例周晨年大])会(?![议上后])|(?<![主需重只想还])要(?!求)"
)
_QUESTION_AFTER = re.compile(r"^(?:[吗么嘛]|没有?|了没|与否)")
_CONDITION_AFTER = re.compile(r"^(?:的话|再说|再|才|就好|就行|就可以)")
_RIVAL = re.compile(r"友商|竞品|竞争对手|对手|别家|别人家?|其他(?:家|供应商|厂家)|别的(?:供应商|厂家|家)")
_CLAUSE_END = re.compile(r"[，,。；;！!？?\n]")


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The punctuation-delimited clause around [start, end)."""
    left = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    m = _CLAUSE_END.search(text, end)
    return left, (m.start() if m else len(text))


def _rival_party(pre: str, post: str) -> bool:
    brands = load_list("competitors.txt")
    if _RIVAL.search(pre) or any(b in pre[-8:] for b in brands):
        return True
    return any(post.startswith(b) for b in brands) or bool(_RIVAL.match(post))


def _states_signing(text: str, m: re.Match[str], today: date) -> bool:
    verb = m.start("v") if m.group("v") is not None else m.start("v2")
    c_start, c_end = _clause_bounds(text, m.start(), m.end())
    pre, post = text[c_start:verb], text[m.end():c_end]
    neg = _NEG.search(pre)
    if neg and not _NOT_NEG.search(pre[max(0, neg.start() - 2):]):
        return False
    if _INTENT.search(pre) or _QUESTION_AFTER.match(post) or _CONDITION_AFTER.match(post):
        return False
    if c_end < len(text) and text[c_end] in "？?" and not post:
        return False
    if any(d.value > today for d in find_dates(pre, today)):
        return False
    return not _rival_party(pre, post)


def find_signing(text: str, today: date) -> Span | None:
    """Where the note states that a contract was signed (earliest such statement), else None."""
    hits = [m for rx in _SIGNED for m in rx.finditer(text) if _states_signing(text, m, today)]
    if not hits:
        return None
    m = min(hits, key=lambda h: h.start())
    return Span(m.start(), m.end())


# ---------------------------------------------------------------- schedule

_LABEL = re.compile(
    r"首付款|首期款|首付|首期|预付款|预付|定金|订金|进度款|中期款|到货款|发货款|提货款|验收款|尾款|质保金|质保款|余款"
    r"|第[一二三四五六1-6]期款?|[二三四五六]期款|剩下的|剩余的?|其余的?|余下的"
)
_LABEL_NAMES = {"首付款": "首付", "首期款": "首付", "首期": "首付", "订金": "定金", "质保款": "质保金",
                "剩下的": "余款", "剩余": "余款", "剩余的": "余款", "其余": "余款", "其余的": "余款",
                "余下的": "余款"}
_REST_WORDS = ("剩下的", "剩余", "剩余的", "其余", "其余的", "余下的")  # labels only when money follows
_CN_NUM = r"[零〇一二两三四五六七八九十百点\d.]+"
_RATIO = re.compile(
    rf"(?P<pct>\d+(?:\.\d+)?)\s*[%％]|百分之(?P<cnpct>{_CN_NUM})"
    r"|(?P<tenth>[一二两三四五六七八九]|\d)成(?P<half>半)?(?![交功为立])|(?P<half_all>一半)"
)
_PAY_VERB = re.compile(r"付|打过来|打款|到账|结清|结算|支付|汇|转账|转过来|回款|交")
_PAID = re.compile(r"(?:已经?|已)(?:付|支付|打|到账|收到|转)|(?:付|打过来|到账|收到|转过来|结清|付清)了")
_PAID_NEG = re.compile(rf"(?:没|未|还没){_P}{{0,3}}$")
_SOFT_END = re.compile(r"[，,、\s]+")
_HARD_END = re.compile(r"[。；;！!？?\n]")


def _ratio(m: re.Match[str]) -> float | None:
    if m.group("pct"):
        v: float | None = float(m.group("pct")) / 100
    elif m.group("cnpct"):
        n = cn_to_number(m.group("cnpct"))
        v = n / 100 if n is not None else None
    elif m.group("tenth"):
        t = m.group("tenth")
        n = float(t) if t.isdigit() else cn_to_number(t)
        v = (n / 10 + (0.05 if m.group("half") else 0)) if n is not None else None
    else:
        v = 0.5
    return round(v, 4) if v is not None and 0 < v <= 1 else None


def _continues(clause: str, today: date) -> bool:
    """Whether a comma-clause after an installment still talks about that installment."""
    if not clause or _LABEL.search(clause):
        return False
    starts = (any(d.span.start == 0 for d in find_dates(clause, today)) or bool(_RATIO.match(clause))
              or any(a.span.start == 0 for a in find_amounts(clause)))
    return starts or bool(_PAY_VERB.search(clause))


def _segment_end(text: str, label_end: int, limit: int, today: date) -> int:
    """End of an installment's text: its own clause plus the comma-clauses that continue it."""
    hard = _HARD_END.search(text, label_end, limit)
    limit = hard.start() if hard else limit
    cut = _SOFT_END.search(text, label_end, limit)
    end = cut.start() if cut else limit
    while cut is not None:
        nxt = _SOFT_END.search(text, cut.end(), limit)
        clause_end = nxt.start() if nxt else limit
        if not _continues(text[cut.end():clause_end], today):
            break
        end, cut = clause_end, nxt
    return end


def _prefix_start(text: str, label_start: int, floor: int) -> int:
    """Start of the label's own clause (for a ratio or date said before it: 30%的首付)."""
    soft = [m.end() for m in re.finditer(r"[，,、。；;！!？?\s]", text[:label_start])]
    return max([floor, *soft])


def _first_free_amount(seg: str, blocked: list[tuple[int, int]], today: date) -> Amount | None:
    skip = [d.span for d in find_dates(seg, today)] + [Span(a, b) for a, b in blocked]
    found = find_amounts(seg, skip=skip)
    return found[0] if found else None


def _installment(text: str, m: re.Match[str], end: int, floor: int, today: date) -> InstallmentTerm:
    seg = text[m.start():end]
    pre = text[_prefix_start(text, m.start(), floor):m.start()]
    r = _RATIO.search(seg) or _RATIO.search(pre)
    ratio = _ratio(r) if r else None
    blocked = [r.span()] if r and r.string is seg else []
    amount = _first_free_amount(seg, blocked, today)
    dates = find_dates(seg, today) or find_dates(pre, today)
    paid = _PAID.search(seg)
    return InstallmentTerm(
        label=_LABEL_NAMES.get(m.group(0), m.group(0)),
        ratio=ratio,
        amount=amount.value if amount else None,
        due=dates[0].value if dates else None,
        text=seg.strip(),
        paid=bool(paid and not _PAID_NEG.search(seg[:paid.start()])),
    )


def _installments(text: str, today: date) -> tuple[list[InstallmentTerm], list[tuple[int, int]]]:
    """Installments in order, and the text spans they were read from."""
    labels = [m for m in _LABEL.finditer(text) if not _in_word(text, m)]
    out, spans = [], []
    floor = 0
    for k, m in enumerate(labels):
        limit = labels[k + 1].start() if k + 1 < len(labels) else len(text)
        end = _segment_end(text, m.end(), limit, today)
        term = _installment(text, m, end, floor, today)
        if m.group(0) in _REST_WORDS and not _is_money_talk(term):
            continue  # 剩下的问题下周再说: not a payment
        out.append(term)
        spans.append((m.start(), end))
        floor = end
    return out, spans


def _in_word(text: str, m: re.Match[str]) -> bool:
    """预付 in 预付费 is a billing model, not an installment."""
    return m.group(0) == "预付" and text[m.end():m.end() + 1] == "费"


def _is_money_talk(term: InstallmentTerm) -> bool:
    return term.ratio is not None or term.amount is not None or bool(_PAY_VERB.search(term.text))


# ---------------------------------------------------------------- contract value

_TOTAL_CUE = re.compile(r"(?:合同金额|合同总额|合同总价|合同额|合同价|总金额|总价|总额|总共|一共|合计|签了|签约|签下)"
                        rf"{_P}{{0,3}}$")


def _contract_amount(text: str, amounts: list[Amount], taken: list[tuple[int, int]]) -> float | None:
    """The contract value: an amount outside the installments, by cue, then kind, then position."""
    # a contract is booked in yuan at one value: never another currency, a range or an estimate
    free = [a for a in amounts if not any(s <= a.span.start < e for s, e in taken)
            and a.currency == "CNY" and a.high is None and not a.approx]
    for a in free:
        before = text[max(0, a.span.start - 8):a.span.start]
        if _TOTAL_CUE.search(before) or text[a.span.end:a.span.end + 3].startswith(("的合同", "的单", "的订单")):
            return a.value
    for a in free:
        if a.kind == "order":
            return a.value
    rest = [a for a in free if a.kind != "budget"]
    return rest[0].value if rest else None


def parse_terms(text: str, today: date, evidence: str = "") -> ContractTerms:
    """Contract value and schedule from text already known to be about a signed contract
    (a note with a signing cue, or the arguments of the 签约 command)."""
    installments, taken = _installments(text, today)
    amounts = find_amounts(text, skip=[d.span for d in find_dates(text, today)])
    return ContractTerms(_contract_amount(text, amounts, taken), tuple(installments), evidence)


def find_contract_terms(text: str, today: date) -> ContractTerms | None:
    """The contract a note says was signed, or None when it states no signing."""
    span = find_signing(text, today)
    if span is None:
        return None
    return parse_terms(text, today, text[span.start:span.end])


def installment_schedule(terms: ContractTerms, total: Decimal) -> list[tuple[str, Decimal, date | None]]:
    """(label, amount, due) rows for `store.contracts.create_contract`.

    A ratio is taken of `total`; one installment with neither ratio nor amount gets the rest;
    a balance left by the stated installments becomes a `REMAINDER_LABEL` row without a date,
    so the schedule always adds up to the contract value. Raises ScheduleError otherwise.
    """
    cent = Decimal("0.01")
    rows: list[tuple[str, Decimal | None, date | None]] = []
    for t in terms.installments:
        if t.amount is not None:
            amt: Decimal | None = Decimal(str(t.amount)).quantize(cent)
        elif t.ratio is not None:
            amt = (total * Decimal(str(t.ratio))).quantize(cent, ROUND_HALF_UP)
        else:
            amt = None
        rows.append((t.label, amt, t.due))
    known = sum((a for _, a, _ in rows if a is not None), Decimal(0))
    if known > total:
        raise ScheduleError("over")
    open_rows = [r for r in rows if r[1] is None]
    if len(open_rows) > 1 or (open_rows and known == total):
        raise ScheduleError("missing", open_rows[0][0])  # the remainder is usually the last
    rest = total - known
    out = [(label, amt if amt is not None else rest, due) for label, amt, due in rows]
    if rest > 0 and not open_rows and out:
        out.append((REMAINDER_LABEL, rest, None))
    return [(label, amt, due) for label, amt, due in out if amt > 0]
