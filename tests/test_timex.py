"""Time-expression grammar (extraction/timex.py): periods, windows, offsets, open ranges,
ranges, typed dates, times of day, and the merge with §3 dates, holidays and clocks.
All sentences are written for these tests (none from the external suites)."""
from __future__ import annotations

from datetime import date, time

import pytest

from extraction import timex
from extraction.clock import Clock
from extraction.dates import find_dates
from extraction.timex import find_times
from extraction.types import Span, TimeMention

WED = date(2026, 6, 10)  # a Wednesday


def _got(text: str, ref: date = WED) -> list[tuple[str, str, str, str | None]]:
    return [(m.text, m.kind, m.start.isoformat(), m.end.isoformat() if m.end else None)
            for m in find_times(text, ref, find_dates(text, ref))]


def _one(text: str, ref: date = WED) -> tuple[str, str, str, str | None]:
    got = _got(text, ref)
    assert len(got) == 1, got
    return got[0]


# 1. years -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,first,last", [
    ("2022年的订单全部交付了", "2022-01-01", "2022-12-31"),
    ("一九九九年建的厂", "1999-01-01", "1999-12-31"),
    ("二〇一一年投产", "2011-01-01", "2011-12-31"),
    ("去年产值翻番", "2025-01-01", "2025-12-31"),
    ("后年再扩产", "2028-01-01", "2028-12-31"),
    ("上一年预算没花完", "2025-01-01", "2025-12-31"),
])
def test_years_are_year_periods(text: str, first: str, last: str) -> None:
    _, kind, s, e = _one(text)
    assert (kind, s, e) == ("period", first, last)


def test_two_digit_years_use_the_pivot_and_need_context() -> None:
    assert _one("客户09年成立")[2] == "2009-01-01"  # leading zero
    assert _one("他们零五年就在用")[2] == "2005-01-01"
    assert _one("96年3月进的设备")[2:] == ("1996-03-01", "1996-03-31")
    assert _one("35年5月到期")[2] == "2035-05-01"  # within R+10
    assert _got("质保10年") == []  # a duration, not 2010
    assert _got("用了三四年了") == []  # 三四年: three or four years


def test_bare_four_digits_are_not_years() -> None:
    assert _got("型号2019的设备") == []
    assert _got("报价2300一台") == []
    assert _one("型号是2019年的")[2] == "2019-01-01"  # with 年 it is a year


# 2. months ------------------------------------------------------------------------------------
def test_months_with_and_without_year() -> None:
    assert _one("2023年11月验收")[1:] == ("period", "2023-11-01", "2023-11-30")
    assert _one("二零一九年七月签约")[2] == "2019-07-01"
    assert _one("八月份试产")[2:] == ("2026-08-01", "2026-08-31")
    assert _one("2月份的回款")[2] == "2026-02-01"  # a month already past: this year's
    assert _one("1月份上线", date(2026, 12, 3))[2] == "2027-01-01"  # far past: next year's


def test_a_future_month_in_a_past_clause_is_last_years() -> None:
    assert _one("10月份已经签了框架协议", date(2026, 3, 2))[2] == "2025-10-01"


@pytest.mark.parametrize("text,first", [
    ("上个月回款不理想", "2026-05-01"), ("上上个月的单子", "2026-04-01"),
    ("这个月的指标", "2026-06-01"), ("本月销量", "2026-06-01"), ("下下个月交付", "2026-08-01"),
])
def test_relative_months(text: str, first: str) -> None:
    assert _one(text)[1:3] == ("period", first)


def test_section3_next_month_stays_a_day() -> None:
    assert _one("下个月再约")[1:] == ("day", "2026-07-01", None)
    assert _one("下个月第一周再约")[1:] == ("period", "2026-07-06", "2026-07-12")


def test_this_month_day_does_not_roll() -> None:
    assert _one("本月3号付了定金")[1:3] == ("day", "2026-06-03")


# 3. weeks -------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,first,last", [
    ("这周把样品寄过去", "2026-06-08", "2026-06-14"),
    ("本周内部评审", "2026-06-08", "2026-06-14"),
    ("上一周他们出差", "2026-06-01", "2026-06-07"),
    ("上上周去过现场", "2026-05-25", "2026-05-31"),
    ("下下周安排培训", "2026-06-22", "2026-06-28"),
    ("周末加班装机", "2026-06-13", "2026-06-14"),
    ("下周末去仓库盘点", "2026-06-20", "2026-06-21"),
])
def test_week_periods(text: str, first: str, last: str) -> None:
    assert _one(text)[1:] == ("period", first, last)


