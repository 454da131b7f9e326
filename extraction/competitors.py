"""Competitors (README §2 competitors).

Competitors come from cue patterns around a brand slot (比X贵, 选了X, 倾向于X,
用的是X, X给的价格 …; lexicon/competitor_cues.txt) plus a list of known brands
(lexicon/competitors.txt).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .lexload import load_list
from .types import Span, TextItem

# A brand slot: 2-5 CJK chars without function characters, or a Latin word.
_FUNC = "的了和是给比在也都就还说要跟与及对把被让向这那们我你他她它个些很太更最又再已呢吧啊吗"
BRAND = rf"(?:[A-Za-z][A-Za-z0-9&\-]{{1,20}}|[^\W\d_{_FUNC}a-zA-Z]{{2,5}})"


@lru_cache(maxsize=1)
def _competitor_res() -> tuple[list[re.Pattern[str]], frozenset[str], re.Pattern[str] | None]:
    pats = [re.compile(p.replace("BRAND", BRAND)) for p in load_list_raw("competitor_cues.txt")]
    stop = frozenset(load_list("competitor_stop.txt"))
    known = load_list("competitors.txt")
    known_re = re.compile("|".join(map(re.escape, known))) if known else None
    return pats, stop, known_re


def load_list_raw(name: str) -> list[str]:
    """Whole lines (regexes may contain spaces)."""
    from .lexload import _lines
    return list(_lines(name))


def _overlaps(a: int, b: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(not (b <= s or a >= e) for s, e in spans)


def find_competitors(text: str, blocked: Iterable[Span] = ()) -> list[TextItem]:
    """Competitor brands in order of first mention; `blocked` = customer/contact spans."""
    pats, stop, known_re = _competitor_res()
    blk = [(s.start, s.end) for s in blocked]
    found: dict[str, TextItem] = {}
    for p in pats:
        for m in p.finditer(text):
            x = m.group("X")
            a, b = m.span("X")
            x2 = _trim_brand(x)
            b = a + len(x2)
            if not x2 or x2 in stop or _overlaps(a, b, blk) or len(x2) < 2:
                continue
            if any(x2.startswith(s) or x2.endswith(s) for s in stop if len(s) >= 2):
                continue
            if x2.isascii() and x2.upper() in ("POC", "PO", "OK", "IT", "BI", "CRM", "ERP", "SAAS"):
                continue
            found.setdefault(x2, TextItem(x2, Span(a, b)))
    if known_re is not None:
        for m in known_re.finditer(text):
            if not _overlaps(m.start(), m.end(), blk):
                found.setdefault(m.group(0), TextItem(m.group(0), Span(m.start(), m.end())))
    # all later mentions of a found brand are the same competitor
    return sorted(found.values(), key=lambda t: t.span.start)


_BRAND_TAIL = re.compile(r"(?:家|那边|这边|公司|的|报|给|价格|价|也|都)$")


def _trim_brand(x: str) -> str:
    prev = None
    while x and x != prev:
        prev = x
        x = _BRAND_TAIL.sub("", x)
    return x


def cue_patterns() -> list[re.Pattern[str]]:
    """The competitor cue patterns (group X = the brand), for pain spans that name a competitor."""
    return _competitor_res()[0]
