"""Literal gates for regex cue lists: the words a note must contain for a cue to match.

Many cue regexes start from plain word lists (比我们, 便宜|贵|低).  A note that contains none of
a mandatory list's words cannot match, so the regex is not run on it.  Running a hundred regexes
over every note is most of the cost of the cue-based steps (competitors, stage, pains); `CueIndex`
finds every gate word of a cue list in one scan of the note and returns the cues that may match.
`lead_checked` puts a look-ahead on how a regex's matches start in front of it, for regexes that
open with look-behinds or groups (which make `re` try every alternative at every position).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import product
from re import _compiler as sre_compiler  # type: ignore[attr-defined]  # its prefix analysis (3.11+)
from re import _constants as sre_c  # type: ignore[attr-defined]  # the parser's opcodes (3.11+)
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, NamedTuple

_META = frozenset("\\.^$*+?{}[]()|")
_QUANT = frozenset("?*{")


def split_top(body: str) -> list[str]:
    """Top-level alternatives of a group body."""
    out, depth, cur, esc = [], 0, [], False
    for ch in body:
        if esc:
            cur.append(ch)
            esc = False
            continue
        if ch == "\\":
            esc = True
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur))
    return out


def _group_end(src: str, i: int) -> int:
    """Index of the ')' closing the group that opens at `i`."""
    depth, j, n = 0, i, len(src)
    while j < n:
        if src[j] == "\\":
            j += 2
            continue
        if src[j] == "[":
            j = _class_end(src, j)
        depth += src[j] == "("
        depth -= src[j] == ")"
        if depth == 0:
            return j
        j += 1
    return n - 1


def _class_end(src: str, i: int) -> int:
    """Index of the ']' closing the character class that opens at `i`."""
    j = i + 1
    if j < len(src) and src[j] == "^":
        j += 1
    if j < len(src) and src[j] == "]":
        j += 1
    while j < len(src) and src[j] != "]":
        j += 2 if src[j] == "\\" else 1
    return j


def _lead_literal(alt: str) -> str:
    """The literal characters every match of `alt` starts with ('' when there are none):
    look-arounds in front are skipped, a quantified character ends the run."""
    i, n, out = 0, len(alt), []
    while i < n and alt.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
        i = _group_end(alt, i) + 1
    while i < n:
        ch = alt[i]
        if ch in _META:
            break  # a class, group, escape or '+': the run so far still holds
        if i + 1 < n and alt[i + 1] in _QUANT:
            break
        out.append(ch)
        i += 1
    return "".join(out)


def _skip_quantifier(src: str, i: int) -> tuple[int, bool]:
    """Past the quantifier (if any) at `i`; True when it lets the atom before it be absent."""
    optional = False
    if i < len(src) and src[i] in "?*+":
        optional = src[i] != "+"
        i += 1
    elif i < len(src) and src[i] == "{":
        optional = src.startswith(("{0,", "{0}"), i)
        i = src.index("}", i) + 1
    if i < len(src) and src[i] in "?+":  # lazy or possessive form
        i += 1
    return i, optional


def gates(src: str) -> tuple[tuple[str, ...], ...]:
    """The mandatory parts of a cue as word lists: a literal character, a group of plain
    alternatives (便宜|贵|低), or a group or top-level alternation whose every alternative starts
    with literal characters (标(?:没|未)中|没投中 → 标, 没投中).  A note without one word of each
    list cannot match, so the regex is not run on it."""
    top = split_top(src)
    if len(top) > 1:
        heads = tuple(_lead_literal(a) for a in top)
        return (heads,) if all(heads) else ()
    out: list[tuple[str, ...]] = []
    i, n = 0, len(src)
    while i < n:
        if src[i] == "(":
            j = _group_end(src, i)
            group = src[i : j + 1]
            i, optional = _skip_quantifier(src, j + 1)
            if optional:
                continue
            if group.startswith(("(?:", "(?P<")):
                body = group[3:-1] if group.startswith("(?:") else group[group.index(">") + 1 : -1]
                heads = tuple(_lead_literal(a) for a in split_top(body))
                if heads and all(heads):
                    out.append(heads)
        elif src[i] == "\\":
            i += 2
        elif src[i] == "[":
            i = _class_end(src, i) + 1
        elif src[i] == "{":
            i = src.index("}", i + 1) + 1
        else:
            if src[i] not in _META and not src[i].isspace() and not (i + 1 < n and src[i + 1] in _QUANT):
                out.append((src[i],))
            i += 1
    return tuple(out)


def gate_groups(rx: re.Pattern[str], exclude: str = "") -> tuple[tuple[str, ...], ...]:
    """`gates` and the groups `_required` reads from the parsed pattern, without the groups
    another one implies (样 after 样品|样机): each kept group costs a set test per note, so only
    the telling ones stay.  Words with a character of `exclude` (placeholders the caller
    writes into the text) make no group."""
    groups = [frozenset(w.lower() for w in g) for g in (*gates(rx.pattern), *_required(rx, exclude))]
    kept: list[frozenset[str]] = []
    for g in sorted(set(groups), key=_rarity, reverse=True):  # the most telling first
        if not any(_implies(h, g) for h in kept):
            kept.append(g)
    return tuple(tuple(sorted(g)) for g in kept)


def _implies(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether a note holding a word of `a` holds a word of `b` (each word of `a` contains one)."""
    return all(any(w in x for w in b) for x in a)


