"""Customer-side contact people (README §2 contacts), with phone / WeChat written next to them.

A contact is a person reference that carries a name, built from a few constructions:

* surname + title / kinship word: 王总, 欧阳主任, 麦老板, 刘姐, 卓先生;
* 小/老 + surname: 小林, 老王;
* a full name with a title after it (钱立军经理) or a role before it (采购经理赵敏,
  采购部主管 钱立军), or introduced as a person (对接人是孙晓峰, 名叫孙晓峰);
* an English given name (Kevin, Linda), optionally with a romanised surname (Kevin Zhang).

A department or role written directly in front stays part of the string (采购部王总, 品类经理Jerry,
COO Ansel); one joined with 的 does not.  Matching runs on a same-length folded copy of the note
(full-width → half-width, Traditional → Simplified, character by character), so 王總 / 張經理 are
recognised while the string returned is the one written in the note.

Names come from the surname list (lexicon/surnames.txt) and jieba word boundaries, never from a
list of people: the surname must start a word and the title must end one, so 抓包工具 is not 包工
and 老冷库 is not 老冷.  Our own colleagues (研发老赵, 我们技术部张工, 让技术员小宁…), people of
other organisations (竞品的销售小王, a referrer: 通过X的Howard认识) and competitor brands that look
like names (柳工, 徐工) are dropped.  One entry per person, in the most complete form: 赵经理 and
钱总 merge into 采购经理赵敏 / 采购部主管钱立军 when the surname matches the one full name.

Phones: a mobile, landline or WeChat id written after a contact in the same sentence is attached
to it.  Phones are normalised to digits: a Chinese mobile to its 11 digits (a +86 / 86 country code
is dropped), a landline to area code + number, and an extension (转 8, ext 8, -8, 分机8) as ``-8``:
``021-5888 1234 转 8`` → ``02158881234-8``.  WeChat ids are kept as written (no spaces).
"""
from __future__ import annotations

import re
import string
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from types import ModuleType

from .lexload import load_list
from .types import Contact, Span, TextItem

_CJK = "\u4e00-\u9fff"
# sentence and clause ends: a phone is attached to a contact in the same sentence only
_SENT_END = "。！？!?；;\n"
_CLAUSE_END = _SENT_END + "，,、：:（）()"


# ------------------------------------------------------------------ folding (same length)


@lru_cache(maxsize=1)
def _t2s_chars() -> dict[str, str]:
    """Traditional → Simplified, one character to one character (keeps offsets valid)."""
    table: dict[str, str] = {}
    try:
        import opencc  # opencc-python-reimplemented ships the character table
        path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) == 2 and len(parts[0]) == 1:
                tgt = parts[1].split()[0]
                if len(tgt) == 1:
                    table[parts[0]] = tgt
    except (ImportError, OSError):  # pragma: no cover - a small table keeps the titles working
        table = dict(zip("總經長張陳楊黃趙劉孫吳鄭馮蔣葉賈謝韓", "总经长张陈杨黄赵刘孙吴郑冯蒋叶贾谢韩"))
    return table


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """str.translate table: full-width ASCII → ASCII, ideographic space → space, T → S."""
    table = {ord(k): v for k, v in _t2s_chars().items()}
    for cp in range(0xFF01, 0xFF5F):
        table[cp] = chr(cp - 0xFEE0)
    table[0x3000] = " "
    return table


# str.translate with a dict pays a failed lookup (a KeyError raised and cleared) for every
# character the table leaves alone; a list indexed by every BMP code point avoids that.  A note
# with a character beyond the BMP (an IndexError would leave it unmapped) uses the dict.
_BEYOND_BMP = re.compile("[\U00010000-\U0010FFFF]")


@lru_cache(maxsize=1)
def _bmp_identity() -> tuple[int, ...]:
    """Every BMP code point mapped to itself (shared by the list tables)."""
    return tuple(range(0x10000))


@dataclass(frozen=True)
class _CharMap:
    """A same-length character map, applied the cheapest exact way: most notes have no
    Traditional character and many no full-width one (the text is already its own image), most
    others only a few distinct such characters (a comma, a colon: one `str.replace` each, far
    cheaper than translating every character to itself)."""

    table: dict[int, str]
    bmp: list[int | str]  # `table` as a list over the BMP: the same for text without astral characters
    changed: re.Pattern[str]  # one character the table maps, or any astral character
    direct: dict[str, str]  # the characters whose image the table leaves alone: replaced one by one
    direct_keys: frozenset[str]

    @classmethod
    def of(cls, table: dict[int, str]) -> _CharMap:
        bmp: list[int | str] = list(_bmp_identity())
        for cp, v in table.items():
            if cp < 0x10000:
                bmp[cp] = v
        # the BMP class on its own compiles to a bitmap; any astral character takes the dict path
        keys = "".join(re.escape(chr(cp)) for cp in sorted(table) if cp < 0x10000)
        direct = {chr(cp): v for cp, v in table.items() if ord(v) not in table}
        return cls(table, bmp, re.compile(f"[{keys}]|[\U00010000-\U0010FFFF]"), direct, frozenset(direct))

    def apply(self, text: str) -> str:
        found = set(self.changed.findall(text))
        if not found:
            return text  # the translation would be an equal copy
        if len(found) <= _FEW_REPLACED and found <= self.direct_keys:
            for ch in found:  # an image is never replaced again: the same as one translation
                text = text.replace(ch, self.direct[ch])
            return text
        if _BEYOND_BMP.search(text):
            return text.translate(self.table)
        return text.translate(self.bmp)


_FEW_REPLACED = 4  # past this many distinct characters one translation is cheaper


@lru_cache(maxsize=1)
def _fold_map() -> _CharMap:
    return _CharMap.of(_fold_table())


def fold(text: str) -> str:
    """Same-length copy for matching (full-width → half-width, Traditional → Simplified)."""
    return _fold_map().apply(text)


@lru_cache(maxsize=1)
def _t2s_map() -> _CharMap:
    return _CharMap.of({ord(k): v for k, v in _t2s_chars().items()})


def to_simplified(text: str) -> str:
    """Same-length Traditional → Simplified copy; punctuation and widths are kept (cue classes
    treat the full-width comma as a clause boundary)."""
    return _t2s_map().apply(text)


# ------------------------------------------------------------------ lexicons


@dataclass(frozen=True)
class _Lex:
    single: frozenset[str]
    compound: frozenset[str]
    title_re: re.Pattern[str]
    title_first: frozenset[str]  # the characters a title starts with
    strong_title_re: re.Pattern[str]
    prefix_re: re.Pattern[str]
    eng_prefix_re: re.Pattern[str]
    prefix_last: frozenset[str]  # the characters a `prefix_re` match can end with (before the space)
    eng_prefix_last: frozenset[str]  # the same for `eng_prefix_re`
    stop: frozenset[str]
    follow_re: re.Pattern[str]
    not_names: frozenset[str]
    brands: frozenset[str]
    english_names: frozenset[str]
    english_stop: frozenset[str]
    roman_surnames: frozenset[str]
    our_side_re: re.Pattern[str]
    our_side_last: frozenset[str]  # the characters an `our_side_re` match can end with
    arranged_re: re.Pattern[str]
    other_org_re: re.Pattern[str]
    other_org_last: frozenset[str]  # the characters an `other_org_re` match can end with
    role_end_re: re.Pattern[str]
    role_last: frozenset[str]  # the characters a `role_end_re` match can end with
    job_re: re.Pattern[str]
    start_re: re.Pattern[str]


