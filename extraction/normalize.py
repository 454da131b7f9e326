"""Company-name normalization for customer matching.

Chinese company names follow "region + brand + industry + legal form"
(苏州 恒达 精密机械 有限公司). Reps and ASR drop or change every part except the brand, so the
matcher compares brands (by characters and by toneless pinyin, for homophone errors) and uses the
region and industry only to tell same-brand companies apart. This module splits a name into those
parts; the word lists live in extraction/lexicon/*.txt.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from pypinyin import lazy_pinyin

try:  # opencc-python-reimplemented (pure Python); a small built-in table is the fallback
    import opencc
    from opencc import OpenCC

    _T2S = OpenCC("t2s")
except ImportError:  # pragma: no cover - exercised only without the package
    _T2S = None


def _traditional_chars() -> frozenset[str]:
    """Characters OpenCC's t2s character table changes: text without any is left alone.

    The pure-Python converter costs ~25 us per name; most names need no conversion, which
    keeps an index rebuild over 100,000 customers cheap.
    """
    if _T2S is None:
        return frozenset()
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    chars: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        key = line.split("\t", 1)[0]
        chars.update(key)
    return frozenset(chars)


_TRAD_CHARS = _traditional_chars()

LEXICON_DIR = Path(__file__).resolve().parent / "lexicon"
MIN_BRAND_LEN = 2
AFFILIATION = "affiliation"  # industry.txt category of group prefixes (中科谱华 is called 谱华)

_FALLBACK_T2S = str.maketrans(
    "蘇恆達機業漢長東門華興鋒壓醫療廣軟雲嶺乳順電無錫寧遠數設備瑞豐鼎鄉會萬幣號與",
    "苏恒达机业汉长东门华兴锋压医疗广软云岭乳顺电无锡宁远数设备瑞丰鼎乡会万币号与",
)
_PUNCT_RE = re.compile(r"[\s\W_]+", re.UNICODE)
_BRACKET_RE = re.compile(r"[(\[{（【〔]([^)\]}）】〕]*)[)\]}）】〕]")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_ALL_CJK_RE = re.compile(r"[\u3400-\u9fff]+")
_LATIN_RUN_RE = re.compile(r"[a-z0-9]+|[\u3400-\u9fff]")
_LATIN_HEAD_RE = re.compile(r"[a-z][a-z0-9&]+(?=[\u3400-\u9fff])")
_CAMEL_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
_REGION_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市", "地区", "县", "区")


def _lines(name: str) -> list[list[str]]:
    """Non-comment, non-empty lines of a lexicon file, split on whitespace."""
    path = LEXICON_DIR / name
    out: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line.split())
    return out


# ---------------------------------------------------------------- character level


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (names arrive in both scripts)."""
    if _T2S is not None:
        if _TRAD_CHARS.isdisjoint(text):
            return text
        return _T2S.convert(text)
    return text.translate(_FALLBACK_T2S)


def basic(text: str) -> str:
    """NFKC (full -> half width), Simplified, lower case; spacing and punctuation kept."""
    return to_simplified(nfkc(text)).lower()


@lru_cache(maxsize=1)
def _nfkc_singles() -> tuple[re.Pattern[str], dict[str, str]]:
    """The BMP characters NFKC turns into one other character (，→ , Ａ→ A), as a class and a map."""
    table = {}
    for cp in range(0x10000):
        ch = chr(cp)
        if 0xD800 <= cp < 0xE000:
            continue  # surrogates: never looked up as one character
        n = unicodedata.normalize("NFKC", ch)
        if n != ch and len(n) == 1:
            table[ch] = n
    return re.compile("[" + "".join(map(re.escape, table)) + "]"), table