_MAX_CNF = 8  # most word groups one choice between alternatives turns into
_REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT)


def _required(rx: re.Pattern[str], exclude: str) -> tuple[tuple[str, ...], ...]:
    """Word groups such that every match of `rx` contains a word of each group.

    Read from the parsed pattern, so it is exact about what is mandatory: literal runs,
    groups, alternations and repeats of at least one; look-arounds, classes and optional
    parts add nothing.  Case-insensitive patterns and words holding a character of `exclude`
    get no group: the cue is then simply not gated by them."""
    if rx.flags & re.IGNORECASE:
        return ()
    groups = _need(sre_parse.parse(rx.pattern, rx.flags))
    ok = [g for g in groups if not any(c in w for w in g for c in exclude)]
    return tuple(tuple(sorted(g)) for g in dict.fromkeys(ok))  # sorted: a stable order


def _need(seq: Any) -> list[frozenset[str]]:
    """Word sets of a parsed sequence: every match holds a word of each (a conjunction)."""
    out: list[frozenset[str]] = []
    run: list[str] = []  # adjacent literal characters: one word
    for op, av in seq:
        if op is sre_c.LITERAL:
            run.append(chr(av))
            continue
        if run:
            out.append(frozenset({"".join(run)}))
            run = []
        if op is sre_c.SUBPATTERN and not av[1] & re.IGNORECASE:
            out += _need(av[3])
        elif op is sre_c.BRANCH:
            out += _any_of([_need(alt) for alt in av[1]])
        elif op in _REPEATS and av[0] >= 1:
            out += _need(av[2])
    if run:
        out.append(frozenset({"".join(run)}))
    return out


def _any_of(alts: list[list[frozenset[str]]]) -> list[frozenset[str]]:
    """Word sets of a choice: a match holds a word of one set of each alternative, so each
    way of picking one set per alternative, united, is a word set of the choice."""
    if not alts or not all(alts):
        return []  # an alternative with no word set: nothing is mandatory
    if _count(alts) > _MAX_CNF:
        alts = [[max(a, key=_rarity)] for a in alts]
    return [frozenset().union(*pick) for pick in product(*alts)]


def _count(alts: list[list[frozenset[str]]]) -> int:
    n = 1
    for a in alts:
        n *= len(a)
    return n


def _rarity(words: frozenset[str]) -> tuple[int, int]:
    """Longer words are rarer in a note; then fewer words."""
    return min(map(len, words)), -len(words)


class _Scanner:
    """The gate words of every index, found in one pass over a note (the cue steps see the same
    note, or a copy that only blanks or folds characters)."""

    def __init__(self) -> None:
        self._words: set[str] = set()
        self._prefixes: dict[str, bool] = {}  # every prefix of a gate word -> whether it is one
        self._memo: tuple[str, frozenset[str]] = ("", frozenset())

    def add(self, words: set[str]) -> None:
        if not words <= self._words:
            self._words |= words
            for w in words:
                for k in range(1, len(w)):
                    self._prefixes.setdefault(w[:k], False)
                self._prefixes[w] = True
            self._memo = ("", frozenset())

    def present(self, text: str) -> frozenset[str]:
        """The gate words (lower-cased) that occur in `text`."""
        memo = self._memo
        if memo[0] == text and text:
            return memo[1]
        low, get = text.lower(), self._prefixes.get
        n = len(low)
        found: set[str] = set()
        # from each position, extend while the fragment is still the prefix of a gate word
        for i, frag in enumerate(low):
            j, word = i + 1, get(frag)
            while word is not None:
                if word:
                    found.add(frag)
                if j == n:
                    break
                j += 1
                frag = low[i:j]
                word = get(frag)
        out = frozenset(found)
        self._memo = (text, out)
        return out


