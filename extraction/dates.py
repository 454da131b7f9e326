"""Date expressions in Chinese sales notes -> calendar dates.

Implements the conventions of the evaluation README §3 (weeks start on Monday, the
reference date R is the local date of the message).  A single compiled regex scans the
note once; each hit is resolved by a small function.  Vague references (过两天, 最近,
上周 without a weekday, month names alone) are deliberately not matched, and counts
measured from another event (验收后30天内, 周期压到6周以内) are treated as durations.
"""
from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from functools import lru_cache

from .lexload import alternation
from .types import DateMention, Span, TextItem

_CN_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}

NUM = r"(?:\d{1,2}|[一二两三四五六七八九十]{1,3})"
WD = r"[一二三四五六日天1-7]"
WEEKWORD = r"(?:周|星期|礼拜)"


def cn_small_int(s: str) -> int | None:
    """Parse 1..99 written in Arabic digits or Chinese numerals (十五, 二十八, 两)."""
    if not s:
        return None
    if s.isdigit():
        return int(s)
    if "十" in s:
        head, _, tail = s.partition("十")
        tens = _CN_DIGIT.get(head) if head else 1
        ones = _CN_DIGIT.get(tail) if tail else 0
        if tens is None or ones is None or "十" in tail:
            return None
        return tens * 10 + ones
    if len(s) == 1 and s in _CN_DIGIT:
        return _CN_DIGIT[s]
    return None


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def month_add(y: int, m: int, k: int) -> tuple[int, int]:
    idx = y * 12 + (m - 1) + k
    return idx // 12, idx % 12 + 1


def last_day(y: int, m: int) -> date:
    return date(y, m, calendar.monthrange(y, m)[1])


def safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


# Order matters: longer / more specific alternatives first.
_PATTERNS: list[tuple[str, str]] = [
    ("next_month_day", rf"下个?月(?P<nmd>{NUM})[号日]"),
    ("next_month_end", r"下个?月底"),
    ("next_month_start", r"下个?月初"),
    ("next_month_mid", r"下个?月中(?!旬)"),
    ("month_day", rf"(?P<yr>明年|今年|去年)?(?P<mm>{NUM})月(?P<dd>{NUM})[号日]"),
    ("month_end", rf"(?P<me>{NUM})月底"),
    ("next_month", r"下个?月(?!份)"),
    ("this_month_end", r"(?:这个|本)?月底"),
    ("month_mid", r"(?<![上下])月中(?!旬)"),
    ("year_end", r"(?:今年)?年底"),
    ("nnext_week_day", rf"下下个?{WEEKWORD}(?P<w1>{WD})"),
    ("next_week_day", rf"下个?{WEEKWORD}(?P<w2>{WD})"),
    ("last_week_day", rf"上个?{WEEKWORD}(?P<w3>{WD})"),
    ("this_week_day", rf"(?:这个?|本){WEEKWORD}(?P<w4>{WD})"),
    ("next_week", rf"下个?{WEEKWORD}"),
    ("week_day", rf"{WEEKWORD}(?P<w5>{WD})"),
    ("rel_day", r"大后天|大前天|今天|今晚|今早|今日|明天|明早|明晚|明日|后天|昨天|昨晚|昨日|前天|前日"),
    ("days_ago", r"(?P<da>\d{1,3}|[一二两三四五六七八九十]{1,3})天前"),
    ("half_month", r"半个月(?P<hm>[后内])"),
    ("n_weeks", rf"(?P<nw>{NUM}|一个|两个)(?:周|星期|礼拜)(?P<wsuf>[后内]|以内|之内)"),
    ("n_days", r"(?P<nd>\d{1,3}|[一二两三四五六七八九十]{1,3})天(?P<dsuf>[后内]|以内|之内)"),
    # typed dates: a four-digit year is exact; M/D or M.D only right before 前/之前/号/日
    ("iso_date", r"(?<!\d)(?P<iy>\d{4})(?P<isep>[-/.])(?P<im>\d{1,2})(?P=isep)(?P<id>\d{1,2})(?!\d)"),
    ("ymd", rf"(?<!\d)(?P<yy>\d{{4}})年(?P<ym>{NUM})月(?P<yd>{NUM})[号日]"),
    ("md_typed", r"(?<![\d./])(?P<tm>\d{1,2})[/.](?P<td>\d{1,2})(?:[号日]|(?=之前|前))"),
    ("last_month_day", rf"上个?月(?P<lmd>{NUM})[号日]"),
    ("day_only", rf"(?P<do>{NUM})[号日](?![楼线机院店仓位码型库厂门口馆柜台桌房室箱槽罐炉泵车间])"),
]
# Every pattern above starts (look-behinds aside) with one of these characters.  The
# look-ahead lets the regex engine pass over every other position with one test instead of
# trying all the alternatives there (about 6x faster, the same matches); a new pattern that
# starts with another character must add it here.
_FIRST = r"[\d一二两三四五六七八九十下上这本月年今明去周星礼大后昨前半]"