def test_within_this_week_is_before_its_last_working_day() -> None:
    # 2026-06-19 (Friday) is the Dragon Boat Festival: that week's last working day is Thursday
    assert _one("这周内给答复", date(2026, 6, 16))[1:3] == ("before", "2026-06-18")
    assert _one("下周内出图纸")[1:3] == ("before", "2026-06-18")
    assert _one("这周内给答复", date(2026, 6, 24))[1:3] == ("before", "2026-06-26")  # a plain Friday


def test_week_of_a_month_and_nth_weekday() -> None:
    assert _one("九月第二周进场")[2:] == ("2026-09-14", "2026-09-20")
    assert _one("2027年的第三周复盘")[2] == "2027-01-18"
    assert _one("七月的第二个周四开会")[1:3] == ("day", "2026-07-09")
    assert _one("11月最后一个星期五截止")[1:3] == ("day", "2026-11-27")


# 4. quarters and parts ------------------------------------------------------------------------
@pytest.mark.parametrize("text,first,last", [
    ("Q3冲量", "2026-07-01", "2026-09-30"),
    ("第四季度招标", "2026-10-01", "2026-12-31"),
    ("三季度回款", "2026-07-01", "2026-09-30"),
    ("本季度目标", "2026-04-01", "2026-06-30"),
    ("下季度启动", "2026-07-01", "2026-09-30"),
    ("上个季度亏了", "2026-01-01", "2026-03-31"),
    ("明年Q1上线", "2027-01-01", "2027-03-31"),
    ("下半年扩产", "2026-07-01", "2026-12-31"),
    ("2025年上半年", "2025-01-01", "2025-06-30"),
    ("年初定的计划", "2026-01-01", "2026-02-28"),
    ("8月上旬到货", "2026-08-01", "2026-08-10"),
    ("7月中旬", "2026-07-11", "2026-07-20"),
    ("9月下旬", "2026-09-21", "2026-09-30"),
    ("10月初", "2026-10-01", "2026-10-05"),
    ("三季度末", "2026-09-01", "2026-09-30"),
])
def test_quarters_and_parts(text: str, first: str, last: str) -> None:
    assert _one(text)[1:] == ("period", first, last)


def test_explicit_year_month_end_is_that_years_day() -> None:
    assert _one("2024年9月底结清")[1:3] == ("day", "2024-09-30")
    assert _one("明年底投产")[1:3] == ("day", "2027-12-31")


# 5. windows -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text,first,last", [
    ("近两年业绩下滑", "2024-06-10", "2026-06-10"),
    ("最近三个月没下单", "2026-03-10", "2026-06-10"),
    ("过去五年", "2021-06-10", "2026-06-10"),
    ("未来三天都在外地", "2026-06-10", "2026-06-12"),
    ("上三周的出货", "2026-05-18", "2026-06-07"),
    ("下两个月排满了", "2026-07-01", "2026-08-31"),
    ("后四天", "2026-06-11", "2026-06-14"),
])
def test_windows(text: str, first: str, last: str) -> None:
    assert _one(text)[1:] == ("period", first, last)


def test_vague_windows_and_event_relative_counts_are_nothing() -> None:
    assert _got("前两天客户打过电话") == []
    assert _got("最近比较忙") == []
    assert _got("签约后三个月内付清") == []
    assert _got("前三个月免费试用") == []
    assert _one("近两天没回消息")[1:] == ("period", "2026-06-08", "2026-06-10")


# 6. offsets and durations ---------------------------------------------------------------------
def test_offsets() -> None:
    assert _one("五年前买的设备")[1:] == ("period", "2021-01-01", "2021-12-31")
    assert _one("两个月后复购")[1:] == ("period", "2026-08-01", "2026-08-31")
    assert _one("半年之后再看")[2] == "2026-12-01"
    assert _one("两年半以前合作过")[2] == "2023-12-01"
    assert _one("3个星期之后交货")[1:3] == ("day", "2026-07-01")


