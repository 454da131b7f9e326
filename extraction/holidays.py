"""Chinese statutory holidays in notes (国庆后, 春节前, 节后, 去年中秋): resolved to concrete
days through the official calendar data (chinesecalendar), with a config override for years
the package does not know yet.

One source of truth for the calendar: `is_workday` here is what scheduler/workdays.py (alerts,
digests) and the holiday resolution both use.  For a day the override names, the override wins;
else a year chinesecalendar knows comes from the package; else (a year neither knows, logged
once) Monday–Friday are working days except the festival days themselves.

Conventions (R = the note's reference date):
- A holiday's *festival day*: 元旦 Jan 1, 春节 lunar 1/1, 除夕 the day before it, 清明 the solar
  term, 劳动节 May 1, 端午 lunar 5/5, 中秋 lunar 8/15, 国庆 Oct 1 (1950–2099).  Its *block* is the
  run of days off around it as published (the days labelled with that holiday, widened over the
  adjacent days off: 2023's 中秋 and 国庆 share 9/29–10/6); 除夕 belongs to the 春节 block.
  For a year neither the package nor the override knows, the block is unknown: the festival
  day still resolves, but X前 / X后 / X期间 do not (a guessed block would write a wrong date into
  the CRM), and the log asks for the override.  Two-digit years: 06年 → 2006 unless that is more than 10 years after R (98年 → 1998).
- No year word: the next festival day on or after R (a bare 春节 said on the third day of the
  holiday is next year's); with 期间/后-type suffixes a block running on R counts, and X后
  within `RECENT_WORKDAYS` working days after X's block means that block (said on the way back).
  With 去年/今年/明年/前年/后年, 2019年, 06年, 零六年: that year's holiday, no rolling.
- X前 / X之前 / X放假前 → the last working day before the block (a deadline); X后 / X之后 /
  X假期后 / X节后 / X回来 → the first working day after it (make-up working days count);
  X期间 / X假期 / X放假 / X那几天 → the block as a period; X前后 / X左右 / bare X → the festival day.
- 节前 / 节后 alone: the statutory holiday whose block is running on R or comes next; but 节后
  within `RECENT_WORKDAYS` working days after a block means that block (said on the way back).
  年前 / 年后 alone (not 三年后): the same rule restricted to 春节.
- 十一 is 国庆 only where it cannot be a number: with a holiday suffix (十一前, 十一长假) or a year
  word (今年十一), never before a unit (十一点, 十一月, 十一个) or after a numeral, 第, 月, 号.
  A bare 十一 is left alone (a count as often as a holiday).  国庆 right after a common surname
  with no 节 or suffix is a person's name (张国庆); 过年 needs a suffix (不过年底 is not 春节).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache

import chinese_calendar
from chinese_calendar import Holiday

from .dates import reads_past
from .types import Span, TimeMention

log = logging.getLogger(__name__)

NEW_YEAR, SPRING, EVE, QINGMING, LABOUR = "元旦", "春节", "除夕", "清明", "劳动节"
DRAGON_BOAT, MID_AUTUMN, NATIONAL = "端午", "中秋", "国庆"
# The seven statutory holidays, each with a block of days off (除夕 is part of 春节's block).
STATUTORY = (NEW_YEAR, SPRING, QINGMING, LABOUR, DRAGON_BOAT, MID_AUTUMN, NATIONAL)
FIRST_YEAR, LAST_YEAR = 1950, 2099
RECENT_WORKDAYS = 3  # 节后 said this many working days after a block still means that block

# Names the config override accepts for each holiday (as the State Council and people write them).
NAME_ALIASES = {
    "元旦": NEW_YEAR, "元旦节": NEW_YEAR, "春节": SPRING, "清明": QINGMING, "清明节": QINGMING,
    "劳动节": LABOUR, "五一": LABOUR, "五一劳动节": LABOUR, "端午": DRAGON_BOAT,
    "端午节": DRAGON_BOAT, "中秋": MID_AUTUMN, "中秋节": MID_AUTUMN, "国庆": NATIONAL,
    "国庆节": NATIONAL,
}
_PACKAGE_NAME = {
    Holiday.new_years_day.value: NEW_YEAR, Holiday.spring_festival.value: SPRING,
    Holiday.tomb_sweeping_day.value: QINGMING, Holiday.labour_day.value: LABOUR,
    Holiday.dragon_boat_festival.value: DRAGON_BOAT, Holiday.mid_autumn_festival.value: MID_AUTUMN,
    Holiday.national_day.value: NATIONAL,
}
_PACKAGE_YEARS = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
_NEAR = timedelta(days=20)  # a holiday's published days lie this close to its festival day


@dataclass(frozen=True, slots=True)
class HolidayBlock:
    """Published days off for one holiday (`start`..`end` inclusive) and the weekend days worked
    instead (调休), as in a State Council notice: the unit of the config override."""

    name: str  # one of STATUTORY
    start: date
    end: date
    workdays: tuple[date, ...] = ()


@dataclass(frozen=True, slots=True)
class HolidayOccurrence:
    """One holiday in one year: its festival day and the block of days off containing it
    (`published`: the block comes from the package or the override, not a guess)."""

    name: str
    festival: date
    start: date
    end: date
    published: bool = True


@dataclass(frozen=True, slots=True)
class _Override:
    blocks: tuple[HolidayBlock, ...] = ()
    days_off: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()


_override = _Override()


def install_calendar(blocks: Iterable[HolidayBlock]) -> None:
    """Replace the config override (validated by bot/config.py) and forget cached answers."""
    global _override
    blocks = tuple(blocks)
    off = {b.start + timedelta(days=i) for b in blocks for i in range((b.end - b.start).days + 1)}
    _override = _Override(blocks, frozenset(off), frozenset(d for b in blocks for d in b.workdays),
                          frozenset({b.start.year for b in blocks} | {b.end.year for b in blocks}))
    for cached in (is_workday, occurrence):
        cached.cache_clear()


@lru_cache(maxsize=8192)
def is_workday(d: date) -> bool:
    """Whether people work on `d` in mainland China (statutory holidays and 调休 honoured)."""
    if d in _override.workdays:
        return True
    if d in _override.days_off:
        return False
    if d.year in _PACKAGE_YEARS:
        return bool(chinese_calendar.is_workday(d))
    if d.year not in _override.years:
        _warn_year(d.year)
        if d in _festival_days(d.year):
            return False
    return d.weekday() < 5


@cache
def _warn_year(year: int) -> None:
    log.warning("no Chinese holiday data for %d: working days are Monday-Friday except the festival "
                "days (add the year's holidays to [calendar] in the config, or upgrade "
                "chinesecalendar)", year)


def missing_calendar(today: date) -> dict[int, tuple[str, ...]]:
    """This year and next that have no full holiday schedule: year → the holidays that neither
    chinesecalendar nor the [calendar] override gives (alerts would count those days as working
    days). Empty when both years are known."""
    out: dict[int, tuple[str, ...]] = {}
    for year in (today.year, today.year + 1):
        if year in _PACKAGE_YEARS:
            continue
        named = {b.name for b in _override.blocks if b.start.year == year or b.end.year == year}
        missing = tuple(n for n in STATUTORY if n not in named)
        if missing:
            out[year] = missing
    return out


def _festival_days(year: int) -> frozenset[date]:
    return frozenset(d for d in (festival_day(n, year) for n in STATUTORY) if d is not None)


def first_workday_after(d: date) -> date:
    """The first working day after `d`."""
    d += timedelta(days=1)
    while not is_workday(d):
        d += timedelta(days=1)
    return d


def last_workday_before(d: date) -> date:
    """The last working day before `d`."""
    d -= timedelta(days=1)
    while not is_workday(d):
        d -= timedelta(days=1)
    return d


@lru_cache(maxsize=64)
def _lunar_new_year(year: int) -> date:
    return _lunar_to_solar(year, 1, 1)


def _lunar_to_solar(year: int, month: int, day: int) -> date:
    # Imported here: the conversion tables cost ~30 ms, paid only once a lunar holiday is resolved.
    from lunar_python import Lunar

    s = Lunar.fromYmd(year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


@lru_cache(maxsize=1024)
def festival_day(name: str, year: int) -> date | None:
    """The festival day of holiday `name` (one of STATUTORY, or 除夕) in `year`; None outside
    1950–2099."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    fixed = {NEW_YEAR: (1, 1), LABOUR: (5, 1), NATIONAL: (10, 1)}.get(name)
    if fixed:
        return date(year, *fixed)
    if name == QINGMING:
        terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
        return next(d for d, term in terms if term == "清明")
    if name == SPRING:
        return _lunar_new_year(year)
    if name == EVE:
        return _lunar_new_year(year) - timedelta(days=1)
    lunar = {DRAGON_BOAT: (5, 5), MID_AUTUMN: (8, 15)}.get(name)
    return _lunar_to_solar(year, *lunar) if lunar else None


