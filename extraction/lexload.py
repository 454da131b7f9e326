"""Load keyword lexicons from extraction/lexicon/ (data an admin can extend without code).

Format: one entry per line, UTF-8; `#` starts a comment; blank lines are ignored.
Files are read once per process and cached.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

LEXICON_DIR = Path(__file__).resolve().parent / "lexicon"


@cache
def load_list(name: str) -> tuple[str, ...]:
    """Entries of lexicon/<name>, longest first so alternations prefer longer cues."""
    items: list[str] = []
    seen: set[str] = set()
    for line in _lines(name):
        for word in line.split():  # several entries may share a line
            if word not in seen:
                seen.add(word)
                items.append(word)
    items.sort(key=len, reverse=True)
    return tuple(items)


@cache
def alternation(name: str) -> str:
    """The entries of lexicon/<name> as one regex alternation, longest first ("(?!)" when empty)."""
    return "|".join(map(re.escape, load_list(name))) or "(?!)"


@cache
def _lines(name: str) -> tuple[str, ...]:
    path = LEXICON_DIR / name
    if not path.exists():
        return ()
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return tuple(out)


@cache
def load_table(name: str) -> tuple[tuple[str, str], ...]:
    """`key<TAB or space>value` lines of lexicon/<name> (e.g. category cue tables)."""
    out: list[tuple[str, str]] = []
    for entry in _lines(name):
        parts = entry.split(None, 1)
        if len(parts) == 2:
            out.append((parts[0], parts[1].strip()))
    return tuple(out)
