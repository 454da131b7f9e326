"""Monetary amounts in notes, with a coarse kind (README §2 amounts; issue 14 item 5).

One written number is one amount however long: the numeral grammar (`_grammar`) reads Chinese
numerals with 零 gaps, 两, a leading 十, 廿/卅 and 大写 (壹贰叁, 佰仟), sections under 万 and 亿,
Arabic digits with ASCII or full-width commas and full-width digits, and both mixed (7万2千3百,
6万8000, 3千零40万).  Colloquial tails go one step down from the last unit (一万二 = 12000,
两千五 = 2500, 一万二八 = 12800, 九块五 = 9.5), never after 零 (一百零五 = 105).

Conventions (where the public suites differ, §3 and then what a sales rep means):
- Currency: 元/块/块钱/圆/人民币/RMB/¥ are CNY; 美元/$/USD, 欧元/€, 日元/円, 港币/HK$, 英镑 … keep
  their ISO code and are never converted (约4.287亿美元 is 428,700,000 USD).
- Ranges LOW到/至/-/~HIGH: `value` is the low end, `high` the high end; a bare low end takes the
  high end's unit (一百二十到一百五十万 = 120万..150万, 10~15k) unless that overshoots (8000到1万).
  Two neighbouring digits are an estimate range: 三五百 = 300..500, 十七八万 = 17万..18万 (approx).
- Estimates and bounds keep the number with approx=True: 约/大概/将近/左右/上下/出头/多/来/余,
  二十几万 (= 20万), and bounds 以上/以内/至少/不超过/最多 (no separate bound flag in `Amount`).
  A leading 几 (几十万, 几千块) is too vague to store: no amount.
- 角/毛/分 after 元/块: 256元3角2分 = 256.32, 三块四分 = 3.04, 三块零四 = 3.04; 五分 alone is not read.
- Unit prices keep their counting unit in `per` (3000元/台, 3000一台, 每吨6100元 -> 台/吨).
- A number with no currency needs 万/亿/w/k (or 千 with money words near); W/K before a spec word
  or a Latin word are watts or a resolution (20W快充, 4K屏); counts (3台, 5万个), percentages,
  points and date numbers (callers pass the date spans) are not money; bare numbers become money
  only after price words (报了245, 一台6800, 单价再让五十).
Not read: 1万亿 and above, cents-only amounts (五分), Traditional-script 萬/億.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from .lexload import load_list
from .types import Amount, Span

_D = {"零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2, "三": 3, "叁": 3,
      "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
      "九": 9, "玖": 9}
_SMALL_UNIT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_BIG_UNIT = {"万": 10_000, "亿": 100_000_000}
_CN = "零〇一二两三四五六七八九十百千"  # the everyday numeral characters (other modules' classes)
_CN_DIGITS = "一二两俩三四五六七八九壹贰叁肆伍陆柒捌玖"  # 1..9, no 零: a digit, never a gap
_UNITS = "十百千万亿拾佰仟"
_WIDE = str.maketrans("０１２３４５６７８９．，", "0123456789.,")  # full-width digits read as ASCII
_CUR_SUFFIX = {  # currency words written after the number -> ISO 4217 (never converted)
    "元人民币": "CNY", "人民币": "CNY", "块钱": "CNY", "块": "CNY", "元": "CNY", "圆": "CNY",
    "RMB": "CNY", "rmb": "CNY", "CNY": "CNY",
    "美元": "USD", "美金": "USD", "美圆": "USD", "USD": "USD", "欧元": "EUR", "EUR": "EUR",
    "日元": "JPY", "日圆": "JPY", "円": "JPY", "JPY": "JPY", "港币": "HKD", "港元": "HKD", "HKD": "HKD",
    "英镑": "GBP", "GBP": "GBP", "韩元": "KRW", "澳元": "AUD", "加元": "CAD", "新台币": "TWD",
    "卢布": "RUB", "瑞士法郎": "CHF", "法郎": "CHF", "新加坡元": "SGD", "新币": "SGD",
    "美刀": "USD", "日币": "JPY", "港纸": "HKD", "台币": "TWD", "澳币": "AUD", "加币": "CAD",
    "韩币": "KRW", "泰铢": "THB", "越南盾": "VND", "卢比": "INR", "欧": "EUR",
}
_CUR_PREFIX = {"US$": "USD", "HK$": "HKD", "$": "USD", "¥": "CNY", "￥": "CNY", "€": "EUR", "£": "GBP",
               "USD": "USD", "RMB": "CNY", "CNY": "CNY", "EUR": "EUR", "JPY": "JPY", "HKD": "HKD",
               "GBP": "GBP", "人民币": "CNY", "美元": "USD", "美金": "USD", "欧元": "EUR", "日元": "JPY",
               "港币": "HKD", "港元": "HKD", "英镑": "GBP"}
_YUAN_WORDS = ("元", "块", "块钱", "圆", "元人民币")  # words after which 角/毛/分 may follow


def _alt(words: Iterable[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# After a unit, 一 before a counted noun starts "one of them" (三千一台 = 3000 per unit), and a
# digit before 月/号/日 is a date (五万八月底); any other digit belongs to the numeral, so
# 两万五个 and 6万8000台 are counts as a whole.
_COUNTED = "个只台件吨套家人天月年号周倍成折斤米瓦箱瓶盒张支片包袋桶卷双副条辆"
# One numeral, however long: Arabic (1,234,567.89 / 82，225.00 / full-width), Chinese (零 gaps,
# 两, a leading 十, 大写), or both mixed (7万2千3百, 6万8000, 3千零40万).  An element (a digit run
# with its decimals) alternates with unit characters, so 6800一台 stops before 一.
_ARABIC = r"\d{1,3}(?:[,，]\d{3})+(?!\d)(?:[.．]\d+)?|\d+(?:[.．]\d+)?"
_ELEM = rf"(?:{_ARABIC}|(?:(?!一[{_COUNTED}])[{_CN_DIGITS}几])+(?:点[{_CN_DIGITS}零〇]+)?)"
_CORE = (rf"(?:{_ELEM}|[十拾廿卅](?:{_ELEM})?|[百千][{_CN_DIGITS}](?![{_UNITS}点]))"
         rf"(?:[{_UNITS}零〇]+(?:(?>{_ELEM})(?![月号日])|点[零〇{_CN_DIGITS}]+)?)*")
# 角/毛/分 after 元/块: 一角七分, 三毛, 四分, 零四 (fen), 五 (jiao)
_JD = r"(?:[一二两三四五六七八九]|\d(?!\d))"
_JIAOFEN = (rf"(?:(?P<{{p}}jiao>{_JD})[角毛](?:(?P<{{p}}fen>{_JD})分?)?|零?(?P<{{p}}fen2>{_JD})分"
            rf"|零(?P<{{p}}fen3>{_JD})(?![{_UNITS}\d])|(?P<{{p}}tail>[一二两三四五六七八九]|\d)"
            rf"(?![\d.千百十万亿{_COUNTED}点]))?钱?")
# 欧 alone is the euro (1.2万欧) unless it starts a word (欧洲, 欧盟, 欧式)
_CUR_WORD = f"(?:{_alt(w for w in _CUR_SUFFIX if w != '欧')}|欧(?![洲盟式美版标陆]))"
_MAG = r"个?亿|万|[wW](?![a-zA-Z])|[kK](?![a-zA-Z])"


def _money(p: str) -> str:
    """One money expression; group names carry the prefix `p` (the low end of a range: lo_)."""
    return (rf"(?P<{p}num>{_CORE})(?P<{p}ge>多|来|余)?(?:[ \u3000](?=[万亿wWkK]))?(?P<{p}mag>{_MAG})?"
            rf"(?:[ \u3000](?={_CUR_WORD}))?(?P<{p}cur>{_CUR_WORD})?" + _JIAOFEN.format(p=p))


# A match starts with its number (the look-ahead lets the engine pass over every other
# position with one test, as dates._MASTER).
_NUM_START = rf"(?=[\d０-９{_CN_DIGITS}十拾廿卅百千])"
# A second gate keeps most numerals out of Python: the run of numeral characters must reach a
# magnitude or the first character of a currency word, or a currency sign must stand before it.
_EVIDENCE = "万亿千仟kKwW个元块圆人RrCUEJHG美欧日港英韩澳加新台卢瑞法泰越"
_RUN = rf"[\d０-９{_CN_DIGITS}{_UNITS}零〇廿卅几点多来余,，.． \u3000]"
_PREFIX_LAST = "$¥￥€£DBYRP币元金镑"  # the last character of a _CUR_PREFIX word
_GATE = rf"(?:(?={_RUN}*?[{_EVIDENCE}])|(?<=[{_PREFIX_LAST}])|(?<=[{_PREFIX_LAST}][ :：]))"
_AMOUNT_RE = re.compile(rf"{_NUM_START}(?<![\d.．]){_GATE}{_money('')}")
# The low end of a range, read backwards from an amount that follows a separator (LOW到HIGH):
# only tried there, so the scan of every numeral stays one pattern.
_SEP = "到至-－~～〜—"
_LOW_RE = re.compile(rf"(?<![\d.．,，]){_money('lo_')}(?:[(（]含[)）])?\s?[{re.escape(_SEP)}]\s?$")
_PREFIX_END = frozenset(_PREFIX_LAST)
_CUR_BEFORE = re.compile(rf"(?:{_alt(_CUR_PREFIX)})[ :：]?$")
# an estimate or a bound written around the number (stored as the number, approx=True)
_APPROX_BEFORE = re.compile(r"(?:约|约合|大约|大概|大致|差不多|将近|接近|近|至少|最少|起码|不低于|不少于|最多|至多"
                            r"|不超过|不到|不足|超过|高达|少说)(?:是|有|为|在|要)?$")
_APPROX_AFTER = re.compile(r"左右|上下|出头|以内|之内|以上|以下|开外|不到|封顶|起(?![来码])|多")
# the counting unit of a unit price: 元/台, 3000一台, 每吨6100元
_PER_UNIT = r"(?P<u>台|套|个(?!月|小时|星期|礼拜|季度)|件|吨|只|把|辆|箱|瓶|盒|张|片|支|根|组|部|平米|平方米|平方|平|米|人|位|用户|账号|点位|间|条|桶|卷|公斤|千克|斤|克|月|年|天|小时|次|瓦|度|方)"
_PER_AFTER = re.compile(rf"(?:/|／|每|一){_PER_UNIT}")
_PER_BEFORE = re.compile(rf"(?:每|单|一){_PER_UNIT}[^\d，。；\s]{{0,3}}$")
_MONEY_MAGNITUDE = re.compile("[万亿千仟]")
# a full-width comma groups digits only in full-width input or before decimals (82，225.00)
_WIDE_INPUT = re.compile(r"[０-９]|[.．]\d")
_CODE_BEFORE = re.compile(r"[A-Za-z][-_]?$")  # a model code runs into the number: A2w, DS-2w
# W / K read as watts or a resolution when a spec word or a Latin word follows (20W PD, 4K屏)
_PHYSICAL_AFTER = re.compile(r"\s?[A-Za-z]|快充|充电|功率|电源|电机|马达|灯|光源|屏|电视|显示|分辨率|视频|高清|摄像|像素")
# Two neighbouring digits before a unit are an estimate range: 三五百 = 300..500, 十七八万.
_PAIR = re.compile(r"([一二两三四五六七八九])([二三四五六七八九])(?=[十百千万亿]|$)")
# (not when the pair is consecutive, an estimate; nor when the second digit is 一, which
# starts the next word more often than not: 万八一共, 千五一台)
_POSITIONAL = re.compile(rf"(?P<head>.*[千仟万亿])(?P<d1>[{_CN_DIGITS}])(?P<d2>[二两三四五六七八九])")
_PAIR_OK = {(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9), (3, 5)}
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[零〇]|[十百千万亿拾佰仟]|几|[" + _CN_DIGITS + r"](?:点[零〇" + _CN_DIGITS + r"]+)?"
                    r"|点[零〇" + _CN_DIGITS + r"]+")


def _digit(tok: str) -> float | None:
    """One element token -> number (7, 12.5, 三点五 -> 3.5); None for 几 (an estimate)."""
    if tok[0].isdigit():
        return float(tok)
    if tok == "几":
        return None
    head, _, frac = tok.partition("点")
    v = float(_D[head]) if head else 0.0
    return v + float("0." + "".join(str(_D[c]) for c in frac)) if frac else v


def _grammar(s: str) -> tuple[float, bool] | None:
    """Numeral grammar (sections under 亿 and 万; 零 as a gap; a lone tail digit after a unit is
    one step down: 一万二 = 12000, 两千五 = 2500, but 一百零五 = 105).  -> (value, has 几)."""
    total = 0.0  # everything closed by 亿 / 万
    sec = 0.0  # the section below the last 万
    cur: float | None = None
    cur_single = False  # the pending number is one digit (may be a colloquial tail)
    last_unit, gap, vague, prev_unit = 0, False, False, True
    pos = 0
    for m in _TOKEN.finditer(s):
        if m.start() != pos:
            return None
        pos = m.end()
        t = m.group(0)
        if t in ("零", "〇"):
            gap = True
        elif t in _SMALL_UNIT:
            if cur is None and not (prev_unit or gap):
                return None  # 百千
            sec += (1 if cur is None else cur) * _SMALL_UNIT[t]
            cur, last_unit, gap, prev_unit = None, _SMALL_UNIT[t], False, True
        elif t in _BIG_UNIT:
            part = sec + (cur or 0)
            if t == "万":
                total += (part or 1) * 1e4
            else:
                total = (total + part or 1) * 1e8
            sec, cur, last_unit, gap, prev_unit = 0.0, None, _BIG_UNIT[t], False, True
        else:
            if cur is not None:
                return None  # two numbers with no unit between them
            d = _digit(t)
            vague = vague or d is None
            cur = d or 0.0
            cur_single = len(t) == 1
            tail_ok = last_unit >= 100 and cur_single and not gap and d is not None
            prev_unit = False
            if tail_ok and m.end() == len(s):  # 一万二, 两千五, 三百五
                return total + sec + cur * last_unit / 10, vague
    if pos != len(s):
        return None
    return total + sec + (cur or 0.0), vague


@lru_cache(maxsize=4096)
def _numeral(s: str) -> tuple[float, float | None, bool] | None:
    """A written numeral -> (value, high end of an estimate range, approximate)."""
    s = s.translate(_WIDE).replace(",", "").replace("廿", "二十").replace("卅", "三十")
    if s.replace(".", "", 1).isdigit():
        return float(s), None, False
    pos = _POSITIONAL.match(s)
    if pos and (_D[pos.group("d1")], _D[pos.group("d2")]) not in _PAIR_OK:  # 一万二八 = 12800, 三千二五 = 3250: two digits go on down from the last unit
        head = _grammar(pos.group("head"))
        step = _SMALL_UNIT.get(pos.group("head")[-1]) or _BIG_UNIT[pos.group("head")[-1]]
        if head:
            return head[0] + _D[pos.group("d1")] * step / 10 + _D[pos.group("d2")] * step / 100, None, head[1]
    pm = _PAIR.search(s, 0, s.find("点") if "点" in s else len(s))  # not in decimals: 点四五
    if pm and (_D[pm.group(1)], _D[pm.group(2)]) in _PAIR_OK:
        lo = _grammar(s[:pm.start()] + pm.group(1) + s[pm.end():])
        hi = _grammar(s[:pm.start()] + pm.group(2) + s[pm.end():])
        if lo and hi:
            return lo[0], hi[0], True
    if len(s) > 1 and all(c in _D for c in s):  # 六八 -> 68: digit by digit
        return float("".join(str(_D[c]) for c in s)), None, False
    g = _grammar(s)
    return (g[0], None, g[1]) if g else None


def cn_to_number(s: str) -> float | None:
    """Chinese or Arabic numeral string -> number (八十 -> 80, 六万七千八百二十一, 12.5)."""
    s = s.strip()
    if not s:
        return None
    try:
        return float(s)
    except ValueError:
        pass
    r = _numeral(s)
    return r[0] if r else None


# bare numbers (no unit) that may be money when the context says so
_BARE_RE = re.compile(
    rf"(?=[\d{_CN}])(?<![\d.,])(?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?|\d{{2,9}}(?:\.\d+)?|\d\.\d+|[{_CN}]{{2,6}})(?![\d.,%％])"
)

# A unit right after the number makes it a quantity (三百万只, 两周) — except a date that starts
# there in unpunctuated speech: "预算八十万周五前…", "八十万月底…", "五十万年底".
_NOT_AFTER = re.compile(r"^(?:[%％]|个点|点|成|折|只|个|台|件|吨|套|家|人|天|周(?![一二三四五六日天末])|"
                        r"月(?![底初中])|年(?![底初])|号|日|倍|平|米|公斤|斤|箱|瓶|盒|张|次|条|款|辆|kg|KG|吨"
                        r"|支(?!付|持|票)|颗|杯|粒|片(?!区)|亩|印(?!刷)|袋|桶|卷|根(?!据|本)|克|毫升|升(?!级|到|了|高|值|温)|[gG](?![a-zA-Z])|ml|ML)")


_MULT = {"亿": 1e8, "个亿": 1e8, "万": 1e4, "w": 1e4, "W": 1e4, "k": 1e3, "K": 1e3}


@dataclass(frozen=True, slots=True)
class _Read:
    """One side of a match read as money: value (yuan or `currency`), estimate high end, flags."""

    value: float
    high: float | None
    approx: bool
    currency: str | None  # None: no currency word (the caller decides from context)
    big: bool  # written with 万/亿/w/k (a magnitude, so money-like without a currency)
    thousand: bool  # the numeral's largest unit is 千 (三千: money only near money words)


def _read_side(m: re.Match[str], p: str) -> _Read | None:
    num = m.group(p + "num")
    r = _numeral(num)
    if r is None:
        return None
    v, hi, approx = r
    ge, mag, cur = m.group(p + "ge"), m.group(p + "mag"), m.group(p + "cur")
    if ge in ("多", "来", "余"):
        approx = True
    mult = _MULT.get(mag or "", 1.0)
    v, hi = v * mult, (hi * mult if hi is not None else None)
    g = m.group
    cents = 0.0
    if cur in _YUAN_WORDS:
        if g(p + "jiao"):
            cents += _jd(g(p + "jiao")) * 0.1 + (_jd(g(p + "fen")) * 0.01 if g(p + "fen") else 0.0)
        elif g(p + "fen2") or g(p + "fen3"):
            cents += _jd(g(p + "fen2") or g(p + "fen3")) * 0.01
        elif g(p + "tail") and cur.startswith("块"):
            cents += _jd(g(p + "tail")) * 0.1  # 九块五 = 9.5
    big = bool(mag) or "万" in num or "亿" in num
    thousand = not big and any(c in num for c in "千仟")
    return _Read(round(v + cents, 2), round(hi, 2) if hi is not None else None, approx,
                 _CUR_SUFFIX[cur] if cur else None, big, thousand)


def _jd(s: str) -> int:
    return int(s) if s.isdigit() else _D[s]


# after 块 + a jiao digit, a fen digit (两块八五 = 2.85) unless a per-unit noun follows it (三块一一瓦)
_FEN = re.compile(r"[一二两三四五六七八九](?![\u4e00-\u9fff])|[一二两三四五六七八九](?=[而的了吧呢啊嗯然就也还都])")
# what may follow 块 when it is money: 钱, a jiao digit, an approximation, a particle, or the
# next clause of an unpunctuated note (a time word, a pronoun, 再/给/让 …); a noun makes 块 a
# measure word (一块电池)
_MONEY_AFTER_KUAI = re.compile(r"[钱左多以的了吧呢啊嗯而就也都还吗一二两三四五六七八九十零明今后下上这那周月年再我他她你给让跟和把]"
                               r"|[^\u4e00-\u9fff]|$")


_KINDS = ("budget", "quote", "order", "payment", "other")  # on a tie, the earlier kind wins


@cache
def _kind_cues() -> tuple[re.Pattern[str], dict[str, int]]:
    """Every kind's cue words as one look-ahead pattern (all start positions, longest cue
    first), and each cue's kind as an index into _KINDS (a cue in two lists: the first)."""
    rank: dict[str, int] = {}
    for i, k in enumerate(_KINDS):
        for cue in load_list(f"amount_{k}.txt"):
            rank.setdefault(cue, i)
    return re.compile(f"(?=({_alt(rank)}))"), rank


