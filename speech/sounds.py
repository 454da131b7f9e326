"""How alike two Mandarin syllables sound: the distance a misheard name is from the book's.

Whisper on 8 kHz voice notes keeps most of a syllable and loses one feature of it: the initial's
aspiration (d/t, g/k) or place (p/t/k, zh/j), r heard as y, a medial dropped or added (chuang /
cheng), a vowel moved (heng / hong, shu / shou), a nasal coda changed (xin / xing). Each syllable
is split into its initial and its final (y/w read as the medials i/u/ü they write), and the
distance adds a cost per changed feature: 0 for the same sound, 0.3 for the pairs accents merge
(zh/z, n/l, in/ing), 0.5 for one feature, 1 for unrelated sounds; a syllable is at most 1.5.
Tones are ignored: the model hears them worst.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r",
            "z", "c", "s")
# (place, manner) of each initial; "" is a syllable without one (a, e, and y/w read as medials)
_FEATURES = {
    "b": ("lab", "stop"), "p": ("lab", "stop-h"), "m": ("lab", "nasal"), "f": ("lab", "fric"),
    "d": ("alv", "stop"), "t": ("alv", "stop-h"), "n": ("alv", "nasal"), "l": ("alv", "liquid"),
    "g": ("vel", "stop"), "k": ("vel", "stop-h"), "h": ("vel", "fric"),
    "j": ("pal", "affr"), "q": ("pal", "affr-h"), "x": ("pal", "fric"),
    "zh": ("ret", "affr"), "ch": ("ret", "affr-h"), "sh": ("ret", "fric"), "r": ("ret", "liquid"),
    "z": ("den", "affr"), "c": ("den", "affr-h"), "s": ("den", "fric"), "": ("", "liquid"),
}
_MERGED = {frozenset(p) for p in (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"), ("f", "h"))}
_ASPIRATION = {frozenset(p) for p in (("b", "p"), ("d", "t"), ("g", "k"), ("z", "c"), ("zh", "ch"), ("j", "q"))}
MERGED_COST, FEATURE_COST, OTHER_COST, SYLLABLE_MAX = 0.3, 0.5, 1.0, 1.5
VOWELS = frozenset("aeiouv")


def split(syllable: str) -> tuple[str, str]:
    """(initial, final) of a toneless pinyin syllable, the final written with its medial:
    yan → ("", "ian"), wang → ("", "uang"), yu → ("", "v"), ju → ("j", "v"), gui → ("g", "uei")."""
    s = syllable.lower().replace("ü", "v")
    initial = next((i for i in INITIALS if s.startswith(i) and len(s) > len(i)), "")
    final = s[len(initial):]
    if not initial and final[:1] in ("y", "w"):
        glide, final = final[0], final[1:]
        if glide == "w":
            final = final if final.startswith("u") else "u" + final
        elif final.startswith("u"):  # yu, yue, yuan, yun
            final = "v" + final[1:]
        elif not final.startswith("i"):
            final = "i" + final
    if initial in ("j", "q", "x") and final.startswith("u"):
        final = "v" + final[1:]
    if final in ("iu", "ui", "un") and initial:
        final = {"iu": "iou", "ui": "uei", "un": "uen"}[final]
    return initial, final


def _initial_cost(a: str, b: str) -> float:
    if a == b:
        return 0.0
    pair = frozenset((a, b))
    if pair in _MERGED:
        return MERGED_COST
    ma, mb = _FEATURES.get(a, ("?", a))[1], _FEATURES.get(b, ("?", b))[1]
    if pair in _ASPIRATION or ma == mb or "r" in pair and "" in pair:
        return FEATURE_COST
    return OTHER_COST


def _final_cost(a: str, b: str) -> float:
    """A weighted edit distance over the final's sounds (ng as one sound), at most 1."""
    x, y = a.replace("ng", "N"), b.replace("ng", "N")

    def sub(p: str, q: str) -> float:
        if p == q:
            return 0.0
        if {p, q} == {"n", "N"}:
            return MERGED_COST
        return FEATURE_COST if p in VOWELS and q in VOWELS else OTHER_COST

    def gap(p: str) -> float:
        return FEATURE_COST if p in VOWELS or p in "nN" else OTHER_COST

    row = [0.0]
    for q in y:
        row.append(row[-1] + gap(q))
    for p in x:
        prev, row = row, [row[0] + gap(p)]
        for k, q in enumerate(y, 1):
            row.append(min(prev[k - 1] + sub(p, q), prev[k] + gap(p), row[k - 1] + gap(q)))
    return min(OTHER_COST, row[-1])


@lru_cache(maxsize=65536)
def syllable_cost(a: str, b: str) -> float:
    """How far syllable `b` sounds from `a` (0 = the same toneless sound)."""
    if a == b:
        return 0.0
    if not (a.isascii() and a.isalpha() and b.isascii() and b.isalpha()):  # a digit, a Latin letter …
        return SYLLABLE_MAX
    (ia, fa), (ib, fb) = split(a), split(b)
    return min(SYLLABLE_MAX, _initial_cost(ia, ib) + _final_cost(fa, fb))


def initials_close(said: Sequence[str], heard: Sequence[str]) -> bool:
    """No syllable's initial turned into an unrelated one (m for zh): a misheard name keeps its
    consonants' manner or place, whatever happens to its vowels."""
    return all(a == b or _initial_cost(split(a)[0], split(b)[0]) <= FEATURE_COST
               for a, b in zip(said, heard, strict=True))


def span_cost(said: Sequence[str], heard: Sequence[str]) -> float:
    """Syllable by syllable, how far `heard` sounds from `said` (same length)."""
    return sum(syllable_cost(a, b) for a, b in zip(said, heard, strict=True))