def test_durations_stay_durations() -> None:
    assert _got("试了三周效果一般") == []
    assert _got("交货要40天") == []
    assert _got("干这行做了20年") == []
    assert _one("三个星期以后交货")[1:3] == ("day", "2026-07-01")


def test_working_days() -> None:
    # Fri 2026-06-12 + 3 working days: Mon 15, Tue 16, Wed 17
    assert _one("3个工作日内回复", date(2026, 6, 12))[1:3] == ("day", "2026-06-17")


# 7. open ranges -------------------------------------------------------------------------------
def test_open_ranges() -> None:
    assert _one("2027年以前完成改造")[1:3] == ("before", "2027-12-31")  # a deadline: X's end
    assert _one("2012年以前就是老客户")[1:3] == ("before", "2012-01-01")  # X already over
    assert _one("自2020年以来一直合作")[1:3] == ("after", "2020-01-01")
    assert _one("从去年10月起涨价")[1:3] == ("after", "2025-10-01")
    assert _one("截至今年3月")[1:3] == ("before", "2026-03-31")
    assert _one("明年7月之后再议")[1:3] == ("after", "2027-07-01")


def test_section3_deadline_day_stays_a_day() -> None:
    assert _one("周四前回复")[:2] == ("周四", "day")
    assert _one("周四以后回复")[:3] == ("周四以后", "after", "2026-06-11")


# 8. ranges ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,first,last", [
    ("2021年3月至6月在试用", "2021-03-01", "2021-06-30"),
    ("2016-2019年的数据", "2016-01-01", "2019-12-31"),
    ("7月-9月是旺季", "2026-07-01", "2026-09-30"),
    ("2025年4月10日到15日封闭施工", "2025-04-10", "2025-04-15"),
    ("2024年和2025年之间", "2024-01-01", "2025-12-31"),
    ("从2019年到2022年", "2019-01-01", "2022-12-31"),
    ("2023.05-2024.03", "2023-05-01", "2024-03-31"),
])
def test_ranges(text: str, first: str, last: str) -> None:
    got = [g for g in _got(text) if g[1] == "period"]
    assert got and got[0][2:] == (first, last), got


# 9. typed numeric dates -----------------------------------------------------------------------
def test_typed_dates() -> None:
    assert _one("20250918到的货")[1:3] == ("day", "2025-09-18")
    assert _one("2025 9 18发货")[2] == "2025-09-18"
    assert _one("2024.11的对账单")[1:3] == ("period", "2024-11-01")
    assert _one("08-21 到现场")[2] == "2026-08-21"
    assert _one("7/25 复测")[2] == "2026-07-25"


def test_typed_lookalikes_are_not_dates() -> None:
    for text in ("2/3的门店已经铺货", "单价12.5万", "打8.5折", "升级到V3.2", "订单号20250918001",
                 "比分3:1", "合同编号20250918"):
        assert _got(text) == [], text
    assert _one("1/25 到货")[1:3] == ("day", "2027-01-25")


# 10. times of day -----------------------------------------------------------------------------
def test_clock_joins_the_day_next_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "后天 下午两点半去拜访"
    monkeypatch.setattr(timex, "find_clock", lambda t: [Clock(time(14, 30), Span(3, 8))])
    got = find_times(text, WED, find_dates(text, WED))
    assert len(got) == 1
    assert (got[0].kind, got[0].start, got[0].time, got[0].span) == ("day", date(2026, 6, 12),
                                                                      time(14, 30), Span(0, 8))


