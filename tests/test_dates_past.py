"""Year-less dates in a clause about the past take the past reading; deadlines, plans and
relative clauses keep §3's forward reading; days that do not exist are reported, not shifted."""
from __future__ import annotations

from datetime import date, time

import pytest

from extraction.dates import find_dates, find_dates_checked
from extraction.timex import parse_due

SAT = date(2026, 6, 20)  # a Saturday


def _values(text: str, ref: date = SAT) -> list[str]:
    return [d.value.isoformat() for d in find_dates(text, ref)]


@pytest.mark.parametrize("text, expected", [
    ("4月8号订的那批货已经到了", "2026-04-08"),          # 是…的 with a trade verb
    ("18号去的仓库，库存不多", "2026-06-18"),
    ("25号付的定金", "2026-05-25"),                      # still ahead this month: last month's
    ("周四已经把样机寄过去了", "2026-06-18"),            # the last Thursday, not the next
    ("11月底签了框架协议", "2025-11-30"),
    ("上次8月12号来过一趟", "2025-08-12"),
])
def test_past_clauses_take_the_past_reading(text: str, expected: str) -> None:
    assert _values(text) == [expected]


@pytest.mark.parametrize("text, expected", [
    ("4月8号要订的那批货", "2027-04-08"),               # a plan cue
    ("已经说好15号前付定金", "2026-07-15"),             # a deadline is ahead (§3)
    ("9月12号开业的新店", "2026-09-12"),                # a relative clause with another verb
    ("客户那边已经催了周四我过去", "2026-06-25"),       # 了 closes the sentence before the date
    ("18号的例会改到下午", "2026-07-18"),
])
def test_plans_deadlines_and_relative_clauses_keep_the_forward_reading(text: str, expected: str) -> None:
    assert _values(text) == [expected]


@pytest.mark.parametrize("text, bad", [
    ("2月30号前把合同寄过去", "2月30号"),
    ("6月31日交货", "6月31日"),
    ("2027年2月29日到期", "2027年2月29日"),
])
def test_days_that_do_not_exist_are_reported(text: str, bad: str) -> None:
    found, reported = find_dates_checked(text, SAT)
    assert found == [] and [t.text for t in reported] == [bad]


def test_numbers_that_are_not_days_are_not_reported() -> None:
    assert find_dates_checked("住在45号楼，13月份的排产", SAT)[1] == []


@pytest.mark.parametrize("phrase, expected", [
    ("后天下午两点半", (date(2026, 6, 22), time(14, 30))),
    ("这周内", (date(2026, 6, 18), None)),               # the week's last working day (Fri is 端午)
    ("7月3号之前", (date(2026, 7, 3), None)),
    ("2026/7/3", (date(2026, 7, 3), None)),
])
def test_parse_due_for_the_correction_command(phrase: str, expected: tuple[date, time | None]) -> None:
    assert parse_due(phrase, SAT) == expected


def test_parse_due_refuses_periods_and_garbage() -> None:
    assert parse_due("下半年", SAT) is None
    assert parse_due("随便", SAT) is None
