"""Customer identity matching: a name as a rep or ASR writes it -> a CRM customer.

Names are compared on the brand (苏州 *恒达* 精密机械有限公司) by characters and by toneless
pinyin, so ASR homophones (横达) still link; region and industry words only veto (the same brand in
another city, or in another line of business, is another company). A blocking index over brand
character bigrams, pinyin-syllable bigrams and Latin prefixes keeps one query against 100,000
customers to a few dozen scored candidates. The index is plain dicts kept in step one customer at
a time (`upsert`, `remove`), so a new or merged customer never waits for a rebuild.
"""
from __future__ import annotations

import csv
import gc
import re
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeAlias, TypeVar

from rapidfuzz import fuzz

from .normalize import (
    ParsedName,
    RegionInfo,
    abbrev_alternative,
    core_readings,
    fuzzy_key,
    fuzzy_syllable,
    has_cjk,
    industry_categories,
    lexicon,
    normalize_chars,
    parse_name,
    pinyin_key,
    region_info,
    regions_compatible,
    split_industry,
)
from .types import Candidate, CustomerMention, CustomerRef, MatchResult, Span

AUTO_LINK = 0.85  # >= : link automatically
ASK = 0.60  # [ASK, AUTO_LINK): ask the rep to pick among `alternates`; below: no match
AMBIGUOUS_MARGIN = 0.04  # two different customers this close at the top: ask, never guess
MAX_ALTERNATES = 5
MAX_SCORED = 400  # candidates scored per query after blocking (most shared keys first)

# Brand similarity levels (multiplied by the region and industry factors below).
SIM_EXACT = 1.0
SIM_HOMOPHONE = 0.92  # same toneless pinyin: ASR / typing error
SIM_FUZZY_SOUND = 0.84  # same after merging zh/z, n/l, in/ing ...: accent error; always ask
SIM_LATIN = 0.95  # pinyin / English rendering equal to the brand's pinyin
SIM_OTHER_SCALE = 0.75  # other brands: rapidfuzz ratio scaled into the ask / reject zone
SIM_BLOCKED = 0.70  # the query's own characters are another customer's brand (华信 vs 华新): ask at most
SIM_PREFIX = 0.90  # brand + an industry word the lexicon lacks (天合 vs 天合光伏)
SIM_PREFIX_UNKNOWN = 0.80  # Latin rendering with an untranslated tail: ask
SIM_PREFIX_SOUND = 0.86  # two syllables sound like the head of a longer brand: links only with its region
SIM_FUZZY_CONFIRMED = 0.90  # accent-level sound match that the region or a specific industry word confirms
SIM_ABBREV = 0.90  # brand head + later characters of the name in order (港畅货运代理 -> 港畅货代)
SIM_ABBREV_WEAK = 0.86  # the same with a sound-alike head and only one more character
SIM_PLACE_ONLY = 0.70  # a query that is only a place name, matching a brand named after the place: ask
SIM_INITIALS = 0.90  # Latin initials of the brand's syllables (HD for 恒达) with a shared specific industry word
SIM_INITIALS_UNSURE = 0.70  # the initials alone: ask
MAX_INITIALS = 4  # HD, HXJ, ZGJT: longer all-initial renderings are rare and collide less anyway
MIN_PREFIX = 2
REGION_UNKNOWN = 0.96  # one side names no region
REGION_CONFLICT = 0.45
INDUSTRY_CONFLICT = 0.50
# Same brand, both naming a specific line of business, in one broad category but by other words
# (恒达自动化 vs 恒达精密机械): maybe a sister company, maybe the same one: ask, never link.
INDUSTRY_SIBLING = 0.80
# The same brand in the same region in an unrelated business (天津北辰物流 vs 天津北辰重工机械) is
# most likely another company, but close enough that the rep is shown it as a candidate.
INDUSTRY_CONFLICT_ASK = 0.65
ORG_CLASS_CONFLICT = 0.85  # a company vs an institution (服务中心, 研究院) with one brand: ask


class _Named(Protocol):
    """What the brand, region and industry rules read of either side: a parsed query or a listed spelling."""

    @property
    def brand(self) -> str: ...

    @property
    def industry(self) -> tuple[str, ...]: ...

    @property
    def regions(self) -> tuple[RegionInfo, ...]: ...


class _Variant(NamedTuple):
    """One spelling (name or alias) of a customer as scoring reads it.

    Made on demand from the index's per-spelling columns for the few candidates of a query:
    keeping a parsed name per spelling cost most of the index's memory."""

    idx: int  # the customer
    brand: str
    industry: tuple[str, ...]
    regions: tuple[RegionInfo, ...]
    org_class: str | None  # `ParsedName.org_class`
    latin: bool
    pinyin: tuple[str, ...]
    fuzzy: tuple[str, ...]

    @property
    def latin_key(self) -> str:
        """Brand pinyin as one string (`ParsedName.brand_latin_key`)."""
        return "".join(self.pinyin)

    @property
    def core(self) -> str:
        return _core(self.brand, self.industry)

    @property
    def industry_categories(self) -> frozenset[str]:
        return industry_categories(self.industry)


def _core(brand: str, industry: tuple[str, ...]) -> str:
    """Brand + industry words: what `ParsedName.core` is for every spelling the index lists."""
    return brand + "".join(industry)


_ORG_CLASSES: dict[str | None, str | None] = {}  # legal form -> ParsedName.org_class (a few forms)


def _org_class(p: ParsedName) -> str | None:
    """`p.org_class`, remembered by legal form: the property scans every form, a build reads it per name."""
    form = p.legal_form
    if form not in _ORG_CLASSES:
        _ORG_CLASSES[form] = p.org_class
    return _ORG_CLASSES[form]


def load_customers_csv(path: str | Path) -> list[CustomerRef]:
    """Read id,name,region,owner[,aliases] (aliases separated by | or ;)."""
    out: list[CustomerRef] = []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            cid = (row.get("id") or "").strip()
            name = (row.get("name") or "").strip()
            if not cid or not name:
                continue
            raw_aliases = (row.get("aliases") or "").replace(";", "|")
            aliases = tuple(a.strip() for a in raw_aliases.split("|") if a.strip())
            out.append(CustomerRef(cid, name, (row.get("region") or "").strip() or None, aliases))
    return out


def initials(pinyin: tuple[str, ...]) -> str | None:
    """The brand's syllable initials as a Latin rendering would abbreviate them (恒达 -> hd)."""
    if not 2 <= len(pinyin) <= MAX_INITIALS or not all(pinyin):
        return None
    return "".join(syl[0] for syl in pinyin)


def _initials_query(brand: str, latin: bool) -> bool:
    """A Latin brand short enough to be initials (HD Precision): looked up by initials too."""
    return latin and 2 <= len(brand) <= MAX_INITIALS and brand.isalpha()


LATIN_PREFIX = "l"  # a query key "l" + letters: every spelling whose Latin key starts with the letters
INITIALS_PREFIX = "i"  # "i" + initials (hd): the Chinese brands whose syllables start with those letters


def _blocking_keys(brand: str, latin: bool, pinyin: tuple[str, ...], fuzzy: tuple[str, ...],
                   latin_key: str, for_query: bool) -> set[str]:
    """Keys a brand is listed under: its character bigrams (c), fuzzy-sound bigrams (p) and
    syllable initials (i); a query also has Latin prefixes (l, answered from a sorted list).
    Flat strings: a key is kept once per distinct value and a string is a third of the memory of
    a tuple of one-character strings."""
    keys: set[str] = set()
    if not latin:
        keys.update("c" + brand[i : i + 2] for i in range(max(1, len(brand) - 1)))
        keys.update("p" + " ".join(fuzzy[i : i + 2]) for i in range(max(1, len(fuzzy) - 1)))
        if not for_query and (abbr := initials(pinyin)):
            keys.add(INITIALS_PREFIX + abbr)
    elif for_query and _initials_query(brand, latin):
        keys.add(INITIALS_PREFIX + brand)
    if for_query and latin_key and not has_cjk(brand):  # a Chinese query needs no Latin-prefix lookups
        # a 4-letter brand + an English tail: looked up by prefix in CustomerIndex._latin_sorted
        keys.update(LATIN_PREFIX + latin_key[:n] for n in (4, 5))
    return keys


