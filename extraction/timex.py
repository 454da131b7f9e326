"""Time expressions beyond the §3 dates: periods, open ranges, ranges, windows, times of day.

`find_dates` keeps the §3 conventions (the record's `dates`); this module resolves every other
way people write a time and merges everything into the `TimeMention`s of `date_spans`.  One
compiled regex with a first-character gate (as dates._MASTER) finds the atoms; small resolvers
turn each into an interval; ranges, open ranges and times of day are then built from atoms.

Conventions (where the public suites disagree, §3 first, then what a sales rep means):
- A §3 mention keeps its value: at an equal span the §3 reading wins; a longer, more specific
  reading (2019年11月底 over 11月底) replaces it in `date_spans` only.
- Two-digit years (98年, 零七年): the year with those last two digits in [R-89, R+10]; alone
  they need a leading zero (07年) or a month / quarter / part after them (15年3月), since
  质保10年 / 做了20年 are durations.  Bare four digits without 年 are never years.
- Year-less months (3月份, 5月第二周, 6月上旬): R's year, unless it is one of the next three
  months across New Year (in November 1月份 is next January); a month still ahead in a past clause (`reads_past`:
  in March "11月份签的") is last year's.  A plan cue does not push a past month to next year
  (要交三月份的回款明细 is this March's data).  New year-less day forms (1月4, 08-03, 2/17)
  follow §3 (roll to next year when before R) unless the clause reads past.
- Week N of a month or year is the Monday-based week starting on its N-th Monday.
- Parts: 月初 = days 1-5, 月末 = the last 5 days, 上/中/下旬 = 1-10 / 11-20 / 21-end, 上半月 /
  下半月 = 1-15 / 16-end, 年初 = Jan-Feb, 年中 = Jun-Jul, 年末 = Nov-Dec, 季度初/末 = its
  first/last month.  X月中 is the 15th and X月底 / 明年底 the last day (as §3's 月中 / 月底).
- Windows: 近/最近/过去 N unit = [R - N units, R]; 未来/今后/接下来 N unit = [R, R + N units);
  上/前 N unit = the N whole calendar units before the current one, 下/后 N unit the N after
  it.  前两天 / 过两天 / 这两天 are the idiom "a couple of days" (vague: nothing), as §3 says.
- Offsets: N年前/后 = that calendar year; N个月 / 半年 / 一年半 / N个季度 前/后 = that calendar
  month; N周 / N天 前/后 = that day.  N以来 = "after" from the same anchor.
- Open ranges: after / since / 起 / 开始 anchor on the start of X.  Before (以前/之前/前):
  the last day of X (a deadline includes X, as §3's 12月8号前), or its first day when X ended
  before R (2015年以前 in a story).  截止/截至/到…为止 always the last day.  §3 deadline days
  (周五前) stay days.  这周内 = "before" the week's last working day (the official calendar).
- Ranges X到Y: start = X's start, end = Y's end; Y inherits the year / month X wrote.
- Times of day: a `Clock` joins the day next to it (spaces, 的, a weekday between); alone it is
  day R (R+1 when next_day); a part of day alone (下午去了恒达) is day R without a time, unless
  it is a habit (每天下午).
"""
from __future__ import annotations

import re
from datetime import date, time, timedelta
from functools import cache
from typing import NamedTuple

from .clock import Clock, find_clock
from .dates import (
    DURATION_BEFORE,
    cn_small_int,
    find_dates,
    last_day,
    monday,
    month_add,
    parse_date,
    reads_past,
    safe_date,
    second_gate,
)
from .holidays import find_holidays, is_workday
from .types import DateMention, Span, TimeMention

# ---------------------------------------------------------------------------------------------
# grammar pieces
_MN = r"(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_DN = r"(?:3[01]|[12]\d|0?[1-9]|三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九])"
_CNT = r"(?:\d{1,3}|[一二两三四五六七八九十]{1,3}|仨|俩)"
_WD = r"[一二三四五六日天1-7]"
_WW = r"(?:周|星期|礼拜)"
_NEI = r"内(?![部容外地网需销存训控审])"  # 内 closing a time, not starting 内部 / 内容
_DASH = r"\s?(?:[-－~～到至–]|—{1,2})\s?"

def _plain(pattern: str) -> str:
    """`pattern` without its group names, for a look-ahead that repeats it."""
    return re.sub(r"\(\?P<\w+>", "(?:", pattern)


_YEAR = (rf"(?:(?<!\d)(?P<y4>(?:19|20)\d{{2}})(?:{_DASH}(?P<y4b>(?:19|20)\d{{2}}))?\s?年"
         r"|(?P<y4c>[一二][零〇一二三四五六七八九]{3})年"
         r"|(?<![\d.])(?P<y2>\d{2})\s?年"
         r"|(?<![一二三四五六七八九十零〇两几])(?P<y2c>[零〇一二三四五六七八九]{2})年"
         r"|(?P<yrel>今|明|去|(?<![然以之最往今此而其随落背先日月年天周])[前后]|上一|下一|(?<!一)[上下](?![年]度)|这一|本)年(?![度纪级轻头]))")
_MONTH = (rf"(?:(?P<mn>{_MN})(?:{_DASH}(?P<mn2>{_MN}))?\s?月(?P<fen>份)?"
          r"|(?P<mrel>上上个?|下下个?|上一?个?|下一?个?|这一?个?|本|当|同)月(?:份)?)")
_DAY = rf"(?P<dn>{_DN})(?:{_DASH}(?P<dn2>{_DN})(?=[日号]))?(?P<dsuf>[日号])?"
_MTAIL = (r"(?:月?(?P<mt>上旬|中旬|下旬|上半月|下半月|初|中(?![心国间层标文午方部])|末|底)"
          rf"|的?第(?P<wkn>{_CNT})(?P<wkg>个)?{_WW}(?P<wkd>{_WD})?"
          rf"|的?最后一个{_WW}(?P<lwd>{_WD})"
          rf"|的?前(?P<mfd>{_CNT})天|的?最后(?P<mld>{_CNT})天)")