def _kind(text: str, start: int, end: int) -> str | None:
    """Pick the kind whose cue is nearest to the amount within its clause."""
    left = text[max(0, start - 14):start]
    right = text[end:end + 8]
    for sep in "，。；;！!？?\n":
        if sep in left:
            left = left[left.rindex(sep) + 1:]
        if sep in right:
            right = right[:right.index(sep)]
    cues, rank = _kind_cues()
    best: tuple[int, int] | None = None  # (distance, kind index)
    for m in cues.finditer(left):
        cand = (len(left) - m.end(1), rank[m.group(1)])
        best = cand if best is None or cand < best else best
    for m in cues.finditer(right):
        cand = (m.start() + 2, rank[m.group(1)])  # prefer cues on the left
        best = cand if best is None or cand < best else best
    if best:
        return _KINDS[best[1]]
    # no cue near the number: a note about a signed deal talks about the order value
    if _SIGNED.search(text):
        return "order"
    return "other"


_SIGNED = re.compile(r"(?<!可以)(?<!准备)签了|签约了|签下来|下了?(?:PO|订单)|PO.{0,4}下来|中标|订单确认")


# a price stated right before a bare number: 报了245, 给的是6.2, 给到三百五十五, 每公斤八十六
_PRICE_VERB = re.compile(r"(?:报了|报的是|报的|给的是|给的|开的是|给到|跟到|降到|压到|开价|出价|价是|价格是|单价|报价"
                         r"|每(?:公斤|千克|斤|吨|方|平米|平方|平|米|台|套|件|个|只|支|粒|袋|箱|瓶|托|板|天|月|年|小时|人))$")