@lru_cache(maxsize=65536)
def _query_keys(brand: str, latin: bool) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Pinyin, fuzzy sound and blocking keys of a query brand (what `ParsedName.brand_pinyin`,
    `fuzzy_key` and `_blocking_keys` give); cached because the same brands recur in notes.

    The keys keep the order of the set `_blocking_keys` builds, so candidates come in the same order.
    """
    pinyin = (brand,) if latin else pinyin_key(brand)
    fuzzy = fuzzy_key(pinyin)
    return pinyin, fuzzy, tuple(_blocking_keys(brand, latin, pinyin, fuzzy, "".join(pinyin), for_query=True))


def _prefix_sim(q: _Named, c: _Named) -> float | None:
    """One brand is the other plus a tail of two or more characters.

    The tail is an industry word the lexicon does not know (天合 vs 天合光伏): compatible when the
    other side names no industry, or an overlapping one; a conflict otherwise (北辰 vs 北辰物流).
    """
    if len(q.brand) >= MIN_PREFIX and c.brand.startswith(q.brand) and len(c.brand) - len(q.brand) >= 2:
        ok = _tail_compatible(q, c, c.brand[len(q.brand):])
    elif len(c.brand) >= MIN_PREFIX and q.brand.startswith(c.brand) and len(q.brand) - len(c.brand) >= 2:
        ok = _tail_compatible(c, q, q.brand[len(c.brand):])
    else:
        return None
    return SIM_PREFIX if ok else SIM_PREFIX * INDUSTRY_CONFLICT


def _tail_compatible(short: _Named, long: _Named, tail: str) -> bool:
    """The short brand's industry words fit the long brand's tail or its own industry words.

    A tail that abbreviates the short side's industry words (钢贸 for 钢材贸易) fits too.
    """
    if not short.industry or any(tail in w or w in tail for w in short.industry):
        return True
    if _in_order(tail, "".join(short.industry)):
        return True
    return bool(long.industry) and _industry_factor(short, long) == 1.0


def _in_order(chars: str, text: str) -> bool:
    """Every character of `chars` occurs in `text`, in the same order."""
    it = iter(text)
    return all(ch in it for ch in chars)


def _sound_prefix_sim(q: ParsedName, qpy: tuple[str, ...], v: _Variant) -> float | None:
    """The query sounds like the head of a longer brand (易庄 for 易桩智能充电)."""
    n = len(qpy)
    if n < MIN_PREFIX or len(v.pinyin) - n < 2 or v.pinyin[:n] != qpy:
        return None
    sim = SIM_PREFIX_SOUND if n == MIN_PREFIX else SIM_PREFIX
    return sim if _tail_compatible(q, v, v.brand[n:]) else sim * INDUSTRY_CONFLICT


def _abbrev_sim(q: ParsedName, v: _Variant) -> float | None:
    """A short form: the brand head, then further characters of the name in their order.

    Chinese abbreviations keep the brand and take one character from later words (钢材贸易 ->
    钢贸, 货运代理 -> 货代). A brand the lexicon split off (3 characters or fewer) must be kept
    whole; of a longer, unsplit brand the first two characters are the head. Characters may be
    sound-alikes (ASR).
    """
    qs, cs = q.core, v.core
    c_brand = v.brand
    need = len(c_brand) if len(c_brand) <= 3 else MIN_PREFIX
    if v.latin or len(qs) <= need or len(cs) <= len(qs) or not has_cjk(qs):
        return None
    cpy = _core_pinyin(cs)
    exact_head = True
    for k in range(need):
        if qs[k] != cs[k]:
            if _char_key(qs[k]) != cpy[k]:
                return None
            exact_head = False
    pos = need
    for ch in qs[need:]:
        key = _char_key(ch)
        while pos < len(cs) and cs[pos] != ch and cpy[pos] != key:
            pos += 1
        if pos >= len(cs):
            return None
        pos += 1
    return SIM_ABBREV if exact_head or len(qs) - need >= 2 else SIM_ABBREV_WEAK


def _shares_specific_industry(q: _Named, c: _Named) -> bool:
    """Both names carry the same non-generic industry word (教育, 工程机械)."""
    ind = lexicon().industry
    return any((a in b or b in a) and ind.get(a) != "generic" for a in q.industry for b in c.industry)


def _industry_factor(q: _Named, c: _Named) -> float:
    """Same brand in another line of business is another company (北辰物流 vs 北辰重工机械)."""
    if not q.industry or not c.industry:
        return 1.0
    return _industry_words_factor(q.industry, c.industry)


@lru_cache(maxsize=65536)
def _industry_words_factor(qi: tuple[str, ...], ci: tuple[str, ...]) -> float:
    """`_industry_factor` of two non-empty industry-word lists (few distinct pairs: cached).

    Generic words (科技, 实业, 集团) are dropped and added freely; a specific word on both sides
    that neither shares nor abbreviates (精机 for 精密机械) leaves the link to the rep: a sister
    company in a related business (恒达自动化 vs 恒达精密机械) asks, an unrelated one conflicts."""
    for a in qi:
        for b in ci:
            if a in b or b in a:
                return 1.0
    qc, cc = industry_categories(qi) - {"generic"}, industry_categories(ci) - {"generic"}
    if not qc or not cc:
        return 1.0
    if _abbreviates(qi, ci) or _abbreviates(ci, qi):
        return 1.0
    if qc & cc:
        return 1.0  # two words for one line of business (医药 / 药房)
    if any(_related(a, b) for a in qc for b in cc):
        return INDUSTRY_SIBLING
    return INDUSTRY_CONFLICT


def _abbreviates(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """Every specific word of `short` is a short form of `long`'s words (精机 / 精密机械)."""
    ind = lexicon().industry
    words = [w for w in short if ind.get(w) != "generic"]
    joined = "".join(long)
    return bool(words) and all(len(w) >= 2 and _in_order(w, joined) for w in words)


def _related(a: str, b: str) -> bool:
    """One broad business: parent and child or two children (medical / medical.pharma / medical.device)."""
    return a.split(".", 1)[0] == b.split(".", 1)[0]


def _region_factor(q: _Named, c: _Named) -> float:
    ok = regions_compatible(q.regions, c.regions)
    if ok is None:
        return REGION_UNKNOWN
    return 1.0 if ok else REGION_CONFLICT


_CORE_MEMO_LIMIT = 1 << 14  # cores remembered for the text scan (see CustomerIndex._core)
_FREEZE_FROM = 10_000  # customers from which a fresh index is moved out of the GC's full passes
_VIDS_TUPLE_MAX = 16  # variant-id lists up to this long are kept as tuples
# The ids under one key, in the order they were listed: the bare id while there is one (most keys
# name one spelling), a tuple while short, beyond that an array of C ints (4 bytes an id, where a
# dict took 50; removing one of a million customers stays a C-level scan of microseconds).
Vids: TypeAlias = "int | tuple[int, ...] | array[int]"
_T = TypeVar("_T")


def _ids(found: Vids | None) -> Sequence[int]:
    """The ids under a key as a sequence (empty when the key is not listed)."""
    if found is None:
        return ()
    if isinstance(found, int):
        return (found,)
    return found


def _first(found: Vids) -> int:
    return found if isinstance(found, int) else found[0]


def _put(table: dict[Any, Vids], key: Any, vid: int) -> None:
    """Append `vid` to the ids under `key`."""
    old = table.get(key)
    if old is None:
        table[key] = vid
    elif isinstance(old, int):
        table[key] = (old, vid)
    elif isinstance(old, tuple):
        table[key] = (*old, vid) if len(old) < _VIDS_TUPLE_MAX else array("i", (*old, vid))
    else:
        old.append(vid)


def _drop(table: dict[Any, Vids], key: Any, vid: int) -> None:
    """Remove `vid` from the ids under `key` (the key goes when none are left)."""
    old = table.get(key)
    if old is None:
        return
    if isinstance(old, int):
        if old == vid:
            del table[key]
        return
    if vid not in old:
        return
    if isinstance(old, tuple):
        rest = tuple(x for x in old if x != vid)
        if rest:
            table[key] = rest if len(rest) > 1 else rest[0]
        else:
            del table[key]
        return
    old.remove(vid)
    if not old:
        del table[key]


