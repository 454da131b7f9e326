"""Competitors (README §2 competitors).

Competitors are found by HOW a note talks about them, not by a brand list: comparison (比X贵,
跟X比), incumbency (现在用的是X), loss and choice (选了X, 被X抢了), quoting (X给的价), channels
(找X的代理) and trouble at the incumbent (X掉链子).  The constructions live in
lexicon/competitor_cues.txt as regexes with a brand slot X.  The slot only says where a brand
starts or ends; its other boundary comes from jieba tokens (an unseen brand is split into
single characters, while the words around it are dictionary words) and from delimiters such as
的 / 那边 / punctuation.  Every candidate is then checked: not the customer or a contact
(`blocked`), not ours (我们的X), not a pronoun, person, region, country, time word, number,
department or generic noun (lexicon/competitor_stop.txt, the industry and region lexicons).

After the constructions, a learned second look (competitor_model.py) scores every short stretch
of the note's tokens by the words around it and its own shape, with a default gazetteer of
well-known brands (lexicon/competitor_brands*.txt) as one piece of evidence among others; what it
is sure of is added after the same form checks (`_form_ok`).

Brands the company lists (lexicon/competitors.txt) or passes in `known` are found wherever they
occur; once a brand is found, the note's other mentions are the same competitor: it is listed
once, as first written, in the order of first mention.  A cue runs only when the note holds one
word of each of its mandatory word groups (speed).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import ModuleType

from . import competitor_model
from .lexload import _lines, load_list
from .regexgate import CueIndex, with_lead
from .types import Span, TextItem

# Slot used by cue_patterns() (pains.py matches clauses with it): 2-5 CJK chars without function
# characters, or a Latin word, as before.
_FUNC = "的了和是给比在也都就还说要跟与及对把被让向这那们我你他她它个些很太更最又再已呢吧啊吗"
BRAND = rf"(?:[A-Za-z][A-Za-z0-9&\-]{{1,20}}|[^\W\d_{_FUNC}a-zA-Z]{{2,5}})"
# Slot used for finding: lazy, so a slot bounded on both sides takes the shortest fill.
_SLOT = r"(?:(?:\d{1,2}[A-Z]|[A-Za-z])[A-Za-z0-9&.\-]{0,20}|[^\W\d_A-Za-z]{2,10}?)"

_MAX_CJK = 6  # longest CJK brand taken from a one-sided construction
# PRICED in a cue: what follows within the clause is a price (报了六十万, 报的价, 报得低), so 报 is
# a quote; 报了一次故障 and 申报的进度 are not
_PRICED = (r"[^，。；;！!？?\s]{0,6}?(?:[\d一二两三四五六七八九十几百千万.]+(?:万|千|块|元|毛|w|W|k|K)"
           r"|价|折|个点|低|高|便宜|贵)")
_MAX_LATIN = 24

# Tokens that end a brand slot: grammar, not data (particles, pronouns, adverbs, prepositions,
# light verbs that follow a subject).
_BREAK_TOKENS = frozenset(
    "的 地 得 了 着 过 是 和 跟 与 及 同 对 把 被 让 向 给 比 在 也 都 就 还 又 再 才 只 已 很 太 更 最 "
    "说 讲 问 要 想 会 能 可 没 不 别 让 用 买 卖 上 下 中 里 内 外 前 后 这 那 哪 其 该 此 某 每 各 叫 名叫 有家 一家 做 来做 整体 "
    "我 你 他 她 它 们 个 些 家 边 方 等 呢 吧 啊 吗 嗯 呃 哦 么 嘛 呀 啦 "
    "看 找 问 试 听 聊 谈 送 拿 换 测 讲 挺 蛮 算 像 嫌 怕 觉得 认为 担心 反映 表示 "
    "那边 这边 那家 这家 方面 这里 那里 他们 她们 我们 你们 咱们 人家 对方 自己 "
    "报 报价 报了 给了 开价 出价 签 签了 选 选了 定 定了 中标 拿下 抢 抢了 "
    "但是 但 然后 而且 所以 因为 因此 不过 可是 就是 还是 或者 以及 并且 如果 要是 虽然 其实 另外 "
    "现在 目前 之前 以前 原来 去年 今年 明年 前年 最近 后来 当时 一直 已经 最后 最终 结果 "
    "一共 总共 大概 大约 差不多 左右 只要 只有 都是 也是 主要 基本 全部 统一 同时 直接 一起 "
    "产品 设备 系统 服务 价格 单价 供货 现货 代理 品牌 型号 方案 项目 合同 质量 "
    # measure words (那批货, 两台机器)
    "批 台 套 款 种 只 件 条 张 支 根 箱 桶 吨 位 名 次 遍 轮 份 趟".split()
)
# one-char delimiters that also occur inside brand names (汉和, 途家智联, 华中): kept when the
# brand goes on past them, or when they join a single first piece
_JOINABLE = frozenset("和同中上下方家可能会内外前后")
_INNER = frozenset("家中")
_LEADING = frozenset("中上")
# a short Latin code in front of a Chinese name (KDS零售云, YQ安防, i人事)
_CODE_RE = re.compile(r"^(?:[A-Z]{1,4}|[a-z])$")
_NUMERAL_PIECES = frozenset("一二两三四五六七八九十几半每")
# digits + capitals (3M): a brand; but not a unit or a generation (5G, 4K, 3D)
_DIGIT_BRAND_RE = re.compile(r"^\d{1,2}[A-Z]{1,4}$")
_UNIT_TAIL = frozenset("G K D T W V A P L X KW KV MW GB TB MB KG HP".split())
# an approximate amount (将近一成, 差不多六万) or a distributive (每公斤, 每米) is no brand
_APPROX_RE = re.compile(r"^(?:将近|接近|大约|大概|约|近|差不多|不到|超过|至少|起码)|每"
                        r"|[\d一二两三四五六七八九十百千万]+(?:成|个|点|倍|块|元|万|千|百|%)$")
_PUNCT_RE = re.compile(r"[\W_]")
_NUM_RE = re.compile(r"^[\d一二两三四五六七八九十百千万亿几半多]+[个年月天周次台套家块元批款种位成点号期轮遍把只吨件楼层座寸米瓦头人辆箱桶]"
                     r"|^[\d一二两三四五六七八九十百千万亿几半多]*[十百千万亿几半多两][\d一二两三四五六七八九十百千万亿几半多]*$"
                     r"|^[\d一二两三四五六七八九十]{3,}$")
# last characters of product categories (石膏板, 输液泵, 平板机): a category is not a brand
_CATEGORY_END = frozenset("机器泵板柜仪剂管阀床表灯箱罐炉椅屏瓶袋肥漆砖胶液粉片线件模架台桶膜纸布盒灶墨装")
_TIME_RE = re.compile(r"^(?:上|下|这|本|今|明|去|前|后|每|头|当)(?:次|周|个|月|年|天|回|季度|礼拜|星期|阵|半年|一次)")
_ORG_UNIT_RE = re.compile(r"(?:部|科|处|室|组|办|中心|车间|团队|部门)$")
_FIRST_PERSON_RE = re.compile(r"(?:我们|咱们|我司|我方|本公司|我们公司|自己|自家)(?:的|家的|自己的|家)?(?:新|老)?$")
_TRIM_TAIL_RE = re.compile(r"(?:那边|这边|那家|这家|家的|家|的|公司|集团|品牌|牌子|这块|方面"
                           # trouble or state words glued to an unpunctuated brand (恒X断供)
                           r"|断供|断货|缺货|停产|倒闭|跑路|涨价|降价|爆雷|撤了|掉链子|出问题|不行"
                           # a price verb or adjective glued to an unpunctuated brand (拓越贵, 鸿合报)
                           r"|贵|便宜|报|报价|开价"
                           # an edition or a channel word after the brand (X行业版, X直供)
                           r"|行业版|企业版|专业版|标准版|旗舰版|直供|直营|旗下)$")
_LATIN_STOP = frozenset(
    "poc po ok it bi crm erp saas demo pk vs epc mes wms his lis pacs oa hr sku kpi roi api sdk "
    "ai iot app pc ppt pdf excel word email wifi vip ceo cto cfo gm boss mv kv cad cae bom plc "
    "dcs scada ups led lcd usb gps rfid ota esg iso ce fda gmp cnas ab ba tob toc b2b b2c "
    "meeting call online offline sample quote price order deal pilot trial test model".split()
)


@dataclass(frozen=True, slots=True)
class _Cue:
    """One construction: its regex and which boundary of X it fixes."""

    pat: re.Pattern[str]
    left_fixed: bool  # the brand starts right where X starts
    right_fixed: bool  # the brand ends right where X ends
    gate: str  # the cue with its slots emptied: the literal words a note must contain




def _raw_cues() -> list[str]:
    return list(_lines("competitor_cues.txt"))


@lru_cache(maxsize=1)
def _aspect_alt(guard: bool = False) -> str:
    """ASPECT: nouns that may stand between a brand and a comparison (X的价格低).  `guard` puts
    a one-character look-ahead in front, so a position no aspect starts at fails at once."""
    words = load_list("competitor_aspects.txt")
    if not words:
        return "(?!)"
    alt = "(?:" + "|".join(map(re.escape, words)) + ")"
    firsts = "".join(sorted({re.escape(w[0]) for w in words}))
    return f"(?=[{firsts}]){alt}" if guard else alt


@lru_cache(maxsize=1)
def _aspects() -> frozenset[str]:
    return frozenset(load_list("competitor_aspects.txt"))


@lru_cache(maxsize=1)
def _long_aspects() -> tuple[str, ...]:
    """Aspects of 2+ chars as a tuple, so one `str.startswith` call tests them all."""
    return tuple(w for w in load_list("competitor_aspects.txt") if len(w) >= 2)


@lru_cache(maxsize=1)
def _dept_stems() -> frozenset[str]:
    """Department stems as a set: membership is tested per candidate."""
    return frozenset(load_list("dept_stems.txt"))


@lru_cache(maxsize=1)
def _dept_stem_lengths() -> tuple[int, ...]:
    """Lengths of the department stems, longest first (the order `load_list` gives them)."""
    return tuple(sorted({len(d) for d in _dept_stems()}, reverse=True))


@lru_cache(maxsize=1)
def _cues() -> tuple[_Cue, ...]:
    out: list[_Cue] = []
    aspect, guarded = _aspect_alt(), "(?:" + _aspect_alt(guard=True) + ")"
    for raw in _raw_cues():
        gate = raw.replace("ASPECT", aspect).replace("(?P<X>BRAND)", "").replace("BRAND", "").replace(
            "(?=PRICED)", "")
        src = raw.replace("ASPECT", guarded).replace("PRICED", _PRICED)
        starts = src.startswith("(?P<X>BRAND)")
        ends = src.endswith("(?P<X>BRAND)")
        if starts and not ends:  # X before the cue: an empty anchor where the brand ends
            pat = src.replace("(?P<X>BRAND)", "(?P<X>)", 1)
        elif ends and not starts:  # X after the cue: an empty anchor where the brand starts
            pat = src[: -len("(?P<X>BRAND)")] + "(?P<X>)"
        else:
            pat = src.replace("BRAND", _SLOT)
        out.append(_Cue(re.compile(with_lead(pat)), left_fixed=not starts, right_fixed=not ends, gate=gate))
    return tuple(out)


@lru_cache(maxsize=1)
def _cue_index() -> CueIndex:
    return CueIndex([c.gate for c in _cues()])


@lru_cache(maxsize=1)
def _stop() -> tuple[frozenset[str], tuple[str, ...]]:
    """Stop words, and those of 2+ chars that may not start or end a brand either (a tuple,
    so one `str.startswith` / `str.endswith` call tests them all)."""
    words = frozenset(load_list("competitor_stop.txt"))
    return words, tuple(w for w in words if len(w) >= 2)


@lru_cache(maxsize=1)
def _known_re() -> re.Pattern[str] | None:
    known = load_list("competitors.txt")
    return re.compile("|".join(map(re.escape, known))) if known else None


@lru_cache(maxsize=1)
def _titles() -> tuple[frozenset[str], frozenset[str]]:
    """Contact titles and surnames: 王总 / 李经理 / 小赵 are people, not brands."""
    return frozenset(load_list("contact_titles.txt")), frozenset(load_list("surnames.txt"))


# Modules imported on first use (jieba and pypinyin load slowly) and then kept: an import
# statement inside a function costs microseconds on every call.
@lru_cache(maxsize=1)
def _segment() -> ModuleType:
    from . import segment

    return segment


@lru_cache(maxsize=1)
def _normalize() -> ModuleType:
    from . import normalize

    return normalize


@lru_cache(maxsize=1)
def _contacts() -> ModuleType:
    from . import contacts

    return contacts


def cue_patterns() -> list[re.Pattern[str]]:
    """The competitor cue patterns (group X = the brand), for pain spans that name a competitor."""
    return list(_pain_patterns())


@lru_cache(maxsize=1)
def _pain_patterns() -> tuple[re.Pattern[str], ...]:
    aspect = _aspect_alt()
    return tuple(re.compile(r.replace("ASPECT", aspect).replace("BRAND", BRAND).replace("PRICED", _PRICED))
                 for r in _raw_cues())


# ---------------------------------------------------------------- tokens

# jieba part-of-speech tags of words that cannot continue a brand once it has two characters
# (掉线|华为: a verb in front of an unpunctuated brand)
_FUNCTION_TAGS = frozenset("v vd ad d a t m mq r p c u uj ul uz ug uv ud f q y e o z".split())
# tags of words that cannot even start a brand (不太, 将近, 一些); verbs and adjectives can (联想)
_GRAMMAR_TAGS = frozenset("vd ad d t m mq r p c u uj ul uz ug uv ud f q y e o z".split())


@lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    return _dict_words()[0]


@lru_cache(maxsize=1)
def _grammar_words() -> frozenset[str]:
    return _dict_words()[1]


@lru_cache(maxsize=1)
def _dict_words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Multi-char verbs, adverbs, adjectives, time words … of jieba's dictionary; those of them
    that cannot start a brand; and its verbs (v, vn: 演示, 联动), which are no brand alone.

    Read once from jieba's dict.txt (its tags are not in the tokenizer's cache) and pickled next
    to the tokenizer cache, so later processes load it in a few milliseconds.
    """
    import os
    import pickle

    from .segment import _cache_dir, tokenizer

    dict_file = tokenizer().get_dict_file()
    path = os.path.join(_cache_dir(), "salesbot.function_words.v3.pickle")
    try:
        with open(path, "rb") as fh:
            cached = pickle.load(fh)
        if isinstance(cached, tuple) and len(cached) == 3:
            return cached
    except (OSError, pickle.PickleError, EOFError):
        pass
    words, grammar, verbs = set(), set(), set()
    with dict_file as fh:
        for raw in fh:
            parts = raw.decode("utf-8").split()
            if len(parts) < 3 or len(parts[0]) < 2:
                continue
            if parts[2] in ("v", "vn"):
                verbs.add(parts[0])
            if parts[2] in _FUNCTION_TAGS:
                words.add(parts[0])
                if parts[2] in _GRAMMAR_TAGS:
                    grammar.add(parts[0])
    out = (frozenset(words), frozenset(grammar), frozenset(verbs))
    try:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as fh:
            pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass
    return out


