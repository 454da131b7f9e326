"""Time expressions beyond the §3 dates: periods, open ranges, times of day, holidays.

`find_dates` keeps the §3 conventions (the record's `dates`); this module resolves every other
way people write a time and merges both into the `TimeMention`s of `date_spans`."""
from __future__ import annotations

from datetime import date

from .holidays import find_holidays
from .types import DateMention, TimeMention


def find_times(text: str, ref: date, dates: list[DateMention]) -> list[TimeMention]:
    """Every resolved time mention in `text`, in order, none overlapping another: the §3 dates
    as days, and the holiday expressions."""
    found = [TimeMention("day", d.value, d.text, d.span) for d in dates]
    for h in find_holidays(text, ref):
        if not any(h.span.start < t.span.end and t.span.start < h.span.end for t in found):
            found.append(h)
    return sorted(found, key=lambda t: t.span.start)