_QUARTER = (r"(?:(?<![A-Za-z\-])[Qq](?P<qn>[1-4])(?![\dA-Za-z])(?:季度)?|第?(?P<qc>[一二三四1-4])季度"
            r"|(?P<qr>本|这一?个?|当|上一?个?|下一?个?|首)季度)(?P<qt>初|末|底)?")
_YTAIL = (rf"(?:(?P<yt>上半年|下半年|前半年|后半年|年初|年中|年末|年底|初|末|底|伊始|{_NEI}|首月)"
          rf"|的?(?P<ypd>[前后])(?P<ypn>{_CNT})个?(?P<ypu>季度|月|{_WW}|周|天)"
          rf"|的?第(?P<yon>{_CNT})个?(?P<you>月|{_WW}|周|天))")
_CAL = (rf"(?=(?:{_plain(_YEAR)}|{_plain(_QUARTER)}|{_plain(_MONTH)}))(?:(?:(?P<Y>{_YEAR})\s?(?:的)?)?"
        rf"(?:(?P<Q>{_QUARTER})|(?P<M>{_MONTH})\s?(?:(?P<D>{_DAY})|(?P<MT>{_MTAIL}))?|(?P<YT>{_YTAIL}))?)")
_UNIT = r"(?:个?工作日|年|个多?月|多个月|(?<=半)个?月|个?多?季度|个?多?(?:星期|礼拜)|周|天|日)"

_PATTERNS: list[tuple[str, str]] = [
    # a bare four-digit year only where the frame says so: 从2011到2013, 自2019-2021 (else it is a
    # model number or an amount)
    ("fy", r"(?<=[从自])(?P<fyy>(?:19|20)\d{2})(?=\s?(?:到|至|~|～|-|－|—{1,2}|–)\s?(?:19|20)\d{2}(?![\d.]|\s?[元块万千百亿台个件套吨米%]))"),
    ("t8", r"(?<![\dA-Za-z])(?P<t8y>(?:19|20)\d{2})(?P<t8m>0[1-9]|1[0-2])(?P<t8d>0[1-9]|[12]\d|3[01])(?![\dA-Za-z])"),
    ("tsp", r"(?<![\d.])(?P<tsy>(?:19|20)\d{2}) (?P<tsm>1[0-2]|0?[1-9]) (?P<tsd>3[01]|[12]\d|0?[1-9])(?![\d.])"),
    ("tdt", r"(?<![\d.])(?P<tiy>(?:19|20)\d{2})-(?P<tim>0[1-9]|1[0-2])-(?P<tid>0[1-9]|[12]\d|3[01])(?=(?:[01]\d|2[0-3]):[0-5]\d)"),
    ("tym", r"(?<![\d.])(?P<tmy>(?:19|20)\d{2})[.\-/](?P<tmm>0[1-9]|1[0-2])(?![\d.%])"),
    ("tmd", r"(?<![\d\-./:])(?P<tdm>0[1-9]|1[0-2])-(?P<tdd>0[1-9]|[12]\d|3[01])(?![\d\-./])"),
    ("tms", r"(?<![\d./·:])(?P<tsm2>1[0-2]|[1-9])(?P<tsep>[/·])(?P<tsd2>3[01]|[12]\d|[1-9])(?![\d./·%])"),
    ("off", (rf"(?<![\d.一二两三四五六七八九十几])(?P<on>{_CNT}|半)(?P<oh>个?半)?(?P<om>多)?(?P<ou>{_UNIT})(?P<oh2>半)?(?P<om2>多)?"
             rf"(?P<od>以前|之前|前|以后|之后|后|以来|以内|之内|{_NEI})")),
    ("win", rf"(?P<wp>最近|近|过去的?|未来的?|今后|接下来的?|上|前|下|后)\s?(?P<wn>{_CNT})\s?(?P<wu>个?月|个?季度|个?(?:星期|礼拜)|个?周|天|日|年)(?P<wnei>内|以内)?"),
    ("wk", (rf"(?P<wr>上上个?|下下个?|上一?个?|下一?个?|这一?个?|本|当)(?:周|星期|礼拜)"
            rf"(?:(?P<wt>末|{_NEI})|\s?{_WW}?(?P<wwd>{_WD}))?")),
    ("wend", r"(?<![上下这本每个])周末"),
    ("dd", r"(?P<ddn>大{2,3})(?P<ddw>后天|前天)"),
    ("free", r"(?<![年次当同那每])(?P<fr>上半周|下半周|上半年|下半年|年初|年中|年末|月初|月末|上半月|下半月|上旬|中旬|下旬)"),
    ("cal", _CAL),
]
# Every pattern above starts (look-behinds aside) with one of these characters (see dates._MASTER).
_FIRST = r"[大\d一二两三四五六七八九十零〇仨俩半Qq最近过未今接上前下后这本当同周年月去明首中]"
# Each alternative's own first characters: at a gated position the others fail at once.
_GATES = {"fy": "[12]", "t8": "[12]", "tdt": "[12]", "tsp": "[12]", "tym": "[12]", "tmd": "[01]", "tms": r"\d",
          "off": r"[\d一二两三四五六七八九十仨俩半]", "win": "[最近过未今接上前下后]",
          "wk": "[上下这本当]", "wend": "周", "dd": "大", "free": "[上下年月中]",
          "cal": r"[\d一二三四五六七八九十零〇今明去前后上下这本当同Qq首第]"}
