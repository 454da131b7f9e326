"""Split long replies into messages that fit a platform's size limit.

Shared by the WeCom (2,048 bytes per text/markdown message) and DingTalk channels, so both
cut the same way: at line ends first, a line that alone is too long after a space or a
punctuation mark, and otherwise between characters, never inside a UTF-8 character or a
combining sequence (accents, ZWJ emoji, variation selectors, skin tones).
"""
from __future__ import annotations

import unicodedata

# A line that must be cut is preferably cut right after one of these.
_BREAK_AFTER = frozenset(" \t，。！？；：、,.!?;:）)】]」』")
_ZWJ = "\u200d"


def _joined(prev: str, ch: str) -> bool:
    """True when `ch` belongs to the same visible character as `prev`."""
    cp = ord(ch)
    return (unicodedata.combining(ch) != 0 or ch == _ZWJ or prev == _ZWJ
            or 0xFE00 <= cp <= 0xFE0F  # variation selectors
            or 0x1F3FB <= cp <= 0x1F3FF  # emoji skin tones
            or 0xE0020 <= cp <= 0xE007F)  # emoji tag sequences


def _fit(line: str, limit: int) -> int:
    """How many leading characters of `line` fit into `limit` UTF-8 bytes."""
    size = 0
    for i, ch in enumerate(line):
        size += len(ch.encode())
        if size > limit:
            return i
    return len(line)


def _cut_point(line: str, n: int) -> int:
    """A cut at or before `n`: after punctuation in the last half, else a character boundary."""
    for i in range(n, n // 2, -1):
        if line[i - 1] in _BREAK_AFTER and not (i < len(line) and _joined(line[i - 1], line[i])):
            return i
    i = n
    while 0 < i < len(line) and _joined(line[i - 1], line[i]):
        i -= 1
    return i or max(1, n)  # one combining run longer than the limit: cut it anyway


def _pieces(line: str, limit: int) -> list[str]:
    out: list[str] = []
    while len(line.encode()) > limit:
        cut = _cut_point(line, max(1, _fit(line, limit)))
        out.append(line[:cut])
        line = line[cut:]
    out.append(line)
    return out


def split_bytes(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` UTF-8 bytes, packed line by line.

    The line break between two chunks is dropped (the message boundary replaces it), so for
    text without over-long lines "\\n".join(chunks) == text (with "\\r\\n" read as "\\n").
    """
    if limit < 4:
        raise ValueError("limit must hold at least one character (4 bytes)")
    chunks: list[str] = []
    cur: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        for i, piece in enumerate(_pieces(line, limit)):
            glue = "\n" if i == 0 else ""  # later pieces continue the same line
            if cur is not None and len((cur + glue + piece).encode()) <= limit:
                cur += glue + piece
                continue
            if cur is not None:
                chunks.append(cur)
            cur = piece
    chunks.append(cur or "")
    return chunks