def nfkc(text: str) -> str:
    """`unicodedata.normalize("NFKC", text)`, without the full normalization for the usual note.

    Replacing a character by its one-character NFKC form keeps the string's compatibility
    decomposition (NFKD) unchanged, so NFKC of the copy equals NFKC of `text`; when the copy is
    NFKC already (a quick check in C), it is the answer.  Notes mostly differ from their NFKC
    form only by full-width punctuation, which this handles with a few replacements."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    rx, table = _nfkc_singles()
    out = text
    for ch in set(rx.findall(text)):
        out = out.replace(ch, table[ch])
    if out is not text and unicodedata.is_normalized("NFKC", out):
        return out
    return unicodedata.normalize("NFKC", text)


def clean(text: str) -> str:
    """`basic` plus all whitespace and punctuation removed: the key used for exact comparison."""
    return _PUNCT_RE.sub("", basic(text))


def normalize_chars(text: str) -> str:
    """`basic` applied so that the result has exactly one character per input character.

    Used to scan free text: offsets in the result are offsets in the original note.
    """
    whole = basic(text)
    if len(whole) == len(text):
        return whole
    out = []
    for ch in text:
        n = basic(ch)
        out.append(n if len(n) == 1 else ch.lower())
    return "".join(out)


def has_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def pinyin_key(text: str) -> tuple[str, ...]:
    """Toneless pinyin syllables; a run of Latin letters/digits is kept as one token.

    Toneless because ASR errors keep the sound but not the tone (横达 héng = 恒达 héng).
    """
    cleaned = clean(text)
    if _ALL_CJK_RE.fullmatch(cleaned):  # most brands: one syllable per character, no token scan
        return tuple(map(_char_pinyin, cleaned))
    out: list[str] = []
    for tok in _LATIN_RUN_RE.findall(cleaned):
        if _CJK_RE.match(tok):
            out.append(_char_pinyin(tok))
        else:
            out.append(tok)
    return tuple(out)


@lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    return lazy_pinyin(ch)[0].lower()


_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("f", "h"))
_FUZZY_FINALS = (("iang", "ian"), ("uang", "uan"), ("ang", "an"), ("eng", "en"), ("ing", "in"))


@lru_cache(maxsize=65536)
def fuzzy_syllable(syl: str) -> str:
    """Collapse the sound pairs that regional accents and ASR confuse (zh/z, n/l, in/ing ...)."""
    for a, b in _FUZZY_INITIALS:
        if syl.startswith(a):
            syl = b + syl[len(a):]
            break
    for a, b in _FUZZY_FINALS:
        if syl.endswith(a):
            syl = syl[: -len(a)] + b
            break
    return syl


def fuzzy_key(syllables: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(map(fuzzy_syllable, syllables))


# ---------------------------------------------------------------- lexicons


@dataclass(frozen=True, slots=True, eq=False)
class RegionInfo:
    """A canonical region: `province` is itself for provinces and municipalities.

    One object per region (the lexicon makes them), so identity is equality: comparing and
    hashing them stays in C (matching compares region tuples for every candidate)."""

    name: str
    province: str
    parent: str | None = None

    @property
    def is_province(self) -> bool:
        return self.name == self.province


@dataclass(slots=True)
class Lexicon:
    regions: dict[str, RegionInfo] = field(default_factory=dict)
    region_alias: dict[str, str] = field(default_factory=dict)  # surface -> canonical
    region_abbrev: dict[str, str] = field(default_factory=dict)  # one char -> canonical
    region_pinyin: dict[str, str] = field(default_factory=dict)  # "beijing" -> 北京
    legal_forms: tuple[str, ...] = ()
    legal_class: dict[str, str] = field(default_factory=dict)  # form -> company / institution ...
    industry: dict[str, str] = field(default_factory=dict)  # word -> category
    affiliations: tuple[str, ...] = ()  # 中科, 中铁: lead a legal name, dropped when it is said
    english: dict[str, str] = field(default_factory=dict)
    english_industry: dict[str, str] = field(default_factory=dict)  # pharmacy -> 药房
    max_region_len: int = 0
    max_industry_len: int = 0


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Load the lexicon files once per process."""
    lx = Lexicon()
    for parts in _lines("regions.txt"):
        name, province, rest = parts[0], parts[1], parts[2:]
        parent = next((p[1:] for p in rest if p.startswith("@")), None)
        lx.regions[name] = RegionInfo(name, province, parent)
        lx.region_alias[name] = name
        for alias in rest:
            if not alias.startswith("@"):
                lx.region_alias[alias] = name
        lx.region_pinyin.setdefault("".join(lazy_pinyin(name)), name)
    for parts in _lines("region_abbrev.txt"):
        lx.region_abbrev[parts[0]] = parts[1]
    forms = _lines("legal_forms.txt")
    lx.legal_forms = tuple(sorted((p[0] for p in forms), key=len, reverse=True))
    lx.legal_class = {p[0]: (p[1] if len(p) > 1 else "company") for p in forms}
    affiliations: list[str] = []
    for parts in _lines("industry.txt"):
        if parts[1] == AFFILIATION:
            affiliations.append(parts[0])
        else:
            lx.industry[parts[0]] = parts[1]
    lx.affiliations = tuple(sorted(affiliations, key=len, reverse=True))
    for parts in _lines("english_terms.txt"):
        lx.english[parts[0]] = parts[1]
    for parts in _lines("english_industry.txt"):
        lx.english_industry[parts[0]] = parts[1]
    for word, zh in lx.english.items():  # a translated term naming an industry is one too
        if zh in lx.industry:
            lx.english_industry.setdefault(word, zh)
    lx.max_region_len = max(len(a) for a in lx.region_alias)
    lx.max_industry_len = max(len(w) for w in lx.industry)
    return lx