# What may follow a pattern's first character, for the characters that most often start no
# pattern (一下, 周三, 过来, 去了, 10万): each entry lists every second character the patterns above
# allow after that first one (a numeral: more numerals, a unit, 个/半/多, 月 or a range sign; 上:
# a count, 上/个, a week word, 半, 旬, 年, 月, 季).  A position that fails it is passed over
# with one test instead of trying every alternative.  A new pattern must be added here too.
_CNT_CH = "\\d一二两三四五六七八九十仨俩"
_RANGE_CH = "\\s\\-－~～到至–—"
_SECOND = {
    "[一二两三四五六七八九十]": f"[一二两三四五六七八九十零〇个半多工年月季星礼周天日{_RANGE_CH}]",
    r"\d": f"[\\d.·/个半多工年月季星礼周天日{_RANGE_CH}]",
    "[上下]": f"[\\s{_CNT_CH}上下个周星礼半旬年月季]",
    "[前后]": f"[\\s{_CNT_CH}年]",
    "周": "末", "去": "年", "过": "去", "明": "年", "同": "月", "今": "[后年]", "年": "[初中末]",
    "月": "[初末]", "大": "大", "接": "下", "最": "近", "中": "旬", "首": "季",
    "这": "[一个周星礼月季年]", "本": "[周星礼月季年]", "当": "[周星礼月季]",
}
_MASTER = re.compile(f"(?={_FIRST}){second_gate(_SECOND)}(?:" + "|".join(f"(?={_GATES[k]})(?P<{k}>{p})" for k, p in _PATTERNS) + ")")
# The same patterns one by one: tried at a position only when the master's hit there resolved to
# nothing (06年以后 is not "6 years later", so the calendar reading gets its turn).
_KINDS = [k for k, _ in _PATTERNS]


@cache
def _single(kind: str) -> re.Pattern[str]:
    """One pattern alone, compiled when first needed (most notes never need one: start-up)."""
    return re.compile(f"(?P<{kind}>{dict(_PATTERNS)[kind]})")


_CONNECT = re.compile(r"\s?(?:起)?(?:到|至|~|～|-|－|—{1,2}|–|和|与)\s?")
_CONNECT_FIRST = frozenset(" 起到至~～-－—–和与")
_BETWEEN = re.compile(r"\s?之?间")
_NOW = re.compile(r"今天|至今|现在|目前|今日")
_PART_DAY = re.compile(rf"(?P<pd>{_DN})[日号]")
_PART_MONTH = re.compile(rf"(?P<pm>{_MN})\s?月份?(?:(?P<pd>{_DN})[日号]?)?")
_PART_YEAR = re.compile(r"(?P<py>(?:19|20)\d{2})(?![\d年]|[.\-/]\d)")
_SUFFIX = re.compile(r"\s?(?:及|或)?(?P<s>以前|之前|以后|之后|以来|为止|前后|左右|开始|起|前|后|许|上下)")
_SUFFIX_FIRST = frozenset(" 及或以之为前左开起后许上")
_PREFIX = re.compile(r"(?:自从|自|从|截止到|截止至|截止|截至|直到)$")
_ATTACH_GAP = re.compile(rf"^(?:\s|的|,|，|\(|（|\)|）|{_WW}{_WD})*$")
_FIRST_N_TERMS = re.compile(r"(?:都|全)?(?:免费|免|半价|优惠|打?折|试用|包|送|不收|质保|保修|按|每|付)")
_WEEKDAY_AFTER = re.compile(rf"\s?[（(]?\s?{_WW}{_WD}\s?[)）]?")
_WEEKDAY_FIRST = frozenset(" （(周星礼")
_CN_EXTRA = {"仨": 3, "俩": 2, "两": 2}
_AFTER_BARE_DAY = frozenset("0123456789个台件万千百元块次%.点:：十零〇两")
_CODE_BEFORE = re.compile(r"(?:号|码|编|单|No|NO|#|:|：|ID)\s?$")


class _Atom(NamedTuple):
    """One resolved interval [first, last] with where it was written (a tuple: notes build
    several, and a tuple is built several times faster than a frozen dataclass)."""

    start: int
    end: int
    first: date
    last: date
    kind: str = "period"  # "day" | "period" | "before" | "after"
    has_year: bool = True  # the year was written (or is deictic), not guessed
    gran: str = "d"  # "y" | "m" | "d" ... the finest unit written
    src: str = "tx"  # "s3" | "hol" | "tx"
    time: time | None = None


# ---------------------------------------------------------------------------------------------
# small resolvers
def _count(s: str | None) -> int | None:
    if not s:
        return None
    if s in _CN_EXTRA:
        return _CN_EXTRA[s]
    if s.isdigit():
        return int(s)
    return cn_small_int(s)


def _year_span(y: int) -> tuple[date, date]:
    return date(y, 1, 1), date(y, 12, 31)


def _month_span(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), last_day(y, m)


def _months_span(y: int, m: int, k: int) -> tuple[date, date]:
    """k calendar months starting with month m of year y."""
    y2, m2 = month_add(y, m, k - 1)
    return date(y, m, 1), last_day(y2, m2)


def _pivot(yy: int, ref: date) -> int:
    """Two-digit year -> the year with those digits in [R-89, R+10]."""
    base = ref.year - ref.year % 100 + yy
    if base > ref.year + 10:
        base -= 100
    elif base < ref.year - 89:
        base += 100
    return base


def _cn_year(s: str) -> int | None:
    digits = "".join(str(_CN_EXTRA.get(c, cn_small_int(c) if c not in "零〇" else 0)) for c in s)
    return int(digits) if digits.isdigit() else None


def _month_year(m: int, ref: date, text: str, span: tuple[int, int]) -> int:
    """The year of a year-less month (module docstring)."""
    if m > ref.month and reads_past(text, *span):
        return ref.year - 1
    return ref.year + 1 if m + 12 - ref.month <= 3 else ref.year


def _day_year(m: int, d: int, ref: date, text: str, span: tuple[int, int]) -> date | None:
    """A year-less day: §3's roll-forward, or the past reading in a past clause."""
    this = safe_date(ref.year, m, d)
    if reads_past(text, *span):
        return this if this is not None and this <= ref else safe_date(ref.year - 1, m, d)
    if this is None or this < ref:
        return safe_date(ref.year + 1, m, d)
    return this


def _nth_monday(first: date, n: int) -> date:
    d = first + timedelta(days=(7 - first.weekday()) % 7)
    return d + timedelta(days=7 * (n - 1))


def _last_workday(mon: date) -> date:
    for i in range(6, -1, -1):
        d = mon + timedelta(days=i)
        if is_workday(d):
            return d
    return mon + timedelta(days=4)


def _shift_months(d: date, k: int) -> date:
    y, m = month_add(d.year, d.month, k)
    return safe_date(y, m, d.day) or last_day(y, m)