class _Tokens:
    """jieba tokens of one note, looked up by offset (built only when a cue fires)."""

    def __init__(self, view: competitor_model.NoteView) -> None:
        """The tokens of the learned model's view of the note (one segmentation, one copy)."""
        self.text = view.text
        self.toks = view.toks
        self.start_at = dict(zip(view.starts, range(len(view.starts))))
        self.end_at = dict(zip(view.ends, range(len(view.ends))))

    @cached_property
    def words(self) -> frozenset[str]:
        """The note's dictionary words (机型, 耗材): nouns, not unseen brands.  Built on first
        use: only a slot right after 的 asks for them."""
        freq = _segment().tokenizer().FREQ
        return frozenset(t for t, _, _ in self.toks if len(t) >= 2 and freq.get(t))

    def covering(self, pos: int) -> int | None:
        """Index of the CJK token that `pos` falls strictly inside."""
        for k, (t, s, e) in enumerate(self.toks):
            if s < pos < e:
                return None if t.isascii() else k
            if s >= pos:
                break
        return None


def _is_break(tok: str) -> bool:
    return tok in _BREAK_TOKENS or bool(_PUNCT_RE.search(tok)) or tok[0].isdigit()


def _admissible(tok: str, n: int, beyond: str | None = None) -> bool:
    """May `tok` extend a CJK brand of `n` chars?  A one-char function piece may follow a single
    first piece (汉|和 -> 汉和), since a brand has at least two characters, and 家/中 may sit
    inside an unseen brand when another single piece follows (途|家|智联).  No brand starts with
    an adverb, pronoun, numeral or time word (不太, 将近)."""
    if tok.isascii():
        return False
    if not _is_break(tok):
        if n == 0:
            return not (len(tok) >= 2 and (tok in _grammar_words() or tok[0] in "不没别未"))
        return not (n >= 2 and len(tok) >= 2 and (tok in _function_words() or tok in _aspects()))
    if len(tok) != 1 or tok not in _JOINABLE:
        return False
    lone_piece_next = beyond is not None and len(beyond) == 1 and not _is_break(beyond)
    if n == 0:  # 中|牧, 上|药: a brand may start with 中 / 上 when a lone piece follows (not 上|一|版)
        return tok in _LEADING and lone_piece_next and beyond not in _NUMERAL_PIECES
    return n == 1 or (tok in _INNER and lone_piece_next)