class CustomerIndex:
    """In-memory matcher over the CRM, kept in step customer by customer (`upsert`, `remove`).

    Every structure is filled one spelling at a time, so a fresh build and a build followed by
    updates answer alike; the scan's filters (lengths, pairs) only ever grow, a superset that
    costs a lookup and changes no answer.

    A spelling (variant id) is a row of parallel columns rather than an object, and equal values
    (brands, sounds, region and industry tuples) are one object: per customer the index keeps
    little more than its table entries."""

    def __init__(self, customers: Sequence[CustomerRef], auto_link: float = AUTO_LINK, ask: float = ASK):
        # matching.auto_link / matching.ask: link at or above auto_link, offer choices from ask
        self.auto_link, self.ask = auto_link, ask
        self.customers: list[CustomerRef] = []
        self._id_to_idx: dict[str, int] = {}
        # customer idx -> its variant ids: start .. start + count - 1 (a customer's spellings are
        # added together, so they are consecutive; a removed customer has none)
        self._vid_start = array("i")
        self._vid_count = array("i")
        # variant id -> what scoring reads of it (see _Variant)
        self._v_idx = array("i")
        self._v_brand: list[str] = []
        self._v_industry: list[tuple[str, ...]] = []
        self._v_regions: list[tuple[RegionInfo, ...]] = []
        self._v_org_class: list[str | None] = []
        self._v_latin = bytearray()
        self._v_pinyin: list[tuple[str, ...]] = []
        self._v_fuzzy: list[tuple[str, ...]] = []
        self._shared: dict[Any, Any] = {}  # a region or industry tuple -> its one kept copy
        self._cores: dict[int, str] = {}  # variant id -> its core, see _core (a row never changes)
        self._latin_order: array[int] | None = None  # variant ids by Latin key: see _latin_starting
        self._blocks: dict[str, Vids] = {}  # blocking key -> variant ids (see `Vids`)
        self._by_brand: dict[str, Vids] = {}  # brand chars -> variant ids
        self._by_pinyin: dict[tuple[str, ...], Vids] = {}
        self._by_fuzzy: dict[tuple[str, ...], Vids] = {}
        self._by_prefix: dict[str, Vids] = {}  # first 2 chars of long brands
        self._head_sound: dict[tuple[str, ...], Vids] = {}  # their fuzzy sound
        self.brand_lengths: list[int] = []  # substring lengths find_mention looks up
        # Key lengths by first character / syllable: the text scan tries only the lengths some key
        # starting with that character or sound has (same hits as trying every length, less work).
        self._len_by_char: dict[str, set[int]] = defaultdict(set)
        self._len_by_prefix: dict[str, set[int]] = defaultdict(set)
        self._len_by_pinyin: dict[str, set[int]] = defaultdict(set)
        self._len_by_fuzzy: dict[str, set[int]] = defaultdict(set)
        self._head_first: set[str] = set()
        # every key (characters, sound, head) starting at a character has that character's fuzzy
        # sound first: one set lookup rules out most positions
        self._first_fuzzy: set[str] = set()
        # First two characters / fuzzy syllables of every key of 2+ characters (a key matched by
        # characters, sound or head sound starts with one of them): the scan's cheap pair test.
        self._char_pairs: set[str] = set()
        self._fuzzy_pairs: set[tuple[str, ...]] = set()
        self._second_chars: set[str] = set()
        self._second_fuzzy: set[str] = set()
        self.version = 0  # bumped by every change: what depends on the index re-reads it
        self.words: list[str] = []  # every name and alias added, in order (the segmenter's user words)
        self._forget()
        collecting = gc.isenabled()
        gc.disable()  # a bulk build only allocates: the collector's passes over it are wasted work
        try:
            for ref in customers:
                self._upsert(ref)
            self._latin_sorted()  # sorted once now, not on the first Latin query of a busy day
        finally:
            if collecting:
                gc.enable()
        self._forget()
        self.version = 0
        if len(self.customers) >= _FREEZE_FROM:
            # millions of long-lived objects: keep them out of the collector's full passes, which
            # would otherwise stop a query for a second now and then (gc.freeze's own use case)
            gc.freeze()

    def _forget(self) -> None:
        """Drop what was learned from the old contents (scan codes, starts, name matches)."""
        # character -> the brand keys that can begin there, filled lazily by the text scan
        self._starts: dict[str, _Start | None] = {}
        self._scan_codes = _ScanCodes(self)  # character -> scan code, filled lazily
        self._pair_starts: dict[str, _Start | None] = {}  # see _pair_start
        self._name_matches: dict[str, tuple[ParsedName, MatchResult]] = {}  # see _match_name
        self.version += 1

    def upsert(self, ref: CustomerRef) -> None:
        """Add a customer, or replace what the index knows of one (renamed, new aliases, region)."""
        self._upsert(ref)
        self._forget()

    def _upsert(self, ref: CustomerRef) -> None:
        idx = self._id_to_idx.get(ref.id)
        if idx is None:
            idx = self._id_to_idx[ref.id] = len(self.customers)
            self.customers.append(ref)
            self._vid_start.append(0)
            self._vid_count.append(0)
        else:
            self._unlink(idx)
            self.customers[idx] = ref
        self._vid_start[idx] = len(self._v_idx)
        self._vid_count[idx] = 0
        self.words += [ref.name, *ref.aliases]
        # not through parse_name's cache: the index keeps what it needs of each parse
        parse = parse_name.__wrapped__
        for p in [parse(ref.name, ref.region), *(parse(a, ref.region) for a in ref.aliases)]:
            for r in (p, *core_readings(p)):  # 易桩智能充电 is also called 易桩
                if self._add(idx, r):
                    self._vid_count[idx] += 1

    def remove(self, customer_id: str) -> bool:
        """Forget a customer (merged away); False when the index did not know it."""
        idx = self._id_to_idx.pop(customer_id, None)
        if idx is None:
            return False
        self._unlink(idx)
        self._vid_count[idx] = 0
        self._forget()
        return True

    def __contains__(self, customer_id: object) -> bool:
        return customer_id in self._id_to_idx

    def __len__(self) -> int:
        return len(self._id_to_idx)

    def _vids(self, idx: int) -> range:
        """The variant ids of a customer's current spellings."""
        start = self._vid_start[idx]
        return range(start, start + self._vid_count[idx])

    def _add(self, idx: int, p: ParsedName) -> bool:
        """List one spelling under the next variant id; False for one without a brand."""
        if not p.brand:
            return False
        latin = p.latin
        brand, pinyin, fz, new_brand = self._brand_keys(p)
        vid = len(self._v_idx)
        self._v_idx.append(idx)
        self._v_brand.append(brand)
        self._v_industry.append(self._share(p.industry))
        self._v_regions.append(self._share(p.regions))
        self._v_org_class.append(_org_class(p))
        self._v_latin.append(latin)
        self._v_pinyin.append(pinyin)
        self._v_fuzzy.append(fz)
        for key, table in self._lists(vid):
            _put(table, key, vid)
        if self._latin_order is not None and self._latin_key(vid):
            self._latin_order.insert(bisect_right(self._latin_order, self._latin_key(vid), key=self._latin_key), vid)
        if new_brand and not latin:
            self._grow_filters(brand, pinyin, fz)
        return True

    def _brand_keys(self, p: ParsedName) -> tuple[str, tuple[str, ...], tuple[str, ...], bool]:
        """Brand, pinyin and fuzzy sound of a spelling, and whether no listed Chinese spelling has
        its brand yet (whose filters are grown already: they never shrink).

        Equal values are kept once, as the object of a spelling listed under them; a Chinese
        brand listed before brings its sounds, which it alone determines."""
        if p.latin:
            pinyin = p.brand_pinyin
            return p.brand, pinyin, fuzzy_key(pinyin), True
        found = self._by_brand.get(p.brand)
        if found is not None:
            same = _first(found)
            return self._v_brand[same], self._v_pinyin[same], self._v_fuzzy[same], False
        pinyin = p.brand_pinyin
        fz = fuzzy_key(pinyin)
        pinyin = self._listed(self._by_pinyin, pinyin, self._v_pinyin)
        fz = pinyin if fz == pinyin else self._listed(self._by_fuzzy, fz, self._v_fuzzy)
        return p.brand, pinyin, fz, True

    @staticmethod
    def _listed(table: dict[Any, Vids], value: _T, column: list[_T]) -> _T:
        """The object a spelling listed under `value` in `table` keeps for it, else `value`."""
        found = table.get(value)
        return value if found is None else column[_first(found)]

    def _share(self, value: _T) -> _T:
        """One object for equal region / industry tuples (a few thousand distinct in a CRM)."""
        return self._shared.setdefault(value, value)  # type: ignore[no-any-return]

    def _variant(self, vid: int) -> _Variant:
        return _Variant(self._v_idx[vid], self._v_brand[vid], self._v_industry[vid], self._v_regions[vid],
                        self._v_org_class[vid], bool(self._v_latin[vid]), self._v_pinyin[vid], self._v_fuzzy[vid])

    def _core(self, vid: int) -> str:
        """`_Variant.core` of a variant id, remembered (bounded): the text scan reads the cores
        of up to 8 spellings per hit, the same few spellings note after note."""
        core = self._cores.get(vid)
        if core is None:
            if len(self._cores) >= _CORE_MEMO_LIMIT:
                self._cores.clear()
            core = self._cores[vid] = _core(self._v_brand[vid], self._v_industry[vid])
        return core

    def _latin_key(self, vid: int) -> str:
        """`_Variant.latin_key` of a variant id, read straight from the pinyin column."""
        return "".join(self._v_pinyin[vid])

    def _lists(self, vid: int) -> Iterator[tuple[Any, dict[Any, Vids]]]:
        """Every (key, table) a variant is listed under."""
        brand, latin = self._v_brand[vid], bool(self._v_latin[vid])
        pinyin, fuzzy = self._v_pinyin[vid], self._v_fuzzy[vid]
        for key in _blocking_keys(brand, latin, pinyin, fuzzy, "".join(pinyin), for_query=False):
            yield key, self._blocks
        if not latin:
            yield brand, self._by_brand
            yield pinyin, self._by_pinyin
            yield fuzzy, self._by_fuzzy
            if len(brand) >= 4:  # 天合光伏: notes may say 常州天合
                yield brand[:2], self._by_prefix
                yield fuzzy[:2], self._head_sound

    def _grow_filters(self, brand: str, pinyin: tuple[str, ...], fz: tuple[str, ...]) -> None:
        """Let the text scan look where this brand's keys can begin."""
        n, lengths = len(brand), self.brand_lengths
        if n not in lengths or (n >= 4 and 2 not in lengths):  # a few lengths: rarely a new one
            self.brand_lengths = sorted({*lengths, n, *((2,) if n >= 4 else ())})
        self._len_by_char[brand[0]].add(len(brand))
        self._len_by_pinyin[pinyin[0]].add(len(pinyin))
        self._len_by_fuzzy[fz[0]].add(len(fz))
        self._first_fuzzy.add(fz[0])
        if len(brand) >= 4:
            self._len_by_prefix[brand[0]].add(2)
            self._head_first.add(fz[0])
            self._fuzzy_pairs.add(fz[:2])
        if len(brand) >= 2:
            self._char_pairs.add(brand[:2])
            self._second_chars.add(brand[1])
        if len(fz) >= 2:
            self._fuzzy_pairs.add(fz[:2])
            self._second_fuzzy.add(fz[1])

    def _unlink(self, idx: int) -> None:
        """Take a customer's spellings out of every table (its variant rows stay, unreachable)."""
        order = self._latin_order
        for vid in self._vids(idx):
            for key, table in self._lists(vid):
                _drop(table, key, vid)
            latin_key = self._latin_key(vid)
            if order is not None and latin_key:
                lo = bisect_left(order, latin_key, key=self._latin_key)
                hi = bisect_right(order, latin_key, lo, key=self._latin_key)
                if vid in order[lo:hi]:
                    del order[order.index(vid, lo, hi)]

    def _latin_sorted(self) -> array[int]:
        """The variant ids with a Latin key, sorted by (key, id): sorted once after the bulk
        build, kept in step after that (a new spelling's id is the largest yet)."""
        if self._latin_order is None:
            live = sorted(vid for idx in range(len(self.customers)) for vid in self._vids(idx)
                          if self._latin_key(vid))
            live.sort(key=self._latin_key)  # stable: ids stay ascending within a key
            self._latin_order = array("i", live)
        return self._latin_order

    def _latin_starting(self, letters: str) -> list[int]:
        """Variants whose Latin key starts with `letters` (Hengda Precision finds 恒达), in id order.

        One sorted array of ids, searched by key, instead of a key per prefix and spelling (a
        million spellings share a few thousand prefixes) or a stored key per spelling."""
        order = self._latin_sorted()
        lo = bisect_left(order, letters, key=self._latin_key)
        hi = bisect_left(order, letters + "\U0010ffff", lo, key=self._latin_key)
        return sorted(order[lo:hi])

    def _has_latin_key(self, key: str) -> bool:
        """Some spelling's Latin key (brand pinyin, or a Latin brand) is `key`."""
        order = self._latin_sorted()
        i = bisect_left(order, key, key=self._latin_key)
        return i < len(order) and self._latin_key(order[i]) == key

    # ------------------------------------------------------------ scoring

    def _brand_sim(self, q: ParsedName, qpy: tuple[str, ...], qfz: tuple[str, ...], v: _Variant,
                   owners: frozenset[int]) -> float:
        if q.latin or v.latin:
            qk = "".join(qpy)
            latin_key = v.latin_key
            if qk == latin_key:
                return SIM_EXACT if (q.latin and v.latin) else SIM_LATIN
            if q.latin and not v.latin and _initials_query(qk, True) and qk == initials(v.pinyin):
                same_line = _shares_specific_industry(q, v) or (q.industry_categories - {"generic"}) & v.industry_categories
                return SIM_INITIALS if same_line else SIM_INITIALS_UNSURE
            if len(latin_key) >= 4 and qk.startswith(latin_key):  # HengdaJingmi, Hengda Precision
                rest = qk[len(latin_key):]
                industry_py = "".join("".join(pinyin_key(w)) for w in v.industry)
                return SIM_LATIN if industry_py.startswith(rest) else SIM_PREFIX_UNKNOWN
            return fuzz.ratio(qk, latin_key) / 100 * SIM_OTHER_SCALE
        if q.brand == v.brand:
            return SIM_EXACT
        partial = _prefix_sim(q, v)
        if partial is not None:
            return partial
        if owners - {v.idx}:  # "the query's own characters decide"
            return SIM_BLOCKED
        if qpy == v.pinyin:
            return SIM_HOMOPHONE
        if qfz == v.fuzzy:
            return SIM_FUZZY_SOUND
        for sim in (_sound_prefix_sim(q, qpy, v), _abbrev_sim(q, v)):
            if sim is not None:
                return sim
        r = max(fuzz.ratio(q.brand, v.brand), fuzz.ratio(" ".join(qfz), " ".join(v.fuzzy)))
        return r / 100 * SIM_OTHER_SCALE

    def _brand_owners(self, q: ParsedName) -> frozenset[int]:
        """The customers whose brand is the query's as written, in a business the query allows.

        Any of them but the candidate makes a sound-alike candidate at most a question (华信 vs
        华新, whatever the regions: 上海华新 may be the region of one and the brand of the other);
        an owner in an unrelated business (衡达物流 for 衡达精密) leaves the sound to decide.
        Computed once per query: a brand may be shared by many customers."""
        return frozenset(v.idx for v in map(self._variant, _ids(self._by_brand.get(q.brand)))
                         if _industry_factor(q, v) > INDUSTRY_CONFLICT)

    def _score(self, q: ParsedName, qpy: tuple[str, ...], qfz: tuple[str, ...], v: _Variant,
               owners: frozenset[int]) -> float:
        sim = self._brand_sim(q, qpy, qfz, v, owners)
        if sim == SIM_FUZZY_SOUND and (regions_compatible(q.regions, v.regions) or _shares_specific_industry(q, v)):
            sim = SIM_FUZZY_CONFIRMED
        industry = _industry_factor(q, v)
        s = sim * _region_factor(q, v) * industry
        if not q.industry and not q.legal_form and region_info(q.brand) is not None:
            s = min(s, SIM_PLACE_ONLY)  # 济南 alone names a city before the 济南纺织食品 it may mean
        if industry == INDUSTRY_CONFLICT and sim == SIM_EXACT and regions_compatible(q.regions, v.regions):
            s = INDUSTRY_CONFLICT_ASK
        q_class = q.org_class  # a property that scans the legal forms: read once
        if q_class:
            c_class = v.org_class
            if c_class and q_class != c_class:
                s *= ORG_CLASS_CONFLICT
        return max(0.0, min(1.0, s))

    def _candidates(self, keys: Iterable[str]) -> list[int]:
        """Variants sharing a blocking key with the query, most shared keys first if too many."""
        counts: dict[int, int] = defaultdict(int)
        blocks = self._blocks
        for key in keys:
            vids = self._latin_starting(key[1:]) if key[0] == LATIN_PREFIX else _ids(blocks.get(key))
            for vid in vids:
                counts[vid] += 1
        if len(counts) <= MAX_SCORED:
            return list(counts)
        return sorted(counts, key=counts.__getitem__, reverse=True)[:MAX_SCORED]

    def _scores(self, q: ParsedName) -> dict[int, float]:
        """Best score per customer index over the query's readings and the customer's spellings."""
        best: dict[int, float] = {}
        readings = [q]
        alt = abbrev_alternative(q)
        if alt is not None:
            readings.append(alt)
        v_regions = self._v_regions
        for r in readings:
            if not r.brand:
                continue
            rpy, rfz, keys = _query_keys(r.brand, r.latin)
            owners = self._brand_owners(r)
            regions = r.regions
            for vid in self._candidates(keys):
                if regions and v_regions[vid] and regions_compatible(regions, v_regions[vid]) is False:
                    continue  # another city: at most REGION_CONFLICT, below ASK — never shown
                v = self._variant(vid)
                s = self._score(r, rpy, rfz, v, owners)
                if s > best.get(v.idx, -1.0):
                    best[v.idx] = s
        return best

    def match_parsed(self, q: ParsedName) -> MatchResult:
        """Match an already parsed name (find_mention parses spans itself)."""
        scores = self._scores(q)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], self.customers[kv[0]].id))
        cands = [Candidate(self.customers[i].id, self.customers[i].name, round(s, 4)) for i, s in ranked[:MAX_ALTERNATES + 1]]
        if not cands:
            return MatchResult(None, 0.0, ())
        top = cands[0]
        ambiguous = len(cands) > 1 and cands[1].score >= max(self.ask, top.score - AMBIGUOUS_MARGIN)
        if top.score >= self.auto_link and not ambiguous:
            alts = tuple(c for c in cands[1:MAX_ALTERNATES + 1] if c.score >= self.ask)
            return MatchResult(top, top.score, alts)
        alts = tuple(c for c in cands[:MAX_ALTERNATES] if c.score >= self.ask)
        return MatchResult(None, top.score, alts)

    def match(self, name: str, region: str | None = None) -> MatchResult:
        """Match one customer name; `region` (e.g. from the rep's context) adds a region hint."""
        if not name or not name.strip():
            return MatchResult(None, 0.0, ())
        return self.match_parsed(parse_name(name, region))

    def find_mention(self, text: str) -> CustomerMention | None:
        """The organisation a free-text note is about, matched against this index."""
        return _find_mention(self, text)

    def find_mentions(self, text: str, *, repeats: bool = False) -> list[CustomerMention]:
        """Every organisation in the note that may be a customer, in text order.

        Same rules as `find_mention` (referrers and competitors are skipped, overlapping hits
        resolve the same way, so the first item is what `find_mention` returns), one item per
        organisation: its first mention, keyed by customer id or, for an organisation the CRM
        lacks, by its normalized brand. `repeats=True` keeps every later mention too (a note that
        goes back to an earlier customer), which is what splitting a note by customer needs.
        """
        return _find_mentions(self, text, repeats)

    def regions_of(self, customer_id: str) -> tuple[RegionInfo, ...]:
        """Parsed regions of a customer (used to break ties with region words in a note)."""
        idx = self._id_to_idx.get(customer_id)
        if idx is None:
            return ()
        vids = self._vids(idx)
        return self._v_regions[vids[0]] if vids else ()