# a Chinese numeral that goes on past 千/百 (三千二百五, 二千零六十) after a price word
# (the look-ahead: the first characters of a lead word, 是/为 or the numeral, as in _NUM_START)
_PRICED_RUN = re.compile(r"(?=[单价报月年租每给谈是为一二两三四五六七八九])(?P<lead>单价|价格|报价|月租|年费|租金|每[^\d，。；\s]{1,2}|报了|给的是|给到|谈到)?(?:是|为)?"
                         r"(?<![一二两三四五六七八九十百千万零])(?P<num>[一二两三四五六七八九]千[零一二两三四五六七八九十百]*[百十][一二两三四五六七八九]?|[一二两三四五六七八九]千零[一二两三四五六七八九]十?[一二两三四五六七八九]?)"
                         r"(?![万亿千百十一二两三四五六七八九零])")
# money words near a number written with 千 (otherwise a count: 三千支)
_MONEY_NEAR = re.compile(r"价|钱|费|款|金|额|预算|贵|便宜|付|收|报|罚|赔|扣|租|块|元")
_UNIT_AFTER = re.compile("[a-zA-Z万千百亿块元wW]")  # a Latin unit or a magnitude right after a bare number
_CUT_BEFORE = re.compile(r"(?:让|降|便宜|贵)$")  # 让三百: a Chinese numeral read as a price cut
_MONEY_CONTEXT = re.compile(r"(?:单价|价格|价|报价|一台|每台|一套|每套|一个|每个|让|降|便宜|贵|多|少|收费|费用|卖)$")


