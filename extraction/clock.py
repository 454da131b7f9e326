"""Times of day in notes (下午三点十五, 15:05, 晚上8点许, 凌晨2点半): clock readings, told apart
from counts that also use 点 (让3个点, 百分之三点五)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from .types import Span


@dataclass(frozen=True, slots=True)
class Clock:
    """One clock reading: `time` on the day it is attached to, or on the next day when
    `next_day` (夜里12点 is 00:00 of the next day); `part_only` when only a part of the day
    was written (上午, 晚上) and `time` is that part's usual start."""

    time: time
    span: Span
    next_day: bool = False
    part_only: bool = False


def find_clock(text: str) -> list[Clock]:
    """Every clock reading in `text`, in order."""
    return []