__all__ = ["ASK", "AUTO_LINK", "CustomerIndex", "lexicon", "load_customers_csv"]


# ---------------------------------------------------------------- mentions in free text

# Characters that never sit inside a company name; they end a guessed unknown brand.
_STOP_CHARS = frozenset("的了在是和与跟去到把给我你他她它们这那个也都就还又说要会让被对从向为及或而但很已再先")
# "上海华信介绍过来的", "恒达的王总推荐的" (but not "王总介绍了新产线的需求").
_REFERRER_VERBS = ("介绍", "推荐", "引荐", "认识")
_REFERRER_RE = re.compile(r"[^，。,.；;！!？?\s]{0,5}?(?:介绍|推荐|引荐)(?:过来|来的|的|给我)")
# "X的吴主任给推了个新客户", "X帮我们介绍了一家新客户": X passed on a new customer.
_REFERRAL_RE = re.compile(r"[^，。,.；;！!？?\s]{0,8}?(?:给|帮)?(?:我们|我)?(?:推荐|介绍|引荐|推)(?:了|过来)?"
                          r"(?:(?:个|一个|一家|几个|几家|两个|两家)新?|新)(?:客户|客人|朋友)")
_CLAUSE_END = re.compile(r"[，。,.；;！!？?\s]")
_REFERRER_BEFORE = ("经", "通过", "由", "说是", "是")
_COMPETITOR_BEFORE = ("选了", "选择了", "用的是", "倾向于", "倾向", "在看", "对比", "不如", "竞品", "友商", "换成了")
_COMPETITOR_AFTER = ("给他们报", "报的价", "比我们", "更便宜", "便宜")
_COMPETITOR_AFTER_ANY = _COMPETITOR_AFTER + tuple("的" + w for w in _COMPETITOR_AFTER)  # 恒立的报的价
# A sound-alike hit with no region or industry word needs one of these around it (ASR text is
# full of accidental homophones of two-syllable brands: 顺风 for 顺锋).
_SOUND_CONTEXT_BEFORE = ("去", "去了", "跟", "和", "拜访", "拜访了", "从", "到", "到了", "见了", "联系", "联系了",
                         "约了", "客户", "新客户", "跟进", "跟进了", "回访", "回访了")