def _cap_word(tok: str) -> bool:
    """A capitalised Latin word that can be part of a multi-word brand (not POC, not Demo)."""
    return tok.isascii() and tok[:1].isupper() and tok.isalnum() and tok.lower() not in _LATIN_STOP


def _walk_right(tk: _Tokens, a: int) -> tuple[int, int] | None:
    """Brand starting at `a`: tokens up to a delimiter; an unseen brand is a run of pieces."""
    i = tk.start_at.get(a)
    toks = tk.toks
    if i is None:  # 给了弘|科比: the cue word was glued to the brand's edge; cut the token there
        k = tk.covering(a)
        if k is None:
            return None
        t, s, e = toks[k]
        if t[: a - s] not in _BREAK_TOKENS:  # only a grammar word glues to a brand (弘科|比 -> 科比)
            return None
        toks, i = [(t[a - s :], a, e), *toks[k + 1 :]], 0
    first = toks[i][0]
    if first.isascii():
        if not first.isalnum():
            return None
        j = i  # a brand of capitalised words (Atlas Copco)
        while j + 2 < len(toks) and j - i < 4 and toks[j + 1][0] == " " and _cap_word(toks[j + 2][0]) \
                and _cap_word(first):
            j += 2
        return a, toks[j][2]
    end, n = a, 0
    j = i
    while j < len(toks):
        tok, s, e = toks[j]
        if not _admissible(tok, n, toks[j + 1][0] if j + 1 < len(toks) else None):
            break
        end, n = e, n + len(tok)
        if n > _MAX_CJK:
            return _first_word(toks, i)
        j += 1
    return (a, end) if n >= 2 else None


