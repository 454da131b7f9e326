"""Deal stage judged from one note (README §2 stage).

Stage cues (lexicon/stage_cues.txt) are searched outside the spans of our own planned
action items ("我下周三前把方案发过去" does not mean the quote stage was reached) and
outside contact names (采购部王总 is not a purchase need).  `lost` overrides; otherwise the
furthest stage wins; `null` cues (after-sales, complaints, replenishment) give null when
nothing beyond `contacted` is present.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .lexload import _lines
from .types import Span

ORDER = ("lead", "contacted", "needs", "quote", "trial", "negotiation", "won")


@lru_cache(maxsize=1)
def _cues() -> list[tuple[str, re.Pattern[str]]]:
    out = []
    for line in _lines("stage_cues.txt"):
        stage, _, rx = line.partition(" ")
        out.append((stage, re.compile(rx.strip())))
    return out


_EARLY = ("lead", "contacted", "needs", "null")


def _blank(text: str, spans: Iterable[Span]) -> str:
    chars = list(text)
    for s in spans:
        for i in range(max(0, s.start), min(len(chars), s.end)):
            chars[i] = "\u3000"
    return "".join(chars)


def find_stage(text: str, masked: Iterable[Span], wishes: Iterable[Span] = ()) -> tuple[str | None, Span | None]:
    """(stage, evidence span).  `masked` spans (planned actions, names) are blanked; in
    `wishes` ("想看看我们的方案") only lead/contacted/needs cues count."""
    masked = list(masked)
    t = _blank(text, masked)
    t_late = _blank(t, wishes)
    hits: dict[str, Span] = {}
    for stage, rx in _cues():
        if stage in hits:
            continue
        m = rx.search(t if stage in _EARLY else t_late)
        if m:
            hits[stage] = Span(m.start(), m.end())
    if "lost" in hits:
        return "lost", hits["lost"]
    best = None
    for st in ORDER:
        if st in hits:
            best = st
    if "null" in hits and (best is None or ORDER.index(best) <= ORDER.index("contacted")):
        return None, hits["null"]
    if best is None:
        return None, None
    return best, hits[best]