_SOUND_CONTEXT_AFTER = ("的", "那边", "这边", "那个", "这个", "那笔", "这单", "那单", "公司")
_LATIN_RUN = re.compile(r"[a-z][a-z0-9&]*")
_LATIN_PHRASE = re.compile(r"[a-z][a-z0-9&]*(?: [a-z][a-z0-9&]*)*")


_LEGAL_RE = re.compile("有限责任公司|股份有限公司|有限公司|集团|公司")  # each has 公 or is 集团 (_unknown_hits)
_WALK_STOP = _STOP_CHARS | frozenset("叫个户家位回")
_WALK_BACK = 8  # most characters of an unknown name walked back from its legal form


@dataclass(slots=True)
class _Hit:
    start: int
    end: int
    strength: int  # 3 exact chars, 2 same sound, 1 similar sound, 0 guessed unknown organisation
    grounded: bool  # a region or industry word is attached


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


@dataclass(frozen=True, slots=True)
class _Edges:
    """Lexicon facts the text scans test at every position, computed once per process."""

    region_first: dict[str, tuple[int, ...]]  # first character -> lengths of region words (2+ chars)
    region_last: dict[str, tuple[int, ...]]  # last character -> lengths, longest first
    suffix_words: frozenset[str]  # industry words and legal forms
    suffix_first: frozenset[str]  # their first characters (2+ chars)
    suffix_longest: int
    # Places where a region word (2+ chars) may begin: its first character followed by a second
    # character of some region word. The scans let the regex skip all other places.
    region_start: re.Pattern[str]