def _walk_left(tk: _Tokens, b: int) -> tuple[int, int] | None:
    """Brand ending at `b`: tokens back to a delimiter."""
    i = tk.end_at.get(b)
    toks = tk.toks
    if i is None:  # 蓝|象是: glued to the cue word
        k = tk.covering(b)
        if k is None:
            return None
        t, s, e = toks[k]
        if t[b - s :] not in _BREAK_TOKENS:
            return None
        toks, i = [*toks[:k], (t[: b - s], s, b)], k
    last = toks[i][0]
    if last.isascii():
        if not last.isalnum():
            return None
        j = i
        while j >= 2 and i - j < 4 and toks[j - 1][0] == " " and _cap_word(toks[j - 2][0]) and _cap_word(last):
            j -= 2
        return toks[j][1], b
    start, n = b, 0
    j = i
    while j >= 0:
        tok, s, e = toks[j]
        if not _admissible(tok, n, toks[j - 1][0] if j > 0 else None):
            break
        start, n = s, n + len(tok)
        if n > _MAX_CJK:
            return _last_word(toks, i)
        j -= 1
    if n >= 2 and j >= 0 and toks[j][2] == start and _CODE_RE.match(toks[j][0]):
        start = toks[j][1]  # YQ|安防, HX|电子: a Latin code heads the name
    return (start, b) if n >= 2 else None