# ---------------------------------------------------------------------------------------------
# atom resolvers: each returns (first, last, kind, has_year, gran) or None
_Res = tuple[date, date, str, bool, str]


def _res_year(m: re.Match[str], ref: date) -> tuple[int, int | None, bool] | None:
    """(year, range-end year, two_digit) of the year part."""
    g = m.group
    if g("y4"):
        return int(g("y4")), int(g("y4b")) if g("y4b") else None, False
    if g("y4c"):
        y = _cn_year(g("y4c"))
        return (y, None, False) if y and 1900 <= y <= 2099 else None
    if g("y2"):
        return _pivot(int(g("y2")), ref), None, True
    if g("y2c"):
        raw = g("y2c")
        a, b = raw[0], raw[1]
        if _count(b) == (_count(a) or 0) + 1:  # 三四年: "three or four years"
            return None
        y = _cn_year(g("y2c"))
        return (_pivot(y, ref), None, True) if y is not None else None
    off = {"今": 0, "明": 1, "去": -1, "前": -2, "后": 2, "上": -1, "上一": -1, "下": 1, "下一": 1,
           "这一": 0, "本": 0}.get(g("yrel") or "")
    return (ref.year + off, None, False) if off is not None else None


def _res_cal(m: re.Match[str], ref: date, text: str) -> _Res | None:
    g = m.group
    start, end = m.span()
    y_info = _res_year(m, ref) if g("Y") else None
    if g("Y") and y_info is None:
        return None
    if y_info and y_info[2] and not (g("M") or g("Q") or g("YT")):
        raw = g("y2") or g("y2c") or ""
        if raw[0] not in "0零〇":
            return None
    if y_info is None and (g("YT") or not (g("M") or g("Q"))):
        return None
    if y_info is not None and y_info[1] is not None:  # 2003-2005年
        return date(y_info[0], 1, 1), date(y_info[1], 12, 31), "period", True, "y"
    year = y_info[0] if y_info else None
    if g("Q"):
        return _res_quarter(m, ref, year)
    if g("M"):
        return _res_month(m, ref, year, text, (start, end))
    assert year is not None
    if g("YT"):
        return _res_year_tail(m, year)
    if DURATION_BEFORE.search(text[max(0, start - 4):start]):
        return None
    return *_year_span(year), "period", True, "y"


def _res_year_tail(m: re.Match[str], y: int) -> _Res | None:
    g = m.group
    yt = g("yt")
    if yt:
        first_m, k = {"上半年": (1, 6), "前半年": (1, 6), "下半年": (7, 6), "后半年": (7, 6),
                      "年初": (1, 2), "初": (1, 2), "伊始": (1, 2), "年中": (6, 2), "年末": (11, 2),
                      "末": (11, 2), "首月": (1, 1), "内": (1, 12)}.get(yt, (0, 0))
        if first_m:
            return *_months_span(y, first_m, k), "period", True, "m"
        return date(y, 12, 31), date(y, 12, 31), "day", True, "d"  # 年底 / 底: as §3's 年底
    jan1 = date(y, 1, 1)
    if g("ypn"):
        n, unit = _count(g("ypn")), g("ypu")
        if not n:
            return None
        if unit in ("季度", "月"):
            k = n * 3 if unit == "季度" else n
            if k > 12:
                return None
            return *_months_span(y, 1 if g("ypd") == "前" else 13 - k, k), "period", True, "m"
        if g("ypd") == "后":
            return None
        if unit == "天":
            return jan1, jan1 + timedelta(days=n - 1), "period", True, "d"
        mon = _nth_monday(jan1, 1)
        return mon, mon + timedelta(days=7 * n - 1), "period", True, "w"
    n, unit = _count(g("yon")), g("you")
    if not n:
        return None
    if unit == "月":
        return (*_month_span(y, n), "period", True, "m") if n <= 12 else None
    if unit == "天":
        d = jan1 + timedelta(days=n - 1)
        return d, d, "day", True, "d"
    mon = _nth_monday(jan1, n)
    return (mon, mon + timedelta(days=6), "period", True, "w") if n <= 53 else None


def _res_quarter(m: re.Match[str], ref: date, year: int | None) -> _Res | None:
    g = m.group
    y = year if year is not None else ref.year
    cur = (ref.month - 1) // 3 + 1
    if g("qn") or g("qc"):
        q = _count(g("qn") or g("qc")) or 0
    else:
        qr = g("qr") or ""
        q = 1 if qr == "首" else cur + (-1 if qr.startswith("上") else 1 if qr.startswith("下") else 0)
        if year is None and qr != "首":
            y, q = ref.year + (q - 1) // 3, (q - 1) % 3 + 1
    if not 1 <= q <= 4:
        return None
    m0 = 3 * q - 2
    qt = g("qt")
    if qt == "初":
        return *_month_span(y, m0), "period", True, "m"
    if qt in ("末", "底"):
        return *_month_span(y, m0 + 2), "period", True, "m"
    return *_months_span(y, m0, 3), "period", True, "q"


def _res_month(m: re.Match[str], ref: date, year: int | None, text: str,
               span: tuple[int, int]) -> _Res | None:
    g = m.group
    start = span[0]
    has_year = year is not None
    if g("mrel"):
        rel = g("mrel")
        k = (-2 if rel.startswith("上上") else 2 if rel.startswith("下下") else -1 if rel.startswith("上")
             else 1 if rel.startswith("下") else 0)
        y, mo = month_add(year if year is not None else ref.year, ref.month, k)
        has_year = True
    else:
        mo = _count(g("mn")) or 0
        if not 1 <= mo <= 12:
            return None
        if year is None:
            if start > 0 and text[start - 1] in "0123456789一二三四五六七八九十两几每第个半近前后上下":
                return None
            if text.startswith("内", span[1]) and not g("fen"):
                return None
        mo2 = _count(g("mn2")) if g("mn2") else None
        if mo2 is not None:  # 4月-7月, 2019年1-8月份
            if not 1 <= mo2 <= 12:
                return None
            y = year if year is not None else _month_year(mo, ref, text, span)
            y2 = y if mo2 >= mo else y + 1
            return date(y, mo, 1), last_day(y2, mo2), "period", has_year, "m"
        y = year if year is not None else _month_year(mo, ref, text, span)
    if g("D"):
        return _res_month_day(m, ref, y, mo, has_year, text, span)
    if g("MT"):
        return _res_month_tail(m, y, mo, has_year)
    return *_month_span(y, mo), "period", has_year, "m"