def test_clock_after_a_weekday_restated_day(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "7月3日周五上午9点"
    monkeypatch.setattr(timex, "find_clock", lambda t: [Clock(time(9, 0), Span(6, 10))])
    got = find_times(text, WED, find_dates(text, WED))
    assert [(m.start, m.time, m.span) for m in got] == [(date(2026, 7, 3), time(9, 0), Span(0, 10))]


def test_clock_alone_and_next_day(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "夜里十二点还在调试"
    monkeypatch.setattr(timex, "find_clock", lambda t: [Clock(time(0, 0), Span(0, 5), next_day=True)])
    got = find_times(text, WED, [])
    assert [(m.kind, m.start, m.time) for m in got] == [("day", date(2026, 6, 11), time(0, 0))]


def test_part_of_day_alone_is_today_unless_a_habit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(timex, "find_clock", lambda t: [Clock(time(8, 0), Span(t.index("上午"), t.index("上午") + 2),
                                                              part_only=True)])
    assert [(m.kind, m.start, m.time, m.text) for m in find_times("上午开会", WED, [])] == [
        ("day", WED, None, "上午")]
    assert find_times("每天上午开会", WED, []) == []


def test_clock_joins_a_holiday(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "中秋晚上8点聚餐"
    hol = TimeMention("day", date(2026, 9, 25), "中秋", Span(0, 2))
    monkeypatch.setattr(timex, "find_holidays", lambda t, r: [hol])
    monkeypatch.setattr(timex, "find_clock", lambda t: [Clock(time(20, 0), Span(2, 6))])
    got = find_times(text, WED, [])
    assert [(m.start, m.time, m.span) for m in got] == [(date(2026, 9, 25), time(20, 0), Span(0, 6))]


def test_holiday_takes_an_open_range_suffix(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "端午以后再报价"
    hol = TimeMention("period", date(2026, 6, 19), "端午", Span(0, 2), end=date(2026, 6, 21))
    monkeypatch.setattr(timex, "find_holidays", lambda t, r: [hol])
    got = find_times(text, WED, [])
    assert [(m.kind, m.start, m.text) for m in got] == [("after", date(2026, 6, 19), "端午以后")]


# 11. past reading and approximations ----------------------------------------------------------
def test_reads_past() -> None:
    text = "客户说3月份已经签了"
    assert timex.reads_past(text, 3, 6)
    text2 = "客户说3月份准备签"
    assert not timex.reads_past(text2, 3, 6)


def test_approximation_words_stay_in_the_span() -> None:
    assert _one("2025年5月左右")[:3] == ("2025年5月左右", "period", "2025-05-01")


def test_results_are_ordered_and_never_overlap() -> None:
    text = "去年8月谈过，明年Q2再上，2026年6月第2周先去一趟，下周三打电话"
    got = find_times(text, WED, find_dates(text, WED))
    spans = [(m.span.start, m.span.end) for m in got]
    assert spans == sorted(spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
    assert len(got) == 4


def test_lookalikes_inside_words_are_not_times() -> None:
    """Q + digit inside a part number, 下年 inside 定下年度, 后年 inside 然后年底, 发过去 + a
    duration, 后 + a count after a verb: none is a time; the real ones next to them are."""
    assert _got("规格Q345的钢板") == []
    assert _one("要过AEC-Q100认证，Q4交样")[:3] == ("Q4", "period", "2026-10-01")
    assert [g[0] for g in _got("月底之前定下年度供应商")] == ["月底"]
    assert [g[0] for g in _got("然后年底再谈")] == ["年底"]
    assert _got("报价已经发过去一周了") == []
    assert _got("货到后60天付款") == []
    assert _one("本周内部评审")[:2] == ("本周", "period")


def test_year_less_month_across_new_year() -> None:
    assert _one("一月份那批货的钱还没结", date(2026, 8, 31))[2] == "2026-01-01"
    assert _one("二月份再去一趟", date(2026, 11, 20))[2] == "2027-02-01"
    assert _one("合同三月份到期", date(2026, 1, 11))[2] == "2026-03-01"


def test_bare_years_only_inside_a_from_to_frame() -> None:
    got = find_times("销量从2019到2021一直在涨", WED, [])
    assert [(m.kind, m.start, m.end) for m in got] == [("period", date(2019, 1, 1), date(2021, 12, 31))]
    assert find_times("报价从2019到2021元不等", WED, []) == []
    assert find_times("型号2019到2021都有货", WED, []) == []


def test_part_of_day_after_a_day_we_did_not_read_is_not_today(monkeypatch: pytest.MonkeyPatch) -> None:
    def clocks(t: str) -> list[Clock]:
        i = t.index("下午")
        return [Clock(time(13, 0), Span(i, i + 2), part_only=True)]

    monkeypatch.setattr(timex, "find_clock", clocks)
    assert find_times("到货后第二天下午去验收", WED, []) == []
    assert find_times("次日下午再联系", WED, []) == []