@lru_cache(maxsize=8192)
def region_info(name: str | None) -> RegionInfo | None:
    """Canonical region for a surface form such as 苏州, 苏州市, 江苏省, 沪上.

    Cached: every customer of a CRM names one of a few hundred regions, and the text scans look
    up the same words note after note."""
    if not name:
        return None
    lx = lexicon()
    key = clean(name)
    if key in lx.region_alias:
        return lx.regions[lx.region_alias[key]]
    for suf in _REGION_SUFFIXES:
        if key.endswith(suf) and key[: -len(suf)] in lx.region_alias:
            return lx.regions[lx.region_alias[key[: -len(suf)]]]
    if key in lx.region_abbrev:
        return lx.regions[lx.region_abbrev[key]]
    if key in lx.region_pinyin:
        return lx.regions[lx.region_pinyin[key]]
    return None


@lru_cache(maxsize=65536)
def regions_compatible(a: tuple[RegionInfo, ...], b: tuple[RegionInfo, ...]) -> bool | None:
    """True/False when both sides name a region, None when either side names none.

    Each side is compared at its most specific level. A province-level name is compatible with
    its cities (四川蜀星 vs 成都); two different cities are not, even within one province (荆州楚天 vs 武汉楚天). A county-level city is
    compatible with its prefecture (昆山 / 苏州). Cached: matching compares the same few region
    pairs for every candidate.
    """
    if not a or not b:
        return None
    a, b = _most_specific(a), _most_specific(b)
    for x in a:
        for y in b:
            if x.province != y.province:
                continue
            if x.is_province or y.is_province:
                return True
            if x.name == y.name or x.parent == y.name or y.parent == x.name:
                return True
    return False


def _most_specific(regions: tuple[RegionInfo, ...]) -> tuple[RegionInfo, ...]:
    """Cities when a side names any (江苏中恒 with region 南京 is in 南京, not anywhere in 江苏)."""
    cities = tuple(r for r in regions if not r.is_province)
    return cities or regions


# ---------------------------------------------------------------- name parsing


@dataclass(frozen=True, slots=True)
class ParsedName:
    """A company name split into parts; nothing is thrown away."""

    raw: str
    text: str  # cleaned full name
    regions: tuple[RegionInfo, ...]
    legal_form: str | None
    core: str  # brand + industry, cleaned
    brand: str
    industry: tuple[str, ...]
    latin: bool = False  # the brand was written in Latin letters (pinyin or English)

    @property
    def brand_pinyin(self) -> tuple[str, ...]:
        if self.latin:
            return (self.brand,)
        return pinyin_key(self.brand)

    @property
    def brand_latin_key(self) -> str:
        """Brand pinyin as one string: what a Latin rendering is compared with."""
        return "".join(self.brand_pinyin)

    @property
    def org_class(self) -> str | None:
        """Kind of organisation the legal form names (company, institution, outlet), if any."""
        if not self.legal_form:
            return None
        lx = lexicon()
        for form in lx.legal_forms:  # the outermost (last) form decides: 华信中心有限公司 is a company
            if self.legal_form.endswith(form):
                return lx.legal_class.get(form, "company")
        return "company"

    @property
    def industry_categories(self) -> frozenset[str]:
        return industry_categories(self.industry)