def _low_end(text: str, start: int) -> re.Match[str] | None:
    """The LOW of LOW到HIGH when the amount at `start` follows a range separator."""
    k = start - 1
    if k > 0 and text[k] in " \u3000":
        k -= 1
    if k < 1 or text[k] not in _SEP:
        return None
    return _LOW_RE.search(text, max(0, start - 24), start)


def _written_amount(text: str, m: re.Match[str], lo_m: re.Match[str] | None = None) -> Amount | None:
    """One match of _AMOUNT_RE -> an Amount, or None when it is a count, a measure word
    (一块电池) or a number with nothing that says money (no currency, no 万/亿/w/k)."""
    hi = _read_side(m, "")
    if hi is None or hi.value <= 0:
        return None
    a, b = m.start(), m.end()
    if a > 0 and text[a - 1] == "几" and lo_m is None:
        return None  # 几十块, 几万: too vague to store a number
    cur = m.group("cur") or ""
    if m.group("tail") and not cur.startswith("块"):
        b = m.start("tail")  # 300元3天: only 块 takes a colloquial jiao digit
    lo = _read_side(lo_m, "lo_") if lo_m is not None else None
    low = _range_low(lo_m, m, lo, hi) if lo_m is not None and lo is not None else None
    if low is None:
        lo = None
    elif lo_m is not None:
        a = lo_m.start()
    pm = _CUR_BEFORE.search(text, max(0, a - 5), a)
    currency = hi.currency or (lo.currency if lo else None) or (_CUR_PREFIX[pm.group(0).rstrip(" :：")] if pm else None)
    mag = m.group("mag")
    if mag and mag in "wWkK" and (_CODE_BEFORE.search(text, max(0, a - 2), a)
                                  or _PHYSICAL_AFTER.match(text, m.end("mag"))):
        return None  # an identifier (A2w, SKU15k), watts or a resolution (20W快充, 4K屏)
    if currency is None:
        if _NOT_AFTER.match(text[b:b + 3]):
            return None  # 三百万只, 5万个: a quantity
        money_near = _MONEY_NEAR.search(text, max(0, a - 6), b + 4) is not None
        if not (hi.big or (hi.thousand and money_near)):
            return None  # 三千, 两百: a count unless the bare-number rules say money
    if cur.startswith("块") and hi.value <= 10 and lo is None \
            and not (m.group("jiao") or m.group("fen2") or m.group("fen3")) \
            and not _MONEY_AFTER_KUAI.match(text, m.end("cur")):
        return None  # 一块电池, 两块模组: a measure word, not money
    value = hi.value
    if cur.startswith("块") and m.group("tail") and (f := _FEN.match(text, b)):
        value, b = round(value + _D[f.group(0)[0]] * 0.01, 2), b + 1  # 两块八五 = 2.85
    high, approx = hi.high, hi.approx
    if low is not None and lo is not None:
        value, high, approx = low, value, approx or lo.approx
    if m.group("ge") == "来" and not (mag or cur):
        approx = hi.high is not None  # 三十来做: 来 is a verb here
    lead = pm.start() if pm and not (hi.currency or lo and lo.currency) else a  # 约合人民币3万
    approx = approx or bool(_APPROX_BEFORE.search(text, max(0, lead - 4), lead)) \
        or bool(_APPROX_AFTER.match(text, b))
    return Amount(value, _kind(text, a, b), text[a:b], Span(a, b), currency or "CNY",
                  high, approx, _per(text, a, b))