def _char_class(chars: Iterable[str]) -> str:
    """Regex matching one of `chars` (one that never matches when there are none)."""
    chars = sorted(set(chars))
    return "[" + "".join(re.escape(c) for c in chars) + "]" if chars else "(?!)"


@lru_cache(maxsize=1)
def _edges() -> _Edges:
    lx = lexicon()
    first: dict[str, set[int]] = defaultdict(set)
    last: dict[str, set[int]] = defaultdict(set)
    for a in lx.region_alias:
        if len(a) >= 2:
            first[a[0]].add(len(a))
            last[a[-1]].add(len(a))
    words = set(lx.industry) | set(lx.legal_forms)
    seconds = (a[1] for a in lx.region_alias if len(a) >= 2)
    return _Edges(
        {c: tuple(sorted(n, reverse=True)) for c, n in first.items()},
        {c: tuple(sorted(n, reverse=True)) for c, n in last.items()},
        frozenset(words),
        frozenset(w[0] for w in words if len(w) >= 2),
        max(lx.max_industry_len, max(len(f) for f in lx.legal_forms)),
        re.compile(f"{_char_class(first)}(?={_char_class(seconds)})"),
    )


def _region_before(norm: str, i: int) -> int | None:
    """Start of a region word (苏州, 江苏省) ending right before position i, if any."""
    end = i - 1 if i > 0 and norm[i - 1] in "省市" else i
    if end < 2:
        return None
    aliases = lexicon().region_alias
    for n in _edges().region_last.get(norm[end - 1], ()):  # longest first, as a full scan would
        if n <= end and norm[end - n : end] in aliases:
            return end - n
    return None


def _region_at(norm: str, i: int) -> int | None:
    """End of the longest region word starting at position i, if any."""
    if i >= len(norm):
        return None
    aliases = lexicon().region_alias
    for n in _edges().region_first.get(norm[i], ()):  # longest first, as a full scan would
        if i + n <= len(norm) and norm[i : i + n] in aliases:
            return i + n
    return None


def _suffix_after(norm: str, j: int) -> int:
    """Consume industry words and legal forms that follow a brand (数控, 有限公司).

    A word directly followed by a department character is the customer's department, not part
    of its name (海之冷 设备科, X 工程部): it stops the name.
    """
    edges = _edges()
    words = edges.suffix_words
    longest = edges.suffix_longest
    moved = True
    while moved:
        moved = False
        if j >= len(norm) or norm[j] not in edges.suffix_first:
            break
        for n in range(min(longest, len(norm) - j), 1, -1):
            if norm[j : j + n] in words:
                if _department_at(norm, j + n, edges):
                    return j
                j += n
                moved = True
                break
    return j


_DEPT_CHARS = frozenset("部科处室组")


def _department_at(norm: str, k: int, edges: _Edges) -> bool:
    """A department character at k that does not begin another name word (科技 is not 科)."""
    if k >= len(norm) or norm[k] not in _DEPT_CHARS:
        return False
    if norm[k] in edges.suffix_first:
        for n in range(min(edges.suffix_longest, len(norm) - k), 1, -1):
            if norm[k : k + n] in edges.suffix_words:
                return False
    return True


_MAX_EXTEND = 6


def _extend(index: CustomerIndex, norm: str, j: int, matched: int, vids: Vids) -> int:
    """Follow the text while it keeps spelling a candidate's name in order (港昌 -> 港昌货代).

    `matched` characters of each candidate's core were already matched; later text characters
    (or sound-alikes) must appear in the rest of the core in the same order. Only an extension of
    two or more characters counts: an abbreviation adds whole syllables of later words.
    """
    n_chars = len(norm)
    if j >= n_chars or not _is_cjk(norm[j]) or norm[j] in _STOP_CHARS:
        return j  # nothing to follow (most hits): no candidate's core is read
    best = j
    cores = index._cores  # read here: a call per candidate would cost more than the scan
    for vid in islice(_ids(vids), 8):
        core = cores.get(vid)
        if core is None:
            core = index._core(vid)
        cpy = _core_pinyin(core)
        pos, k = matched, j
        while k < n_chars and k - j < _MAX_EXTEND and _is_cjk(norm[k]) and norm[k] not in _STOP_CHARS:
            ch, key = norm[k], _char_key(norm[k])
            while pos < len(core) and core[pos] != ch and cpy[pos] != key:
                pos += 1
            if pos >= len(core):
                break
            pos += 1
            k += 1
        best = max(best, k)
    return best if best - j >= 2 else j


@dataclass(frozen=True, slots=True)
class _Start:
    """Which brand keys may begin at one character; the same for every place it occurs."""

    lengths: tuple[int, ...]  # key lengths worth trying there, ascending
    by_char: frozenset[int]  # lengths of brands spelled with this first character
    by_pinyin: frozenset[int]  # ... of brands whose first syllable is its sound
    by_fuzzy: frozenset[int]  # ... of brands whose first fuzzy syllable is its fuzzy sound
    prefix: bool  # the first two characters of a long brand may start here
    head: bool  # the fuzzy sound of those two characters may start here


def _start_info(index: CustomerIndex, ch: str) -> _Start | None:
    """The brand keys that can begin at `ch`; None when none can (most characters).

    Brand keys are CJK, so a key never begins at another character.
    """
    if not _is_cjk(ch):
        return None
    py = _char_key(ch)
    fz = _fuzzy_char(py)
    if fz not in index._first_fuzzy:
        return None
    none: frozenset[int] = frozenset()
    by_char = frozenset(index._len_by_char.get(ch, none))
    by_py = frozenset(index._len_by_pinyin.get(py, none))
    by_fz = frozenset(index._len_by_fuzzy.get(fz, none))
    prefix = bool(index._len_by_prefix.get(ch))
    head = fz in index._head_first
    wanted = by_char | by_py | by_fz | ({2} if prefix or head else set())
    lengths = tuple(n for n in index.brand_lengths if n in wanted)
    if not lengths:
        return None
    return _Start(lengths, by_char, by_py, by_fz, prefix, head)


# Scan codes: what each note character may be in a brand key, as one flag character.
_FIRST = 1  # a key of 2+ characters may begin here
_SECOND = 2  # it may be the second character of such a key (by character or fuzzy sound)
_SINGLE = 4  # a one-character key may begin here


def _flag_class(flag: int) -> str:
    """Regex character class of the scan codes that carry `flag`."""
    return "[" + "".join(re.escape(chr(code)) for code in range(8) if code & flag) + "]"


# A key can begin only where a _FIRST character is followed by a _SECOND one, or at a _SINGLE one.
_SCAN_RE = re.compile(f"{_flag_class(_FIRST)}(?={_flag_class(_SECOND)})|{_flag_class(_SINGLE)}")
_CJK_RUN = re.compile("[\u3400-\u9fff]+")
# Scan code of a CJK character `_char_key` fails on (a few rare ones simplify to characters
# outside the CJK range): the scan raises that error, as computing every character's key did.
_NO_PINYIN = chr(8)


class _ScanCodes(dict[int, str]):
    """`str.translate` table of one index: character -> its scan code (flags as a character).

    Filled on first sight of each character (`__missing__`, which also fills `index._starts`), so
    one C-level pass codes a note and a regex finds the few places worth a closer look instead of
    a Python loop over every character.
    """

    __slots__ = ("_index",)

    def __init__(self, index: CustomerIndex) -> None:
        super().__init__()
        self._index = index

    def __missing__(self, code: int) -> str:
        index, ch = self._index, chr(code)
        try:
            start = _start_info(index, ch)
            second = _is_cjk(ch) and (ch in index._second_chars or _fuzzy_char(_char_key(ch)) in index._second_fuzzy)
        except LookupError:  # a character without pinyin (see _NO_PINYIN); translate would swallow it
            out = self[code] = _NO_PINYIN
            return out
        index._starts[ch] = start
        flags = _SECOND if second else 0
        if start is not None:
            flags |= (_FIRST if start.lengths[-1] >= 2 else 0) | (_SINGLE if start.lengths[0] == 1 else 0)
        out = self[code] = chr(flags)
        return out