def industry_categories(words: Iterable[str]) -> frozenset[str]:
    """The lexicon categories of industry words (an unknown word is its own category)."""
    ind = lexicon().industry
    return frozenset(ind.get(w, w) for w in words)


def split_region_prefix(s: str) -> tuple[RegionInfo | None, str]:
    """Longest known region at the start of `s` (with an optional 省/市 suffix)."""
    lx = lexicon()
    edges = _edge_lengths()
    for n in edges.region_first.get(s[:1], ()):  # longest first
        if n > len(s) - 1:
            continue
        head = s[:n]
        if head in lx.region_alias:
            rest = s[n:]
            if rest[:1] in edges.region_suffix_first:
                for suf in _REGION_SUFFIXES:
                    if rest.startswith(suf) and len(rest) > len(suf):
                        rest = rest[len(suf):]
                        break
            return lx.regions[lx.region_alias[head]], rest
    return None, s


def split_legal_suffix(s: str) -> tuple[str | None, str]:
    """Strip legal-form suffixes (有限公司, 集团 ...) from the end, repeatedly."""
    edges = _edge_lengths()
    forms, by_last = edges.legal, edges.legal_last
    found: list[str] = []
    changed = True
    while changed:
        changed = False
        for n in by_last.get(s[-1:], ()):  # longest first, as the forms are listed
            if len(s) > n and s[-n:] in forms:
                found.insert(0, s[-n:])
                s = s[:-n]
                changed = True
                break
    return ("".join(found) or None), s


class _EdgeLengths(NamedTuple):
    """Lengths of the lexicon words that begin or end with each character, longest first.

    Splitting a name looks for the longest word at one of its ends; trying only the lengths of
    words with that end character, instead of every length, finds the same word (building the
    match index parses every customer name)."""

    region_first: dict[str, tuple[int, ...]]  # region words of 2+ characters, by first character
    region_last: dict[str, tuple[int, ...]]  # ... by last character
    region_suffix_first: frozenset[str]  # first characters of 省, 市, 自治区 ...
    industry_last: dict[str, tuple[int, ...]]  # industry words of 2+ characters, by last character
    legal: frozenset[str]  # the legal forms
    legal_last: dict[str, tuple[int, ...]]  # their lengths, by last character


def _lengths_by(words: Iterable[str], edge: int, shortest: int) -> dict[str, tuple[int, ...]]:
    """Character at `edge` (0 or -1) -> lengths of the words (`shortest` or longer), longest first."""
    found: dict[str, set[int]] = {}
    for w in words:
        if len(w) >= shortest:
            found.setdefault(w[edge], set()).add(len(w))
    return {ch: tuple(sorted(ns, reverse=True)) for ch, ns in found.items()}


@lru_cache(maxsize=1)
def _edge_lengths() -> _EdgeLengths:
    lx = lexicon()
    return _EdgeLengths(_lengths_by(lx.region_alias, 0, 2), _lengths_by(lx.region_alias, -1, 2),
                        frozenset(suf[0] for suf in _REGION_SUFFIXES),
                        _lengths_by(lx.industry, -1, 2), frozenset(lx.legal_forms), _lengths_by(lx.legal_forms, -1, 1))


@lru_cache(maxsize=64)
def split_industry(core: str) -> tuple[str, tuple[str, ...]]:
    """Brand and trailing industry words: 恒达精密机械 -> (恒达, (精密, 机械)).

    Longest industry word first, repeatedly, while at least MIN_BRAND_LEN characters remain.
    Cached (a few): parse_name splits a core twice, to see that a brand is left, then for it.
    """
    industry = lexicon().industry
    by_last = _edge_lengths().industry_last
    words: list[str] = []
    s = core
    while True:
        for n in by_last.get(s[-1:], ()):  # longest first
            if n <= len(s) - MIN_BRAND_LEN and s[-n:] in industry:
                words.insert(0, s[-n:])
                s = s[:-n]
                break
        else:
            break
    return s, tuple(words)