# titles that make any one-character word before them a surname (卓先生), see `_unlisted_surname`
_STRONG_TITLES = "总经理|总监|总|经理|主任|老板|厂长|院长|科长|部长|处长|主管|先生|女士"


def _alt(words: Iterable[str]) -> str:
    return "|".join(map(re.escape, sorted(set(words), key=len, reverse=True)))


def _cjk_class(chars: Iterable[str]) -> str:
    """A character class of the CJK ideographs among `chars`."""
    return "[" + "".join(sorted(c for c in set(chars) if "\u4e00" <= c <= "\u9fff")) + "]"


def _class(chars: Iterable[str]) -> str:
    """A character class of `chars` (any characters, escaped)."""
    return "[" + "".join(map(re.escape, sorted(set(chars)))) + "]"


def _start_re(single: frozenset[str], compound: frozenset[str], title_first: frozenset[str],
              named_last: frozenset[str]) -> re.Pattern[str]:
    """One character where a Chinese mention may start (see `_chinese`).  Each alternative is a
    condition the function building that kind of mention cannot do without, so every other
    position yields nothing and the candidates come out as a scan of every character gives them:

    * 小/老 before a surname (`_small_old`), 阿, an ideograph before 姐/哥 (`_nickname`);
    * a surname (`_surnamed`) with a title's first character in the three after it, the last
      character of a role or an introducing word in the three before it (`_named_before`), or
      a clear left edge and a verb of saying one or two characters after it;
    * after a clear left edge, an ideograph before a strong title (`_unlisted_surname`);
    * a doubled ideograph (芳芳) after a role or an introducing word (`_nickname`)."""
    # each alternative consumes its one character first (a cheap class test at every position);
    # the conditions after it look back from just past that character
    last = _class(named_last)
    named = rf"(?:(?<={last}[\s\S])|(?<={last}[\s\S]{{2}})|(?<={last}[\s\S]{{3}}))"
    edge = rf"(?:(?<![\s\S]{{2}})|(?<={_class(_LEFT_EDGE_CHARS)}[\s\S]))"  # text start or a linking character
    speech = _class(w[0] for w in _SPEECH_WORDS.split("|"))
    # a title or a verb of saying is looked for past a one- or a two-character surname
    surnamed = (rf"{_cjk_class(single | {c[0] for c in compound})}"
                rf"(?:(?=[\s\S]{{0,3}}{_class(title_first)})|{named}|{edge}(?=[\s\S]{{1,3}}{speech}))")
    strong = _cjk_class({t[0] for t in _STRONG_TITLES.split("|")})
    ideograph = rf"([{_CJK}])(?:(?=[姐哥])|(?={strong}){edge}|(?=\1){named})"
    return re.compile(rf"[小老](?={_cjk_class(single)})|阿|{surnamed}|{ideograph}")


@lru_cache(maxsize=1)
def _lex() -> _Lex:
    surnames = load_list("surnames.txt")
    single = frozenset(s for s in surnames if len(s) == 1)
    compound = frozenset(s for s in surnames if len(s) == 2)
    titles = [t for t in load_list("contact_titles.txt") if t != "总"]
    # 总 is a title only when it does not start a word (总结, 总价 …); jieba checks the rest
    tt = _alt(titles) + "|总(?![结价共部额体量数计算之是包账线装监体裁])"
    depts = list(load_list("dept_stems.txt"))
    stems = depts + list(load_list("contact_role_stems.txt"))
    dept = (rf"(?:(?:{_alt(depts)})(?:部门|部|科|处|中心|组|室)?"
            # any two-character stem + 部/科/室 also names a department (技工室, 器械科)
            rf"|[{_CJK}](?<![的们了和跟与说是在把给对从向及])[{_CJK}](?<![总内全局外本干东西南北中专学])(?:部|科|室|处|车间)"
            rf"|车间)")
    dept_last = [w[-1] for w in depts] + list("门部科处心组室间")
    roles = _alt(load_list("contact_roles.txt"))
    fixed = _alt(load_list("contact_prefixes.txt"))
    # a prefix ends with a role (the stems only stand before one), a department or a fixed prefix
    prefix_last = frozenset(dept_last + [w[-1] for w in load_list("contact_roles.txt") + load_list("contact_prefixes.txt")]
                            + list(string.ascii_uppercase))  # a Latin function code (SQE鲁工)
    # roles chain (院长助理, 总经理助理): the second one is the post, the first whose assistant it is
    # a Latin function code may head the post (QA经理, IT主管, HR总监)
    prefix = rf"(?:{dept})?(?:(?:{_alt(stems)}|[A-Z]{{2,4}})?(?:{roles})(?:{roles})?)?|(?:{dept})?(?:{fixed})"
    # anchored at the end of the range searched: the person's start (see `_prefix_start`); before
    # a Chinese person a Latin function code alone may be the post (SQE鲁工, HRD许总, QA部车经理)
    prefix_re = re.compile(rf"(?:{prefix}|(?<![A-Za-z])[A-Z]{{2,4}}(?:部|组)?)(?:\s?)\Z")
    eng_roles = "VP|CEO|COO|CTO|CFO|CIO|CMO|CPO|GM|HR|PM|IT|BD|Manager|Director|Buyer"
    eng_prefix_re = re.compile(rf"(?:(?:{dept})?(?:{eng_roles})|(?:{prefix}))(?:\s?)\Z")
    eng_prefix_last = prefix_last | {w[-1] for w in eng_roles.split("|")}
    stop = frozenset(load_list("contact_name_stop.txt"))
    follow_re = re.compile("(?:" + _alt(load_list("contact_name_follow.txt")) + ")")
    our = list(load_list("our_side_cues.txt"))
    our_side_re = re.compile(
        "(?:" + _alt(our) + f"|(?<![{_CJK}A-Za-z0-9])(?:本公司|公司)的?)$")
    our_side_last = frozenset([w[-1] for w in our] + ["司", "的"])
    staff = list(load_list("team_cues.txt")) + list(load_list("contact_our_staff.txt"))
    # 我让农化服务部的小古: whoever we send, from a team or a department of ours
    arranged_re = re.compile(rf"(让|派|安排|叫|带上|带着|带)(?:我们的?|公司的?|我司的?|我方的?)?"
                             rf"(?:{_alt(staff)}|[{_CJK}]{{1,6}}(?:部|组|中心|团队))+的?\s?$")
    others = list(load_list("contact_other_org.txt")) + list(load_list("competitors.txt"))
    other_org_re = re.compile(rf"(?:{_alt(others)})(?:那边|公司|厂家)?的?(?:销售|业务员|业务|代表)?$")
    other_org_last = frozenset([w[-1] for w in others] + list("边司家的售员务表"))
    # a role, title, post or department written right before a bare full name or a nickname
    # (采购经理赵敏, 理事长马永福, 设备部的阿强, 品控芳姐): it marks the next word as a person
    role_words = list(load_list("contact_roles.txt")) + list(load_list("contact_prefixes.txt")) \
        + [t for t in load_list("contact_titles.txt") if t not in ("姐", "哥", "工", "总", "董")]
    role_end_re = re.compile(rf"(?:(?:{_alt(role_words)})|(?:{dept})的?)\s?$")
    # the last characters of the words, stems and suffixes above (before the optional space)
    role_last = frozenset([w[-1] for w in role_words] + dept_last + ["的"])
    job_re = re.compile(rf"(?:{_alt(role_words)})$")
    roman: set[str] = set()
    try:
        from pypinyin import lazy_pinyin
        for s in surnames:
            roman.add("".join(lazy_pinyin(s)).capitalize())
    except ImportError:  # pragma: no cover
        pass
    roman.update("Wong Chan Cheung Lee Ho Ng Lau Leung Tan Lim Chang Lin Tsai Hsu Kuo Yeung Chow Chiu "
                 "Kwok Fung Tang Yip Mak Tse Lam Cheng Teo Goh Koh".split())
    title_first = frozenset([t[0] for t in titles] + ["总"])
    return _Lex(
        single=single, compound=compound,
        title_re=re.compile(f"(?:{tt})"),
        title_first=title_first,
        strong_title_re=re.compile(f"(?:{_STRONG_TITLES})"),
        prefix_re=prefix_re, eng_prefix_re=eng_prefix_re,
        prefix_last=prefix_last, eng_prefix_last=eng_prefix_last,
        stop=stop, follow_re=follow_re,
        not_names=frozenset(load_list("not_names.txt")),
        brands=frozenset(load_list("competitors.txt")),
        english_names=frozenset(load_list("english_names.txt")),
        english_stop=frozenset(w.lower() for w in load_list("english_stopwords.txt")),
        roman_surnames=frozenset(roman),
        our_side_re=our_side_re, our_side_last=our_side_last, arranged_re=arranged_re, other_org_re=other_org_re,
        other_org_last=other_org_last,
        role_end_re=role_end_re, role_last=role_last, job_re=job_re,
        start_re=_start_re(single, compound, title_first, _INTRO_LAST | role_last),
    )