_PAIR_MEMO_LIMIT = 1 << 16


def _pair_start(index: CustomerIndex, pair: str) -> _Start | None:
    """The `_Start` of pair[0] when a brand key may begin with `pair`, else None; memoized.

    Every key of 2+ characters begins with one of the index's character or fuzzy-sound pairs,
    which rules out nearly all places the per-character scan codes leave.
    """
    start = index._starts[pair[0]]
    needs_pair = start is not None and start.lengths[0] != 1  # no one-character key starts here
    if needs_pair and pair not in index._char_pairs and _fuzzy_keys(pair) not in index._fuzzy_pairs:
        start = None
    if len(index._pair_starts) < _PAIR_MEMO_LIMIT:  # bounded: a long-lived index sees many pairs
        index._pair_starts[pair] = start
    return start


def _index_hits(index: CustomerIndex, text: str, norm: str) -> list[_Hit]:
    """Spans whose characters, sound or Latin spelling equal a listed customer's brand.

    Only places whose scan codes allow a key (`_SCAN_RE`) and whose character pair begins one
    (`_pair_start`) are looked up: the same hits, in the same order, as trying every position.
    """
    hits: list[_Hit] = []
    codes = norm.translate(index._scan_codes)  # also completes index._starts for these characters
    if _NO_PINYIN in codes:
        _char_key(norm[codes.index(_NO_PINYIN)])  # raises
    pair_starts = index._pair_starts
    for m in _SCAN_RE.finditer(codes):
        i = m.start()
        pair = norm[i : i + 2]
        start = pair_starts[pair] if pair in pair_starts else _pair_start(index, pair)
        if start is not None:
            run = _CJK_RUN.match(norm, i)  # brand keys are CJK: a key lies inside one CJK run
            if run is not None:
                _brand_hits_at(index, norm, i, run.end(), start, hits)
    if not _LATIN_RUN.search(norm):  # most notes have no Latin letters
        return hits
    for start_at, end in _latin_brand_spans(index, text, norm):
        region_start = _region_before(norm, start_at)
        end = _suffix_after(norm, end)
        if region_start is None:  # KMT苏州: a Latin brand may be followed by its city
            end = _region_at(norm, end) or end
        hits.append(_Hit(region_start if region_start is not None else start_at, end, 3, True))
    return hits


def _brand_hits_at(index: CustomerIndex, norm: str, i: int, run_end: int, start: _Start,
                   hits: list[_Hit]) -> None:
    """Append the hits of brand keys beginning at position i (shortest key first).

    A key is tried by characters, then sound, then fuzzy sound, then a long brand's head; the
    first kind that matches decides its strength. `run_end` ends the CJK run i lies in.
    """
    for length in start.lengths:
        j = i + length
        if j > run_end:
            break
        key = norm[i:j]
        vids: Vids
        if length in start.by_char and key in index._by_brand:
            strength, vids = 3, index._by_brand[key]
        elif length in start.by_pinyin and _core_pinyin(key) in index._by_pinyin:
            strength, vids = 2, index._by_pinyin[_core_pinyin(key)]
        elif length in start.by_fuzzy and _fuzzy_keys(key) in index._by_fuzzy:
            strength, vids = 1, index._by_fuzzy[_fuzzy_keys(key)]
        elif length == 2 and start.prefix and key in index._by_prefix:
            strength, vids = 1, index._by_prefix[key]
        elif length == 2 and start.head and _fuzzy_keys(key) in index._head_sound:
            strength, vids = 1, index._head_sound[_fuzzy_keys(key)]
        else:
            continue
        region_start = _region_before(norm, i)
        end = _suffix_after(norm, j)
        grounded = region_start is not None or end > j
        if end == j:  # no industry word follows: the text may go on with an abbreviation
            end = _suffix_after(norm, _extend(index, norm, j, length, vids))
        if strength < 3 and not grounded and not _sound_context(norm, i, end):
            continue
        if end == j and region_info(key) is not None:
            continue  # a brand that is a place name (济南纺织食品): the bare place is the city
        hits.append(_Hit(region_start if region_start is not None else i, end, strength, grounded))


def _latin_brand_spans(index: CustomerIndex, text: str, norm: str) -> Iterable[tuple[int, int]]:
    """Latin phrases (BKT, Weike Cloud, Hengda Precision) whose pinyin key is a listed brand."""
    for m in _LATIN_PHRASE.finditer(norm):
        words = list(_LATIN_RUN.finditer(norm, m.start(), m.end()))
        for k in range(len(words), 0, -1):  # longest phrase first
            end = words[k - 1].end()
            p = parse_name(text[m.start() : end])
            # initials only with an industry word after them: PO, ERP, CRM are no customers
            if (len(p.brand) >= 3 and index._has_latin_key(p.brand)) or (
                    p.industry and _initials_query(p.brand, p.latin) and INITIALS_PREFIX + p.brand in index._blocks):
                yield m.start(), end
                break


@lru_cache(maxsize=65536)
def _char_key(ch: str) -> str:
    return pinyin_key(ch)[0] if _is_cjk(ch) else ch


@lru_cache(maxsize=65536)
def _core_pinyin(core: str) -> tuple[str, ...]:
    """One syllable per character of a name core (Latin letters as they are); computed on demand."""
    return tuple(_char_key(ch) for ch in core)


@lru_cache(maxsize=65536)
def _fuzzy_char(syllable: str) -> str:
    return fuzzy_syllable(syllable)


@lru_cache(maxsize=65536)
def _fuzzy_keys(chars: str) -> tuple[str, ...]:
    """Fuzzy syllable of each character of a CJK text window (cached: windows recur)."""
    return tuple(_fuzzy_char(x) for x in _core_pinyin(chars))


def _sound_context(norm: str, i: int, j: int) -> bool:
    before = norm[max(0, i - 3) : i]
    if i == 0 or not (_is_cjk(norm[i - 1]) or norm[i - 1].isalnum()):
        return True
    return before.endswith(_SOUND_CONTEXT_BEFORE) or norm.startswith(_SOUND_CONTEXT_AFTER, j)


# CJK characters other than stop characters, as many as follow (the guessed brand's characters).
_UNKNOWN_BRAND_RUN = re.compile("[^\\x00-\u33ff\ua000-\U0010ffff" + "".join(sorted(_STOP_CHARS)) + "]*")


def _unknown_hits(norm: str, limit: int | None = None) -> list[_Hit]:
    """Organisations not in the index: region + short brand + industry word or legal form.

    With `limit`, every hit that starts before it is found (later ones may be left out).
    """
    limit = len(norm) if limit is None else limit
    hits: list[_Hit] = []
    heads = _industry_heads()
    # every place before `limit` a region word may begin (the look-ahead needs one more character)
    for m in _edges().region_start.finditer(norm, 0, limit + 1):
        i = m.start()
        r_end = _region_at(norm, i)
        if r_end is None:
            continue
        run = _UNKNOWN_BRAND_RUN.match(norm, r_end, r_end + 4)  # always matches (maybe empty)
        usable = run.end() - r_end if run else 0
        for b in (2, 3, 4):
            if usable < b:  # too short, or a non-CJK / stop character within the first b
                break
            brand = norm[r_end : r_end + b]
            if brand[0] in "一某几每各" or any(brand[:n] in heads for n in (2, 3, 4)):
                break
            end = _suffix_after(norm, r_end + b)
            if end > r_end + b:
                hits.append(_Hit(i, end, 0, True))
                break
    if "公" in norm or "集团" in norm:  # every legal form has one: most notes need no scan
        for m in _LEGAL_RE.finditer(norm):  # 鹭通物流有限公司 without a region
            if m.start() >= limit + _WALK_BACK:  # its name would start at `limit` or later
                break
            hit = _unknown_company_before(norm, m.start(), m.end())
            if hit is not None:
                hits.append(hit)
    for m in _LATIN_RUN.finditer(norm):
        if m.start() >= limit:
            break
        if m.end() - m.start() < 3:
            continue
        end = _suffix_after(norm, m.end())
        if end > m.end() or norm[max(0, m.start() - 1) : m.start()] == "叫":
            hits.append(_Hit(m.start(), end, 0, True))
    return hits


