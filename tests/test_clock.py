"""Clock readings (extraction/clock.py): times of day in notes, told apart from 点 as points,
list items and decimals.  Each negative case sits next to a real time in the same note, so
every test needs the reader to find something."""
from __future__ import annotations

from datetime import time

import pytest

from extraction.clock import Clock, find_clock


def _read(text: str) -> list[tuple[str, str, bool]]:
    """(span text, HH:MM, next day) of every reading."""
    return [(text[c.span.start:c.span.end], c.time.strftime("%H:%M"), c.next_day)
            for c in find_clock(text)]


def _one(text: str) -> Clock:
    found = find_clock(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("text, span, hhmm, next_day", [
    ("周四下午四点去华润仓库看样", "下午四点", "16:00", False),
    ("客户说中午两点以后才有空", "中午两点", "14:00", False),
    ("中午12点一起吃饭", "中午12点", "12:00", False),
    ("凌晨1点系统割接", "凌晨1点", "01:00", False),
    ("凌晨12点开始盘点", "凌晨12点", "00:00", False),
    ("傍晚6点到达南京南站", "傍晚6点", "18:00", False),
    ("晚上9点给刘总回个电话", "晚上9点", "21:00", False),
    ("夜里十二点前把标书传上去", "夜里十二点", "00:00", True),
    ("晚上12点系统升级", "晚上12点", "00:00", True),
    ("半夜两点仓库报警", "半夜两点", "02:00", True),
    ("早上七点出发去嘉兴", "早上七点", "07:00", False),
    ("上午11点签到", "上午11点", "11:00", False),
    ("晚上20:30开视频会", "晚上20:30", "20:30", False),
    ("午后三点到厂里", "午后三点", "15:00", False),
])
def test_part_of_day_sets_the_half_of_the_day(text: str, span: str, hhmm: str, next_day: bool) -> None:
    assert _read(text) == [(span, hhmm, next_day)]


@pytest.mark.parametrize("text, hhmm", [
    ("下午两点二十五到会议室", "14:25"),
    ("下午两点二十五分到会议室", "14:25"),
    ("上午十点零八分开标", "10:08"),
    ("上午十点零八开标", "10:08"),
    ("下午4点半回公司", "16:30"),
    ("上午九点一刻集合", "09:15"),
    ("下午一点三刻出发", "13:45"),
    ("上午8点整开门", "08:00"),
    ("下午3点40交货", "15:40"),
    ("上午7点9分发车", "07:09"),
    ("下午4点10分20秒断电", "16:10"),
])
def test_minutes(text: str, hhmm: str) -> None:
    assert _one(text).time.strftime("%H:%M") == hhmm


@pytest.mark.parametrize("text, span, hhmm", [
    ("会议改到16:45", "16:45", "16:45"),
    ("会议改到16：45", "16：45", "16:45"),
    ("08:05到厂门口", "08:05", "08:05"),
    ("日志里写的是23:59:10断开", "23:59:10", "23:59"),
    ("记录时间2026-04-03 07:40", "07:40", "07:40"),
])
def test_typed_clock(text: str, span: str, hhmm: str) -> None:
    assert _read(text) == [(span, hhmm, False)]


@pytest.mark.parametrize("text, span, hhmm", [
    ("下午4点许到的现场", "下午4点许", "16:00"),
    ("大约上午九点半能到", "大约上午九点半", "09:30"),
    ("晚上七点左右再联系", "晚上七点左右", "19:00"),
    ("早上6点多钟就出发了", "早上6点多钟", "06:00"),
    ("约10点前后到", "约10点前后", "10:00"),
])
def test_approximations_stay_in_the_span(text: str, span: str, hhmm: str) -> None:
    c = _one(text)
    assert (text[c.span.start:c.span.end], c.time.strftime("%H:%M"), c.approx) == (span, hhmm, True)


@pytest.mark.parametrize("text, span, start, end, end_next_day", [
    ("下午一点到四点半都在客户那", "下午一点到四点半", "13:00", "16:30", False),
    ("8~11点半在展会", "8~11点半", "08:00", "11:30", False),
    ("早上七到八点在路上", "早上七到八点", "07:00", "08:00", False),
    ("晚上十点到凌晨两点割接", "晚上十点到凌晨两点", "22:00", "02:00", True),
    ("上午10:15—11:45培训", "上午10:15—11:45", "10:15", "11:45", False),
    ("晚上十点到十二点值班", "晚上十点到十二点", "22:00", "00:00", True),
    ("下午五六点再过去", "下午五六点", "17:00", "18:00", False),
    ("上午十一点到一点半开标", "上午十一点到一点半", "11:00", "13:30", False),
])
def test_ranges_are_one_reading(text: str, span: str, start: str, end: str, end_next_day: bool) -> None:
    c = _one(text)
    assert text[c.span.start:c.span.end] == span
    assert c.time.strftime("%H:%M") == start
    assert c.end is not None and c.end.strftime("%H:%M") == end
    assert c.end_next_day is end_next_day


@pytest.mark.parametrize("text, span, hhmm", [
    ("明天四点见", "四点", "16:00"),
    ("5号10点到他们办公室", "10点", "10:00"),
    ("周二两点半开评审会", "两点半", "14:30"),
    ("约在十点，地点待定", "十点", "10:00"),
    ("最迟五点前给答复", "五点", "17:00"),
    ("九点之前到公司", "九点", "09:00"),
    ("三点钟那个会取消了", "三点钟", "15:00"),
    ("十一点开会", "十一点", "11:00"),
    ("14点过来拿样品", "14点", "14:00"),
    ("零点整切换新系统", "零点整", "00:00"),
])
def test_bare_hours_in_clock_context(text: str, span: str, hhmm: str) -> None:
    assert _read(text) == [(span, hhmm, False)]


def test_bare_afternoon_hours_are_flagged() -> None:
    assert _one("四点前把合同寄出").assumed_pm
    assert not _one("十点前把合同寄出").assumed_pm
    assert not _one("下午四点前把合同寄出").assumed_pm


@pytest.mark.parametrize("text, readings", [
    ("这次让了3个点，下午四点前回复", [("下午四点", "16:00", False)]),
    ("毛利降2点，明天上午10点再谈", [("上午10点", "10:00", False)]),
    ("价格涨了三点，晚上8点开会讨论", [("晚上8点", "20:00", False)]),
    ("返点百分之二点五，下午2点签", [("下午2点", "14:00", False)]),
    ("交期还差一点，明天9点半再问", [("9点半", "09:30", False)]),
    ("他提了三点建议，会后下午5点汇总", [("下午5点", "17:00", False)]),
    ("第二点是付款，十点半之前回复", [("十点半", "10:30", False)]),
    ("主要难点和重点都说了，16:20散会", [("16:20", "16:20", False)]),
    ("两点之间的运输距离远，早上8点发车", [("早上8点", "08:00", False)]),
    ("单价4点几个，晚上9点前定", [("晚上9点", "21:00", False)]),
    ("再便宜一点就签，下午三点前答复", [("下午三点", "15:00", False)]),
    ("水泥配比1:30，晚上六点浇筑", [("晚上六点", "18:00", False)]),
    ("有两点意见，明天中午一点碰头", [("中午一点", "13:00", False)]),
    ("评分三点五分，周三10点复评", [("10点", "10:00", False)]),
    ("晚一点到也行，上午11点前就好", [("上午11点", "11:00", False)]),
    ("密度高了零点零三，凌晨4点复测", [("凌晨4点", "04:00", False)]),
    ("合约3点写清楚，签约两点要落实，约4点到", [("约4点", "16:00", False)]),
    ("中午12点一起去，三点十五万的单子", [("中午12点", "12:00", False)]),
])
def test_points_lists_and_decimals_are_not_clocks(text: str,
                                                  readings: list[tuple[str, str, bool]]) -> None:
    assert _read(text) == readings


@pytest.mark.parametrize("text, span, hhmm", [
    ("下午14时10分到场", "下午14时10分", "14:10"),
    ("当晚九时发的货", "晚九时", "21:00"),
    ("9时35分签收", "9时35分", "09:35"),
])
def test_shi_as_hour(text: str, span: str, hhmm: str) -> None:
    assert _read(text) == [(span, hhmm, False)]


def test_shi_words_that_are_not_hours() -> None:
    text = "那时候三时间段都排满了，一时半会定不了，下午3时再说"
    assert _read(text) == [("下午3时", "15:00", False)]


def test_part_only_readings() -> None:
    c = _one("明天上午去拜访")
    assert (c.part_only, c.time, c.span.start, c.span.end) == (True, time(8), 2, 4)
    late = _one("今晚把报价单发过去")
    assert late.part_only and late.time == time(18) and (late.span.start, late.span.end) == (1, 2)
    assert _read("太晚了，明早再说") == [("早", "06:00", False)]


def test_day_word_is_not_in_the_span() -> None:
    text = "明晚七点半在公司楼下"
    assert _read(text) == [("晚七点半", "19:30", False)]


def test_early_late_adverbs_are_not_parts() -> None:
    text = "比计划晚上线两天，最晚上周就该交了，晚3天付款，下午再说"
    assert _read(text) == [("下午", "13:00", False)]


def test_invalid_numbers_are_not_clocks() -> None:
    text = "视频时长41:30，编号26:75，上午9:05开始"
    assert _read(text) == [("上午9:05", "09:05", False)]