@lru_cache(maxsize=262144)
def parse_name(name: str, extra_region: str | None = None) -> ParsedName:
    """Split a company name into region(s), brand, industry words and legal form.

    Cached: the same names come back in notes and queries (the match index parses each customer
    once itself, uncached).
    """
    text = basic(name)
    regions: list[RegionInfo] = []
    for m in _BRACKET_RE.finditer(text):  # 康博生物医疗科技(上海)有限公司
        info = region_info(m.group(1))
        if info:
            regions.append(info)
    text = _BRACKET_RE.sub("", text)
    if not has_cjk(text):
        return _parse_latin(name, text, regions, extra_region)
    s = cleaned = _PUNCT_RE.sub("", text)  # `clean`: text is `basic` already
    region, rest = split_region_prefix(s)
    stripped = split_legal_suffix(rest) if region else None
    if region and stripped and not _only_industry(stripped[1]):  # 安康医疗器械: 安康 is the brand, not the city
        regions.insert(0, region)
        legal, s = stripped
    else:
        legal, s = split_legal_suffix(s)
    region2, s2 = split_region_prefix(s)  # nested region after stripping (苏州市吴江区...)
    if region2 and len(s2) >= MIN_BRAND_LEN and not _only_industry(s2):
        regions.append(region2)
        s = s2
    region3, s3 = _split_region_suffix(s)  # 苏州恒达上海分公司: the branch's city
    if region3:
        regions.append(region3)
        s = s3
    extra = region_info(extra_region)
    if extra and extra not in regions:
        regions.append(extra)
    brand, industry = split_industry(s)
    return ParsedName(name, cleaned, tuple(regions), legal, s, brand, industry)


def _only_industry(core: str) -> bool:
    """True when nothing brand-like is left: the core is industry words only (or empty)."""
    if len(core) < MIN_BRAND_LEN:
        return True
    brand, _ = split_industry(core)
    return brand in lexicon().industry


def _split_region_suffix(s: str) -> tuple[RegionInfo | None, str]:
    """A region name at the very end of a core (before a stripped 分公司)."""
    lx = lexicon()
    for n in _edge_lengths().region_last.get(s[-1:], ()):  # longest first
        if n > len(s) - MIN_BRAND_LEN:
            continue
        tail = s[-n:]
        if tail in lx.region_alias:
            return lx.regions[lx.region_alias[tail]], s[:-n]
    return None, s


def _parse_latin(raw: str, text: str, regions: list[RegionInfo], extra_region: str | None) -> ParsedName:
    """`YunFan Tech`, `Beijing Hengtong Medical`, `WeikeCloud`, `bkt`."""
    lx = lexicon()
    unbracketed = _BRACKET_RE.sub(" ", _strip_accents(raw))  # case kept for CamelCase
    tokens = [t.lower() for t in _CAMEL_RE.findall(unbracketed)]
    legal: list[str] = []
    while tokens and tokens[-1] in lx.legal_forms:
        legal.insert(0, tokens.pop())
    if len(tokens) > 1 and tokens[0] in lx.region_pinyin:
        regions.insert(0, lx.regions[lx.region_pinyin[tokens.pop(0)]])
    if len(tokens) > 1 and tokens[-1] in lx.region_pinyin:  # Kangbo Biotech Shanghai
        regions.append(lx.regions[lx.region_pinyin[tokens.pop()]])
    while tokens and tokens[-1] in lx.legal_forms:
        legal.insert(0, tokens.pop())
    # an industry word is a word of its own (Hengda Precision); inside a CamelCase brand it is the
    # brand's (QuickMart, OfficeLink)
    words = {w.lower() for w in _LATIN_WORD_RE.findall(unbracketed)}
    industry: list[str] = []
    while len(tokens) > 1 and tokens[-1] in words and tokens[-1] in lx.english_industry:
        industry.insert(0, lx.english_industry[tokens.pop()])
    brand = "".join("".join(lazy_pinyin(lx.english[t])) if t in lx.english else t for t in tokens)
    extra = region_info(extra_region)
    if extra and extra not in regions:
        regions.append(extra)
    return ParsedName(raw, clean(text), tuple(regions), "".join(legal) or None,
                      brand + "".join(industry), brand, tuple(industry), latin=True)