def _first_word(toks: list[tuple[str, int, int]], i: int) -> tuple[int, int] | None:
    """No delimiter in reach: the first dictionary word, or the run of single pieces."""
    tok, s, e = toks[i]
    if len(tok) >= 2:
        return s, e
    j = i
    while j < len(toks) and len(toks[j][0]) == 1 and not _is_break(toks[j][0]):
        j += 1
    return (s, toks[j - 1][2]) if j - i >= 2 else None


def _last_word(toks: list[tuple[str, int, int]], i: int) -> tuple[int, int] | None:
    tok, s, e = toks[i]
    if len(tok) >= 2:
        return s, e
    j = i
    while j >= 0 and len(toks[j][0]) == 1 and not _is_break(toks[j][0]):
        j -= 1
    return (toks[j + 1][1], e) if i - j >= 2 else None


def _bounded(tk: _Tokens, a: int, b: int) -> tuple[int, int] | None:
    """A slot fixed on both sides: it must be whole tokens, none of them a delimiter."""
    if a not in tk.start_at:
        return None
    if b in tk.end_at:
        toks = tk.toks[tk.start_at[a] : tk.end_at[b] + 1]
    else:  # 比怡|宝贵: the cue word was glued to the brand; read the slot on its own
        toks = [(t, a + s, a + e) for t, s, e in _segment().token_spans(tk.text[a:b])]
    if len(toks) > 1 and _CODE_RE.match(toks[0][0]) and toks[1][1] == toks[0][2] \
            and not any(t.isascii() for t, _, _ in toks[1:]):
        toks = toks[1:]  # KDS|零售云: a Latin code heads the name; the rest is read below
    elif any(t.isascii() for t, _, _ in toks) and not all(t.isascii() for t, _, _ in toks):
        return None
    elif toks[0][0].isascii():
        return (a, b) if len(toks) == 1 else None
    n = 0
    for k, (t, _, _) in enumerate(toks):
        if not _admissible(t, n, toks[k + 1][0] if k + 1 < len(toks) else None):
            return None
        n += len(t)
    return a, b


# ---------------------------------------------------------------- validation

def _blocked_names(text: str, blocked: list[tuple[int, int]]) -> list[str]:
    """Customer / contact strings (and the customer's bare brand) that no competitor may contain."""
    out: list[str] = []
    if not blocked:
        return out
    parse_name = _normalize().parse_name
    for s, e in blocked:
        name = text[s:e].strip()
        if len(name) < 2:
            continue
        out.append(name)
        try:
            brand = parse_name(name).brand
        except Exception:  # noqa: BLE001  # a name the parser cannot read still blocks itself
            brand = ""
        if brand and len(brand) >= 2 and brand != name:
            out.append(brand)
    return out


@lru_cache(maxsize=4096)
def _is_person(x: str) -> bool:
    """王总 / 李经理 / 小赵 (cached: the same strings come back in every note)."""
    titles, surnames = _titles()
    n = len(x)
    # a title is a suffix of x with at most 3 characters before it: look the suffixes up
    for k in range(max(1, n - 3), n + 1):
        if x[n - k :] in titles:
            head = x[: n - k]
            if not head or head[0] in surnames or head[:2] in surnames or head[0] in "小老":
                return True
    if n >= 4:
        stems = _dept_stems()
        for k in _dept_stem_lengths():  # longest stem first, as the stem list is ordered
            if k <= n and x[:k] in stems and _is_person(x[k:]):
                return True  # 行政小唐, 技术部老王: a colleague named with a department
    return n <= 3 and x[0] in "小老阿" and x[1] in surnames


_PLACE_ENDS = ("园区", "厂区", "小区", "开发区", "工业区", "新区", "景区", "校区", "院区", "社区", "商圈")


def _is_place_or_category(x: str) -> bool:
    nz = _normalize()
    if nz.region_info(x) is not None or x.endswith(_PLACE_ENDS):
        return True
    lx = nz.lexicon()
    if x in lx.industry:
        return True
    region, rest = nz.split_region_prefix(x)
    return region is not None and (not rest or rest in lx.industry or nz.split_industry(rest)[0] in lx.industry)


_ONE_CHAR_DEPT = frozenset("内外儿妇骨眼牙口皮药总")


def _is_department(x: str) -> bool:
    """设备科 / 采购部 / 研发中心: a department stem (lexicon or an everyday word) + unit."""
    m = _ORG_UNIT_RE.search(x)
    if m is None:
        return False
    stem = x[: m.start()]
    if not stem or stem in _dept_stems():
        return True
    if len(stem) == 1:  # 外科 / 儿科 are departments; 弘科 is a name
        return stem in _ONE_CHAR_DEPT
    freq = _segment().tokenizer().FREQ
    return (freq.get(stem) or 0) >= 100 or (len(stem) >= 4 and (freq.get(stem[-2:]) or 0) >= 100)


def _common_word(x: str) -> bool:
    """A single everyday dictionary word (测试, 机会, 价格) is not a brand name."""
    freq = _segment().tokenizer().FREQ.get(x)
    return freq is not None and freq >= 2000


def _verb_word(x: str) -> bool:
    """A dictionary verb (演示, 联动, 吸水) is no brand either, unless a brand list has it (联想)."""
    key = x.casefold()
    return x in _verbs() and not any(key in names for names in _brands())