# ------------------------------------------------------------------ jieba word boundaries


# segment.py imports jieba, which loads slowly: imported on first use and then kept (an import
# statement inside a function costs about a microsecond on every call)
@lru_cache(maxsize=1)
def _segment() -> ModuleType:
    from . import segment

    return segment


# jieba cuts each run of these characters independently, so a position between two of them is
# inside a run (only the cut decides whether a word ends there); any other position is an edge
_IN_RUN_RE = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]{2}")


_GLUE_AFTER = "和说也还都的在跟就又对让把给是要会"
_GLUE_BEFORE = "的了和跟与给见找约"


_WORD_START = itemgetter(1)  # of a `segment.token_spans` entry (word, start, end)
_WORD_END = itemgetter(2)


class _Bounds:
    """Word boundaries of the folded note, from its one shared segmentation (on first need)."""

    __slots__ = ("_n", "_words", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._n = len(text)
        self._words: list[tuple[str, int, int]] | None = None  # (word, start, end), in text order

    def _cut(self) -> list[tuple[str, int, int]]:
        """The note's words, once: `segment.token_spans` is cached per text, so the competitor step
        reuses the same cut.  The words are in order and each starts where the one before ends, so
        offsets are looked up by bisection rather than through an index built for every note."""
        if self._words is None:
            self._words = _segment().token_spans(self.text)  # the whole note once, shared with the other steps
        return self._words

    def at(self, pos: int) -> bool:
        """True when `pos` is a word boundary (or not inside a run at all)."""
        # only a position inside a run needs the cut to decide
        if pos <= 0 or pos >= self._n or not _IN_RUN_RE.match(self.text, pos - 1):
            return True
        # a word starts or ends at `pos`: past the text start, every word start is a word end
        words = self._words if self._words is not None else self._cut()
        k = bisect_left(words, pos, key=_WORD_END)
        return k < len(words) and words[k][2] == pos

    def end_ok(self, pos: int) -> bool:
        """A name may end at `pos`: a boundary, or jieba glued one particle to it (王总|和 → 总和)."""
        return self.at(pos) or (pos < len(self.text) and self.text[pos] in _GLUE_AFTER and self.at(pos + 1))

    def start_ok(self, pos: int) -> bool:
        """A name may start at `pos`: a boundary, or jieba glued a particle in front (的|王)."""
        return self.at(pos) or (pos > 0 and self.text[pos - 1] in _GLUE_BEFORE and self.at(pos - 1))

    def token(self, pos: int) -> tuple[int, int] | None:
        """The token that starts at `pos`, if any."""
        words = self._words if self._words is not None else self._cut()
        k = bisect_right(words, pos, key=_WORD_START) - 1
        return (pos, words[k][2]) if k >= 0 and words[k][1] == pos else None


# ------------------------------------------------------------------ candidates


@dataclass(slots=True)
class _Cand:
    start: int            # with the prefix
    pstart: int           # the person part
    end: int
    kind: str             # title | full | nick | en
    surname: str = ""
    given: str = ""       # given name (full Chinese names, English given name)
    title: str = ""
    spans: list[Span] = field(default_factory=list)
    group: list[_Cand] = field(default_factory=list)  # every mention of this person (after dedupe)
    _span: Span | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def plen(self) -> int:
        return self.end - self.pstart

    def span(self) -> Span:
        """[start, end) once the prefix is settled: one `Span` (immutable, and a frozen dataclass
        is slow to build) shared by the mention list, the dedupe groups and the contact."""
        if self._span is None:
            self._span = Span(self.start, self.end)
        return self._span


def _surname_at(s: str, i: int, lex: _Lex) -> str:
    if s[i:i + 2] in lex.compound:
        return s[i:i + 2]
    if s[i:i + 1] in lex.single:
        return s[i]
    return ""


def _given_name(s: str, j: int, lex: _Lex, bounds: _Bounds, limit: int) -> int:
    """Length (0-2) of a given name starting at `j`: single-character words that are not
    function words (jieba leaves unknown names in single characters), or one two-character word
    that jieba knows as a whole (晓峰)."""
    whole = bounds.token(j - 1) if j > 0 and len(s[j - 1:j]) == 1 else None
    if whole is None and j >= 2:
        whole = bounds.token(j - 2)  # a compound surname
    if whole is not None and j < whole[1] <= j + limit and (
            _rare(s[whole[0]:whole[1]]) or s[whole[0]:whole[1]] in _dict_tags()[1]):
        # jieba knows the whole name as one word (李文博), unless that word is a common noun (车缝)
        if s[whole[0]:whole[1]] in _noun_words():
            return 0
        g = whole[1] - j
        return g if all(_name_char(c, lex) for c in s[j:j + g]) else 0
    n = 0
    while n < limit and j + n < len(s):
        ch = s[j + n]
        if not _name_char(ch, lex):
            break
        tok = bounds.token(j + n)
        if tok is None:
            break
        if tok[1] - tok[0] == 1:
            n += 1
            continue
        if n == 0 and tok[1] - tok[0] == 2 and not lex.follow_re.match(s, j) \
                and s[tok[0]:tok[1]] not in lex.not_names:
            return 2 if all(_name_char(c, lex) for c in s[j:j + 2]) else 0
        break
    if n == 2 and lex.follow_re.match(s, j + 1):
        # "赵敏说": the second character starts a follow word; but an adverb such as 刚 / 也
        # cannot close a clause, so "黄志刚 电话" keeps 志刚
        closed = j + 2 >= len(s) or not ("\u4e00" <= s[j + 2] <= "\u9fff")
        if not (closed and s[j + 1] in _NEEDS_MORE):
            n = 1
    return n


# follow words that always need more words after them (adverbs, prepositions)
_NEEDS_MORE = frozenset("刚已也还都很在要想会能等把被给对和跟与让")


_RARE_FREQ = 20  # jieba knows some names (李文博: 7); ordinary words are far more frequent (常驻: 462)


def _rare(word: str) -> bool:
    """A dictionary word rare enough to be a person's name rather than a common word."""
    return (_segment().tokenizer().FREQ.get(word) or 0) <= _RARE_FREQ


# common in given names although they are also everyday words (邬国栋, 孙家明, 王大伟)
_NAME_OK = frozenset("国家天正大小新年春刚少")


def _name_char(ch: str, lex: _Lex) -> bool:
    """A character that can stand in a given name."""
    return "\u4e00" <= ch <= "\u9fff" and (ch not in lex.stop or ch in _NAME_OK)


def _chinese(s: str, lex: _Lex, bounds: _Bounds) -> list[_Cand]:
    """Every Chinese person-like mention (ours and theirs), without prefixes yet."""
    out: list[_Cand] = []
    # each position is judged on its own; `start_re` finds (in C) the few where a mention can
    # start, in order, so the candidates come out as a scan of every character would give them
    for m in lex.start_re.finditer(s):
        i = m.start()
        ch = s[i]
        if ch in "小老":
            small = _small_old(s, i, lex, bounds)
            if small is not None:
                out.append(small)
        nxt = s[i + 1:i + 2]
        if nxt and (ch == "阿" or ch == nxt or nxt in "姐哥"):  # the shapes `_nickname` looks at
            nick = _nickname(s, i, lex, bounds)
            if nick is not None:
                out.append(nick)
        sn = _surname_at(s, i, lex)
        if sn:
            best = _surnamed(s, i, sn, lex, bounds)
            if best is not None:
                out.append(best)
        elif ch not in lex.stop and ch not in "小老" and _left_edge(s, i):
            best = _unlisted_surname(s, i, lex, bounds)
            if best is not None:
                out.append(best)
    return out


def _small_old(s: str, i: int, lex: _Lex, bounds: _Bounds) -> _Cand | None:
    """小林 / 老王: 小 or 老 at `i` and a one-character surname after it."""
    sn = _surname_at(s, i + 1, lex)
    if not sn or len(sn) != 1:
        return None
    e = i + 2
    start_ok = bounds.start_ok(i) or _after_role_head(s, i, bounds)
    if s[i:e] not in lex.not_names and start_ok and bounds.end_ok(e) and not _nick_is_word(s, e):
        return _Cand(i, i, e, "nick", surname=sn)
    return None


def _after_role_head(s: str, i: int, bounds: _Bounds) -> bool:
    """老/小 right after a role ending in 长 (场长老聂, 机长小蔡): jieba glues 长老 / 长小 into
    one word, so the name starts inside it."""
    return i >= 2 and s[i - 1] == "长" and bounds.token(i - 1) == (i - 1, i + 1)


def _surnamed(s: str, i: int, sn: str, lex: _Lex, bounds: _Bounds) -> _Cand | None:
    """The listed surname `sn` at `i` with a title (王总) or a given name (钱立军经理, 赵敏)."""
    j = i + len(sn)
    # most surname characters are ordinary words here: no title starts in the next three
    title_near = not lex.title_first.isdisjoint(s[j:j + 3])
    m = _title_at(s, j, lex) if title_near else None
    if m:
        if bounds.start_ok(i) and bounds.end_ok(m.end()):
            return _Cand(i, i, m.end(), "title", surname=sn, title=m.group(0))
        return None
    # a full name: only worth the word boundaries when a title follows within two
    # characters or a role / introducing word stands right in front
    titled = title_near and (_title_at(s, j + 1, lex) is not None or _title_at(s, j + 2, lex) is not None)
    named = _named_before(s, i, j, lex)
    g = _given_name(s, j, lex, bounds, 2) if (titled or named) and bounds.start_ok(i) else 0
    if not g:
        return None
    m2 = _title_at(s, j + g, lex)
    # "没弄成禹经理": a one-character given name that is itself a surname is
    # the person only after a clear left edge
    loose = g == 1 and s[j] in lex.single and not _left_edge(s, i)
    if m2 and bounds.end_ok(m2.end()) and m2.group(0) not in ("姐", "哥", "工") and not loose:
        return _Cand(i, i, m2.end(), "full", surname=sn, given=s[j:j + g], title=m2.group(0))
    if named:
        return _Cand(i, i, j + g, "bare", surname=sn, given=s[j:j + g])
    return None


def _title_at(s: str, j: int, lex: _Lex) -> re.Match[str] | None:
    """`title_re.match(s, j)`, without trying the long pattern where no title can start."""
    return lex.title_re.match(s, j) if s[j:j + 1] in lex.title_first else None


def _named_before(s: str, i: int, j: int, lex: _Lex) -> bool:
    """A role or an introducing word right before `i`, or a clear left edge with a verb of
    saying one or two characters after the surname (which ends at `j`)."""
    last = _last_char(s, i)
    return bool((last in _INTRO_LAST and _INTRO_RE.search(s, max(0, i - 6), i))
                or (last in lex.role_last and lex.role_end_re.search(s, max(0, i - 8), i))
                or (_left_edge(s, i) and (_SPEECH_RE.match(s, j + 1) or _SPEECH_RE.match(s, j + 2))))


def _unlisted_surname(s: str, i: int, lex: _Lex, bounds: _Bounds) -> _Cand | None:
    """A surname missing from the list: a one-character word + a strong title, right after a
    clear left edge (start, punctuation, 的/了/跟/和/见 …)."""
    m = lex.strong_title_re.match(s, i + 1)
    if m and bounds.at(i) and bounds.at(i + 1) and bounds.at(m.end()):
        return _Cand(i, i, m.end(), "title", surname=s[i], title=m.group(0))
    return None


def _word_freq(word: str) -> int:
    return _segment().tokenizer().FREQ.get(word) or 0


def _nickname(s: str, i: int, lex: _Lex, bounds: _Bounds) -> _Cand | None:
    """Nicknames whose first character need not be a surname: 阿强, 芳姐 / 军哥, and a doubled
    given name (芳芳).  Each must be a word of its own (not 阿姨, 表姐, 天天: those are dictionary
    words) and 阿X / XX also need a role, a department or an introducing word right in front."""
    ch = s[i]
    nxt = s[i + 1:i + 2]
    if not nxt or not (ch == "阿" or ch == nxt or nxt in "姐哥") or not _name_char(nxt, lex):
        return None
    if not bounds.start_ok(i) or not bounds.end_ok(i + 2):
        return None
    word = s[i:i + 2]
    if word in lex.not_names or _word_freq(word) > _RARE_FREQ or _nick_is_word(s, i + 2):
        return None
    head = s[max(0, i - 8):i]
    last = _last_char(s, i)
    introduced = bool((last in _INTRO_LAST and _INTRO_RE.search(head))
                      or (last in lex.role_last and lex.role_end_re.search(head)))
    if ch == "阿" and (introduced or _left_edge(s, i)):
        return _Cand(i, i, i + 2, "nick", given=nxt)
    if nxt in "姐哥" and _name_char(ch, lex) and ch not in lex.single and (introduced or _left_edge(s, i)):
        return _Cand(i, i, i + 2, "nick", given=ch, title=nxt)
    if ch == nxt and _name_char(ch, lex) and introduced:
        return _Cand(i, i, i + 2, "nick", given=word)
    return None


_LEFT_EDGE_CHARS = frozenset("的了们跟和与给找见约问是说位 " + _CLAUSE_END)


def _left_edge(s: str, i: int) -> bool:
    """Position `i` clearly starts a name: text start, punctuation or a short linking word."""
    return i == 0 or s[i - 1] in _LEFT_EDGE_CHARS


def _nick_is_word(s: str, e: int) -> bool:
    """小时 / 小程序 style words: 小X followed by a character that makes it a word."""
    return e < len(s) and s[e] in "时程区组型批"


# the capital first, then the look back at what stands before it: a pattern that opens with a
# character class lets `re` skip ahead to the next capital instead of trying every position
_EN_RE = re.compile(r"[A-Z](?<![A-Za-z0-9_@.][A-Z])[a-z]{1,11}(?![A-Za-z0-9_])")


def _english(s: str, lex: _Lex) -> list[_Cand]:
    """Capitalised given names, with a romanised surname after them when there is one (Kevin Zhang)."""
    out: list[_Cand] = []
    words = list(_EN_RE.finditer(s))
    used_as_surname: set[int] = set()
    for k, m in enumerate(words):
        if m.start() in used_as_surname:
            continue
        first = m.group(0)
        if first.lower() in lex.english_stop:
            continue
        nxt = words[k + 1] if k + 1 < len(words) else None
        adjacent = nxt is not None and s[m.end():nxt.start()] == " "
        prev_adjacent = k > 0 and s[words[k - 1].end():m.start()] == " " \
            and words[k - 1].group(0).lower() not in lex.english_stop
        if adjacent and nxt is not None and nxt.group(0) in lex.roman_surnames:
            used_as_surname.add(nxt.start())
            out.append(_Cand(m.start(), m.start(), nxt.end(), "en", given=first, surname=nxt.group(0)))
            continue
        if ((adjacent and nxt is not None and nxt.group(0).lower() not in lex.english_stop) or prev_adjacent) \
                and first not in lex.english_names:
            continue  # "Lumina Textiles": a multi-word name of a company or product
        out.append(_Cand(m.start(), m.start(), m.end(), "en", given=first))
    return out


# ------------------------------------------------------------------ context


_CODE_PREFIX_RE = re.compile(r"(?<![A-Za-z])[A-Z]{2,4}(?:部|组)?\s?\Z")


def _prefix_start(s: str, c: _Cand, lex: _Lex, bounds: _Bounds) -> int:
    """Start of the department / role written directly in front of the person (or pstart)."""
    start = _role_start(s, c, lex, bounds)
    if start == c.pstart and c.kind == "en" and s[c.pstart:c.end] in lex.english_names:
        m = _CODE_PREFIX_RE.search(s, max(0, start - 8), start)  # HR Grace: a function code heads a known name
        if m is not None:
            return m.start()
    return start


def _role_start(s: str, c: _Cand, lex: _Lex, bounds: _Bounds) -> int:
    """`_prefix_start` by the department and role patterns."""
    end = c.pstart
    en = c.kind == "en"
    # a prefix ends with one of few characters (then one optional space): most persons have none
    if s[max(0, end - 2):end].rstrip()[-1:] not in (lex.eng_prefix_last if en else lex.prefix_last):
        return end
    pat = lex.eng_prefix_re if en else lex.prefix_re
    # the first of the 16 positions before the person from which the prefix pattern reaches it
    # exactly, then the next: `search` (anchored at `end`) finds them in order
    m = pat.search(s, max(0, end - 16), end)
    while m is not None and m.start() < end:
        k = m.start()
        head = k >= 2 and _ROLE_HEAD.match(s, k) is not None
        edge = bounds.at(k)
        if head and not edge and s[k - 2:k] in _noun_words() and bounds.at(k - 2):
            return k - 2  # one dictionary word: 教务主任
        if edge and not s[k].isspace():
            if head and bounds.token(k - 2) == (k - 2, k) \
                    and _field_word(s[k - 2:k]) and bounds.at(k - 2):
                return k - 2  # any noun names the field of a post: 物业经理, 教务主任, 操作经理
            return k
        m = pat.search(s, k + 1, end)
    return end


_ROLE_HEAD = re.compile(r"(?:经理|主任|主管|总监|组长|专员|负责人)")
# verbs whose object is a person (找经理王伟, 通知主管小李): not the field of the post
_PERSON_OBJECT_VERBS = frozenset("通知 告诉 联系 拜访 约了 见了 找了 问了 请示 汇报 陪同 带着 跟着 打给 发给 交给 转给 "
                                 "介绍 认识 感谢 邀请 答应 提醒 催促 安排 协调 对接 转告".split())


def _field_word(w: str) -> bool:
    """A two-character word that may name the field of a post before its head (物业经理, 操作经理,
    陈列经理): a dictionary noun, or any dictionary word but a verb that takes a person."""
    if w in _noun_words():
        return True
    return w not in _PERSON_OBJECT_VERBS and bool(_segment().tokenizer().FREQ.get(w))


def _noun_words() -> frozenset[str]:
    return _dict_tags()[0]


@lru_cache(maxsize=1)
def _dict_tags() -> tuple[frozenset[str], frozenset[str]]:
    """From jieba's tagged dictionary, read once on first need: two-character common nouns
    (教务, 物业, 车缝: they name a field, never a person) and two- or three-character person
    names starting with a listed surname (李娜, 李强: frequent words that are still names)."""
    from .segment import tokenizer
    nouns: set[str] = set()
    names: set[str] = set()
    single = _lex().single
    try:
        with tokenizer().get_dict_file() as fh:
            for raw in fh:
                parts = raw.decode("utf-8").split()
                if len(parts) != 3:
                    continue
                w, tag = parts[0], parts[2]
                if len(w) == 2 and tag in ("n", "vn", "nz"):
                    nouns.add(w)
                elif tag in ("nr", "nrfg") and 2 <= len(w) <= 3 and w[0] in single:
                    names.add(w)
    except (OSError, AttributeError):  # pragma: no cover - without tags only the lexicon stems work
        pass
    return frozenset(nouns), frozenset(names)


_INTRO_WORDS = "名叫|叫做|叫|名字是|姓名|对接人是|负责人是|联系人是|接口人是|对接人为|负责人为|联系人为|对接人|负责人|联系人|接口人"
_INTRO_RE = re.compile(rf"(?:{_INTRO_WORDS})[：:]?\s?$")
_INTRO_LAST = frozenset([w[-1] for w in _INTRO_WORDS.split("|")] + ["：", ":"])


def _last_char(s: str, i: int) -> str:
    """The last non-space character of the three before `i` ('' if none).  A search up to `i`
    with `_INTRO_RE`, `role_end_re` or `other_org_re` (`…\\s?$`) can only match when this is
    one of the characters their words end with (`_INTRO_LAST`, `role_last`, `other_org_last`):
    after that character come at most the optional space and a final newline.  A cheap test
    that skips most of those long searches."""
    return s[max(0, i - 3):i].rstrip()[-1:]


# a bare full name as the subject of what the customer said (孙晓峰说…, 郑宇表示…)
_SPEECH_WORDS = "说|表示|觉得|认为|反馈|提到|提出|答应|同意|希望|担心|嫌|抱怨|问|回复|确认"
_SPEECH_RE = re.compile(f"(?:{_SPEECH_WORDS})")
_REFERRER_BEFORE = re.compile(r"(?:通过|经由|经过|经)[^" + _SENT_END + "，,]{0,16}$")
_REFERRER_AFTER = re.compile(r"^[^" + _SENT_END + "，,]{0,6}?(?:认识|介绍|引荐|牵线|推荐)")
_REFERRER_DIRECT = re.compile(r"^(?:介绍|推荐|引荐)(?:过来|来|的|给|了我们)")
# "X的吴主任给推了个新客户", "老贺给我介绍了一家新客户": the person hands us a lead
_REFERRAL_AFTER = re.compile(r"^(?:也|还|就|又)?(?:给(?:我们?)?|帮(?:我们?)?忙?|主动)?(?:推|介绍|推荐|引荐|转|牵线)(?:了|过来)?"
                             r"(?:个|一个|一家|家|位|一位|两家|几家)?(?:新的?)?(?:客户|线索|项目|商机|单子)")
_REFERRER_NAMED = re.compile(r"(?:介绍人|推荐人|引荐人)(?:是|为|：|:)?[^，。；,;]{0,8}$")
# "老符介绍认识了…", "蔡经理介绍了一个朋友的厂", "朋友老梁介绍；": the person brings us another party
_INTRODUCES_AFTER = re.compile(r"^(?:也|还|就|又)?(?:给(?:我们?)?|帮(?:我们?)?忙?)?(?:介绍|推荐|引荐|牵线)(?:了)?"
                               r"(?:认识|(?:一|两|几)?(?:家|位)|一?个(?:朋友|客户|同行|老板|厂)|[，。；;,\s]|$)")
_OUR_PREFIX = re.compile(r"^(?:售后|财务|研发|实施|技术支持|客服)")
# 研发 / 财务 alone name a department a customer has too: with a title or an English name
# (研发总监Eric, 研发部Jason, 财务总监) the person is theirs; a nickname or X工 is our colleague
_DEPT_ONLY = re.compile(r"^(?:研发|财务)")
_OUR_FUNC_DE = re.compile(r"(?<![他她们方户])(?:研发|实施|售后|技术支持|客服|技术)的$")
_THEIR_POSSESSIVE = re.compile(r"(?:他们|她们|对方|客户|甲方)(?:的|那边的?)?[^，。；,;\s]{0,5}$")
_THEIR_FIRST = frozenset("他她对客甲")  # `_THEIR_POSSESSIVE` needs one of them
_WEAK_OURS = frozenset(("售后", "财务", "研发", "实施", "技术支持"))
# who may order a colleague with 叫: the rep, or nobody (a clause start)
_COMMANDER = frozenset("我们先再就去便" + _CLAUSE_END + " ")
# a customer's finance head (财务总监吴敏) is theirs; 财务刘会计 is our accountant
_SENIOR_FINANCE = re.compile(r"^财务(?:部)?(?:总监|经理|负责人|主管|VP|总)")
# a person followed by a delivery/visit verb phrase is our colleague doing our task
_OUR_TASK_AFTER = re.compile(r"^(?:把|去|过去|带|送|上门|负责|跟进)")


_SEND_FIRST = frozenset("让派安叫带")  # first characters of `arranged_re`'s verbs


# going to the person (去场里找, 过去找, 当面找) or handing them what goes to a customer (方案, 报价)
_GOING = re.compile(r"(?:去|过去|上门|当面|到|跑)[^，。；]{0,4}$")
_OFFER_HANDED = re.compile(r"把[^，。；]{0,10}?(?:方案|报价|合同|样品|样机|标书|清单|资料|配置单)[^，。；]{0,4}$")


# the rep going over with someone (我跟X一起过去, 我带X去现场, 我派X去车间): a colleague of ours
# (README: 我带售后经理一起上门, 跟技术一起上门)
_WITH_US_BEFORE = re.compile(r"我们?(?:先|再|就|也|会|要|得)?(?:跟|和|同|带|带着|带上|叫上|派)(?:我们|公司)?的?"
                             r"[^，。；;！!？?\s他她客对]{0,8}$")
_GOING_WITH_US_AFTER = re.compile(r"(?:一起|一块儿?|一道)?(?:再)?(?:过去|去|到|上门|进场|跑一趟|来)")


def _toward_customer(s: str, k: int, cue: str) -> bool:
    """找/交给 X at `k` addresses the customer, not a colleague of ours."""
    left = s[max(0, k - 12):k]
    return bool(_GOING.search(left)) if cue == "找" else bool(_OFFER_HANDED.search(left))


def _is_ours(s: str, c: _Cand, lex: _Lex, our_task_people: bool) -> bool:
    a, pre = c.start, s[c.start:c.pstart]
    before = s[max(0, a - 10):a]
    intro = c.kind == "bare" and bool(_INTRO_RE.search(s[max(0, c.pstart - 6):c.pstart]))
    lead = before + pre
    # the sending verb (让, 派, 安排, 叫, 带) must be there for `arranged_re` to match
    m = None if _SEND_FIRST.isdisjoint(lead) else lex.arranged_re.search(lead)
    if m and (not m.group(1).startswith("带") or "我" in lead[:m.start()]):
        # 让/派 + staff sends a colleague; 带 + staff only when the rep is the one who brings them
        return True
    theirs = not _THEIR_FIRST.isdisjoint(before) and bool(_THEIR_POSSESSIVE.search(before))
    if not theirs and _WITH_US_BEFORE.search(s, max(0, a - 14), a) and _GOING_WITH_US_AFTER.match(s, c.end):
        return True  # 我跟技术部老金一起过去, 我带农艺师小廖过去: the rep goes with a colleague
    tail = before[-6:]
    m = lex.our_side_re.search(tail) if _last_char(tail, len(tail)) in lex.our_side_last else None
    if m:
        cue = m.group(0)
        if cue.endswith("叫"):
            # 叫 names the person ("对接人叫小冯", "他们采购叫孙晓峰"); it sends a colleague only
            # after the rep or at a clause start ("叫技术部小郑过去")
            k = a - len(cue)
            return not intro and (k == 0 or s[k - 1] in _COMMANDER)
        if cue in ("找", "交给", "报给") and not pre and c.kind != "nick" and _toward_customer(s, a - len(cue), cue):
            return False  # 过去找丁总再碰一次, 把方案交给田总: we go to them or hand them our offer
        # "他们财务Amy": a department word after the customer's possessive is theirs
        return not (theirs and cue.rstrip("的") in _WEAK_OURS)
    person = s[c.pstart:c.end]
    familiar = c.kind == "nick" or person.endswith(("工", "会计", "出纳"))
    if not theirs:
        if (_OUR_PREFIX.match(pre) and not _SENIOR_FINANCE.match(pre)
                # 研发部Jason / 研发总监Eric: a customer's department with a post or an English name
                and not (_DEPT_ONLY.match(pre) and (c.kind == "en" or len(pre.strip()) > 2))):
            return True
        if familiar and _OUR_FUNC_DE.search(before):
            return True  # "研发的小付", "实施的小冯": our own back office
    if not pre and _OUR_PREFIX.match(person):
        return True
    # "下周三前技术部张工把测试机送过去": a department person doing our task
    return bool(our_task_people and pre and ("部" in pre or "科" in pre)
                and _OUR_TASK_AFTER.match(s[c.end:c.end + 2])
                and re.search(r"(?:前|之前|以前|明天|后天|今天)$", s[max(0, a - 3):a]))


# from a sentence start (no sentence end before it, or one right before it) up to the end of
# the range searched, with no sentence end in between
_SENT_START_RE = re.compile(rf"(?<![^{_SENT_END}])[^{_SENT_END}]*+\Z")


def _sentence_start(s: str, a: int) -> int:
    """Where the sentence holding position `a` starts: just past the last sentence end before it
    (one search, rather than one `rfind` per sentence-end character)."""
    m = _SENT_START_RE.search(s, 0, a)
    return m.start() if m is not None else a  # it always matches, at `a` at the latest


def _is_other_org(s: str, c: _Cand, lex: _Lex, blk: list[tuple[int, int]]) -> bool:
    a = c.start
    sent_start = _sentence_start(s, a)
    before = s[sent_start:a]
    after = s[c.end:c.end + 12]
    tail = before[-14:]
    m = lex.other_org_re.search(tail) if _last_char(tail, len(tail)) in lex.other_org_last else None
    if m:
        org = sent_start + len(before) - len(tail) + m.start()
        # "XX经销商的王总" where XX is the customer: the customer is that distributor
        if not any(y <= org <= y + 1 and x < y for x, y in blk):
            return True
    # 人 ends every word of `_REFERRER_NAMED`: the search only where it is
    if ("人" in tail and _REFERRER_NAMED.search(tail)) or _REFERRER_DIRECT.match(after) \
            or _REFERRAL_AFTER.match(after) or _INTRODUCES_AFTER.match(after):
        return True
    # the short anchored pattern first: the other searches the whole sentence
    return bool(_REFERRER_AFTER.match(after) and _REFERRER_BEFORE.search(before))


def _speech_after(s: str, e: int, bounds: _Bounds) -> bool:
    """A verb of saying follows as a word of its own (孙晓峰说 …, not 温漂问题)."""
    m = _SPEECH_RE.match(s, e)
    return m is not None and bounds.at(m.end())


def _bare_end_ok(s: str, c: _Cand, lex: _Lex, bounds: _Bounds) -> bool:
    """A bare full name must end where a word ends: punctuation or the text end, a follow word
    (说, 负责 …), a word of two or more characters (主动, 今天), a function character (过, 了),
    or the name is itself one dictionary word (孙建国 / 建军) so jieba already drew its edge."""
    e = c.end
    if e >= len(s) or not ("\u4e00" <= s[e] <= "\u9fff") or lex.follow_re.match(s, e):
        return True
    if not bounds.at(e):
        return False
    tok = bounds.token(e)
    if (tok is not None and tok[1] - tok[0] >= 2) or s[e] in lex.stop:
        return True
    whole = bounds.token(c.pstart)
    given_start = c.end - len(c.given)
    given = bounds.token(given_start)
    return (whole is not None and whole[1] == e) or (given is not None and given[1] == e and len(c.given) == 2)


def _valid(s: str, c: _Cand, lex: _Lex, bounds: _Bounds) -> bool:
    """Reject words that only look like names."""
    person = s[c.pstart:c.end]
    if person in lex.brands:
        return False  # 柳工 / 徐工: a brand, listed as a competitor
    if c.kind == "en":
        if c.given not in lex.english_names and not c.surname:
            # a capitalised word that is not a known given name (Vantek, Inlay) is a brand or a
            # product unless a role stands right in front or a word introduces it as a person
            # or it is the subject of a verb of saying (Rosalind说 …)
            head = s[max(0, c.pstart - 6):c.pstart]
            return c.start < c.pstart or bool(_INTRO_RE.search(head)) or _speech_after(s, c.end, bounds)
        return True
    if person in lex.not_names or person[:2] in lex.not_names:
        return False
    if c.kind == "nick" and person in lex.not_names:
        return False
    if c.kind == "bare":
        # a bare full name needs a role in front or a word that introduces a person
        pre = s[c.start:c.pstart]
        head = s[max(0, c.pstart - 6):c.pstart]
        if not (_INTRO_RE.search(head) or (pre and lex.role_end_re.search(pre)) or lex.role_end_re.search(head)
                or (_left_edge(s, c.pstart) and _speech_after(s, c.end, bounds))):
            return False
        if not _bare_end_ok(s, c, lex, bounds):
            return False
    return True


# ------------------------------------------------------------------ phones / WeChat

_MOBILE = r"(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}"
_LANDLINE = r"(?:\(?0\d{2,3}\)?[\s-]?)\d{3,4}[\s-]?\d{4}(?:\s*(?:转|ext\.?|EXT\.?|x|分机|-)\s*\d{1,5})?"
_PHONE_RE = re.compile(rf"(?<![\d+])(?:{_MOBILE}|{_LANDLINE})(?!\d)")
_WECHAT_RE = re.compile(r"(?:微信号?|WeChat|wechat|Wechat|vx|VX|wx|WX|V信)\s*(?:号)?\s*(?:是|为|:|：)?\s*"
                        r"([A-Za-z][A-Za-z0-9_-]{4,19}|1[3-9]\d{9})(?![A-Za-z0-9_-])")


# three digits, 微信, wx / WX / vx / VX, V信 or WeChat: the first character is matched first (a
# pattern opening with a class lets `re` skip ahead) and the rest of the word after it
_MAYBE_PHONE = re.compile(r"[\d微wWvV](?:(?<=\d)\d\d|(?<=微)信|(?<=w)x|(?<=W)X|(?<=v)x|(?<=V)[X信]|(?<=[Ww])e[Cc]hat)")


def normalize_phone(raw: str) -> str:
    """Digits only; +86/86 before a mobile dropped; an extension as '-N' (02158881234-8)."""
    ext = ""
    m = re.search(r"(?:转|ext\.?|EXT\.?|x|分机)\s*(\d{1,5})$", raw)
    body = raw
    if m:
        ext, body = m.group(1), raw[:m.start()]
    digits = re.sub(r"\D", "", body)
    if not m and raw.lstrip("(").startswith("0"):
        # "021-5888-1234-8": a trailing 1-5 digit group after a full number is an extension
        g = re.findall(r"\d+", body)
        if len(g) >= 3 and len(g[-1]) <= 5 and len("".join(g[:-1])) >= 10:
            ext, digits = g[-1], "".join(g[:-1])
    if len(digits) == 13 and digits.startswith("86") and digits[2] == "1":
        digits = digits[2:]
    return digits + (f"-{ext}" if ext else "")


def find_phones(text: str, folded: str | None = None) -> list[tuple[Span, str, str]]:
    """(span, kind 'phone'|'wechat', normalised value) for every phone / WeChat id in the note."""
    s = folded if folded is not None else fold(text)
    out: list[tuple[Span, str, str]] = []
    for m in _WECHAT_RE.finditer(s):
        out.append((Span(m.start(), m.end()), "wechat", m.group(1)))
    for m in _PHONE_RE.finditer(s):
        if any(sp.start <= m.start() < sp.end for sp, _, _ in out):
            continue
        val = normalize_phone(m.group(0))
        if len(val.split("-")[0]) >= 10:
            out.append((Span(m.start(), m.end()), "phone", val))
    out.sort(key=lambda x: x[0].start)
    return out


# ------------------------------------------------------------------ main


@lru_cache(maxsize=32)
def _analyse(text: str, blocked: tuple[tuple[int, int], ...], our_task_people: bool,
             customer_named: bool = True) -> tuple[tuple[Span, ...], tuple[Contact, ...]]:
    lex = _lex()
    s = fold(text)
    bounds = _Bounds(s)
    phones = find_phones(text, s) if _MAYBE_PHONE.search(s) else []
    blk = list(blocked) + [(sp.start, sp.end) for sp, _, _ in phones]
    cands = [c for c in _chinese(s, lex, bounds) + _english(s, lex) if not _hit(c.pstart, c.end, blk)]
    if not cands:
        return (), ()
    # overlapping mentions: keep the longest person part (钱立军经理 over 军经理)
    cands.sort(key=lambda c: (-c.plen, c.pstart))
    chosen: list[_Cand] = []
    for c in cands:
        if all(c.end <= o.pstart or c.pstart >= o.end for o in chosen):
            chosen.append(c)
    chosen.sort(key=lambda c: c.pstart)
    for c in chosen:
        k = _prefix_start(s, c, lex, bounds)
        if not _hit(k, c.pstart, blk):
            c.start = k
        elif k < c.pstart - 1 and s[c.pstart - 1] in "部科室处" and bounds.at(k) \
                and all(x < k and y == c.pstart - 1 for x, y in blk if not (c.pstart <= x or k >= y)):
            # a customer mention that swallowed the head of a department word (海之X设备|科):
            # the department is still one word written right in front of the person
            c.start = k
    chosen = _roles_taken_for_persons(chosen)
    ok = [_valid(s, c, lex, bounds) for c in chosen]
    mentions = tuple(c.span() for c, v in zip(chosen, ok) if c.kind != "bare" or v)
    valid = [c for c, v in zip(chosen, ok) if v]
    # one person, one verdict: 同事老钱 … 老钱说 is our colleague both times
    away = {id(c) for c in valid if _is_ours(s, c, lex, our_task_people) or _is_other_org(s, c, lex, blk)
            or (not customer_named and _takes_our_paperwork(s, c))}
    merged = [c for c in _dedupe(s, valid) if not any(id(x) in away for x in c.group)]
    contacts = tuple(_attach(text, s, merged, phones))
    return mentions, contacts


def _roles_taken_for_persons(chosen: list[_Cand]) -> list[_Cand]:
    """A title mention written right in front of a person whose role prefix reaches into it was
    that person's role read as a surname and a title (车|队长 in 车队长侯师傅, 陈|列经理 in
    陈列经理Joyce): one contact, the role and the person."""
    out: list[_Cand] = []
    for c in chosen:
        p = out[-1] if out else None
        if p is not None and p.title and p.end == c.pstart and c.start < p.end:
            c.start = p.start
            c._span = None
            out[-1] = c
        else:
            out.append(c)
    return out


# 把排期发给吕经理, 交给行政部的小吕, 跟侯经理汇报一下: in a note that names no customer, whoever
# takes our paperwork or hears our report is a colleague
_HANDED_TO_RE = re.compile(r"(?:发给|交给|给到|汇总给|报给|提交给|转给|抄送给?|报送给?)(?:[^，。；;\s]{0,6}?的)?\s?$")
_REPORT_AFTER_RE = re.compile(r"(?:汇报|报一下|报告一下|请示|过目|审批|批一下)")


def _takes_our_paperwork(s: str, c: _Cand) -> bool:
    """Is `c` where our paperwork goes (发给/交给 X) or whom we report to (跟 X 汇报)?"""
    before = s[max(0, c.start - 12):c.start]
    return bool(_HANDED_TO_RE.search(before)) or (
        before.endswith(("跟", "和", "向", "找")) and _REPORT_AFTER_RE.match(s, c.end) is not None)


def _hit(a: int, b: int, blk: list[tuple[int, int]]) -> bool:
    """[a, b) overlaps a blocked span (an empty range: lies inside one)."""
    return any(x < b and a < y for x, y in blk)


def _same_person(a: _Cand, b: _Cand, s: str) -> bool:
    """b is another mention of a (a is at least as complete)."""
    ta, tb = s[a.pstart:a.end], s[b.pstart:b.end]
    if a.kind == "en" or b.kind == "en":
        return a.kind == b.kind and a.given == b.given and (not b.surname or a.surname == b.surname)
    if ta == tb or s[a.start:a.end].endswith(s[b.start:b.end]):
        return True
    if a.surname != b.surname:
        return False
    if a.given and b.given:
        return a.given == b.given
    return bool(a.given) and not b.given


def _dedupe(s: str, items: list[_Cand]) -> list[_Cand]:
    """One entry per person: the most complete form, in order of first mention."""
    if len(items) == 1:  # the usual note: one person, nothing to merge
        c = items[0]
        c.spans, c.group = [c.span()], [c]
        return [c]
    # the full names per surname: a bare 钱总 only merges when one full name has that surname
    fulls: dict[str, set[str]] = {}
    for c in items:
        if c.given and c.kind != "en":
            fulls.setdefault(c.surname, set()).add(c.given)
    groups: list[list[_Cand]] = []
    for c in items:
        for g in groups:
            rep = max(g, key=lambda x: _rank(s, x))
            a, b = (rep, c) if _rank(s, rep) >= _rank(s, c) else (c, rep)
            if (not b.given and b.kind != "en" and len(fulls.get(b.surname, ())) > 1
                    and not s[a.start:a.end].endswith(s[b.start:b.end])):
                continue
            if _same_person(a, b, s):
                g.append(c)
                break
        else:
            groups.append([c])
    out = []
    for g in groups:
        best = max(g, key=lambda x: _rank(s, x))
        first = min(x.start for x in g)
        best.spans = [x.span() for x in g]
        best.group = g
        out.append((first, best))
    return [c for _, c in sorted(out, key=lambda x: x[0])]


def _rank(s: str, c: _Cand) -> tuple[int, int, int]:
    """Completeness: a full name beats a title form; then the longer string; then the earlier."""
    return (1 if (c.given and c.kind != "en") or c.surname else 0, c.end - c.start, -c.start)


def _attach(text: str, s: str, items: list[_Cand], phones: list[tuple[Span, str, str]]) -> list[Contact]:
    """Contacts with the phone / WeChat written right after one of their mentions."""
    got: dict[int, dict[str, str]] = {}
    for sp, kind, val in phones:
        best: tuple[int, int] | None = None  # (distance, item index)
        for idx, c in enumerate(items):
            for m in c.spans:
                if m.end <= sp.start:
                    gap = s[m.end:sp.start]
                    dist = len(gap)
                elif sp.end <= m.start:
                    gap = s[sp.end:m.start]
                    dist = len(gap) + 12  # a number before the name: only when very close
                else:
                    continue
                if dist > 24 or any(ch in _SENT_END for ch in gap):
                    continue
                if best is None or dist < best[0]:
                    best = (dist, idx)
        if best is not None:
            got.setdefault(best[1], {}).setdefault(kind, val)
    return [Contact(text[c.start:c.end], c.span(),
                    phone=got.get(i, {}).get("phone"), wechat=got.get(i, {}).get("wechat"))
            for i, c in enumerate(items)]


def _key(blocked: Iterable[Span]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted((b.start, b.end) for b in blocked))


def mention_spans(text: str, blocked: Iterable[Span] = ()) -> list[Span]:
    """Spans of every person-like mention (ours and theirs, repeats included)."""
    return list(_analyse(text, _key(blocked), True)[0])


def find_contacts(text: str, blocked: Iterable[Span] = (), *, our_task_people: bool = True,
                  customer_named: bool = True) -> list[TextItem]:
    """Customer-side contacts in order of first mention; `blocked` spans (customer, dates) are skipped.
    `customer_named` False (the note names no customer, e.g. a memo): whoever takes our paperwork
    or hears our report is a colleague.

    Each item is a `Contact` (a `TextItem` with `phone` and `wechat`); the list is typed as
    `TextItem` so callers and `FollowUpDraft.contacts` keep their types."""
    return list(_analyse(text, _key(blocked), our_task_people, customer_named)[1])