def _unknown_company_before(norm: str, start: int, end: int) -> _Hit | None:
    """Brand + industry word right before a legal form: an organisation the CRM may lack."""
    a = start
    while a > 0 and start - a < _WALK_BACK and _is_cjk(norm[a - 1]) and norm[a - 1] not in _WALK_STOP:
        a -= 1
    brand, industry = split_industry(norm[a:start])
    if len(brand) < 2 or not industry or brand[0] in "一某几每各":
        return None
    return _Hit(a, end, 0, True)


@lru_cache(maxsize=1)
def _industry_heads() -> frozenset[str]:
    """Industry words (non-generic) that cannot start an unknown brand (深圳医疗展)."""
    return frozenset(w for w, cat in lexicon().industry.items() if cat != "generic")


def _excluded(norm: str, hit: _Hit) -> bool:
    """A referrer (上海华信介绍过来的) or a competitor (选了恒立) is not the customer."""
    after = norm[hit.end : hit.end + 6]
    before = norm[max(0, hit.start - 4) : hit.start]
    # Both referral patterns need 介/推/引 within 12 characters: test that before running them.
    reach = norm[hit.end : hit.end + 12]
    if ("介" in reach or "推" in reach or "引" in reach) and (
        _REFERRER_RE.match(norm, hit.end) or _REFERRAL_RE.match(norm, hit.end)
    ):
        return True
    if before.endswith(_REFERRER_BEFORE):  # 经X介绍, 通过X的Howard认识了
        clause = norm[hit.end : hit.end + 12]
        cut = _CLAUSE_END.search(clause)
        clause = clause[: cut.start()] if cut else clause
        if any(w in clause for w in _REFERRER_VERBS):
            return True
    return before.endswith(_COMPETITOR_BEFORE) or after.startswith(_COMPETITOR_AFTER_ANY)


def _note_regions(norm: str, skip: _Hit) -> tuple[RegionInfo, ...]:
    found: list[RegionInfo] = []
    i = 0
    while i < len(norm):
        end = _region_at(norm, i)
        if end is None or skip.start <= i < skip.end:
            i += 1
            continue
        info = region_info(norm[i:end])
        if info:
            found.append(info)
        i = end
    return tuple(found)


def _break_tie(index: CustomerIndex, norm: str, hit: _Hit, parsed: ParsedName, res: MatchResult) -> MatchResult:
    """Two listed customers share the brand: a region named elsewhere in the note decides."""
    if res.best is not None or parsed.regions:
        return res
    top = [c for c in res.alternates if c.score >= index.auto_link]
    if len(top) < 2:
        return res
    regions = _note_regions(norm, hit)
    fits = [c for c in top if regions_compatible(regions, index.regions_of(c.id))]
    if len(fits) != 1:
        return res
    best = fits[0]
    return MatchResult(best, best.score, tuple(c for c in res.alternates if c.id != best.id))


def _hit_order(h: _Hit) -> tuple[int, int, int]:
    """Earliest first; at one place a listed brand first, then the longer span."""
    return (h.start, -h.strength, -(h.end - h.start))


def _sorted_hits(index: CustomerIndex, text: str, norm: str) -> list[_Hit]:
    """All hits in `_hit_order` (a stable sort: equal keys keep the order they were found in)."""
    hits = _index_hits(index, text, norm) + _unknown_hits(norm)
    hits.sort(key=_hit_order)
    return hits


def _resolve(hits: list[_Hit], hit: _Hit) -> _Hit:
    """A guessed unknown organisation that overlaps listed-brand hits becomes the strongest one."""
    if hit.strength != 0:
        return hit
    overlapping = [h for h in hits if h.start < hit.end and hit.start < h.end and h.strength > 0]
    return max(overlapping, key=lambda h: (h.strength, h.end - h.start)) if overlapping else hit


_NAME_MEMO_LIMIT = 4096  # names remembered per index; a long-lived bot sees endless new ones


def _match_name(index: CustomerIndex, name: str) -> tuple[ParsedName, MatchResult]:
    """The parsed name and `match_parsed` of a mention's text, remembered per index.

    The same organisations come back note after note, and matching a name is a pure function
    of the name and this index (an index is never changed, a new CRM version is a new index)."""
    memo = index._name_matches
    found = memo.get(name)
    if found is None:
        parsed = parse_name(name)
        found = (parsed, index.match_parsed(parsed))
        if len(memo) >= _NAME_MEMO_LIMIT:
            memo.clear()
        memo[name] = found
    return found


def _mention(index: CustomerIndex, text: str, norm: str, hit: _Hit) -> CustomerMention | None:
    """Match one resolved hit; None for a bare sound-alike that links nowhere (跟进了 ~ 晶乐)."""
    parsed, res = _match_name(index, norm[hit.start : hit.end])
    res = _break_tie(index, norm, hit, parsed, res)
    if res.best is None and hit.strength in (1, 2) and not hit.grounded:
        return None
    return CustomerMention(text[hit.start : hit.end], Span(hit.start, hit.end), res)


def _find_mention(index: CustomerIndex, text: str) -> CustomerMention | None:
    """The first organisation in the note that is not a referrer or a competitor.

    Listed-brand hits are tried first. An unknown organisation comes before the first one that
    links only if it starts earlier, so only the text before that hit is scanned for them
    (usually the customer is named first); when there are some, the usual walk over all hits
    in `_hit_order` decides, reusing the matches made here.
    """
    if not text:
        return None
    norm = normalize_chars(text)
    listed = sorted(_index_hits(index, text, norm), key=_hit_order)
    tried: dict[int, CustomerMention | None] = {}  # id(listed hit) -> its _mention
    found: CustomerMention | None = None
    stop: _Hit | None = None  # the listed hit that links (or whose match raised)
    for hit in listed:
        if _excluded(norm, hit):
            continue
        try:
            found = tried[id(hit)] = _mention(index, text, norm, hit)
        except Exception:  # noqa: BLE001  # the walk below raises it again
            stop = hit
            break
        if found is not None:
            stop = hit
            break
    limit = stop.start if stop is not None else len(norm)
    unknown = [h for h in _unknown_hits(norm, limit) if h.start < limit]
    if not unknown and (stop is None or id(stop) in tried):
        return found  # the walk would meet only the listed hits tried above
    hits = sorted(listed + unknown, key=_hit_order)  # as _sorted_hits, up to `limit`
    for hit in hits:
        if _excluded(norm, hit):
            continue
        target = _resolve(hits, hit)
        found = tried[id(target)] if id(target) in tried else _mention(index, text, norm, target)
        if found is not None:
            return found
    return None


def _org_key(mention: CustomerMention) -> str:
    """One key per organisation: the linked id, else the normalized brand (else the name)."""
    if mention.customer_id is not None:
        return "id:" + mention.customer_id
    norm = normalize_chars(mention.text)
    return "name:" + (parse_name(norm).brand or norm)


def _find_mentions(index: CustomerIndex, text: str, repeats: bool) -> list[CustomerMention]:
    """Every customer-candidate mention, decided hit by hit exactly as `_find_mention` does."""
    if not text:
        return []
    norm = normalize_chars(text)
    hits = _sorted_hits(index, text, norm)
    taken: list[tuple[int, int]] = []
    found: list[CustomerMention] = []
    for hit in hits:
        if _excluded(norm, hit):
            continue
        hit = _resolve(hits, hit)
        if any(hit.start < e and s < hit.end for s, e in taken):
            continue  # these words already gave a mention
        mention = _mention(index, text, norm, hit)
        if mention is not None:
            taken.append((hit.start, hit.end))
            found.append(mention)
    found.sort(key=lambda m: m.span.start)
    if repeats:
        return found
    seen: set[str] = set()
    out: list[CustomerMention] = []
    for m in found:
        key = _org_key(m)
        if key not in seen:
            seen.add(key)
            out.append(m)
    return out