@lru_cache(maxsize=1)
def _verbs() -> frozenset[str]:
    """jieba's verbs (v, vn), from the tagged dictionary read once (`_dict_words`)."""
    return _dict_words()[2]


def _clean_candidate(text: str, a: int, b: int) -> tuple[int, int]:
    x = text[a:b]
    prev = None
    while x and x != prev:
        prev = x
        m = _TRIM_TAIL_RE.search(x)
        if m and len(x) - len(m.group(0)) >= 2:
            x = x[: m.start()]
    # 比他们现在用的杭华慢一点: a comparative adjective with its degree glued to the brand
    if len(x) >= 3 and x[-1] in _COMPARATIVE and _DEGREE_AFTER.match(text, a + len(x)):
        x = x[:-1]
    return a, a + len(x)


_COMPARATIVE = frozenset("慢快低高差强弱贵大小多少长短")
_DEGREE_AFTER = re.compile(r"一点|点儿?|一些|些|了|得多|很多|不少|一截")
# 把离线那几台的天线换成外置的: the rep's own change of a part, not a rival's product
_DISPOSAL_RE = re.compile(r"把[^，。；;！!？?\s]{1,12}(?:换成|改成|改用|换上|换)$")
# 我们 + a few modifiers (那台, 北仑到义乌的, 新款) + X + its quote: X is our product
_OUR_THING_BEFORE_RE = re.compile(r"(?:我们|我司|咱们)(?:的|这边的?|家的?)?"
                                  r"(?:(?!比|跟|和|与|说|听|看|问|找|觉得|了解|知道|发现|得知|被|给|对|是|没|不)"
                                  r"[^，。；;！!？?\s]){0,10}$")
_QUOTED_AFTER_RE = re.compile(r"(?:的)?(?:报价|报了|报的|开价|单价)")
# 换了机针以后就好了 / 换了减震垫解决了: a swapped part that ended a fault is no rival
_SWAP_BEFORE_RE = re.compile(r"(?:换了|换上了|换上|换成了|换成)$")
_FIXED_AFTER_RE = re.compile(r"[^，。；;！!？?\s]{0,8}?(?:以后|之后|后)?(?:就|已经|也|都)?"
                             r"(?:好了|解决了|正常了|没问题了|恢复了|没再)")


def _valid(text: str, a: int, b: int, blocked: list[tuple[int, int]], names: list[str],
           known: frozenset[str]) -> bool:
    """May text[a:b], found by a construction, be a competitor?  Its form (`_form_ok`), then
    its word class: no category, person, place or everyday word."""
    x = text[a:b]
    if x in known:
        return not any(s < b and a < e for s, e in blocked)
    if not _form_ok(text, a, b, blocked, names):
        return False
    if x.isascii():
        return True
    if x[-1] in _CATEGORY_END:
        return False
    # 买的柳工: an object, not 柳工 the engineer; 是老李 is still a person
    person_ok = a > 0 and text[a - 1] in "的是" and x[0] not in "小老阿"
    return not ((not person_ok and _is_person(x)) or _is_place_or_category(x) or _common_word(x)
                or _verb_word(x))


def _form_ok(text: str, a: int, b: int, blocked: list[tuple[int, int]], names: list[str]) -> bool:
    """The checks on form and context every candidate passes: length and characters, not
    blocked (customer, contact, date), not a stop word, aspect, department, number, time word or
    approximate amount, not ours (我们的X) and not what is being replaced (把X换成)."""
    x = text[a:b]
    if x.isascii():
        if not (2 <= len(x) <= _MAX_LATIN) or x.lower() in _LATIN_STOP:
            return False
        if not x[0].isalpha() and not (_DIGIT_BRAND_RE.match(x) and x.lstrip("0123456789") not in _UNIT_TAIL):
            return False
    elif not (2 <= len(x) <= _MAX_CJK) or not all(c.isalnum() for c in x):
        return False
    if any(s < b and a < e for s, e in blocked):
        return False
    if any(n in x or x in n for n in names):
        return False
    stop, stop2 = _stop()
    if x in stop or x in _aspects() or x in _dept_stems() or x.startswith(stop2) or x.endswith(stop2):
        return False
    if _APPROX_RE.search(x) or _TIME_INSIDE_RE.search(x) or (len(x) >= 3 and x[-1] in _ADVERB_END):
        return False  # 商今年夏天, 武汉新, 盒子一: the slot ran into a time word or an adverb
    if _NUM_RE.match(x) or _TIME_RE.match(x) or _TIME_RE.match(text[max(0, a - 1) : b]) or _is_department(x):
        return False
    if _FIRST_PERSON_RE.search(text[max(0, a - 8) : a]) or _DISPOSAL_RE.search(text, max(0, a - 16), a):
        return False
    if _OUR_THING_BEFORE_RE.search(text, max(0, a - 12), a) and _QUOTED_AFTER_RE.match(text, b):
        return False  # 我们那台动物DR报价…, 我们聚合硫酸铁报了…: our own product's quote
    if _SWAP_BEFORE_RE.search(text, max(0, a - 3), a) and _FIXED_AFTER_RE.match(text, b):
        return False  # 换了机针以后就好了: a part swapped to end a fault
    # 交货老拖, 价钱只有…: an aspect and its predicate, not a brand
    return not x.startswith(_long_aspects())