def _labelled_days(name: str, festival: date) -> list[date]:
    """The days published as `name`'s days off near its festival day: the override's, else the
    package's."""
    for b in _override.blocks:
        if b.name == name and abs(b.start - festival) <= _NEAR:
            return [b.start, b.end]
    if festival.year not in _PACKAGE_YEARS:
        return []
    days = (festival + timedelta(days=i) for i in range(-_NEAR.days, _NEAR.days + 1))
    return [d for d in days if _PACKAGE_NAME.get(chinese_calendar.holidays.get(d, "")) == name]


@lru_cache(maxsize=1024)
def occurrence(name: str, year: int) -> HolidayOccurrence | None:
    """Holiday `name` (one of STATUTORY, or 除夕) in `year`: festival day and block of days off."""
    fest = festival_day(name, year)
    if fest is None:
        return None
    block_of = SPRING if name == EVE else name
    labelled = _labelled_days(block_of, fest)
    start, end = (min(labelled), max(labelled)) if labelled else (fest, fest)
    for _ in range(10):  # widen over adjacent days off (weekends, a neighbouring holiday)
        if is_workday(start - timedelta(days=1)):
            break
        start -= timedelta(days=1)
    for _ in range(10):
        if is_workday(end + timedelta(days=1)):
            break
        end += timedelta(days=1)
    return HolidayOccurrence(name, fest, start, end, bool(labelled))