def _res_month_day(m: re.Match[str], ref: date, y: int, mo: int, has_year: bool, text: str,
                   span: tuple[int, int]) -> _Res | None:
    g = m.group
    d = _count(g("dn"))
    if not d or (not g("dsuf") and (m.end() < len(text) and text[m.end()] in _AFTER_BARE_DAY)):
        return None
    if g("dn2"):
        d2 = _count(g("dn2"))
        first, last = safe_date(y, mo, d), safe_date(y, mo, d2 or 0)
        if first is None or last is None or last < first:
            return None
        return first, last, "period", has_year, "d"
    if has_year:
        day = safe_date(y, mo, d)
    else:
        day = _day_year(mo, d, ref, text, span)
    return (day, day, "day", has_year, "d") if day else None


def _res_month_tail(m: re.Match[str], y: int, mo: int, has_year: bool) -> _Res | None:
    g = m.group
    last = last_day(y, mo)
    mt = g("mt")
    if mt:
        lo, hi = {"上旬": (1, 10), "中旬": (11, 20), "下旬": (21, last.day), "上半月": (1, 15),
                  "下半月": (16, last.day), "初": (1, 5), "末": (last.day - 4, last.day),
                  "中": (15, 15), "底": (last.day, last.day)}[mt]
        kind = "day" if lo == hi else "period"
        return date(y, mo, lo), date(y, mo, hi), kind, has_year, "d"
    first = date(y, mo, 1)
    if g("wkn"):
        n = _count(g("wkn"))
        if not n or n > 5:
            return None
        if g("wkd"):  # 第N个星期X: the N-th such weekday
            wd = "一二三四五六日".find(g("wkd")) if g("wkd") not in "天7" else 6
            wd = int(g("wkd")) - 1 if g("wkd").isdigit() else wd
            d = first + timedelta(days=(wd - first.weekday()) % 7 + 7 * (n - 1))
            return (d, d, "day", has_year, "d") if d.month == mo else None
        mon = _nth_monday(first, n)
        return mon, mon + timedelta(days=6), "period", has_year, "w"
    if g("lwd"):
        c = g("lwd")
        wd = int(c) - 1 if c.isdigit() else ("一二三四五六日".find(c) if c != "天" else 6)
        d = last - timedelta(days=(last.weekday() - wd) % 7)
        return d, d, "day", has_year, "d"
    if g("mfd"):
        n = _count(g("mfd"))
        return (first, first + timedelta(days=n - 1), "period", has_year, "d") if n and n <= last.day else None
    n = _count(g("mld"))
    return (last - timedelta(days=n - 1), last, "period", has_year, "d") if n and n <= last.day else None


def _res_off(m: re.Match[str], ref: date, text: str) -> _Res | None:
    g = m.group
    start = m.start()
    if DURATION_BEFORE.search(text[max(0, start - 4):start]):
        return None
    unit, direction = g("ou"), g("od")
    half = bool(g("oh") or g("oh2"))
    n = 0 if g("on") == "半" else _count(g("on"))
    if g("on") == "半" and unit.endswith("月") and direction in ("以后", "之后", "后"):
        d = ref + timedelta(days=14)  # as §3's 半个月后
        return d, d, "day", True, "d"
    if n is None or (g("on") == "半" and unit != "年") or g("on").startswith("0"):
        return None
    if unit.endswith("工作日"):  # 3个工作日内 / 5个工作日后: working days after R
        if not n or n > 60 or direction not in ("内", "以内", "之内", "以后", "之后", "后"):
            return None
        d = ref
        while n:
            d += timedelta(days=1)
            n -= is_workday(d)
        return d, d, "day", True, "d"
    if direction in ("内", "以内", "之内"):
        if unit not in ("天", "日") or half:
            return None  # 一个月内 is vague (§3); N天内 is §3's day, N日内 the same
        d = ref + timedelta(days=n)
        return d, d, "day", True, "d"
    sign = -1 if direction in ("以前", "之前", "前", "以来") else 1
    kind = "after" if direction == "以来" else "day"
    if unit == "年" and not half and g("on") != "半":
        if n > 200:
            return None
        y = ref.year + sign * n
        return date(y, 1, 1), date(y, 12, 31), "period" if kind == "day" else kind, True, "y"
    if unit.endswith(("月", "季度")) or unit == "年":
        months = n * (12 if unit == "年" else 3 if unit.endswith("季度") else 1) + (
            (6 if unit == "年" else 0) if half else 0)
        if g("on") == "半":
            months = 6
        y, mo = month_add(ref.year, ref.month, sign * months)
        return date(y, mo, 1), last_day(y, mo), "period" if kind == "day" else kind, True, "m"
    if half:
        return None
    days = n * (1 if unit in ("天", "日") else 7)
    d = ref + timedelta(days=sign * days)
    return d, d, kind, True, "d"


def _res_win(m: re.Match[str], ref: date, text: str) -> _Res | None:
    g = m.group
    p, unit = g("wp"), g("wu")
    n = _count(g("wn"))
    if not n:
        return None
    start = m.start()
    prev = text[start - 1] if start > 0 else " "
    if (p in ("上", "前", "下", "后") or p.startswith("过去")) and "\u4e00" <= prev <= "\u9fff" \
            and prev not in "在于的是这和与从及":
        return None  # 签约后三个月 / 交货前两周: measured from another event
    if p == "前" and _FIRST_N_TERMS.match(text, m.end()):
        return None  # 前三个月免费: the first months of a contract, not a past window
    if unit in ("天", "日") and g("wn") == "两" and p in ("前", "后"):
        return None  # 前两天: "the other day"
    if unit in ("天", "日"):
        k, step = n, "d"
    elif unit.endswith(("月", "季度")):
        k, step = n * (3 if unit.endswith("季度") else 1), "m"
    elif unit == "年":
        k, step = n, "y"
    else:
        k, step = n, "w"
    if p in ("最近", "近") or p.startswith("过去"):
        first = _back(ref, k, step)
        return first, ref, "period", True, "d"
    if p.startswith(("未来", "接下来")) or p == "今后":
        last = _fwd(ref, k, step) - timedelta(days=1)
        return ref, last, "period", True, "d"
    back = p in ("上", "前")
    return _calendar_window(ref, k, step, back)


