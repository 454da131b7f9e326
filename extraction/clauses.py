"""Split a note into short clauses, also when dictated without punctuation.

Pain points and action items are "the shortest clause that states X", so everything
downstream works on clauses.  Hard boundaries are punctuation; soft boundaries are
linking words (但是, 而且, 不然 …), a speech verb (…说 | …), a date expression, a
contact name that starts a new subject, and a subject pronoun that is not the object of
a preceding verb (给他们 is not a boundary, …了他们想… is).
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .lexload import load_list
from .regexgate import scan_checked
from .types import Span

_PUNCT = r"，。；;！!？?\n\r\t、,…~～：:（）()【】\[\]\"“”'‘’《》"
# every boundary starts with punctuation, a full stop or a space: the look-ahead lets the regex
# engine pass over every other position with one test (the same matches, about 3x as fast)
_HARD = re.compile(
    rf"(?=[{_PUNCT}.\s])(?:[{_PUNCT}]+|(?<![A-Za-z0-9])\.(?![0-9])"
    r"|(?<![A-Za-z0-9])\s+|\s+(?![A-Za-z0-9]))"
)


@dataclass(frozen=True, slots=True)
class Clause:
    text: str
    start: int
    end: int

    @property
    def span(self) -> Span:
        return Span(self.start, self.end)


# The slot setters of Clause: `split_clauses` fills each new clause through them (the same
# object as Clause(text, start, end)).  The frozen dataclass's __init__ sets each field through
# object.__setattr__, which takes twice as long, and a note is split into a dozen clauses twice.
_SET_TEXT, _SET_START, _SET_END = (vars(Clause)[f].__set__ for f in ("text", "start", "end"))


@lru_cache(maxsize=1)
def _soft_before() -> re.Pattern[str]:
    links = load_list("clause_links.txt")
    alt = "|".join(map(re.escape, links))
    return re.compile(rf"(?:{alt})")


# verbs/prepositions after which a pronoun is an object, not a new subject
_OBJ_VERB = set("给跟和比对让帮向替嫌找叫请把被为由约见问告诉与同陪带催送发通知联系拜访回去到来在接看教等服满提醒要求")
_PRONOUN = re.compile(r"我们|他们|她们|我|他|她")
# (the look-behinds in front of these three hide their first characters from `re`: scan_checked)
_SPEECH = scan_checked(re.compile(
    r"(?<!书面)(?<!听)(?<!小)(?<!解)(?:说|表示|反馈|提到|告诉我|回复说|透露)(?![明法服话道])(?=[\u4e00-\u9fffA-Za-z0-9])"))
# 他/她 alone is usually an object; it starts a clause only before these
_SINGLE_PRON_NEXT = re.compile(r"(?:说|觉得|想|希望|也|还|都|已经|现在|目前|那边|这边|认为|表示|反馈|答应|要求)")
# "让我/让售后…" starts a new clause (requests and arrangements)
_LET = scan_checked(re.compile(r"(?<![想要望])让(?=我|咱|售后|技术|工程|同事|研发|实施|客服)"))
# a decision maker starting a new statement: "…两万块老板那边还在犹豫"
_BOSS = scan_checked(re.compile(r"(?<![的们])(?:老板|领导|院长|董事长|总经理)(?=那边|还|也|说|在|觉得|想|又)"))
# "量产的话": the condition starts a new clause two characters before 的话
_DEHUA = re.compile(r"..的话")


def split_clauses(text: str, extra_cuts: Iterable[int] = ()) -> list[Clause]:
    """Clauses in order; `extra_cuts` are offsets where a new clause must start."""
    segments, soft = _layout(text)
    cuts = sorted(soft.union(extra_cuts))
    out: list[Clause] = []
    new, set_text, set_start, set_end = object.__new__, _SET_TEXT, _SET_START, _SET_END
    for a, b in segments:
        last = a
        for c in cuts[bisect_right(cuts, a):bisect_left(cuts, b)] + [b]:
            if c > last:
                cl = new(Clause)
                set_text(cl, text[last:c])
                set_start(cl, last)
                set_end(cl, c)
                out.append(cl)
            last = c
    return out


@lru_cache(maxsize=16)
def _layout(text: str) -> tuple[tuple[tuple[int, int], ...], frozenset[int]]:
    """The text between hard boundaries and the soft cuts: what depends on the text alone,
    found once although a note is split several times (with different date cuts)."""
    return _segments(text), frozenset(_soft_cuts(text))


def _segments(text: str) -> tuple[tuple[int, int], ...]:
    """The [start, end) stretches between punctuation."""
    segments: list[tuple[int, int]] = []
    pos = 0
    for m in _HARD.finditer(text):
        hs, he = m.span()
        if hs > pos:
            segments.append((pos, hs))
        pos = he
    if pos < len(text):
        segments.append((pos, len(text)))
    return tuple(segments)


def _soft_cuts(text: str) -> set[int]:
    """Offsets where a linking word, speech verb, decision maker, request or new subject starts
    a clause."""
    cuts: set[int] = set()
    for m in _soft_before().finditer(text):
        if m.start() > 0 and text[m.start() - 1] == "的":  # "他们的要求" is a noun phrase
            continue
        if m.group(0) == "还有" and re.match(r"问题|点|些|一|不少|很多|待", text[m.end():m.end() + 2]):
            continue  # "还有问题" is a predicate, not "in addition"
        cuts.add(m.start())
    for m in _SPEECH.finditer(text):
        cuts.add(m.end())
    for m in _BOSS.finditer(text):
        cuts.add(m.start())
    for m in _LET.finditer(text):
        cuts.add(m.start())
    for m in _DEHUA.finditer(text):
        cuts.add(m.start())
    for m in _PRONOUN.finditer(text):
        s = m.start()
        if s == 0:
            continue
        if m.group(0) in ("他", "她") and not _SINGLE_PRON_NEXT.match(text, m.end()):
            continue
        prev = text[s - 1]
        directional = s >= 2 and text[s - 2:s] in ("过去", "过来", "回去", "回来", "出去", "进去", "下去", "上去")
        if (prev in _OBJ_VERB and not directional) or (s >= 2 and text[s - 2:s] in ("告诉", "通知", "联系", "拜访", "约了", "带着")):
            continue
        if prev == "的" or prev == "了" and m.group(0) in ("我", "他", "她"):
            continue
        cuts.add(s)
    return cuts
