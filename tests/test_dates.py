"""Date conventions of the evaluation README §3 (worked examples and table rows)."""
from datetime import date

import pytest

from extraction.dates import find_dates, parse_date


def _one(text: str, ref: date) -> date | None:
    found = find_dates(text, ref)
    return found[0].value if found else None


@pytest.mark.parametrize(
    "ref, text, expected",
    [
        (date(2026, 1, 5), "周五前", date(2026, 1, 9)),
        (date(2026, 1, 10), "下周二", date(2026, 1, 13)),
        (date(2027, 1, 31), "周三", date(2027, 2, 3)),
        (date(2027, 1, 31), "下周三", date(2027, 2, 3)),
        (date(2026, 2, 23), "上周五", date(2026, 2, 20)),
        (date(2026, 3, 5), "下下周二", date(2026, 3, 17)),
        (date(2026, 8, 31), "14号", date(2026, 9, 14)),
        (date(2026, 12, 19), "1月5号", date(2027, 1, 5)),
        (date(2026, 12, 27), "下个月底", date(2027, 1, 31)),
        (date(2027, 1, 29), "下个月底", date(2027, 2, 28)),
        (date(2026, 3, 20), "下周找时间给他打个电话", date(2026, 3, 23)),
    ],
)
def test_readme_worked_examples(ref: date, text: str, expected: date) -> None:
    assert _one(text, ref) == expected


REF = date(2026, 4, 15)  # a Wednesday


@pytest.mark.parametrize(
    "text, expected",
    [
        ("今天", REF), ("今晚", REF), ("明早", date(2026, 4, 16)), ("明晚", date(2026, 4, 16)),
        ("后天", date(2026, 4, 17)), ("大后天", date(2026, 4, 18)), ("昨天", date(2026, 4, 14)),
        ("前天", date(2026, 4, 13)),
        ("周三", REF), ("星期二", date(2026, 4, 21)), ("礼拜天", date(2026, 4, 19)),
        ("周日", date(2026, 4, 19)),
        ("这周一", date(2026, 4, 13)), ("本周五", date(2026, 4, 17)), ("这礼拜四", date(2026, 4, 16)),
        ("下礼拜一", date(2026, 4, 20)), ("下个礼拜五", date(2026, 4, 24)), ("下星期三", date(2026, 4, 22)),
        ("下周", date(2026, 4, 20)), ("下礼拜", date(2026, 4, 20)),
        ("3天内", date(2026, 4, 18)), ("三天后", date(2026, 4, 18)), ("10天以内", date(2026, 4, 25)),
        ("一周内", date(2026, 4, 22)), ("一个礼拜后", date(2026, 4, 22)),
        ("两周后", date(2026, 4, 29)), ("半个月内", date(2026, 4, 29)),
        ("月底", date(2026, 4, 30)), ("这个月底", date(2026, 4, 30)), ("6月底", date(2026, 6, 30)),
        ("3月底", date(2027, 3, 31)),
        ("下月初", date(2026, 5, 1)), ("下个月", date(2026, 5, 1)), ("下个月中", date(2026, 5, 15)),
        ("年底", date(2026, 12, 31)),
        ("5月20号", date(2026, 5, 20)), ("六月一号", date(2026, 6, 1)), ("3月1日", date(2027, 3, 1)),
        ("明年1月5号", date(2027, 1, 5)),
        ("二十八号", date(2026, 4, 28)), ("10号", date(2026, 5, 10)), ("下个月5号", date(2026, 5, 5)),
        ("12月8号前", date(2026, 12, 8)),
    ],
)
def test_table_rows(text: str, expected: date) -> None:
    assert _one(text, REF) == expected


def test_month_mid_only_before_16th() -> None:
    assert _one("月中", date(2026, 4, 10)) == date(2026, 4, 15)
    assert _one("月中", date(2026, 4, 20)) is None


@pytest.mark.parametrize(
    "text",
    ["过两天", "这两天", "前几天", "最近", "尽快", "回头", "改天", "下次", "上周", "上个礼拜", "上个月",
     "本周", "这个月", "本月", "今年", "明年", "下半年", "这个季度", "三月份", "五月份", "中旬",
     "下旬", "一个月内", "一个月后", "试了两周", "试用两周POC", "交货要45天", "实施周期压到6周以内",
     "验收后30天内付款", "晚到了三天", "5号楼", "两天了还没人去"],
)
def test_vague_or_duration_is_not_a_date(text: str) -> None:
    assert find_dates(text, REF) == []


def test_reading_without_punctuation() -> None:
    # 一下 + 下周二, not 下下周二
    ds = find_dates("我跟领导申请一下下周二前给赵经理回复", date(2026, 11, 20))
    assert [d.value for d in ds] == [date(2026, 11, 24)]
    ds = find_dates("孙总说明天给答复", date(2026, 3, 31))
    assert [d.value for d in ds] == [date(2026, 4, 1)]


def test_spans_point_into_the_text() -> None:
    text = "周五前我把报价发给他，下周三去拜访"
    for d in find_dates(text, date(2026, 1, 5)):
        assert text[d.span.start:d.span.end] == d.text


def test_parse_date_for_correction_command() -> None:
    ref = date(2026, 4, 15)
    assert parse_date("下周三", ref) == date(2026, 4, 22)
    assert parse_date("2026-05-03", ref) == date(2026, 5, 3)
    assert parse_date("5/3", ref) == date(2026, 5, 3)
    assert parse_date("3/1", ref) == date(2027, 3, 1)
    assert parse_date("明天下午三点", ref) == date(2026, 4, 16)
    assert parse_date("随便", ref) is None
    assert parse_date("", ref) is None


@pytest.mark.parametrize("text, ref, expected", [
    # typed full dates are exact, wherever they fall
    ("质保到2025-11-03为止", "2026-06-10", "2025-11-03"),
    ("样机2026/7/9寄出", "2026-06-10", "2026-07-09"),
    ("验收单写的是2026.4.2", "2026-06-10", "2026-04-02"),
    ("合同于2025年12月30日生效", "2026-06-10", "2025-12-30"),
    # typed M/D only right before 前/之前/号/日; past ones roll to next year
    ("9/12前给样品", "2026-06-10", "2026-09-12"),
    ("3.20之前回复", "2026-06-10", "2027-03-20"),
    ("7/1号开始", "2026-06-10", "2026-07-01"),
    # a year word fixes the year: no rolling
    ("去年11月3号签过一单", "2026-06-10", "2025-11-03"),
    ("今年2月14日到的货", "2026-06-10", "2026-02-14"),
    ("明年3月8号续约", "2026-06-10", "2027-03-08"),
    # counted back from the message
    ("大前天发的报价", "2026-06-10", "2026-06-07"),
    ("前日到的货", "2026-06-10", "2026-06-08"),
    ("昨日收到定金", "2026-06-10", "2026-06-09"),
    ("九天前寄的样品", "2026-06-10", "2026-06-01"),
    # last month's day
    ("上个月3号装好的", "2026-06-10", "2026-05-03"),
    ("上月28日签的", "2026-01-10", "2025-12-28"),
])
def test_readme_forms_added_with_dev2(text: str, ref: str, expected: str) -> None:
    got = [d.value.isoformat() for d in find_dates(text, date.fromisoformat(ref))]
    assert got == [expected]


@pytest.mark.parametrize("text", [
    "单价12.5万", "打3.5折", "二号库改造", "型号V2.1", "连续跑三天后死机", "1/3的门店",
])
def test_not_dates(text: str) -> None:
    assert find_dates(text, date(2026, 6, 10)) == []