_TIME_INSIDE_RE = re.compile(r"今年|去年|明年|前年|今天|昨天|明天|夏天|冬天|春天|秋天|年初|年底|年中|月初|月底|上个月|这个月")
_ADVERB_END = frozenset("新一都也还就再又才晚早出价费")  # … or a price noun (续约价)
_COORD_RE = re.compile(r"(?:和|跟|与|及|、|,|，|/|还有|以及)")


_COORD_BEFORE_RE = re.compile(r"(?:、|/|以及)$")  # 和/跟 before a brand are usually prepositions (跟X比)
_COORD_AND_RE = re.compile(r"(?:和|跟|与|及)$")
_LISTING_AFTER_RE = re.compile(r"(?:两家|三家|几家|这两家|这几家|都|也都)")


def _coordinated(text: str, tk: _Tokens, a: int, b: int, blocked: list[tuple[int, int]], names: list[str],
                 known: frozenset[str]) -> list[tuple[int, int]]:
    """在看A和B / 选了A、B: brands listed next to a found one share its construction."""
    out: list[tuple[int, int]] = []
    mb = _COORD_BEFORE_RE.search(text, max(0, a - 2), a)
    if mb is None and _LISTING_AFTER_RE.match(text, b):  # A和B两家 / A跟B都: 和 joins, not "compared with"
        mb = _COORD_AND_RE.search(text, max(0, a - 1), a)
    if mb is not None and not text[max(0, mb.start() - 2) : mb.start()].endswith(("我们", "咱们", "我司")):
        span = _walk_left(tk, mb.start())
        if span is not None:
            a0, b0 = _clean_candidate(text, *span)
            if _valid(text, a0, b0, blocked, names, known):
                out.append((a0, b0))
    while len(out) < 3:
        m = _COORD_RE.match(text, b)
        if m is None:
            break
        span = _walk_right(tk, m.end())
        if span is None:
            break
        a2, b2 = _clean_candidate(text, *span)
        if not _valid(text, a2, b2, blocked, names, known) or not (
                b2 >= len(text) or _COORD_RE.match(text, b2) or text[b2] in "的两家比都也，。 "):
            break
        out.append((a2, b2))
        b = b2
    return out


_PARTY_RE = re.compile(r"(?:他们|她们|他|她|客户|人家|对方|你们|咱们|我们|我司|厂里|院里|这边|那边)$")


def _first_mention(text: str, item: TextItem, blk: list[tuple[int, int]]) -> int:
    """Offset of the first unblocked mention of a found brand (a bare one may come first)."""
    x = item.text
    i = text.find(x) if not x.isascii() else text.casefold().find(x.casefold())
    while 0 <= i < item.span.start:
        if not _overlaps(i, i + len(x), blk):
            return i
        i = text.find(x, i + 1) if not x.isascii() else text.casefold().find(x.casefold(), i + 1)
    return item.span.start


def _possessor(text: str, tk: _Tokens, de: int) -> tuple[int, int] | None:
    """The owner in front of 的 at `de` (家的 / 那边的 included), if it can be a brand."""
    end = de
    for tail in ("那边", "家"):
        if text.endswith(tail, 0, end):
            end -= len(tail)
            break
    span = _walk_left(tk, end)
    return _clean_candidate(text, *span) if span is not None else None