def second_gate(table: dict[str, str]) -> str:
    """A look-ahead that fails where a first character of `table` (a regex class) is not followed
    by one of its second characters (a regex class): the patterns it gates cannot start there.
    Such a position then costs one test instead of trying every alternative of a big pattern."""
    return "(?!" + "|".join(f"{first}(?!{second})" for first, second in table.items()) + ")"


# The second characters the patterns above allow after their most common first characters
# (一个 / 十天 / 3月 / 下周, not 一下 / 上门 / 今后 / 10万): a new pattern must be added here too.
_SECOND = {
    "[一二两三四五六七八九十]": "[一二两三四五六七八九十月天个周星礼号日]",
    r"\d": r"[\d月天周星礼/.号日]",
    "下": "[下个月周星礼]", "上": "[个月周星礼]", "这": "[个周星礼]", "本": "[周星礼月]",
    "月": "[底中]", "年": "底", "今": "[年天晚早日]", "明": "[年天早晚日]", "去": "年",
    "周": "[一二三四五六日天1-7]", "大": "[后前]", "后": "天", "前": "[天日]",
}
_MASTER = re.compile(f"(?={_FIRST}){second_gate(_SECOND)}(?:" + "|".join(f"(?P<{k}>{p})" for k, p in _PATTERNS) + ")")
_NEXT_WEEK_DAY = re.compile(dict(_PATTERNS)["next_week_day"])

# Words right before a count that make it a duration of something else.
DURATION_BEFORE = re.compile(r"(?:后|要|周期|压到|控制在|缩短到|延长|试了|试用|用了|晚了|晚到了|等了|需要|得"
                              r"|跑|连续|运行|放了?|开了?|装了?)$")


# cue words for past / future clauses (reads_past)
_CLAUSE_END = re.compile(r"[，。；！？,;!?\n]")
_NEAR = 8  # cues count within this many characters of the mention (unpunctuated voice notes
# run a whole visit into one clause)
_FINAL = set("了吧呢啊嘛吗")  # a sentence-final particle right before a date ends the sentence
_PAST_CUE = re.compile(r"已经|已|上次|当时|曾经?|那时|刚刚|早就|之前就|以前就")
# an aspect particle right after the mention (3月份签了, 3月份来过, 签的时候), not in 为了 / 过来;
# or the 是…的 of a done deed with a verb of the trade (3月5号签的合同, 15号去的现场, not
# 4月15号开幕的展会 or 到的话): the verbs are data (lexicon/past_de_verbs.txt)
_PAST_ASPECT = re.compile(r"^[^，。；！？,;!?\n]{0,3}?(?<![为除不])(?:了(?!解)|过(?![来去程期滤])|的时候)")
_FUTURE_CUE = re.compile(r"将|要|会|计划|准备|打算|预计|争取|安排|再|等到|到时|先")


@lru_cache(maxsize=1)
def _done_de() -> re.Pattern[str]:
    return re.compile(f"^(?:{alternation('past_de_verbs.txt')})了?的(?!话)")


def _clause(text: str, start: int, end: int) -> tuple[str, str]:
    """The clause around text[start:end], cut to _NEAR characters on each side."""
    left = start
    if not (start > 0 and text[start - 1] in _FINAL):  # 已经在问了|周五我带…: a new sentence
        while left > max(0, start - _NEAR) and not _CLAUSE_END.match(text[left - 1]):
            left -= 1
    right = end
    n = min(len(text), end + _NEAR)
    while right < n and not _CLAUSE_END.match(text[right]):
        right += 1
    return text[left:start], text[end:right]


def reads_past(text: str, start: int, end: int) -> bool:
    """True when the words around text[start:end] (its clause, at most _NEAR characters each
    side) speak of the past: a cue of the past (已经, 上次, 当时, 曾 ...), an aspect particle
    right after the mention (3月份签了, 去过, 签的时候) or a done deed (15号签的), and no plan
    cue (要, 将, 计划, 准备, 先 ...).  Picks the year (or month, or week) of a mention that does
    not write it; the mention itself is not read."""
    before, after = _clause(text, start, end)
    if _FUTURE_CUE.search(before) or _FUTURE_CUE.search(after):
        return False
    return bool(_PAST_CUE.search(before) or _PAST_CUE.search(after) or _PAST_ASPECT.match(after)
                or _done_de().match(after))


