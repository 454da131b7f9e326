"""Working days in mainland China: statutory holidays and make-up working days (调休).

The calendar itself (chinesecalendar's schedule, the [calendar] override from the config, and the
fallback for a year neither knows) lives in extraction/holidays.py, so alerts and the dates read
from notes agree on every day; this module keeps the counting helpers the alert code uses.
"""
from __future__ import annotations

from datetime import date, timedelta

from extraction import holidays


def is_workday(d: date) -> bool:
    """Whether people work on `d` (see extraction.holidays.is_workday)."""
    return holidays.is_workday(d)


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when end <= start)."""
    return sum(1 for i in range(1, (end - start).days + 1) if is_workday(start + timedelta(days=i)))


def workday_cutoff(today: date, n: int) -> date:
    """The latest date d such that working_days_between(d, today) >= n.

    A deal last touched on or before this date is n or more working days old; computing the
    cutoff once turns "stale for n working days" into one indexed range query.
    """
    d, counted = today, 0
    while counted < n:
        if is_workday(d):
            counted += 1
        d -= timedelta(days=1)
    return d
