"""One note about several customers -> one segment per customer.

Reps visit several customers in a day and dictate one note ("上午在宏远，下午去了锦泰，锦泰让我下周再
联系"); a record keeps one customer, so everything about the second one used to be filed under the
first. The note is cut at clause boundaries (punctuation, or in unpunctuated speech the time and
transition words 上午/下午/然后/另外/顺便 …) right before the clause that introduces the next
customer; what comes before the first customer belongs to the first. When the clauses interleave
(A … B … A again) or one clause names two customers (宏远和锦泰都要报价) no cut is safe, so the split
says it is not clear and the bot asks. Referrers, competitors and customers only compared with
(像宏远那样) are not customers of the note.

Pure: text and a `CustomerIndex` in, offsets into the original text out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from .competitors import find_competitors
from .customers import CustomerIndex, _org_key
from .lexload import load_table
from .normalize import has_cjk, normalize_chars, parse_name
from .types import CustomerMention, Span


@dataclass(frozen=True, slots=True)
class Segment:
    """The part of a note about one customer."""

    text: str
    span: Span  # offsets in the original note
    mention: CustomerMention


@dataclass(frozen=True, slots=True)
class Split:
    """How a note divides by customer; `segments` is empty when it names fewer than two."""

    segments: tuple[Segment, ...]  # one per customer, in order
    clear: bool  # False when the customers' clauses interleave or a clause names two of them
    mentions: tuple[CustomerMention, ...]  # one per customer, first mention, in order


_HARD = re.compile(r"[。！!？?；;，,\n\r]+")
_TRIM = " \t\r\n，,；;、。！!？?：:…~～"
_NOT_BEFORE_TIME = "一整半个的每"  # 一上午 / 整个下午 are durations, not a new clause
_TIME_CUES = frozenset(("上午", "下午", "中午", "晚上", "早上", "傍晚"))
_NUMERALS = frozenset("0123456789零〇一二两三四五六七八九十百千万")


@dataclass(frozen=True, slots=True)
class _Cues:
    soft: re.Pattern[str]  # a cue word; group "b" cuts before it, group "a" after it
    day: tuple[str, ...]
    compare_before: tuple[str, ...]
    compare_after: tuple[str, ...]


@lru_cache(maxsize=1)
def _cues() -> _Cues:
    classes: dict[str, list[str]] = {}
    for key, rest in load_table("split_cues.txt"):
        classes.setdefault(key, []).extend(rest.split())

    def alt(words: list[str]) -> str:
        return "|".join(map(re.escape, sorted(set(words), key=len, reverse=True)))

    def longest_first(words: list[str]) -> tuple[str, ...]:
        return tuple(sorted(set(words), key=len, reverse=True))

    return _Cues(
        soft=re.compile(rf"(?P<b>{alt(classes.get('before', []))})|(?P<a>{alt(classes.get('after', []))})"),
        day=longest_first(classes.get("day", [])),
        compare_before=longest_first(classes.get("compare_before", [])),
        compare_after=longest_first(classes.get("compare_after", [])),
    )


def _boundaries(text: str) -> list[int]:
    """Offsets where a clause starts: after punctuation, and at time / transition words."""
    cues = _cues()
    cuts = {0}
    for m in _HARD.finditer(text):
        cuts.add(m.end())
    for m in cues.soft.finditer(text):
        if m.group("b"):
            at = m.start()
            prev = text[at - 1:at]
            if m.group("b") in _TIME_CUES and prev and prev in _NOT_BEFORE_TIME:
                continue
            if prev == "的":  # 回来的路上 is one cue, 他们的另外一条线 is a noun phrase
                continue
            for day in cues.day:  # 今天下午 starts at 今天
                if text.startswith(day, at - len(day)):
                    at -= len(day)
                    break
            cuts.add(at)
        else:
            cuts.add(m.end())
    return sorted(c for c in cuts if c < len(text) or c == 0)


def _only_cues(piece: str) -> bool:
    """A clause made of time / transition words only (回来路上, 今天下午)."""
    cues = _cues()
    rest = piece.strip(_TRIM)
    for day in cues.day:
        if rest.startswith(day):
            rest = rest[len(day):]
            break
    while rest:
        m = cues.soft.match(rest)
        if m is None:
            return False
        rest = rest[m.end():].lstrip(_TRIM)
    return True


def _shares_char(mention: str, name: str) -> bool:
    """A sound-alike with no character of the name in common is too weak to split a note on."""
    return bool(set(normalize_chars(mention)) & set(normalize_chars(name)))


def _is_organisation(m: CustomerMention) -> bool:
    """A listed customer, a candidate the bot would ask about, or a well-formed unknown one."""
    best = m.match.best or (m.match.alternates[0] if m.match.alternates else None)
    if best is not None:
        return _shares_char(m.text, best.name)
    p = parse_name(normalize_chars(m.text))
    if len(p.brand) < 2 or any(c in _NUMERALS for c in p.brand):
        return False  # 洛阳三十家烟酒店 is a count of shops, not a company
    if p.latin or not has_cjk(p.brand):
        return p.legal_form is not None
    return bool(p.regions) or (p.legal_form is not None and p.legal_form != "公司")


def _compared(text: str, m: CustomerMention) -> bool:
    """像宏远那样 / 跟锦泰差不多: a customer named only as a comparison."""
    cues = _cues()
    before = text[max(0, m.span.start - 3):m.span.start]
    after = text[m.span.end:m.span.end + 6]
    for filler in ("那边", "这边", "家"):
        if after.startswith(filler):
            after = after[len(filler):]
            break
    return before.endswith(cues.compare_before) or after.startswith(cues.compare_after)


def _customer_mentions(text: str, index: CustomerIndex) -> list[CustomerMention]:
    """Every mention of a customer of this note, repeats included, in text order."""
    competitors = [(c.span.start, c.span.end, c.text) for c in find_competitors(text)]
    comp_spans: list[tuple[int, int]] = []
    for _, _, name in competitors:
        comp_spans += [(x.start(), x.end()) for x in re.finditer(re.escape(name), text)]
    out = []
    for m in index.find_mentions(text, repeats=True):
        if m.match.best is None and any(m.span.start < e and s < m.span.end for s, e in comp_spans):
            continue  # an organisation the CRM lacks, named as a competitor
        if _compared(text, m) or not _is_organisation(m):
            continue
        out.append(m)
    return out


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _TRIM:
        start += 1
    while end > start and text[end - 1] in _TRIM and text[end - 1] not in "。！!？?":
        end -= 1
    return start, end


def split_by_customer(text: str, index: CustomerIndex) -> Split:
    """Cut a note into one segment per customer (see the module docstring for the rules)."""
    if not text:
        return Split((), True, ())
    occurrences = _customer_mentions(text, index)
    keys = [_org_key(m) for m in occurrences]
    first: dict[str, CustomerMention] = {}
    for m, k in zip(occurrences, keys):
        first.setdefault(k, m)
    mentions = tuple(first.values())
    if len(mentions) < 2:
        return Split((), True, mentions)

    bounds = _boundaries(text)

    def clause_of(pos: int) -> int:
        return max(i for i, b in enumerate(bounds) if b <= pos)

    clear = True
    named: dict[int, set[str]] = {}
    for m, k in zip(occurrences, keys):
        named.setdefault(clause_of(m.span.start), set()).add(k)
    if any(len(ks) > 1 for ks in named.values()):
        clear = False  # 宏远和锦泰都要报价: one clause, two customers
    starts = [0]
    for prev, m in pairwise(mentions):
        c = clause_of(m.span.start)
        while c > 0 and bounds[c - 1] >= prev.span.end and _only_cues(text[bounds[c - 1]:bounds[c]]):
            c -= 1  # 回来路上 | 顺便去了锦泰: a clause of cue words alone leads into the next one
        cut = bounds[c]
        starts.append(cut if cut >= prev.span.end else m.span.start)
    ends = starts[1:] + [len(text)]
    order = list(first)
    for m, k in zip(occurrences, keys):
        seg = max(i for i, s in enumerate(starts) if s <= m.span.start)
        if order[seg] != k:
            clear = False  # A … B … A again: the clauses interleave
    segments = []
    for s, e, m in zip(starts, ends, mentions):
        a, b = _trimmed(text, s, e)
        segments.append(Segment(text[a:b], Span(a, b), m))
    return Split(tuple(segments), clear, mentions)


__all__ = ["Segment", "Split", "split_by_customer"]
