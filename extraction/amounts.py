"""Monetary amounts in notes -> yuan, with a coarse kind (README §2 amounts).

Handles Arabic and Chinese numerals, 万/w/亿/千/块/元 units, colloquial forms
(一万二 = 12000, 两千五 = 2500, 三个亿) and bare numbers that are clearly money in context
(一台6800, 单价再让五十).  Percentages, discounts, quantities with a unit, durations and
date numbers are not amounts; callers pass the date spans so they are skipped.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from .lexload import load_list
from .types import Amount, Span

_D = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5,
      "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一二两三四五六七八九十百千"

# A match of the two patterns below starts with its number: the look-ahead lets the regex
# engine pass over every other position with one test (the same matches, about twice as fast).
_NUM_START = rf"(?=[\d{_CN}])"

# number, optional 个, unit.  Colloquial tail digit after 万/千 (一万二, 两千五).
_AMOUNT_RE = re.compile(
    rf"{_NUM_START}(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d+(?:\.\d+)?|[{_CN}]+(?:点[{_CN}]+)?)"
    r"(?P<ge>个|多|来|余)?"
    rf"(?P<unit>亿|万|[wW](?![a-zA-Z])|[kK](?![a-zA-Z])|千|块钱|块|元|RMB|rmb)"
    rf"(?:(?P<sub>[一二两三四五六七八九]|\d)千|(?P<tail>[一二两三四五六七八九]|\d)(?![\d.千百十万亿个只台件吨套家人天月年号周倍点成折斤米瓦箱瓶盒张支片包袋桶卷双副条辆]))?"
)
# bare numbers (no unit) that may be money when the context says so
_BARE_RE = re.compile(
    rf"{_NUM_START}(?<![\d.,])(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d{{2,9}}(?:\.\d+)?|\d\.\d+|[{_CN}]{{2,6}})(?![\d.,%％])"
)

# A unit right after the number makes it a quantity (三百万只, 两周) — except a date that starts
# there in unpunctuated speech: "预算八十万周五前…", "八十万月底…", "五十万年底".
_NOT_AFTER = re.compile(r"^(?:[%％]|个点|点|成|折|只|个|台|件|吨|套|家|人|天|周(?![一二三四五六日天末])|"
                        r"月(?![底初中])|年(?![底初])|号|日|倍|平|米|公斤|斤|箱|瓶|盒|张|次|条|款|辆|kg|KG|吨"
                        r"|支(?!付|持|票)|颗|杯|粒|片(?!区)|亩|印(?!刷)|袋|桶|卷|根(?!据|本)|克|毫升|升(?!级|到|了|高|值|温)|[gG](?![a-zA-Z])|ml|ML)")


def cn_to_number(s: str) -> float | None:
    """Chinese or Arabic numeral string -> number (八十 -> 80, 两百 -> 200, 12.5 -> 12.5)."""
    s = s.strip()
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        pass
    if "点" in s:
        ip, _, fp = s.partition("点")
        iv = cn_to_number(ip) if ip else 0.0
        if iv is None or not fp or any(c not in _D for c in fp):
            return None
        return iv + float("0." + "".join(str(_D[c]) for c in fp))
    if all(c in _D for c in s):  # digit-by-digit: 三六 -> 36 (rare, used for 6800 style)
        if len(s) == 1:
            return float(_D[s])
        return float("".join(str(_D[c]) for c in s))
    total, cur, last_unit = 0, None, 0
    for c in s:
        if c in _D:
            cur = _D[c]
        elif c in _SMALL_UNIT:
            total += (1 if cur is None else cur) * _SMALL_UNIT[c]
            last_unit, cur = _SMALL_UNIT[c], None
        else:
            return None
    if cur is not None:
        # colloquial 两千五 = 2500, 三百五 = 350 (but 一百零五 = 105)
        total += cur * (last_unit // 10 if last_unit >= 100 and "零" not in s else 1)
    return float(total)


_MULT = {"亿": 1e8, "万": 1e4, "w": 1e4, "W": 1e4, "k": 1e3, "K": 1e3, "千": 1e3,
         "块": 1.0, "块钱": 1.0, "元": 1.0, "RMB": 1.0, "rmb": 1.0}


def _value(m: re.Match[str]) -> float | None:
    num = m.group("num").replace(",", "")
    unit = m.group("unit")
    # "两千五": the numeral regex swallows 千 into num when the unit is not 千;
    base = cn_to_number(num)
    if base is None:
        return None
    v = base * _MULT[unit]
    sub = m.group("sub")
    if sub and unit in ("万", "亿"):
        v += (int(sub) if sub.isdigit() else _D[sub]) * 1e3 * (1e4 if unit == "亿" else 1)
    tail = m.group("tail")
    if tail:
        step = {"亿": 1e7, "万": 1e3, "千": 1e2, "块": 0.1}.get(unit)  # 九块五 = 9.5
        if step:
            v += (_D[tail] if tail in _D else int(tail)) * step
    return round(v, 2)


# after 块 + a jiao digit, a fen digit (两块八五 = 2.85) unless a per-unit noun follows it (三块一一瓦)
_FEN = re.compile(r"[一二两三四五六七八九](?![\u4e00-\u9fff])|[一二两三四五六七八九](?=[而的了吧呢啊嗯然就也还都])")
# what may follow 块 when it is money: 钱, a jiao digit, an approximation, a particle, or the
# next clause of an unpunctuated note (a time word, a pronoun, 再/给/让 …); a noun makes 块 a
# measure word (一块电池)
_MONEY_AFTER_KUAI = re.compile(r"[钱左多的了吧呢啊嗯而就也都还吗一二两三四五六七八九十零明今后下上这那周月年再我他她你给让跟和把]"
                               r"|[^\u4e00-\u9fff]|$")


_KIND_CUES: dict[str, tuple[str, ...]] = {}


def _kind_cues() -> dict[str, tuple[str, ...]]:
    if not _KIND_CUES:
        for k in ("budget", "quote", "order", "payment", "other"):
            _KIND_CUES[k] = load_list(f"amount_{k}.txt")
    return _KIND_CUES


def _kind(text: str, start: int, end: int) -> str | None:
    """Pick the kind whose cue is nearest to the amount within its clause."""
    left = text[max(0, start - 14):start]
    right = text[end:end + 8]
    for sep in "，。；;！!？?\n":
        if sep in left:
            left = left[left.rindex(sep) + 1:]
        if sep in right:
            right = right[:right.index(sep)]
    best: tuple[int, str] | None = None
    for kind, cues in _kind_cues().items():
        for cue in cues:
            i = left.rfind(cue)
            if i >= 0:
                dist = len(left) - (i + len(cue))
                if best is None or dist < best[0]:
                    best = (dist, kind)
            j = right.find(cue)
            if j >= 0:
                dist = j + 2  # prefer cues on the left
                if best is None or dist < best[0]:
                    best = (dist, kind)
    if best:
        return best[1]
    # no cue near the number: a note about a signed deal talks about the order value
    if _SIGNED.search(text):
        return "order"
    return "other"


_SIGNED = re.compile(r"(?<!可以)(?<!准备)签了|签约了|签下来|下了?(?:PO|订单)|PO.{0,4}下来|中标|订单确认")


# a price stated right before a bare number: 报了245, 给的是6.2, 给到三百五十五, 每公斤八十六
_PRICE_VERB = re.compile(r"(?:报了|报的是|报的|给的是|给的|开的是|给到|跟到|降到|压到|开价|出价|价是|价格是|单价|报价"
                         r"|每(?:公斤|千克|斤|吨|方|平米|平方|平|米|台|套|件|个|只|支|粒|袋|箱|瓶|托|板|天|月|年|小时|人))$")
# a Chinese numeral that goes on past 千/百 (四千一百五, 一千零五十) after a price word
# (the look-ahead: the first characters of a lead word, 是/为 or the numeral, as in _NUM_START)
_PRICED_RUN = re.compile(r"(?=[单价报月年租每给谈是为一二两三四五六七八九])(?P<lead>单价|价格|报价|月租|年费|租金|每[^\d，。；\s]{1,2}|报了|给的是|给到|谈到)?(?:是|为)?"
                         r"(?<![一二两三四五六七八九十百千万零])(?P<num>[一二两三四五六七八九]千[零一二两三四五六七八九十百]*[百十][一二两三四五六七八九]?|[一二两三四五六七八九]千零[一二两三四五六七八九]十?[一二两三四五六七八九]?)"
                         r"(?![万亿千百十一二两三四五六七八九零])")
# money words near a number written with 千 (otherwise a count: 三千支)
_MONEY_NEAR = re.compile(r"价|钱|费|款|金|额|预算|贵|便宜|付|收|报|罚|赔|扣|租|块|元")
_MONEY_CONTEXT = re.compile(r"(?:单价|价格|价|报价|一台|每台|一套|每套|一个|每个|让|降|便宜|贵|多|少|收费|费用|卖)$")


def find_amounts(text: str, skip: Iterable[Span] = ()) -> list[Amount]:
    """All monetary amounts in `text`; `skip` spans (dates) are never read as money."""
    blocked = [(s.start, s.end) for s in skip]

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in blocked)

    out: list[Amount] = []
    taken: list[tuple[int, int]] = []
    for m in _PRICED_RUN.finditer(text):  # 单价四千一百五, 每台一千零五十: the whole numeral
        a, b = m.span("num")
        if _NOT_AFTER.match(text[b:b + 3]) or not m.group("lead") and not _MONEY_NEAR.search(text[max(0, a - 6):b + 4]):
            continue  # a count (一千二百吨, 四千三百六十个), not money
        v = cn_to_number(m.group("num"))
        if free(a, b) and v is not None and v > 0:
            taken.append((a, b))
            out.append(Amount(v, _kind(text, a, b), text[a:b], Span(a, b)))
    for m in _AMOUNT_RE.finditer(text):
        a, b = m.span()
        if not free(a, b) or any(not (b <= s or a >= e) for s, e in taken):
            continue
        # quantity right after the unit: 三百万只, 5万个
        if _NOT_AFTER.match(text[b:b + 3]) and m.group("unit") not in ("块", "块钱", "元", "RMB", "rmb"):
            continue
        if m.group("unit") in ("千", "k", "K") and not re.match(r"[块元]", text[b:b + 1]) and not _MONEY_NEAR.search(text[max(0, a - 6):b + 4]):
            continue
        # English letter words like "2w" inside identifiers
        if m.group("unit") in ("w", "W", "k", "K") and a > 0 and text[a - 1].isalpha() and text[a - 1].isascii():
            continue
        v = _value(m)
        if v is None or v <= 0:
            continue
        if m.group("unit") == "块" and v <= 10 and not _MONEY_AFTER_KUAI.match(text, m.end("unit")):
            continue  # 一块电池, 两块模组: a measure word, not money
        if m.group("unit") == "块" and m.group("tail") and (f := _FEN.match(text, b)):
            v, b = round(v + _D[f.group(0)[0]] * 0.01, 2), b + 1
        taken.append((a, b))
        out.append(Amount(v, _kind(text, a, b), text[a:b], Span(a, b)))
    # bare numbers that are money in context
    for m in _BARE_RE.finditer(text):
        a, b = m.span()
        if not free(a, b) or any(not (b <= s or a >= e) for s, e in taken):
            continue
        after = text[b:b + 3]
        if _NOT_AFTER.match(after) or re.match(r"[a-zA-Z万千百亿块元wW]", after[:1]):
            continue
        before = text[max(0, a - 4):a]
        priced = _PRICE_VERB.search(text, max(0, a - 6), a) is not None  # 报了245, 给的是6.2, 每公斤八十六
        if not priced and not _MONEY_CONTEXT.search(before) and not re.match(r"(?:比|块|元)", after) \
                and not before.rstrip().endswith(("¥", "￥")):
            continue
        num = m.group("num").replace(",", "")
        if not num[0].isdigit() and not priced and not re.search(r"(?:让|降|便宜|贵)$", before):
            continue
        v = cn_to_number(num)
        if v is None or v <= 0:
            continue
        if num[0].isdigit() and v < 10 and not priced:
            continue
        out.append(Amount(round(v, 2), _kind(text, a, b), num, Span(a, b)))
    out.sort(key=lambda x: x.span.start)
    return out


def parse_amount(phrase: str) -> float | None:
    """Parse one amount phrase for the bot's correction command ("改 金额 50万")."""
    if not phrase:
        return None
    p = phrase.strip().replace(",", "").replace("，", "")
    found = find_amounts(p)
    if found:
        return found[0].value
    m = re.fullmatch(r"(\d+(?:\.\d+)?)", p)
    if m:
        return float(m.group(1))
    v = cn_to_number(p)
    return v