def _strip_accents(text: str) -> str:
    """Héngdá -> Hengda (pinyin with tone marks); NFKC for full-width Latin."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ü", "v")


def abbrev_alternative(parsed: ParsedName) -> ParsedName | None:
    """Reading of a leading one-character province abbreviation (沪优鲜汇 -> 上海 + 优鲜汇)."""
    if parsed.latin or parsed.regions or len(parsed.brand) <= MIN_BRAND_LEN:
        return None
    lx = lexicon()
    head = parsed.brand[0]
    if head not in lx.region_abbrev:
        return None
    core = parsed.core[1:]
    brand, industry = split_industry(core)
    return ParsedName(parsed.raw, parsed.text, (lx.regions[lx.region_abbrev[head]],),
                      parsed.legal_form, core, brand, industry)


def core_readings(parsed: ParsedName) -> tuple[ParsedName, ...]:
    """Shorter brands a CRM name is also called by, each with the rest kept as industry words.

    Reps shorten a name to its brand core: a leading Latin brand (Vantek传感技术 -> Vantek), the
    brand without a group prefix (中科谱华 -> 谱华), and the characters before the first industry
    word when the lexicon does not know every word after it (易桩智能充电设备 -> 易桩).
    """
    if parsed.latin or len(parsed.brand) < 3:
        return ()
    brand = parsed.brand
    m = _LATIN_HEAD_RE.match(brand)
    if m and len(m.group()) >= 3:
        return (_reading(parsed, m.group(), brand[m.end():]),)
    out: list[ParsedName] = []
    for a in lexicon().affiliations:
        if brand.startswith(a) and len(brand) - len(a) >= MIN_BRAND_LEN:
            brand = brand[len(a):]
            out.append(_reading(parsed, brand, ""))
            break
    k = _first_industry_word(brand)
    if k is not None:
        out.append(_reading(parsed, brand[:k], brand[k:]))
    return tuple(out)


def _first_industry_word(brand: str) -> int | None:
    """Leftmost position (leaving a brand of 2+ characters) where a known industry word starts."""
    lx = lexicon()
    for k in range(MIN_BRAND_LEN, len(brand) - 1):
        for n in range(min(lx.max_industry_len, len(brand) - k), 1, -1):
            if brand[k : k + n] in lx.industry:
                return k
    return None


def _reading(parsed: ParsedName, brand: str, tail: str) -> ParsedName:
    words = tail_words(tail) + parsed.industry
    return ParsedName(parsed.raw, parsed.text, parsed.regions, parsed.legal_form,
                      brand + tail + "".join(parsed.industry), brand, words)


def tail_words(tail: str) -> tuple[str, ...]:
    """Split descriptor text into known industry words (longest first) and unknown chunks."""
    lx = lexicon()
    out: list[str] = []
    chunk = ""
    i = 0
    while i < len(tail):
        for n in range(min(lx.max_industry_len, len(tail) - i), 1, -1):
            if tail[i : i + n] in lx.industry:
                if chunk:
                    out.append(chunk)
                    chunk = ""
                out.append(tail[i : i + n])
                i += n
                break
        else:
            chunk += tail[i]
            i += 1
    if chunk:
        out.append(chunk)
    return tuple(out)


def display_name(text: str) -> str:
    """The canonical spelling of a name to store and show: NFKC (full -> half width), Simplified,
    whitespace runs collapsed to one space and trimmed; Latin letter case is kept (ABB stays ABB).

    Unlike `basic`/`clean` (matching keys) this is meant for people, so punctuation stays.
    """
    return " ".join(to_simplified(nfkc(text)).split())