def _per(text: str, a: int, b: int) -> str | None:
    """The counting unit of a unit price written around [a, b): 元/台, 3000一台, 每吨6100."""
    m = _PER_AFTER.match(text, b) or _PER_BEFORE.search(text, max(0, a - 7), a)
    return m.group("u") if m else None


def _range_low(lo_m: re.Match[str], m: re.Match[str], lo: _Read, hi: _Read) -> float | None:
    """The low end of LOW到HIGH: the high end's unit carries over to a bare low end
    (一百二十到一百五十万 = 120万..150万, 10~15k) unless that overshoots (8000到1万)."""
    if lo_m.group("lo_mag") or lo_m.group("lo_cur") or lo.big:
        return lo.value if lo.value <= hi.value else None
    num, mag = m.group("num"), m.group("mag")
    mult = _MULT[mag] if mag else 1e8 if num.endswith("亿") else 1e4 if num.endswith("万") else 1.0
    if lo.value * mult <= hi.value:
        return round(lo.value * mult, 2)
    return lo.value if lo.value <= hi.value else None


def find_amounts(text: str, skip: Iterable[Span] = ()) -> list[Amount]:
    """All monetary amounts in `text`; `skip` spans (dates) are never read as money."""
    blocked = [(s.start, s.end) for s in skip]

    def free(a: int, b: int) -> bool:
        return all(b <= s or a >= e for s, e in blocked)

    out: list[Amount] = []
    taken: list[tuple[int, int]] = []
    # 单价三千二百五, 每台二千零六十: the whole numeral (every such numeral holds 千: a note
    # without one is not scanned)
    for m in _PRICED_RUN.finditer(text) if "千" in text else ():
        a, b = m.span("num")
        if _NOT_AFTER.match(text[b:b + 3]) or not m.group("lead") and not _MONEY_NEAR.search(text[max(0, a - 6):b + 4]):
            continue  # a count (一千二百吨, 四千三百六十个), not money
        v = cn_to_number(m.group("num"))
        if free(a, b) and v is not None and v > 0:
            taken.append((a, b))
            out.append(Amount(v, _kind(text, a, b), text[a:b], Span(a, b), per=_per(text, a, b)))
    for m in _AMOUNT_RE.finditer(text):
        a = m.start()
        cut = next((s for s, e in blocked if a < s < m.end()), None)
        if cut is not None:  # a date starts inside the numeral: 五十万年底 -> read up to it
            m2 = _AMOUNT_RE.match(text, a, cut)
            if m2 is None:
                continue
            m = m2
        num = m.group("num")
        if "，" in num and not _WIDE_INPUT.search(num):  # 100，200，300元 is a list: read 300元
            m = _AMOUNT_RE.match(text, m.start("num") + num.rindex("，") + 1) or m
            if "，" in m.group("num"):
                continue
        if not (m.group("mag") or m.group("cur") or _MONEY_MAGNITUDE.search(m.group("num"))) \
                and not (a > 0 and (text[a - 1] in _PREFIX_END or a > 1 and text[a - 2] in _PREFIX_END)
                         and _CUR_BEFORE.search(text, max(0, a - 5), a)):
            continue  # 一下, 三台: nothing that could make it money (the common case, kept cheap)
        for _ in range(2):  # 二十三万五一共: the longest numeral that parses (五, not 五一)
            if _numeral(m.group("num")) is not None or m.end("num") - m.start() < 2:
                break
            m = _AMOUNT_RE.match(text, m.start(), m.end("num") - 1) or m
        lo_m = _low_end(text, m.start())
        if lo_m is not None and not free(lo_m.start(), lo_m.end("lo_num")):
            lo_m = None
        found = _written_amount(text, m, lo_m)
        if found is None:
            continue
        a, b = found.span.start, found.span.end
        while out and taken and taken[-1][0] >= a and a < m.start() and found.high is not None:
            taken.pop()  # 3万到5万: the low end was read alone first; the range replaces it
            out.pop()
        if not free(a, b) or any(not (b <= s or a >= e) for s, e in taken):
            continue
        taken.append((a, b))
        out.append(found)
    # bare numbers that are money in context
    for m in _BARE_RE.finditer(text):
        a, b = m.span()
        if not free(a, b) or any(not (b <= s or a >= e) for s, e in taken):
            continue
        after = text[b:b + 3]
        if _NOT_AFTER.match(after) or _UNIT_AFTER.match(after):
            continue
        before = text[max(0, a - 4):a]
        priced = _PRICE_VERB.search(text, max(0, a - 6), a) is not None  # 报了245, 给的是6.2, 每公斤八十六
        if not priced and not _MONEY_CONTEXT.search(before) and not after.startswith(("比", "块", "元")) \
                and not before.rstrip().endswith(("¥", "￥")):
            continue
        num = m.group("num").replace(",", "")
        if not num[0].isdigit() and not priced and not _CUT_BEFORE.search(before):
            continue
        v = cn_to_number(num)
        if v is None or v <= 0:
            continue
        if num[0].isdigit() and v < 10 and not priced:
            continue
        out.append(Amount(round(v, 2), _kind(text, a, b), num, Span(a, b), per=_per(text, a, b)))
    out.sort(key=lambda x: x.span.start)
    return out


def parse_amount(phrase: str) -> float | None:
    """Parse one amount phrase for the bot's correction command ("改 金额 50万").

    The deal amount is in yuan and is one number: another currency (5万美元) or a range
    (20到30万) gives None, so the bot says it did not understand instead of storing it."""
    if not phrase:
        return None
    p = phrase.strip().replace(",", "").replace("，", "")
    found = find_amounts(p)
    if found:
        a = found[0]
        return a.value if a.currency == "CNY" and a.high is None else None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)", p)
    if m:
        return float(m.group(1))
    v = cn_to_number(p)
    return v
