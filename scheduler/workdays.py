"""Working days in mainland China: statutory holidays and make-up working days (调休).

chinese-calendar carries the State Council's schedule for the years it knows; for a year it does
not know yet we fall back to Monday–Friday and log it once, so alerts keep working until the
package is updated.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def is_workday(d: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        _warn_year(d.year)
        return d.weekday() < 5


@lru_cache(maxsize=None)
def _warn_year(year: int) -> None:
    log.warning("no Chinese holiday data for %d: treating Monday-Friday as working days "
                "(upgrade the chinesecalendar package)", year)


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