def _back(ref: date, k: int, step: str) -> date:
    if step == "d":
        return ref - timedelta(days=k)
    if step == "w":
        return ref - timedelta(days=7 * k)
    return _shift_months(ref, -k * (12 if step == "y" else 1))


def _fwd(ref: date, k: int, step: str) -> date:
    if step == "d":
        return ref + timedelta(days=k)
    if step == "w":
        return ref + timedelta(days=7 * k)
    return _shift_months(ref, k * (12 if step == "y" else 1))


def _calendar_window(ref: date, k: int, step: str, back: bool) -> _Res:
    """The k whole calendar units before (back) or after the current one."""
    if step == "d":
        return (ref - timedelta(days=k), ref - timedelta(days=1), "period", True, "d") if back else \
            (ref + timedelta(days=1), ref + timedelta(days=k), "period", True, "d")
    if step == "w":
        mon = monday(ref)
        first = mon - timedelta(days=7 * k) if back else mon + timedelta(days=7)
        return first, first + timedelta(days=7 * k - 1), "period", True, "w"
    if step == "y":
        y0 = ref.year - k if back else ref.year + 1
        return date(y0, 1, 1), date(y0 + k - 1, 12, 31), "period", True, "y"
    y0, m0 = month_add(ref.year, ref.month, -k if back else 1)
    return (*_months_span(y0, m0, k), "period", True, "m")


def _res_week(m: re.Match[str], ref: date) -> _Res | None:
    g = m.group
    wr = g("wr")
    k = (-2 if wr.startswith("上上") else 2 if wr.startswith("下下") else -1 if wr.startswith("上")
         else 1 if wr.startswith("下") else 0)
    mon = monday(ref) + timedelta(days=7 * k)
    if g("wwd"):
        c = g("wwd")
        wd = int(c) - 1 if c.isdigit() else ("一二三四五六日".find(c) if c != "天" else 6)
        d = mon + timedelta(days=wd)
        return d, d, "day", True, "d"
    if g("wt") == "末":
        return mon + timedelta(days=5), mon + timedelta(days=6), "period", True, "d"
    if g("wt") == "内":
        d = _last_workday(mon)
        return d, d, "before", True, "d"
    return mon, mon + timedelta(days=6), "period", True, "w"


def _res_free(m: re.Match[str], ref: date) -> _Res | None:
    fr = m.group("fr")
    if fr.endswith("周"):  # 上半周 Mon-Wed, 下半周 Thu-Sun
        mon = monday(ref) + timedelta(days=0 if fr == "上半周" else 3)
        return mon, mon + timedelta(days=2 if fr == "上半周" else 3), "period", True, "d"
    if fr in ("上半年", "下半年", "年初", "年中", "年末"):
        first_m, k = {"上半年": (1, 6), "下半年": (7, 6), "年初": (1, 2), "年中": (6, 2),
                      "年末": (11, 2)}[fr]
        return *_months_span(ref.year, first_m, k), "period", True, "m"
    last = last_day(ref.year, ref.month)
    lo, hi = {"月初": (1, 5), "月末": (last.day - 4, last.day), "上半月": (1, 15),
              "下半月": (16, last.day), "上旬": (1, 10), "中旬": (11, 20), "下旬": (21, last.day)}[fr]
    return date(ref.year, ref.month, lo), date(ref.year, ref.month, hi), "period", True, "d"


def _res_typed(kind: str, m: re.Match[str], ref: date, text: str) -> _Res | None:
    g = m.group
    start, end = m.span()
    if kind == "t8":
        if _CODE_BEFORE.search(text[max(0, start - 3):start]):
            return None
        d = safe_date(int(g("t8y")), int(g("t8m")), int(g("t8d")))
        return (d, d, "day", True, "d") if d else None
    if kind == "tdt":  # 2024-03-0509:30: a typed date glued to a clock time
        d = safe_date(int(g("tiy")), int(g("tim")), int(g("tid")))
        return (d, d, "day", True, "d") if d else None
    if kind == "tsp":
        d = safe_date(int(g("tsy")), int(g("tsm")), int(g("tsd")))
        return (d, d, "day", True, "d") if d else None
    nxt = text[end] if end < len(text) else " "
    if kind == "tym":
        if nxt in "元块万亿千百米吨个台件套次分秒点折倍":
            return None
        return *_month_span(int(g("tmy")), int(g("tmm"))), "period", True, "m"
    if kind == "tmd":
        mo, dd = int(g("tdm")), int(g("tdd"))
    else:
        mo, dd = int(g("tsm2")), int(g("tsd2"))
        if g("tsep") == "/" and mo < dd <= 9:
            return None  # 1/3, 2/5: a fraction
        if nxt in "的之个份成倍元块万台件人次号日":  # 号/日: §3's md_typed
            return None
    d = _day_year(mo, dd, ref, text, (start, end))
    return (d, d, "day", False, "d") if d else None


def _resolve(kind: str, m: re.Match[str], ref: date, text: str) -> _Res | None:
    if kind == "cal":
        return _res_cal(m, ref, text)
    if kind == "off":
        return _res_off(m, ref, text)
    if kind == "win":
        return _res_win(m, ref, text)
    if kind == "wk":
        return _res_week(m, ref)
    if kind == "wend":
        mon = monday(ref)
        return mon + timedelta(days=5), mon + timedelta(days=6), "period", True, "d"
    if kind == "free":
        return _res_free(m, ref)
    if kind == "fy":
        y = int(m.group("fyy"))
        return date(y, 1, 1), date(y, 12, 31), "period", True, "y"
    if kind == "dd":  # 大大后天: each 大 one more day
        k = len(m.group("ddn")) + 2
        d = ref + timedelta(days=k if m.group("ddw") == "后天" else -k)
        return d, d, "day", True, "d"
    return _res_typed(kind, m, ref, text)


