"""Literal gates for regex cue lists: the words a note must contain for a cue to match.

Many cue regexes start from plain word lists (比我们, 便宜|贵|低).  A note that contains none of
a mandatory list's words cannot match, so the regex is not run on it.  Running a hundred regexes
over every note is most of the cost of the cue-based steps (competitors, stage); a substring test
is far cheaper than a regex call.
"""
from __future__ import annotations

_META = frozenset("\\.^$*+?{}[]()|")


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


def gates(src: str) -> tuple[tuple[str, ...], ...]:
    """The mandatory top-level groups of a cue that are plain word lists (比我们, 便宜|贵|低):
    a note without one of their words cannot match, so the regex is not run on it (speed)."""
    if len(split_top(src)) > 1:
        return ()  # top-level alternatives (A|B): no word is mandatory for the whole pattern
    gates: list[tuple[str, ...]] = []
    i, n = 0, len(src)
    while i < n:
        if src[i] == "(":
            depth, j = 0, i
            while j < n:
                if src[j] == "\\":
                    j += 2
                    continue
                depth += src[j] == "("
                depth -= src[j] == ")"
                if depth == 0:
                    break
                j += 1
            group = src[i : j + 1]
            i = j + 1
            if i < n and (src[i] in "?*" or src.startswith("{0", i)):
                i += 1
                continue
            if group.startswith("(?:"):
                alts = split_top(group[3:-1])
                if alts and all(a and not (set(a) & _META) for a in alts):
                    gates.append(tuple(alts))
        elif src[i] == "\\":
            i += 2
        elif src[i] in "[{":
            i = src.index("]" if src[i] == "[" else "}", i + 1) + 1
        else:
            if src[i] not in _META and not src[i].isspace() and not (i + 1 < n and src[i + 1] in "?*{"):
                gates.append((src[i],))
            i += 1
    return tuple(gates)


def may_match(gate_groups: tuple[tuple[str, ...], ...], text: str) -> bool:
    """False when `text` lacks every word of some mandatory group (the regex cannot match)."""
    return all(any(w in text for w in g) for g in gate_groups)