def _past(m: re.Match[str]) -> bool:
    """Whether a year-less (or month-less) date takes its past reading: its clause speaks of
    the past (reads_past) and it is not written as a deadline (15号前 is ahead)."""
    start, end = m.span()
    return not m.string.startswith(("前", "之前"), end) and reads_past(m.string, start, end)


def _resolve(kind: str, m: re.Match[str], ref: date) -> date | None:
    g = m.group
    if kind == "rel_day":
        w = g(kind)
        off = {"大后天": 3, "后天": 2, "昨天": -1, "昨晚": -1, "昨日": -1, "前天": -2, "前日": -2,
               "大前天": -3}.get(w)
        if off is None:
            off = 0 if w.startswith("今") else 1
        return ref + timedelta(days=off)
    if kind in ("week_day", "this_week_day", "next_week_day", "nnext_week_day", "last_week_day"):
        wd = _WEEKDAY[g({"week_day": "w5", "this_week_day": "w4", "next_week_day": "w2",
                          "nnext_week_day": "w1", "last_week_day": "w3"}[kind])]
        mon = monday(ref)
        if kind == "week_day":  # the next such day (R counts), or the last one in a past clause
            back = (ref.weekday() - wd) % 7 if _past(m) else None
            return ref - timedelta(days=back) if back is not None else ref + timedelta(days=(wd - ref.weekday()) % 7)
        weeks = {"this_week_day": 0, "next_week_day": 1, "nnext_week_day": 2,
                 "last_week_day": -1}[kind]
        return mon + timedelta(days=7 * weeks + wd)
    if kind == "next_week":
        return monday(ref) + timedelta(days=7)
    if kind == "days_ago":
        n = cn_small_int(g("da"))
        return ref - timedelta(days=n) if n is not None and n <= 366 else None
    if kind == "iso_date":
        return safe_date(int(g("iy")), int(g("im")), int(g("id")))
    if kind == "ymd":
        mm, dd = cn_small_int(g("ym")), cn_small_int(g("yd"))
        return safe_date(int(g("yy")), mm, dd) if mm and dd else None
    if kind == "md_typed":
        return _year_less(int(g("tm")), int(g("td")), ref, m)
    if kind == "last_month_day":
        y, mth = month_add(ref.year, ref.month, -1)
        day = cn_small_int(g("lmd"))
        return safe_date(y, mth, day) if day else None
    if kind == "n_days":
        n = cn_small_int(g("nd"))
        return ref + timedelta(days=n) if n is not None and n <= 366 else None
    if kind == "n_weeks":
        raw = g("nw")
        n = {"一个": 1, "两个": 2}.get(raw) or cn_small_int(raw)
        return ref + timedelta(days=7 * n) if n is not None and n <= 52 else None
    if kind == "half_month":
        return ref + timedelta(days=14)
    if kind == "this_month_end":
        return last_day(ref.year, ref.month)
    if kind == "month_mid":
        return date(ref.year, ref.month, 15) if ref.day <= 15 else None
    if kind == "year_end":
        return date(ref.year, 12, 31)
    if kind in ("next_month_end", "next_month_start", "next_month_mid", "next_month",
                "next_month_day"):
        y, mth = month_add(ref.year, ref.month, 1)
        if kind == "next_month_end":
            return last_day(y, mth)
        if kind == "next_month_mid":
            return date(y, mth, 15)
        if kind == "next_month_day":
            day = cn_small_int(g("nmd"))
            return safe_date(y, mth, day) if day else None
        return date(y, mth, 1)
    if kind == "month_end":
        me = cn_small_int(g("me"))
        if not me or me > 12:  # "百分之三十月底": the number belongs to the previous word
            return last_day(ref.year, ref.month)
        end = last_day(ref.year, me)
        if _past(m):
            return end if end <= ref else last_day(ref.year - 1, me)
        return end if end >= ref else last_day(ref.year + 1, me)
    if kind == "month_day":
        mm, dd = cn_small_int(g("mm")), cn_small_int(g("dd"))
        if not mm or not dd or mm > 12:
            return None
        year_word = g("yr")
        if year_word:  # 去年/今年/明年 + M月D日: that year, no rolling
            return safe_date(ref.year + {"去年": -1, "今年": 0, "明年": 1}[year_word], mm, dd)
        return _year_less(mm, dd, ref, m)
    if kind == "day_only":
        d = cn_small_int(g("do"))
        if not d or d > 31:
            return None
        if _past(m):  # this month's, or last month's when still ahead
            y, mth = (ref.year, ref.month) if d <= ref.day else month_add(ref.year, ref.month, -1)
            return safe_date(y, mth, d)
        if d >= ref.day:
            return safe_date(ref.year, ref.month, d)
        y, mth = month_add(ref.year, ref.month, 1)
        return safe_date(y, mth, d)
    return None