def _overlaps(a: int, b: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(not (b <= s or a >= e) for s, e in spans)


@lru_cache(maxsize=1)
def _brands() -> tuple[frozenset[str], frozenset[str]]:
    """Well-known brands (lexicon/competitor_brands.txt) and those that are also ordinary words
    (competitor_brands_ambiguous.txt), case-folded."""
    return (frozenset(b.casefold() for b in load_list("competitor_brands.txt")),
            frozenset(b.casefold() for b in load_list("competitor_brands_ambiguous.txt")))


@lru_cache(maxsize=1)
def _english_names() -> frozenset[str]:
    return frozenset(n.casefold() for n in load_list("english_names.txt"))


def word_flags(x: str) -> tuple[str, ...]:
    """What the lexicons say about a stretch, cheaply: features for the learned model, which
    weighs them instead of deciding outright (a well-known brand can be the topic of a note)."""
    return _word_flags(x, _segment()._USER_KEY)


@lru_cache(maxsize=8192)
def _word_flags(x: str, _user_words: str | None) -> tuple[str, ...]:
    """Keyed by the user-dictionary version too: customer names added to jieba change FREQ,
    which `common` reads."""
    brands, ambiguous = _brands()
    key = x.casefold()
    out = ["brand"] if key in brands else ["brand?"] if key in ambiguous else []
    if x.isascii():
        return (*out, "given_name") if key in _english_names() else tuple(out)
    if _common_word(x):
        out.append("common")
    if x[-1] in _CATEGORY_END:
        out.append("catend")
    return tuple(out)


@lru_cache(maxsize=8192)
def costly_flags(x: str) -> tuple[str, ...]:
    """The flags that cost a lexicon walk (a person-like 王牌 can still be a brand); the model
    asks for them only where they can change its answer (competitor_model.COSTLY)."""
    if x.isascii():
        return ()
    return tuple(f for f, test in (("person", _is_person), ("place", _is_place_or_category)) if test(x))


def learned_view(text: str) -> competitor_model.NoteView:
    """The note as the learned model sees it (shared with its trainer and with the cues'
    `_Tokens`).  Its tokens are those of the folded copy (same length): what the contact step
    cut, so the segmentation is cached."""
    toks = _segment().token_spans(_contacts().fold(text))
    return competitor_model.NoteView(text, toks, _token_infos(toks), word_flags, costly_flags)


class _TokenInfoCache:
    """`competitor_model.token_info` by token string: the same tokens come back in every note.
    Kept for one user-dictionary version (customer names added to jieba change FREQ) and bounded
    (a long-running bot sees ever new tokens)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.version: str | None = None
        self.infos: dict[str, competitor_model.TokenInfo] = {}

    def __call__(self, toks: list[tuple[str, int, int]]) -> list[competitor_model.TokenInfo]:
        version = _segment()._USER_KEY
        if version != self.version or len(self.infos) > self.limit:
            self.infos.clear()
            self.version = version
        known = self.infos.get
        return [known(t) or self._look_up(t) for t, _, _ in toks]

    def _look_up(self, tok: str) -> competitor_model.TokenInfo:
        info = self.infos[tok] = competitor_model.token_info(tok, _is_break, _segment().tokenizer().FREQ.get)
        return info


_token_infos = _TokenInfoCache(32768)


def _learned(view: competitor_model.NoteView, blk: list[tuple[int, int]], names: list[str],
             found: dict[str, TextItem]) -> None:
    """Add the stretches the learned model is sure of (competitor_model.py) to `found`."""
    mdl = competitor_model.model()
    if mdl is None:
        return
    # the model first: the form checks cost more and few stretches pass the model
    text = view.text
    scored = [(p, c) for p, c in mdl.sure(view) if _form_ok(text, c.start, c.end, blk, names)]
    # overlapping stretches (京东 / 京东物流, Life / Life Fitness): the likeliest one wins
    taken: list[tuple[int, int]] = []
    for _, c in sorted(scored, key=lambda pc: -pc[0]):
        x = text[c.start:c.end]
        key = x.casefold()
        if _overlaps(c.start, c.end, taken) or any(key in k or k in key for k in found):
            continue  # a construction already placed this name
        taken.append((c.start, c.end))
        found[key] = TextItem(x, Span(c.start, c.end))


def find_competitors(text: str, blocked: Iterable[Span] = (), *, known: Iterable[str] = ()) -> list[TextItem]:
    """Competitor brands in order of first mention.

    `blocked` = customer / contact / date spans (never a competitor); `known` = brands from the
    company's config or confirmed earlier by a rep, found wherever they occur.
    """
    blk = [(s.start, s.end) for s in blocked]
    known_set = frozenset(k.strip() for k in known if k and len(k.strip()) >= 2)
    names = _blocked_names(text, blk)
    found: dict[str, TextItem] = {}
    view = learned_view(text)
    tk: _Tokens | None = None
    cues = _cues()
    for i in _cue_index().candidates(text):
        cue = cues[i]
        for m in cue.pat.finditer(text):
            if tk is None:
                tk = _Tokens(view)
            a, b = m.span("X")
            if cue.left_fixed and cue.right_fixed:
                span = _bounded(tk, a, b)
            elif cue.left_fixed:
                span = _walk_right(tk, a)
            else:
                span = _walk_left(tk, b)
            if span is None:
                continue
            a, b = _clean_candidate(text, *span)
            if not cue.left_fixed and text[a - 1 : a] == "的" and text[a:b] in tk.words:
                # X的机型比我们贵: the slot took the head noun; the brand is its possessor
                owner = _possessor(text, tk, a - 1)
                if owner is not None and _valid(text, *owner, blk, names, known_set):
                    a, b = owner
                elif _PARTY_RE.search(text, max(0, a - 4), a - 1) or (
                        owner is not None and (_overlaps(*owner, blk) or _is_person(text[owner[0] : owner[1]]))):
                    continue  # 他们的机型 / 王总的机型: a thing of the customer or a person
            if _valid(text, a, b, blk, names, known_set):
                for a2, b2 in [(a, b), *_coordinated(text, tk, a, b, blk, names, known_set)]:
                    x = text[a2:b2]
                    key = x.casefold()
                    if key not in found:
                        found[key] = TextItem(x, Span(a2, b2))
    _learned(view, blk, names, found)
    known_re = _known_re()
    extra = [re.compile("|".join(map(re.escape, sorted(known_set, key=len, reverse=True))))] if known_set else []
    for rx in ([known_re] if known_re is not None else []) + extra:
        for m in rx.finditer(text):
            if not _overlaps(m.start(), m.end(), blk) and m.group(0).casefold() not in found:
                found[m.group(0).casefold()] = TextItem(m.group(0), Span(m.start(), m.end()))
    # every mention is the same competitor: listed once, as first written and in that order; the
    # span stays on the construction that identified it (stage reads who won there)
    ranked = sorted(((_first_mention(text, t, blk), t) for t in found.values()), key=lambda p: (p[0], p[1].span.start))
    items = [TextItem(text[i : i + len(t.text)], t.span) for i, t in ranked]
    return [t for t in items if not any(o is not t and t.text in o.text and o.text != t.text for o in items)]