def upcoming(name: str, ref: date, suffix: str | None = None) -> HolidayOccurrence | None:
    """The occurrence of `name` a mention without a year means: the next one whose festival day
    is on or after `ref`; for X期间 / X后 also one whose block is running on `ref`, and for X后
    one that ended at most RECENT_WORKDAYS working days before `ref` (国庆后 said on the way
    back)."""
    for year in (ref.year - 1, ref.year, ref.year + 1):
        occ = occurrence(name, year)
        if occ is None:
            continue
        if occ.festival >= ref or (suffix in ("after", "period") and occ.start <= ref <= occ.end):
            return occ
        if suffix == "after" and occ.end < ref and _recent(occ, ref):
            return occ
    return None


def latest(name: str, ref: date, suffix: str | None = None) -> HolidayOccurrence | None:
    """The occurrence a mention in a clause about the past means (国庆后签的, 春节前就发了): the
    latest one whose date, as the suffix reads it, is before `ref`."""
    for year in (ref.year, ref.year - 1):
        occ = occurrence(name, year)
        if occ is not None and occ.published and _resolve(occ, suffix)[1] < ref:
            return occ
    return None


def _recent(occ: HolidayOccurrence, ref: date) -> bool:
    """Whether `ref` is at most RECENT_WORKDAYS working days after the block (stops early)."""
    d, seen = occ.end, 0
    while d < ref:
        d += timedelta(days=1)
        seen += is_workday(d)
        if seen > RECENT_WORKDAYS:
            return False
    return True


def nearest_block(ref: date, names: tuple[str, ...] = STATUTORY,
                  after: bool = False) -> HolidayOccurrence | None:
    """The block 节前/节后 (年前/年后 with names=(春节,)) refers to: the one running on `ref` or
    the next; for `after`, one that ended at most RECENT_WORKDAYS working days before `ref`."""
    occs = [o for n in names for y in (ref.year - 1, ref.year, ref.year + 1)
            if (o := occurrence(n, y)) is not None]
    if after:
        recent = [o for o in occs if o.end < ref and _recent(o, ref)]
        if recent:
            return max(recent, key=lambda o: o.end)
    ahead = [o for o in occs if o.end >= ref]
    return min(ahead, key=lambda o: o.start) if ahead else None


# --- mentions in notes -------------------------------------------------------------------------