_SCANNER = _Scanner()


def _commonness(group: frozenset[str]) -> tuple[int, int]:
    """How often a gate group is likely present in a note: one-character words (了, 比) occur in
    most notes, longer words rarely; then the more words, the likelier."""
    return (-min(len(w) for w in group), len(group))


class CueIndex:
    """Which cues of a list may match a note, from one scan for all their gate words.

    Matching is case-insensitive here and the scan knows the words of every index, so the
    answer is a superset for case-sensitive cues; a cue without gates is always a candidate.
    """

    __slots__ = ("_by_word", "_keys", "_rest", "_ungated")

    def __init__(self, sources: Sequence[str] = (), *,
                 gate_lists: Sequence[tuple[tuple[str, ...], ...]] | None = None) -> None:
        """Index regex `sources`, or cues whose gates are known already (`gate_lists`)."""
        if gate_lists is None:
            gate_lists = [gates(s) for s in sources]
        groups = [tuple(frozenset(w.lower() for w in g) for g in gl) for gl in gate_lists]
        _SCANNER.add({w for gs in groups for g in gs for w in g})
        self._ungated = frozenset(i for i, gs in enumerate(groups) if not gs)
        by_word: dict[str, list[int]] = {}
        # each cue is indexed by its rarest group; only its other groups are checked per note
        self._rest: list[tuple[frozenset[str], ...]] = []
        for i, gs in enumerate(groups):
            key = min(gs, key=_commonness) if gs else frozenset()
            for w in key:
                by_word.setdefault(w, []).append(i)
            self._rest.append(tuple(g for g in gs if g is not key))
        self._by_word = {w: tuple(ix) for w, ix in by_word.items()}
        self._keys = frozenset(by_word)

    @staticmethod
    def present(text: str) -> frozenset[str]:
        """The gate words (lower-cased) that occur in `text`."""
        return _SCANNER.present(text)

    def candidates(self, text: str) -> list[int]:
        """Indices (ascending) of the cues that may match `text`."""
        words = _SCANNER.present(text)
        # a note holds the words of every index: keep this one's (the unions run in C)
        cand = self._ungated.union(*map(self._by_word.__getitem__, self._keys & words))
        rest = self._rest
        out = []
        for i in sorted(cand):
            for g in rest[i]:
                if g.isdisjoint(words):
                    break
            else:
                out.append(i)
        return out


# -- a look-ahead on how matches start --------------------------------------------------------
# A regex whose alternatives open with look-behinds or groups gives `re` nothing to skip ahead
# to: it tries every alternative at every position.  A leading look-ahead on the characters
# every match starts with fails at most positions in one test, and gives the same matches: it
# holds wherever a match starts.
_BROAD = 300  # a character range wider than this (any 汉字) tells too little about a start
_ZERO_WIDTH = (sre_c.ASSERT, sre_c.ASSERT_NOT, sre_c.AT)


class Leads(NamedTuple):
    """How every match starts: with one of `chars`, or (`pairs`) with a character of a wide
    class (a regex class) followed by one of a few characters (any 汉字 + 得)."""

    chars: frozenset[str]
    pairs: frozenset[tuple[str, frozenset[str]]]

    def __or__(self, other: Leads) -> Leads:
        return Leads(self.chars | other.chars, self.pairs | other.pairs)

    def replace(self, ch: str, by: set[str]) -> Leads:
        """The leads with the stand-in character `ch` replaced by the characters `by`."""
        def sub(cs: frozenset[str]) -> frozenset[str]:
            return cs - {ch} | by if ch in cs else cs
        return Leads(sub(self.chars), frozenset((w, sub(after)) for w, after in self.pairs))

    def regex(self) -> str:
        """The leads as one regex (the body of the look-ahead)."""
        alts = [w + _class(after) for w, after in sorted(self.pairs, key=lambda p: (p[0], sorted(p[1])))]
        return "|".join(([_class(self.chars)] if self.chars else []) + alts)


NO_LEADS = Leads(frozenset(), frozenset())