def _scan(text: str, ref: date, taken: frozenset[tuple[int, int]] = frozenset()) -> list[_Atom]:
    """This module's own atoms, left to right, none overlapping.  An atom whose span is in
    `taken` (a §3 date or a holiday read at that very span) is left out: _pick would drop it."""
    out: list[_Atom] = []
    pos, n = 0, len(text)
    while pos < n:
        m = _MASTER.search(text, pos)
        if m is None:
            break
        start, end = m.span()
        if end == start:
            pos = start + 1
            continue
        kind = m.lastgroup or ""
        if kind == "wk" and start > 0 and text[start - 1] == "一" and text.startswith("下下", start):
            pos = start + 1  # 申请一下下周二: 一下 + 下周二 (as dates.find_dates)
            continue
        res = _try(kind, m, ref, text)
        if res is None:
            for k2 in _KINDS[_KINDS.index(kind) + 1:]:
                m2 = _single(k2).match(text, start)
                if m2 is not None and m2.end() > start:
                    res = _try(k2, m2, ref, text)
                    if res is not None:
                        m = m2
                        break
        if res is None:
            pos = start + 1
            continue
        end = m.end()
        if (start, end) not in taken:
            first, last, kind, has_year, gran = res
            out.append(_Atom(start, end, first, last, kind, has_year, gran))
        pos = end
    return out


def _try(kind: str, m: re.Match[str], ref: date, text: str) -> _Res | None:
    try:
        return _resolve(kind, m, ref, text)
    except (ValueError, OverflowError, KeyError, IndexError):
        return None


# ---------------------------------------------------------------------------------------------
# combining atoms
_SRC_ORDER = {"s3": 0, "hol": 1, "tx": 2}


def _pick(cands: list[_Atom]) -> list[_Atom]:
    """Non-overlapping atoms: the longest wins; at an equal span §3 wins, then holidays."""
    if len(cands) < 2:
        return list(cands)
    chosen: list[_Atom] = []
    for a in sorted(cands, key=lambda a: (a.start - a.end, _SRC_ORDER[a.src], a.start)):
        if not any(a.start < c.end and c.start < a.end for c in chosen):
            chosen.append(a)
    return sorted(chosen, key=lambda a: a.start)


def _range_end(text: str, pos: int, x: _Atom, by_start: dict[int, _Atom], ref: date) -> _Atom | None:
    """The Y of "X到Y" written at `pos`: a full atom, or the parts X did not repeat."""
    m = _NOW.match(text, pos)
    if m:
        return _Atom(pos, m.end(), ref, ref, "day")
    if x.gran == "d" and x.kind == "day":
        m = _PART_DAY.match(text, pos)
        if m and (pos not in by_start or by_start[pos].end <= m.end()):
            d = safe_date(x.first.year, x.first.month, _count(m.group("pd")) or 0)
            return _Atom(pos, m.end(), d, d, "day") if d else None
    if x.has_year and x.gran in ("m", "d"):
        m = _PART_MONTH.match(text, pos)
        if m and (pos not in by_start or by_start[pos].end <= m.end()):
            mo = _count(m.group("pm")) or 0
            if not 1 <= mo <= 12:
                return None
            y = x.first.year + (1 if mo < x.first.month else 0)
            if m.group("pd"):
                d = safe_date(y, mo, _count(m.group("pd")) or 0)
                return _Atom(pos, m.end(), d, d, "day") if d else None
            return _Atom(pos, m.end(), date(y, mo, 1), last_day(y, mo), "period")
    if x.gran in ("y", "m") and x.has_year:
        m = _PART_YEAR.match(text, pos)
        if m:
            y = int(m.group("py"))
            return _Atom(pos, m.end(), date(y, 1, 1), date(y, 12, 31), "period")
    return by_start.get(pos)


def _combine(text: str, atoms: list[_Atom], ref: date) -> list[_Atom]:
    """Ranges (X到Y), open ranges (X以前, 自X, 截至X) and approximation words around atoms."""
    by_start = {a.start: a for a in atoms}
    out: list[_Atom] = []
    i = 0
    while i < len(atoms):
        x = atoms[i]
        i += 1
        if out and out[-1].end > x.start:
            continue
        if x.kind == "day" and x.gran == "d" and text[x.end:x.end + 1] in _WEEKDAY_FIRST:
            wd = _WEEKDAY_AFTER.match(text, x.end)
            if wd:  # 6月1日周六 / 3号(周二): the weekday only restates the day
                x = x._replace(end=wd.end())
                while i < len(atoms) and atoms[i].start < x.end:
                    i += 1
        c = _CONNECT.match(text, x.end) if text[x.end:x.end + 1] in _CONNECT_FIRST else None
        if c and x.kind in ("day", "period"):
            y = _range_end(text, c.end(), x, by_start, ref)
            if y is not None and y.last >= x.first:
                conj = text[c.start():c.end()].strip() in ("和", "与")
                bt = _BETWEEN.match(text, y.end)
                if not conj or bt:
                    end = bt.end() if bt else y.end
                    x = _Atom(x.start, end, x.first, y.last, "period", x.has_year, x.gran)
                    while i < len(atoms) and atoms[i].start < end:
                        i += 1
        out.append(_open_range(text, x, ref))
    return out


