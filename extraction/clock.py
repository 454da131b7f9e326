"""Times of day in notes (下午四点二十, 16:40, 晚上7点许, 凌晨3点半): clock readings, told apart
from counts that also use 点 (让3个点, 百分之三点五).

One compiled regex finds the candidates: an optional 大约/约, an optional part of the day
(上午, 晚上, 今晚's 晚), then a time point (N点 / N时 with minutes, or H:MM) and an optional
range end (到 / 至 / ~ / - and a second point).  A candidate is then judged by what the
numbers and their neighbours say; when unsure there is no clock (a wrong time in a CRM is worse
than none).  Conventions:

- A part of the day sets the half of the day: 下午3点 15:00, 中午1点 13:00, 晚上8点 20:00,
  晚上12点 / 夜里十二点 / 半夜1点 are 00:00 / 01:00 of the next day (`next_day`), 凌晨2点 02:00
  and 凌晨12点 00:00 of the same day; an hour written 13..24 is kept as written (晚上20:15).
  零点 is 00:00 of the same day, 24点 00:00 of the next.
- A part of the day alone (上午, 明天晚上, 今晚's 晚) is a `part_only` reading at the part's
  customary start (上午 08:00, 下午 13:00, 晚上 18:00 ...; table `_PARTS`).  The day word itself
  (今晚, 明早) is a §3 date: the clock's span starts at the part (晚 of 今晚), so it may overlap
  the date's span; timex joins the two.
- A bare hour (no part of the day) is a clock only when it reads as one: H:MM, 点钟, minutes that
  a decimal cannot be (半, 一刻, 十五, 20, 5分; not 三点五 = 3.5, not bare 三点零五 = 3.05), an
  hour 13..24, a day word right before (明天三点, 3号10点), or a time-ish word before or after
  (约在, 改到, 最晚 / 前, 之前, 左右, 开会, 见 ...).  Never after a change or a share (降, 涨了, 让,
  百分之, 第, 毛利), never mid-number, never before a numeral, 个, %, 万 or a list noun
  (三点建议), never 两点之间.  一点 (also "a little") needs a part of the day, 钟 or minutes.
- A bare hour 1..6 (三点, 5:30) is read in the afternoon, the hours a rep works
  (`assumed_pm`); 7..12 as written; 05:30 with a leading zero as written.
- A range (8~11点半, 下午四点到晚上六点半, 七八点) is one Clock over the whole range: `time` is
  its start and `end` its end (`end_next_day` when it passes midnight); the end takes the
  start's part of the day when it has none (今晚七点到十点: 19:00-22:00).  A range across days
  (3点-明天5点) is left to timex: each side is read alone.
- 大约 / 约 before and 许 / 多 / 左右 / 前后 / 来钟 after are kept in the span and set `approx`.
  前 / 之前 / 以后 after a time are not in the span: they are timex's before / after.
- Seconds (17:55:23) are checked and dropped; H:MM:SS:.. with more fields, a minute over 59, an
  hour over 24 (41:52) or a ratio (配比1:10) are not clocks.
- Left unread on purpose (unsure, so no clock): a bare hour with nothing around it (三点, 9点
  alone: also "three points"), 十一点的事, a single 早 / 晚 after a date number (5号晚到 may be
  "arrives late on the 5th"), digits glued to a date (2026-03-0509:30, 2026 03 05五点),
  差五分三点 / 三点过五分.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from .dates import cn_small_int
from .types import Span

_TimeOfDay = time  # the field `Clock.time` hides the type inside the class


@dataclass(frozen=True, slots=True)
class Clock:
    """One clock reading: `time` on the day it is attached to, or on the next day when
    `next_day` (夜里十二点 is 00:00 of the next day); `part_only` when only a part of the day
    was written (上午, 晚上) and `time` is that part's usual start.  A range (两点到四点) gives
    its end in `end` (`end_next_day` past midnight); `approx` for 大约 / 许 / 左右 / 七八点;
    `assumed_pm` when a bare hour 1..6 was read as afternoon."""

    time: time
    span: Span
    next_day: bool = False
    part_only: bool = False
    end: _TimeOfDay | None = None
    end_next_day: bool = False
    approx: bool = False
    assumed_pm: bool = False


# Parts of the day: (half-day class, customary start hour, start is on the next day).
# Classes: early (凌晨: 12 -> 0), morning (as written), noon (1..4 -> +12),
# afternoon (1..11 -> +12), evening (5..11 -> +12; 12 and 0..4 -> next day).
_PARTS: dict[str, tuple[str, int, bool]] = {
    "后半夜": ("evening", 0, True), "半夜": ("evening", 0, True), "午夜": ("evening", 0, True),
    "凌晨": ("early", 0, False), "黎明": ("early", 4, False), "拂晓": ("early", 4, False),
    "清晨": ("morning", 5, False), "早上": ("morning", 6, False), "早晨": ("morning", 6, False),
    "早间": ("morning", 6, False), "早": ("morning", 6, False), "晨": ("morning", 6, False),
    "一早": ("morning", 6, False), "上午": ("morning", 8, False),
    "中午": ("noon", 12, False), "正午": ("noon", 12, False), "午间": ("noon", 12, False),
    "午后": ("afternoon", 13, False), "下午": ("afternoon", 13, False),
    "傍晚": ("afternoon", 17, False),
    "晚上": ("evening", 18, False), "晚间": ("evening", 18, False), "夜晚": ("evening", 18, False),
    "晚": ("evening", 18, False),
    "夜里": ("evening", 20, False), "夜间": ("evening", 20, False), "夜": ("evening", 20, False),
    "深夜": ("evening", 22, False),
}
_SINGLE_PARTS = "早晚夜晨"
# 早上 / 晚上 before 线 / 市 / 周 ... are 早 / 晚 + 上线 (go live early), 上周 (last week);
# 下午茶 is a snack
_LONG_PARTS = "|".join(sorted((p for p in _PARTS if len(p) > 1), key=len, reverse=True)).replace(
    "早上", "早上(?![线市架报传门岗交周月次个回年半期])").replace(
    "晚上", "晚上(?![线市架报传门岗交周月次个回年半期])").replace("下午", "下午(?!茶)")
_CN = "零〇一二两三四五六七八九十"
# a single-character part: after a day character (今晚, 明早, 当晚, 今晨), or right before an hour
_PART = (rf"(?:{_LONG_PARTS}|(?<=[今明昨当])[{_SINGLE_PARTS}]"
         rf"|[早晚夜](?=[\d{_CN}]))")
_CNMIN = "(?:[二三四五]?十[一二三四五六七八九]?|零[一二三四五六七八九]|[一二三四五六七八九])"
# 时 as an hour, not 时候 / 时间 / 时期 ... (小时 / 及时 / 同时 have no numeral before 时)
_NOT_HOUR_SHI = "候间期代段机效长限节尚常速差区态势辰光"


def _point(s: str) -> str:
    """One time point; group names end in `s` (1: the start, 2: a range's end)."""
    clock = rf"(?P<hh{s}>\d{{1,2}})[:：](?P<mm{s}>\d{{2}})(?:[:：](?P<ss{s}>\d{{2}}))?(?![\d:：])"
    minute = (rf"(?P<m{s}>整(?![改理合体顿治套个数洁齐车批])|半|[一三13]刻"
              rf"|(?:{_CNMIN}|\d{{1,2}})分(?:(?:{_CNMIN}|\d{{1,2}})秒)?"
              rf"|[二三四五]?十[一二三四五六七八九]?|零[一二三四五六七八九]|\d{{2}}(?!\d))")
    hour = (rf"(?P<h{s}>\d{{1,2}}|[{_CN}]{{1,3}})(?P<u{s}>点钟?|时(?![{_NOT_HOUR_SHI}]))"
            rf"{minute}?")
    return rf"(?:{clock}|{hour})(?P<ap{s}>许|多钟?|来钟|左右|前后)?"


_CONN = r"\s*(?:到|至|~|～|-|—{1,2}|－|–)\s*"
_CORE = (rf"(?P<p1>(?P<h0>\d{{1,2}}|[{_CN}]{{1,3}})(?={_CONN}(?:{_PART})?[\d{_CN}])|{_point('1')})"
         rf"(?P<rng>{_CONN}(?P<part2>{_PART})?{_point('2')})?"
         r"(?(h0)(?(rng)|(?!))|)")  # a bare numeral start (9~12点) needs the range
# Every match starts with one of these characters (look-behinds aside): the look-ahead lets
# the engine pass over every other position with one test, as dates._MASTER does.  `_LEAD`
# then keeps only the positions where a match can start (a numeral right before 点 / 时 / : or
# a range sign, 大约, a part of the day): three times faster again.  A new alternative that
# starts differently must be added to both.
_FIRST = rf"[\d{_CN}大约差后半午凌黎拂清早上中正下傍晚夜深晨]"
_LEAD = (rf"(?:[\d{_CN}]{{1,3}}\s*[点时:：到至~～\-—－–]|大约|大概|约|差不多|{_LONG_PARTS}"
         rf"|[{_SINGLE_PARTS}])")
_MASTER = re.compile(
    rf"(?={_FIRST})(?={_LEAD})(?P<pre>大约|大概|约莫|约|差不多)?(?P<part>{_PART})?"
    rf"(?P<core>{_CORE})?(?(core)|(?(part)|(?!)))")
# Every reading holds one of these (a time's 点 / 时 / colon, or a part of the day's
# character): a note without any, most notes, is not scanned at all.
_KEY = re.compile("[点时:：午晚早夜晨凌黎拂]")

# Context of a bare hour: words before that make it a clock, words after, and words that
# make it a count of points (降三点), a list (三点建议) or a decimal.
_DAY_BEFORE = re.compile(r"(?:(?:今|明|后|昨|前|当|每|那|同|次)天|[今明昨当次翌]日|[\d一二三四五六七八九十]号"
                         r"|[\d一二三四五六七八九十]日|(?:周|星期|礼拜)[一二三四五六日天1-7])$")
_CUE_BEFORE = re.compile(r"(?:在|于|约在|定在|定于|约好|改到|改在|改成|推到|推迟到|提前到|延到|延后到|挪到|等到"
                         r"|截止到?|截至|最晚|最迟|最早|从|准时|按时)$")
_CUE_AFTER = re.compile(r"(?:之前|以前|前(?![面期景途提])|之后|以后|后(?![面续期台来])|到(?![位底手期账货了])"
                        r"|见(?![解识])|碰头|碰面|见面|集合|出发|到达|抵达|过去|过来|开会|开始|开工|结束|截止|准时"
                        r"|的(?:会|飞机|航班|高铁|动车|火车|车|电话|视频|会议))")
_CHANGE = r"(?:[降涨让跌减返扣浮调跳升加高低多少]|得到|下滑|下降|上升|提高|提升|增长|增加|多出|少了|便宜)"
# shares and rates (毛利率, 提成, 让利, 评分) end in these characters
_REJECT_BEFORE = re.compile(rf"(?:{_CHANGE}了?|[第几个快慢贵低高差再稍有率利息幅价金费扣税分]|百分之|提成|得了"
                            r"|年化|收益|幅度|点数|时长|用时|耗时|历时)$")
# a numeral right after continues a decimal (三点五), except 一 starting a word (12点一起走)
_REJECT_AFTER = re.compile(r"(?:一(?![起下趟同并道块定般直些次])|[\d零〇二两三四五六七八九十几个%％万亿千百元块倍点]"
                           r"|[.．]\d|之间|建议|意见|要求|看法|原因|问题|想法"
                           r"|内容|理由|好处|优势|不足|注意|考虑|共识|改进|措施|因素|结论|体会|收获|[:：]"
                           r"|的?比例|的比)")
_RATIO_BEFORE = re.compile(r"(?:比|比分|比例|配比|比率|比值)$")
_NUMBERISH = frozenset(f"0123456789.．:：点{_CN}")
_DAY_CHARS = "今明昨当"  # 今晚 / 明早 / 昨晚 / 当晚: a day word whose second character is the part
_ADVERB_AFTER = re.compile("[了到点些于就]")  # 早 / 晚 as "early / late": 晚了, 早到, 晚些
_YUE_WORDS = "合预契签节制公条特违履解邀相赴隐"  # 合约, 预约 ...: 约 ends a word, it is no 大约
_PART_NEEDS_DAY = frozenset({"黎明", "拂晓"})  # alone they may be names


def _cn_or_int(s: str) -> int | None:
    """An hour or minute in digits or Chinese numerals (零五 = 5, 〇 = 0)."""
    if s.isdigit():
        return int(s)
    if s in ("零", "〇"):
        return 0
    return cn_small_int(s[1:] if s[0] in "零〇" and len(s) > 1 else s)


def _adjacent(s: str) -> tuple[int, int] | None:
    """七八 -> (7, 8), 十一二 -> (11, 12): two neighbouring hours said together."""
    if len(s) == 2 and s[0] in "一二两三四五六七八九" and s[1] in "二三四五六七八九十":
        a, b = cn_small_int(s[0]), cn_small_int(s[1])
    elif len(s) == 3 and s[0] == "十" and s[1] in "一二三四五六七八" and s[2] in "二三四五六七八九":
        a, b = cn_small_int(s[:2]), cn_small_int(s[0] + s[2])
    else:
        return None
    return (a, b) if a is not None and b is not None and b == a + 1 else None


def _minute(raw: str | None) -> int | None:
    """Minutes of a 点 / 时 reading (None: not a valid minute)."""
    if not raw:
        return 0
    fixed = {"整": 0, "半": 30, "一刻": 15, "1刻": 15, "三刻": 45, "3刻": 45}
    if raw in fixed:
        return fixed[raw]
    head = raw.split("分", 1)[0]
    if "分" in raw:
        sec = raw.split("分", 1)[1].rstrip("秒")
        if sec and (_cn_or_int(sec) is None or (_cn_or_int(sec) or 0) > 59):
            return None
    m = _cn_or_int(head)
    return m if m is not None and m <= 59 else None


@dataclass(frozen=True, slots=True)
class _Point:
    """A time point as written: hour (0..24), minute, and what made it a clock."""

    hour: int
    minute: int
    strong: bool  # reads as a clock on its own (H:MM, 钟, minutes a decimal cannot be, 0, 13..24)
    zero_led: bool  # 05:30: a 24-hour reading
    approx: bool  # 许 / 多 / 左右 / 前后 / 来钟 after it
    cue: bool  # an approximation suffix that only times take (许, 左右, 前后, 来钟, 多钟)
    one: bool  # the hour is 一: also "a little" (快一点), or 一时 "for a moment"


def _read_point(m: re.Match[str], s: str) -> _Point | None:
    """The point of group suffix `s` in `m`, or None when the numbers are not a time."""
    g = m.group
    ap = g(f"ap{s}") or ""
    cue = ap not in ("", "多")
    if g(f"hh{s}") is not None:
        hh, mm = int(g(f"hh{s}")), int(g(f"mm{s}"))
        ss = g(f"ss{s}")
        if hh > 24 or mm > 59 or (ss is not None and int(ss) > 59) or (hh == 24 and mm):
            return None
        return _Point(hh, mm, True, g(f"hh{s}").startswith("0"), bool(ap), cue, False)
    raw_h, unit, raw_m = g(f"h{s}"), g(f"u{s}"), g(f"m{s}")
    h = _cn_or_int(raw_h)
    mi = _minute(raw_m)
    if h is None or mi is None or h > 24 or (h == 24 and mi):
        return None
    # 三点零五 may be 3.05 and 三点五分 a score of 3.5: minutes a decimal can be are not enough
    decimal_like = bool(raw_m) and (raw_m[0] == "零" and "分" not in raw_m
                                    or raw_m[0] in "一二三四五六七八九" and raw_m[1:2] == "分")
    one = raw_h == "一"
    strong = (unit == "点钟" or (bool(raw_m) and not decimal_like) or h >= 13
              or (h == 0 and unit == "点" and not raw_m))  # 零点, but 零点零五 is 0.05
    if one and unit == "时":
        strong = False  # 一时半会: "for a while"
    return _Point(h, mi, strong, raw_h.startswith("0") and len(raw_h) == 2, bool(ap), cue, one)


def _to_24(p: _Point, part: str | None) -> tuple[int, bool, bool]:
    """(hour 0..23, next day, assumed pm) for a point read under a part of the day."""
    h = p.hour
    if h == 24:
        return 0, True, False
    if part is None:
        if 1 <= h <= 6 and not p.zero_led:
            return h + 12, False, True
        return h, False, False
    cls = _PARTS[part][0]
    if h >= 13:
        return h, False, False
    if cls == "early":
        return (0 if h == 12 else h), False, False
    if cls == "noon":
        return (h + 12 if 1 <= h <= 4 else h), False, False
    if cls == "afternoon":
        return (h + 12 if 1 <= h <= 11 else h), False, False
    if cls == "evening":
        if 5 <= h <= 11:
            return h + 12, False, False
        return h % 12, True, False
    return h, False, False


def _bare_ok(text: str, start: int, end: int, p: _Point, weak_cue: bool) -> bool:
    """Whether a point with no part of the day before it reads as a clock here: `start` is
    where the reading begins (大约 included), `end` where it ends."""
    before = text[max(0, start - 4):start]
    if _DAY_BEFORE.search(before):
        return not p.one or p.strong
    if before and (before[-1] in _NUMBERISH or _REJECT_BEFORE.search(before)
                   or (before[-1] in "-/" and len(before) > 1 and before[-2].isdigit())):
        return False
    if p.one:  # 一点: "a little" unless the form says clock
        return p.strong
    if p.strong or weak_cue or p.cue or _CUE_BEFORE.search(before):
        return True
    return bool(_CUE_AFTER.match(text, end))


def _part_of(m: re.Match[str], text: str) -> str | None:
    """The part of the day written before the point, unless a single 早 / 晚 is an adverb
    (最晚三点: at the latest)."""
    part = m.group("part")
    if part and len(part) == 1:
        st = m.start("part")
        if st > 0 and text[st - 1] in "最越较更比太稍很偏过提":
            return None
    return part


def _part_only(m: re.Match[str], text: str) -> Clock | None:
    """A part of the day with no time after it (明天上午, 今晚's 晚)."""
    part = _part_of(m, text)
    if part is None:
        return None
    st = m.start("part")
    prev = text[st - 1] if st > 0 else " "
    if len(part) == 1 and (prev not in _DAY_CHARS or _ADVERB_AFTER.match(text, m.end("part"))):
        return None  # 说明晚了: 晚 is "late", not the evening
    if part in _PART_NEEDS_DAY and prev not in "天日号" and prev not in _DAY_CHARS:
        return None  # 黎明 alone may be a name
    _, hour, nxt = _PARTS[part]
    pre = _pre(m, text)
    return Clock(time(hour, 0), Span(m.start("pre") if pre else st, m.end("part")), next_day=nxt,
                 part_only=True, approx=bool(pre))


def _pre(m: re.Match[str], text: str) -> str | None:
    """大约 / 约 before the reading, unless 约 ends a word (合约, 预约, 签约: a contract's 3点)."""
    pre = m.group("pre")
    if pre == "约" and m.start("pre") > 0 and text[m.start("pre") - 1] in _YUE_WORDS:
        return None
    return pre


def _first_point(m: re.Match[str]) -> tuple[_Point | None, tuple[int, int] | None]:
    """The start of a reading: a bare numeral before a range (9~12点), two neighbouring hours
    (七八点, returned apart as a pair), or a point."""
    h0 = m.group("h0")
    if h0 is not None:
        first = _cn_or_int(h0)
        if first is None or first > 24:
            return None, None
        return _Point(first, 0, False, h0.startswith("0") and len(h0) == 2, False, False,
                      h0 == "一"), None
    if m.group("u1") and not m.group("m1") and m.group("rng") is None:
        adj = _adjacent(m.group("h1"))
        if adj is not None:
            return _Point(adj[0], 0, False, False, True, False, False), adj
    return _read_point(m, "1"), None


def _reading(m: re.Match[str], text: str) -> Clock | None:
    """The clock of a match with a time point, or None when it is not a clock."""
    part = _part_of(m, text)
    end = m.end()
    if part is not None and len(part) == 1 and m.group("h1") == "一" and not m.group("m1"):
        return None  # 晚一点 / 早一点: "a bit later / earlier"
    if _REJECT_AFTER.match(text, end):
        return None  # 三点五, 3点几, 一点点, 三点建议, 三点十五万
    p1, adj = _first_point(m)
    p2 = _read_point(m, "2") if m.group("rng") is not None else None
    if adj is not None:
        p2 = _Point(adj[1], 0, False, False, True, False, False)
    if p1 is None or (m.group("rng") is not None and p2 is None):
        return None
    pre = _pre(m, text)
    lead = m.start("pre") if pre else (m.start("part") if part else m.start("core"))
    if part is None:
        judged = p1 if p2 is None or p1.strong else p2
        ranged = m.group("rng") is not None
        if not _bare_ok(text, lead, end, judged, ranged or bool(pre)):
            return None
    h1, nd1, pm1 = _to_24(p1, part)
    part2 = m.group("part2") or part
    if p2 is not None:
        h2, nd2, pm2 = _to_24(p2, part2)
        if pm1 and part2 is None and not pm2 and h2 < h1:
            h1, pm1 = p1.hour, False  # 6点到8点: both as written
        if not m.group("part2") and not nd2 and h2 < h1 and h2 + 12 < 24 and p2.hour <= 12:
            h2 += 12  # 上午11点到1点: the end is past noon
        if (h2, p2.minute) < (h1, p1.minute) and not nd1:
            nd2 = True  # 下午5点到凌晨3点
        clock_end: time | None = time(h2, p2.minute)
    else:
        clock_end, nd2 = None, False
    approx = bool(pre) or p1.approx or (p2 is not None and p2.approx)
    return Clock(time(h1, p1.minute), Span(lead, end), next_day=nd1, end=clock_end,
                 end_next_day=nd2, approx=approx, assumed_pm=pm1)


def find_clock(text: str) -> list[Clock]:
    """Every clock reading in `text`, in order."""
    out: list[Clock] = []
    if _KEY.search(text) is None:
        return out
    pos, n = 0, len(text)
    while pos < n:
        m = _MASTER.search(text, pos)
        if m is None:
            break
        found: Clock | None = None
        if m.group("core") is None:
            found = _part_only(m, text)
        elif not _RATIO_BEFORE.search(text, max(0, m.start() - 2), m.start()):
            found = _reading(m, text)
        if found is None and m.group("core") is not None and m.group("part"):
            found = _part_only(m, text)  # 下午三点建议: the part stands, the number does not
        if found is not None:
            out.append(found)
            pos = m.end()
        else:  # rejected: look again from the next character (周三三点 -> 三点)
            pos = m.start() + 1
    return out