def _class(chars: Iterable[str]) -> str:
    """A regex class of these characters."""
    return "[" + "".join(map(re.escape, sorted(chars))) + "]"


def lead_checked(rx: re.Pattern[str]) -> re.Pattern[str]:
    """`rx` behind the look-ahead on how its matches start (itself when that is unknown)."""
    src = with_lead(rx.pattern, rx.flags)
    return rx if src is rx.pattern else re.compile(src, rx.flags)


def scan_checked(rx: re.Pattern[str]) -> re.Pattern[str]:
    """`rx` with the look-ahead on how its matches start (lead_checked), where `re` cannot skip to a
    possible start by itself (no literal prefix or first-character set): the same matches.

    `re` skips ahead on a literal prefix or a set of first characters of its own; a look-ahead in
    front would hide those and make it slower, so such patterns are returned as they are."""
    parsed = sre_parse.parse(rx.pattern, rx.flags)
    if sre_compiler._get_literal_prefix(parsed, rx.flags)[0] or \
            sre_compiler._get_charset_prefix(parsed, rx.flags) is not None:
        return rx
    return lead_checked(rx)


def with_lead(src: str, flags: int = 0) -> str:
    """The regex `src` behind the look-ahead on how its matches start (`src` itself when that
    is unknown): for a pattern not compiled yet, so that it is compiled once."""
    leads = leads_of(src, flags)
    return src if leads is None else behind(leads, src)


def behind(leads: Leads, src: str) -> str:
    """The regex `src` behind a look-ahead on its leads."""
    return f"(?={leads.regex()})(?:{src})"


def leads_of(src: str, flags: int) -> Leads | None:
    """How the matches of `src` start (None when unknown or a match may be empty)."""
    leads, nullable = _leads(list(sre_parse.parse(src, flags)))
    return None if leads is None or nullable or leads == NO_LEADS else leads


def _leads(items: list[Any]) -> tuple[Leads | None, bool]:
    """How a match of the parsed sequence `items` starts (None: unknown), and whether the
    sequence can match the empty string."""
    out = NO_LEADS
    for k, (op, av) in enumerate(items):
        if op is sre_c.ASSERT_NOT and not av[1]:
            return out, False  # (?!) never holds: nothing after it starts a match
        if op in _ZERO_WIDTH:
            continue  # the next item consumes the first character
        if op is sre_c.LITERAL:
            return out | Leads(frozenset([chr(av)]), frozenset()), False
        if op is sre_c.IN:
            small = _class_chars(av)
            if small is not None:
                return out | Leads(small, frozenset()), False
            pair = _pair(av, items[k + 1:])
            return (None, False) if pair is None else (out | Leads(frozenset(), frozenset([pair])), False)
        if op is sre_c.SUBPATTERN:
            if av[1] or av[2]:
                return None, False  # scoped flags ((?i:…)) change which characters match
            sub, nullable = _leads(av[3])
        elif op is sre_c.BRANCH:
            sub, nullable = NO_LEADS, False
            for alt in av[1]:
                one, empty = _leads(alt)
                if one is None:
                    return None, False
                sub, nullable = sub | one, nullable or empty
        elif op in _REPEATS:
            sub, nullable = _leads(av[2])
            nullable = nullable or av[0] == 0
        else:
            return None, False  # any character, a back-reference …
        if sub is None:
            return None, False
        out = out | sub
        if not nullable:
            return out, False
    return out, True


def _class_chars(av: Any) -> frozenset[str] | None:
    """The characters of a parsed class (None when it is negated, a category or wide)."""
    out: set[str] = set()
    for op, a in av:
        if op is sre_c.LITERAL:
            out.add(chr(a))
        elif op is sre_c.RANGE and a[1] - a[0] < _BROAD:
            out.update(map(chr, range(a[0], a[1] + 1)))
        else:
            return None
    return frozenset(out)


def _pair(av: Any, rest: list[Any]) -> tuple[str, frozenset[str]] | None:
    """A wide class of characters and ranges as a regex, with the characters that can follow
    it (None when the class is negated or a category, or what follows is unknown)."""
    if not all(op is sre_c.LITERAL or op is sre_c.RANGE for op, _ in av):
        return None
    after, nullable = _leads(rest)
    if after is None or nullable or after.pairs:
        return None
    wide = "".join(re.escape(chr(a)) if op is sre_c.LITERAL else f"\\U{a[0]:08x}-\\U{a[1]:08x}" for op, a in av)
    return f"[{wide}]", after.chars