def _open_range(text: str, x: _Atom, ref: date) -> _Atom:
    start, end = x.start, x.end
    if (start == 0 or text[start - 1] not in "自从止至截到") and text[end:end + 1] not in _SUFFIX_FIRST:
        return x  # the common case: nothing around the mention
    pre = _PREFIX.search(text, max(0, start - 4), start)
    if pre:
        start = pre.start()
    s = _SUFFIX.match(text, end)
    word = s.group("s") if s else ""
    if s and word in ("前", "以前", "之前") and x.src == "s3" and x.kind == "day":
        return x  # §3 deadline day: 周五前
    if word == "起" and text[end - 1] == "一":
        s, word = None, ""  # 上周一起: 一起 "together"
    if s:
        end = s.end()
    p = pre.group(0) if pre else ""
    if word in ("以后", "之后", "后", "以来", "开始", "起") or p in ("自从", "自"):
        return x._replace(start=start, end=end, kind="after", last=x.first)
    if word == "为止" or p.startswith("截") or p == "直到":
        return x._replace(start=start, end=end, kind="before", first=x.last)
    if word in ("前", "以前", "之前"):
        anchor = x.first if x.last < ref else x.last
        return x._replace(start=start, end=end, kind="before", first=anchor, last=anchor)
    return x._replace(start=start, end=end)


_DAY_WORD_ENDS = frozenset("天日号")  # a part of the day right after one of these is that day's
_HABIT = re.compile(r"(?:每|天天|平时|一般|通常|经常)(?:天|日)?$")  # 每天下午, 平时晚上


def _attach_clocks(text: str, atoms: list[_Atom], clocks: list[Clock], ref: date) -> list[_Atom]:
    """Join each clock reading to the day next to it; a clock alone is on day R."""
    out = list(atoms)
    for c in clocks:
        target = None
        for j, a in enumerate(out):
            if a.kind not in ("day", "period") or (a.src == "tx" and a.kind == "period"):
                continue
            if ((a.end <= c.span.start and _ATTACH_GAP.match(text[a.end:c.span.start]))
                    or (c.span.end <= a.start and _ATTACH_GAP.match(text[c.span.end:a.start])
                        and target is None)
                    or (a.start < c.span.end and c.span.start < a.end)):
                target = j
        tm = None if c.part_only else c.time
        if target is not None:
            a = out[target]
            day = a.first + timedelta(days=1) if c.next_day else a.first
            out[target] = a._replace(start=min(a.start, c.span.start), end=max(a.end, c.span.end),
                                first=day, last=day, kind="day", time=tm or a.time)
        elif not any(a.start < c.span.end and c.span.start < a.end for a in out):
            if c.part_only and (_HABIT.search(text, max(0, c.span.start - 2), c.span.start)
                                or text[c.span.start - 1:c.span.start] in _DAY_WORD_ENDS):
                continue  # 每天下午 is a habit; 第三天上午 / 次日上午 hang on a day we did not read
            day = ref + timedelta(days=1) if c.next_day else ref
            out.append(_Atom(c.span.start, c.span.end, day, day, "day", src="clock", time=tm))
    return sorted(out, key=lambda a: a.start)


def find_times(text: str, ref: date, dates: list[DateMention]) -> list[TimeMention]:
    """Every resolved time mention in `text`, in order, none overlapping another: the §3 dates
    (values kept), this module's periods, ranges and open ranges, holidays, times of day."""
    cands = [_Atom(d.span.start, d.span.end, d.value, d.value, "day", src="s3") for d in dates]
    for h in find_holidays(text, ref):
        cands.append(_Atom(h.span.start, h.span.end, h.start, h.end or h.start, h.kind, src="hol",
                           time=h.time))
    cands.extend(_scan(text, ref, frozenset([(a.start, a.end) for a in cands])))
    clocks = find_clock(text)
    if not cands and not clocks:
        return []
    atoms = _combine(text, _pick(cands), ref)
    if clocks:
        atoms = _attach_clocks(text, atoms, clocks, ref)
    return [TimeMention(a.kind, a.first, text[a.start:a.end], Span(a.start, a.end),
                        end=a.last if a.kind == "period" else None, time=a.time) for a in atoms]


_DUE_ENDS = ("前", "后", "内")  # a day written as a deadline: 国庆后, 节前, 春节假期后


def deadlines(dates: list[DateMention], times: list[TimeMention]) -> list[DateMention]:
    """The days a to-do can be due on: the §3 dates, and each other mention that is written as
    a deadline (这周内, 周末前, 6月之前, 国庆后, 节前) where it does not overlap a §3 date.  A
    day that is not a deadline is not a due date: a bare festival (确认中秋月饼盒的排产), a
    time of day alone (每天早上七点), a date in a story (6/18装好); nor is a period."""
    out = list(dates)
    for t in times:
        if (t.kind == "before" or (t.kind == "day" and t.time is None and t.text.endswith(_DUE_ENDS)
                                    and not t.text.endswith("前后"))) \
                and not any(t.span.start < d.span.end and d.span.start < t.span.end for d in dates):
            out.append(DateMention(t.start, t.text, t.span))
    return sorted(out, key=lambda d: d.span.start)


def due_time(times: list[TimeMention], due_dates: list[DateMention], due: date, span: Span) -> time | None:
    """The time of day written with a to-do's due date: that of the deadline the to-do takes its
    date from (the last one before the to-do ends: 明天下午三点 | 去拜访王总), when it names that
    day; a time said with another mention of the same day does not move over."""
    before = [d for d in due_dates if d.span.start < span.end]
    if not before or before[-1].value != due:
        return None
    d = before[-1].span
    return next((t.time for t in times if t.span.start <= d.start and d.end <= t.span.end), None)


def parse_due(phrase: str, ref: date) -> tuple[date, time | None] | None:
    """One due date (and time of day) for the correction command 改 日期 …: a mention that
    makes up the whole phrase (明天下午三点, 国庆后, 这周内, 3月5号前) and names one day, else
    the typed and §3 forms of dates.parse_date.  None for anything else: a period (下个季度)
    names no single day, and the rep is asked again."""
    p = phrase.strip()
    whole = [t for t in find_times(p, ref, find_dates(p, ref))
             if t.span.start == 0 and p[t.span.end:] in _DEADLINE_TAILS]
    if len(whole) == 1 and whole[0].kind in ("day", "before"):
        return whole[0].start, whole[0].time
    d = parse_date(p, ref)
    return (d, None) if d is not None else None


_DEADLINE_TAILS = ("", "前", "之前", "以前")  # 3月5号前: the deadline is the day itself (§3)