_CORES = {
    "五一国际劳动节": LABOUR, "五一劳动节": LABOUR, "劳动节": LABOUR, "五一": LABOUR,
    "元旦节": NEW_YEAR, "元旦": NEW_YEAR, "大年初一": SPRING, "正月初一": SPRING, "春节": SPRING,
    "过年": SPRING, "过完年": SPRING, "过了年": SPRING, "大年三十": EVE, "年三十": EVE, "除夕": EVE, "清明节": QINGMING,
    "清明": QINGMING, "端午节": DRAGON_BOAT, "端阳节": DRAGON_BOAT, "端午": DRAGON_BOAT,
    "端阳": DRAGON_BOAT, "中秋节": MID_AUTUMN, "中秋": MID_AUTUMN, "国庆节": NATIONAL,
    "国庆": NATIONAL, "十一": NATIONAL,
}
_AFTER_CORES = ("过完年", "过了年")  # after the 春节 block by themselves
_CORE_ALT = "|".join(sorted(_CORES, key=len, reverse=True))
# A holiday word, or 节前/节后 and 年前/年后 alone (the 节 / 年 followed by 前 or 后).
_MASTER = re.compile(rf"(?P<core>{_CORE_ALT})|(?P<rel>[节年])(?=[之以]?[前后])")
# Every alternative above starts with a character of the first class followed by one of the
# second (built from the words, so a new word cannot be missed).  A plain character-class search
# takes the regex engine's fast path: a note without a candidate pair costs ~0.002 ms, and
# _MASTER runs anchored only where the pair occurs.
_GATE = re.compile("[{}](?=[{}])".format("".join(sorted({w[0] for w in _CORES} | set("节年"))),
                                         "".join(sorted({w[1] for w in _CORES} | set("之以前后")))))

_SUFFIX = re.compile(
    r"(?P<approx>前后|左右)"
    r"|(?P<after>(?:小?长假|假期|黄金周|放假|节假日|节)?(?:结束|过完)?[之以]?后(?![天日来续期])"
    r"|(?:小?长假|假期)?过后|回来|(?:收假|上班|开工|复工)[之以]?后)"
    r"|(?P<before>(?:小?长假|假期|放假|节)?[之以]?前(?![天日年])|前夕)"
    r"|(?P<period>(?:小?长假|假期|放假|节假日|黄金周)(?:期间|里|中)?|期间|那几天|那几日|那段时间)"
    r"|(?P<day>当天|当日|那天)")
_YEAR_BEFORE = re.compile(
    r"(?:(?P<rel>[去今明前后])年|(?<!\d)(?P<y4>\d{4})年|(?<!\d)(?P<y2>\d{2})年"
    r"|(?<![零〇一二三四五六七八九十])(?P<cy>[零〇一二三四五六七八九]{4}|[零〇一二三四五六七八九]{2})年)"
    r"的?$")
_REL_YEAR = {"去": -1, "今": 0, "明": 1, "前": -2, "后": 2}
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
_NUMERALS = "0123456789零〇一二两三四五六七八九十百千万几"
# After these a 年 belongs to another word (三年后, 去年前三个月, 新年, 小年, 年年).
_NOT_BEFORE_NIAN = _NUMERALS + ("多半去今明前后当每同那这些成少童青新周整全上下本该往近历晚早中老学财"
                                "末初隔次翌某大小长余数逐常终跨连累积经来年元丰度拜鼠牛虎兔龙蛇马羊猴鸡狗猪")
# 节前/节后 only after these (or no Chinese character): 情人节后, 环节后, 教师节前 are other 节.
_OK_BEFORE_JIE = "过在到等于是说要就才再先的了都也约排推拖放延改定看安争取赶最好们户他她我你它总"
# A number, not 国庆 / 劳动节: 第十一, 二十一, 十一月, 十一点, 五一个.
_NOT_BEFORE_NUMBER = _NUMERALS + "第初月号周"
_UNITS = _NUMERALS + "个点月号日时分秒万千百元块台家人岁年米次位件套条张只份吨斤公克届楼层%.．"
# Places named after a holiday (国庆路, 中秋大街): not a time.
_PLACE = "路街道村桥巷镇区楼厦园"
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
             "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
             "郝龚邵万钱严覃武戴莫孔向汤")


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _year_word(text: str, start: int, ref: date) -> tuple[int, int] | None:
    """(year, start offset) of a year word written right before a holiday (去年中秋, 06年端午)."""
    m = _YEAR_BEFORE.search(text, max(0, start - 6), start)
    if m is None:
        return None
    if m.group("rel"):
        return ref.year + _REL_YEAR[m.group("rel")], m.start()
    if m.group("y4"):
        return int(m.group("y4")), m.start()
    digits = m.group("y2") or "".join(str(_CN_DIGITS[c]) for c in m.group("cy"))
    year = int(digits)
    if len(digits) == 2:  # 06年 -> 2006, 98年 -> 1998
        year += 2000 if year + 2000 <= ref.year + 10 else 1900
    return year, m.start()