def _year_less(mm: int, dd: int, ref: date, m: re.Match[str]) -> date | None:
    """M月D日 without a year: R's year, or next year when that is before R (§3); in a past
    clause the last such day on or before R.  None for an impossible date (2月30日)."""
    if not 1 <= mm <= 12:
        return None
    this = safe_date(ref.year, mm, dd)
    if this is None:
        return None
    if _past(m):
        return this if this <= ref else safe_date(ref.year - 1, mm, dd)
    return this if this >= ref else safe_date(ref.year + 1, mm, dd)


def find_dates(text: str, ref: date) -> list[DateMention]:
    """All resolvable date expressions in `text`, in order of appearance."""
    return find_dates_checked(text, ref)[0]


# The written day and month of the forms that name a calendar day (for impossible_day).
_DAY_GROUPS = {"month_day": ("mm", "dd"), "ymd": ("ym", "yd"), "iso_date": ("im", "id"),
               "md_typed": ("tm", "td"), "next_month_day": (None, "nmd"),
               "last_month_day": (None, "lmd"), "day_only": (None, "do")}


def _impossible(kind: str, m: re.Match[str]) -> bool:
    """Whether an unresolved match names a day no calendar has (2月30号, 4月31日, 下个月31号 in
    a 30-day month) rather than something that is not a date at all (13月, 45号)."""
    groups = _DAY_GROUPS.get(kind)
    if groups is None:
        return False
    mg, dg = groups
    mm = cn_small_int(m.group(mg)) if mg else 1
    dd = cn_small_int(m.group(dg))
    return mm is not None and dd is not None and 1 <= mm <= 12 and 1 <= dd <= 31


def find_dates_checked(text: str, ref: date) -> tuple[list[DateMention], list[TextItem]]:
    """All resolvable date expressions in `text`, in order, and the ones written as a day that
    does not exist (2月30号): those are reported to the rep, never shifted to a nearby day."""
    out: list[DateMention] = []
    bad: list[TextItem] = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _MASTER.search(text, pos)
        if m is None:
            break
        kind = m.lastgroup or ""  # the pattern's own group: it closes last, around all others
        start, end = m.span()
        # "申请一下下周二前" is 一下 + 下周二, not 下下周二
        if kind == "nnext_week_day" and start > 0 and text[start - 1] == "一":
            start += 1
            kind = "next_week_day"
            m2 = _NEXT_WEEK_DAY.match(text, start)
            if m2 is None:
                pos = end
                continue
            value = _resolve_simple_week(m2.group(0), ref)
            if value:
                out.append(DateMention(value, text[start:end], Span(start, end)))
            pos = end
            continue
        if kind in ("n_days", "n_weeks") and DURATION_BEFORE.search(text[max(0, start - 4):start]):
            pos = end
            continue
        if kind == "day_only" and start > 0 and (text[start - 1].isdigit() or text[start - 1] in "第型编"):
            pos = end
            continue
        if kind == "week_day" and start > 0 and text[start - 1] in "一每上下这本":
            pos = end
            continue
        try:
            value = _resolve(kind, m, ref)
        except (ValueError, OverflowError, KeyError):
            value = None
        if value is not None:
            out.append(DateMention(value, m.group(0), Span(start, end)))
        elif _impossible(kind, m):
            bad.append(TextItem(m.group(0), Span(start, end)))
        pos = end
    return out, bad


def _resolve_simple_week(s: str, ref: date) -> date | None:
    wd = _WEEKDAY.get(s[-1])
    if wd is None:
        return None
    return monday(ref) + timedelta(days=7 + wd)


def parse_date(phrase: str, ref: date) -> date | None:
    """Parse one date phrase for the bot's correction command ("改 日期 下周三").

    Accepts the note conventions plus ISO forms (2026-03-05, 2026/3/5, 3/5).
    Returns None when nothing resolvable is found.
    """
    if not phrase:
        return None
    p = phrase.strip()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?", p)
    if m:
        return safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.fullmatch(r"(\d{1,2})[/.](\d{1,2})", p)
    if m:
        mth, d = int(m.group(1)), int(m.group(2))
        cand = safe_date(ref.year, mth, d) if 1 <= mth <= 12 else None
        if cand is not None and cand < ref:
            cand = safe_date(ref.year + 1, mth, d)
        return cand
    found = find_dates(p, ref)
    return found[0].value if found else None