def _core_ok(text: str, start: int, end: int, core: str, suffix: str | None,
             year_written: bool) -> bool:
    """Whether the holiday word at [start, end) really names the holiday here."""
    prev = text[start - 1] if start > 0 else ""
    nxt = text[end] if end < len(text) else ""
    if nxt and nxt in _PLACE:
        return False
    if core in ("十一", "五一") and (prev and prev in _NOT_BEFORE_NUMBER or nxt and nxt in _UNITS):
        return False
    if core == "十一":  # 十一左右 is a count
        return suffix in ("after", "before", "period") or year_written
    if core == "过年":  # 不过年底, 超过年度: only with 前/后/期间 …
        return suffix is not None
    if core == "年三十":
        return not (prev and prev in _NOT_BEFORE_NIAN) and not (nxt and nxt in _UNITS)
    if core == "国庆" and suffix is None and not year_written:
        return not (prev and prev in _SURNAMES)  # 张国庆说 is a person
    return True


def _rel_ok(text: str, start: int, which: str) -> bool:
    prev = text[start - 1] if start > 0 else ""
    if which == "年" and prev and (prev in _NOT_BEFORE_NIAN or prev.isdigit()):
        return False  # 06年以后, ２年后: the 年 of a number, not the Spring Festival
    if not prev or not _is_cjk(prev):
        return True
    return prev not in _NOT_BEFORE_NIAN if which == "年" else prev in _OK_BEFORE_JIE


def _resolve(occ: HolidayOccurrence, suffix: str | None) -> tuple[str, date, date | None]:
    """(kind, start, end) of the mention: the festival day, the working day before/after the
    block, or the block itself."""
    if suffix == "before":
        return "day", last_workday_before(occ.start), None
    if suffix == "after":
        return "day", first_workday_after(occ.end), None
    if suffix == "period":
        return "period", occ.start, occ.end
    return "day", occ.festival, None


def find_holidays(text: str, ref: date) -> list[TimeMention]:
    """Every holiday expression in `text`, resolved against the reference date."""
    out: list[TimeMention] = []
    pos = 0
    while (g := _GATE.search(text, pos)) is not None:
        m = _MASTER.match(text, g.start())
        if m is None:
            pos = g.start() + 1
            continue
        start, end = m.span()
        pos = end
        sm = _SUFFIX.match(text, end)
        suffix = sm.lastgroup if sm else None
        core = m.group("core")
        if core in _AFTER_CORES:
            sm = sm if suffix == "after" else None
            suffix = "after"
        occ: HolidayOccurrence | None
        if core is None:  # 节前/节后, 年前/年后
            which = m.group("rel")
            if sm is None or suffix not in ("before", "after", "approx") \
                    or not _rel_ok(text, start, which):
                continue
            yw = _year_word(text, start, ref) if which == "年" else None
            if yw:
                occ, start = occurrence(SPRING, yw[0]), yw[1]
            else:
                names = (SPRING,) if which == "年" else STATUTORY
                occ = nearest_block(ref, names, after=suffix == "after")
        else:
            yw = _year_word(text, start, ref)
            if not _core_ok(text, start, end, core, suffix, yw is not None):
                continue
            name = _CORES[core]
            if yw:
                occ, start = occurrence(name, yw[0]), yw[1]
            elif reads_past(text, start, sm.end() if sm else end):  # 合同是国庆后签的
                occ = latest(name, ref, suffix)
            else:
                occ = upcoming(name, ref, suffix)
        if occ is None or (suffix in ("before", "after", "period") and not occ.published):
            continue  # the days off of an unpublished year are a guess: no date beats a wrong one
        if sm:
            end = sm.end()
        kind, value, last = _resolve(occ, suffix)
        out.append(TimeMention(kind, value, text[start:end], Span(start, end), end=last))
        pos = end
    return out


def holiday_date(phrase: str, ref: date) -> TimeMention | None:
    """The phrase as one holiday expression (for 改 日期 春节后), or None when it is not one."""
    p = phrase.strip()
    found = find_holidays(p, ref)
    return found[0] if len(found) == 1 and found[0].span == Span(0, len(p)) else None
