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

Brands the company lists (lexicon/competitors.txt) or passes in `known` are found wherever they
occur; once a brand is found, the note's other mentions are the same competitor.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .lexload import _lines, load_list
from .types import Span, TextItem

# Slot used by cue_patterns() (pains.py matches clauses with it): 2-5 CJK chars without function
# characters, or a Latin word, as before.
_FUNC = "的了和是给比在也都就还说要跟与及对把被让向这那们我你他她它个些很太更最又再已呢吧啊吗"
BRAND = rf"(?:[A-Za-z][A-Za-z0-9&\-]{{1,20}}|[^\W\d_{_FUNC}a-zA-Z]{{2,5}})"
# Slot used for finding: lazy, so a slot bounded on both sides takes the shortest fill.
_SLOT = r"(?:[A-Za-z][A-Za-z0-9&.\-]{0,20}|[^\W\d_A-Za-z]{2,10}?)"

_MAX_CJK = 6  # longest CJK brand taken from a one-sided construction
_MAX_LATIN = 24

# Tokens that end a brand slot: grammar, not data (particles, pronouns, adverbs, prepositions,
# light verbs that follow a subject).
_BREAK_TOKENS = frozenset(
    "的 地 得 了 着 过 是 和 跟 与 及 同 对 把 被 让 向 给 比 在 也 都 就 还 又 再 才 只 已 很 太 更 最 "
    "说 讲 问 要 想 会 能 可 没 不 别 让 用 买 卖 上 下 中 里 内 外 前 后 这 那 哪 其 该 此 某 每 各 "
    "我 你 他 她 它 们 个 些 家 边 方 等 呢 吧 啊 吗 嗯 呃 哦 么 嘛 呀 啦 "
    "看 找 问 试 听 聊 谈 送 拿 换 测 讲 挺 蛮 算 像 "
    "那边 这边 那家 这家 方面 这里 那里 他们 她们 我们 你们 咱们 人家 对方 自己 "
    "报 报价 报了 给了 开价 出价 签 签了 选 选了 定 定了 中标 拿下 抢 抢了 "
    "但是 但 然后 而且 所以 因为 因此 不过 可是 就是 还是 或者 以及 并且 如果 要是 虽然 其实 另外 "
    "现在 目前 之前 以前 原来 去年 今年 明年 前年 最近 后来 当时 一直 已经 最后 最终 结果 "
    "一共 总共 大概 大约 差不多 左右 只要 只有 都是 也是 主要 基本 全部 统一 同时 直接 一起 "
    "产品 设备 系统 服务 价格 单价 供货 现货 代理 品牌 型号 方案 项目 合同 质量".split()
)
_PUNCT_RE = re.compile(r"[\W_]")
_NUM_RE = re.compile(r"^[\d一二两三四五六七八九十百千万亿几半多]+[个年月天周次台套家块元批款种位成点号期轮遍把只吨件]"
                     r"|^[\d一二两三四五六七八九十百千万亿几半多]*[十百千万亿几半多两][\d一二两三四五六七八九十百千万亿几半多]*$"
                     r"|^[\d一二两三四五六七八九十]{3,}$")
# last characters of product categories (石膏板, 输液泵, 平板机): a category is not a brand
_CATEGORY_END = frozenset("机器泵板柜仪剂管阀床表灯箱罐炉椅屏瓶袋肥漆砖胶液粉片线件模架台桶")
_TIME_RE = re.compile(r"^(?:上|下|这|本|今|明|去|前|后|每|头|当)(?:次|周|个|月|年|天|回|季度|礼拜|星期|阵|半年|一次)")
_ORG_UNIT_RE = re.compile(r"(?:部|科|处|室|组|办|中心|车间|团队|部门)$")
_FIRST_PERSON_RE = re.compile(r"(?:我们|咱们|我司|我方|本公司|我们公司|自己|自家)(?:的|家的|自己的|家)?(?:新|老)?$")
_TRIM_TAIL_RE = re.compile(r"(?:那边|这边|那家|这家|家的|家|的|公司|集团|品牌|牌子|这块|方面)$")
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


def _raw_cues() -> list[str]:
    return list(_lines("competitor_cues.txt"))


@lru_cache(maxsize=1)
def _aspect_alt() -> str:
    """ASPECT: nouns that may stand between a brand and a comparison (X的价格低)."""
    words = load_list("competitor_aspects.txt")
    return "(?:" + "|".join(map(re.escape, words)) + ")" if words else "(?!)"


@lru_cache(maxsize=1)
def _aspects() -> frozenset[str]:
    return frozenset(load_list("competitor_aspects.txt"))


@lru_cache(maxsize=1)
def _cues() -> tuple[_Cue, ...]:
    out: list[_Cue] = []
    aspect = _aspect_alt()
    for raw in _raw_cues():
        src = raw.replace("ASPECT", aspect)
        starts = src.startswith("(?P<X>BRAND)")
        ends = src.endswith("(?P<X>BRAND)")
        if starts and not ends:  # X before the cue: an empty anchor where the brand ends
            pat = src.replace("(?P<X>BRAND)", "(?P<X>)", 1)
        elif ends and not starts:  # X after the cue: an empty anchor where the brand starts
            pat = src[: -len("(?P<X>BRAND)")] + "(?P<X>)"
        else:
            pat = src.replace("BRAND", _SLOT)
        out.append(_Cue(re.compile(pat), left_fixed=not starts, right_fixed=not ends))
    return tuple(out)


@lru_cache(maxsize=1)
def _stop() -> tuple[frozenset[str], tuple[str, ...]]:
    """Stop words, and those of 2+ chars that may not start or end a brand either."""
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


def load_list_raw(name: str) -> list[str]:
    """Whole lines (regexes may contain spaces)."""
    return list(_lines(name))


def cue_patterns() -> list[re.Pattern[str]]:
    """The competitor cue patterns (group X = the brand), for pain spans that name a competitor."""
    return list(_pain_patterns())


@lru_cache(maxsize=1)
def _pain_patterns() -> tuple[re.Pattern[str], ...]:
    aspect = _aspect_alt()
    return tuple(re.compile(r.replace("ASPECT", aspect).replace("BRAND", BRAND)) for r in _raw_cues())


# ---------------------------------------------------------------- tokens

# jieba part-of-speech tags of words that cannot continue a brand once it has two characters
# (掉线|华为: a verb in front of an unpunctuated brand)
_FUNCTION_TAGS = frozenset("v vd ad d a t m mq r p c u uj ul uz ug uv ud f q y e o z".split())


@lru_cache(maxsize=1)
def _function_words() -> frozenset[str]:
    """Multi-char verbs, adverbs, adjectives, time words … of jieba's dictionary.

    Read once from jieba's dict.txt (its tags are not in the tokenizer's cache) and pickled next
    to the tokenizer cache, so later processes load it in a few milliseconds.
    """
    import os
    import pickle

    from .segment import _cache_dir, tokenizer

    dict_file = tokenizer().get_dict_file()
    path = os.path.join(_cache_dir(), "salesbot.function_words.pickle")
    try:
        with open(path, "rb") as fh:
            cached = pickle.load(fh)
        if isinstance(cached, frozenset):
            return cached
    except (OSError, pickle.PickleError, EOFError):
        pass
    words = set()
    with dict_file as fh:
        for raw in fh:
            parts = raw.decode("utf-8").split()
            if len(parts) >= 3 and len(parts[0]) >= 2 and parts[2] in _FUNCTION_TAGS:
                words.add(parts[0])
    out = frozenset(words)
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

    def __init__(self, text: str) -> None:
        from .contacts import fold
        from .segment import token_spans

        self.text = text
        # the folded copy (same length) is what the contact step cut: one segmentation per note
        self.toks = token_spans(fold(text))
        self.start_at = {s: i for i, (_, s, _) in enumerate(self.toks)}
        self.end_at = {e: i for i, (_, _, e) in enumerate(self.toks)}


def _is_break(tok: str) -> bool:
    return tok in _BREAK_TOKENS or bool(_PUNCT_RE.search(tok)) or tok[0].isdigit()


def _admissible(tok: str, n: int) -> bool:
    """May `tok` extend a CJK brand of `n` chars?  A one-char function piece may follow a single
    first piece (汉|和 -> 汉和), since a brand has at least two characters."""
    if tok.isascii():
        return False
    if not _is_break(tok):
        return not (n >= 2 and len(tok) >= 2 and (tok in _function_words() or tok in _aspects()))
    return n == 1 and len(tok) == 1 and tok.isalnum()


def _walk_right(tk: _Tokens, a: int) -> tuple[int, int] | None:
    """Brand starting at `a`: tokens up to a delimiter; an unseen brand is a run of pieces."""
    i = tk.start_at.get(a)
    if i is None:
        return None
    toks = tk.toks
    first = toks[i][0]
    if first.isascii():
        return (a, toks[i][2]) if first.isalnum() else None
    end, n = a, 0
    j = i
    while j < len(toks):
        tok, s, e = toks[j]
        if not _admissible(tok, n):
            break
        end, n = e, n + len(tok)
        if n > _MAX_CJK:
            return _first_word(toks, i)
        j += 1
    return (a, end) if n >= 2 else None


def _walk_left(tk: _Tokens, b: int) -> tuple[int, int] | None:
    """Brand ending at `b`: tokens back to a delimiter."""
    i = tk.end_at.get(b)
    if i is None:
        return None
    toks = tk.toks
    last = toks[i][0]
    if last.isascii():
        return (toks[i][1], b) if last.isalnum() else None
    start, n = b, 0
    j = i
    while j >= 0:
        tok, s, e = toks[j]
        if not _admissible(tok, n):
            break
        start, n = s, n + len(tok)
        if n > _MAX_CJK:
            return _last_word(toks, i)
        j -= 1
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
        from .segment import token_spans

        toks = [(t, a + s, a + e) for t, s, e in token_spans(tk.text[a:b])]
    if any(t.isascii() for t, _, _ in toks) and not all(t.isascii() for t, _, _ in toks):
        return None
    if toks[0][0].isascii():
        return (a, b) if len(toks) == 1 else None
    n = 0
    for t, _, _ in toks:
        if not _admissible(t, n):
            return None
        n += len(t)
    return a, b


# ---------------------------------------------------------------- validation

def _blocked_names(text: str, blocked: list[tuple[int, int]]) -> list[str]:
    """Customer / contact strings (and the customer's bare brand) that no competitor may contain."""
    out: list[str] = []
    for s, e in blocked:
        name = text[s:e].strip()
        if len(name) < 2:
            continue
        out.append(name)
        try:
            from .normalize import parse_name

            brand = parse_name(name).brand
        except Exception:  # noqa: BLE001  # a name the parser cannot read still blocks itself
            brand = ""
        if brand and len(brand) >= 2 and brand != name:
            out.append(brand)
    return out


def _is_person(x: str) -> bool:
    titles, surnames = _titles()
    for t in titles:
        if x.endswith(t) and len(x) - len(t) <= 3:
            head = x[: -len(t)]
            if not head or head[0] in surnames or head[:2] in surnames or head[0] in "小老":
                return True
    return len(x) <= 3 and x[0] in "小老阿" and x[1] in surnames


def _is_place_or_category(x: str) -> bool:
    from .normalize import lexicon, region_info, split_industry, split_region_prefix

    if region_info(x) is not None:
        return True
    lx = lexicon()
    if x in lx.industry:
        return True
    region, rest = split_region_prefix(x)
    if region is not None and (not rest or rest in lx.industry or split_industry(rest)[0] in lx.industry):
        return True
    return False


def _is_department(x: str) -> bool:
    """设备科 / 采购部 / 研发中心: a department stem (lexicon or an everyday word) + unit."""
    m = _ORG_UNIT_RE.search(x)
    if m is None:
        return False
    stem = x[: m.start()]
    if not stem or stem in load_list("dept_stems.txt"):
        return True
    from .segment import tokenizer

    return (tokenizer().FREQ.get(stem) or 0) >= 100 or (len(stem) >= 4 and (tokenizer().FREQ.get(stem[-2:]) or 0) >= 100)


def _common_word(x: str) -> bool:
    """A single everyday dictionary word (测试, 机会, 价格) is not a brand name."""
    from .segment import tokenizer

    freq = tokenizer().FREQ.get(x)
    return freq is not None and freq >= 2000


def _clean_candidate(text: str, a: int, b: int) -> tuple[int, int]:
    x = text[a:b]
    prev = None
    while x and x != prev:
        prev = x
        m = _TRIM_TAIL_RE.search(x)
        if m and len(x) - len(m.group(0)) >= 2:
            x = x[: m.start()]
    return a, a + len(x)


def _valid(text: str, a: int, b: int, blocked: list[tuple[int, int]], names: list[str],
           known: frozenset[str]) -> bool:
    x = text[a:b]
    if x in known:
        return not any(s < b and a < e for s, e in blocked)
    if x.isascii():
        if not (2 <= len(x) <= _MAX_LATIN) or x.lower() in _LATIN_STOP or not x[0].isalpha():
            return False
    elif not (2 <= len(x) <= _MAX_CJK) or not all(c.isalnum() for c in x):
        return False
    if any(s < b and a < e for s, e in blocked):
        return False
    if any(n in x or x in n for n in names):
        return False
    stop, stop2 = _stop()
    if x in stop or any(x.startswith(w) or x.endswith(w) for w in stop2):
        return False
    if _NUM_RE.match(x) or _TIME_RE.match(x) or _TIME_RE.match(text[max(0, a - 1) : b]) or _is_department(x):
        return False
    if _FIRST_PERSON_RE.search(text[max(0, a - 8) : a]):
        return False
    if x.isascii():
        return True
    if x[-1] in _CATEGORY_END:
        return False
    person_ok = a > 0 and text[a - 1] in "的是"  # 买的柳工: an object, not 柳工 the engineer
    return not ((not person_ok and _is_person(x)) or _is_place_or_category(x) or _common_word(x))


_COORD_RE = re.compile(r"(?:和|跟|与|及|、|,|，|/|还有|以及)")


_COORD_BEFORE_RE = re.compile(r"(?:、|/|以及)$")  # 和/跟 before a brand are usually prepositions (跟X比)


def _coordinated(text: str, tk: _Tokens, a: int, b: int, blocked: list[tuple[int, int]], names: list[str],
                 known: frozenset[str]) -> list[tuple[int, int]]:
    """在看A和B / 选了A、B: brands listed next to a found one share its construction."""
    out: list[tuple[int, int]] = []
    mb = _COORD_BEFORE_RE.search(text, max(0, a - 2), a)
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


def _overlaps(a: int, b: int, spans: Iterable[tuple[int, int]]) -> bool:
    return any(not (b <= s or a >= e) for s, e in spans)


def find_competitors(text: str, blocked: Iterable[Span] = (), *, known: Iterable[str] = ()) -> list[TextItem]:
    """Competitor brands in order of first mention.

    `blocked` = customer / contact / date spans (never a competitor); `known` = brands from the
    company's config or confirmed earlier by a rep, found wherever they occur.
    """
    blk = [(s.start, s.end) for s in blocked]
    known_set = frozenset(k.strip() for k in known if k and len(k.strip()) >= 2)
    names = _blocked_names(text, blk)
    found: dict[str, TextItem] = {}
    tk: _Tokens | None = None
    for cue in _cues():
        for m in cue.pat.finditer(text):
            if tk is None:
                tk = _Tokens(text)
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
            if _valid(text, a, b, blk, names, known_set):
                for a2, b2 in [(a, b), *_coordinated(text, tk, a, b, blk, names, known_set)]:
                    x = text[a2:b2]
                    if x not in found:
                        found[x] = TextItem(x, Span(a2, b2))
    known_re = _known_re()
    extra = [re.compile("|".join(map(re.escape, sorted(known_set, key=len, reverse=True))))] if known_set else []
    for rx in ([known_re] if known_re is not None else []) + extra:
        for m in rx.finditer(text):
            if not _overlaps(m.start(), m.end(), blk) and m.group(0) not in found:
                found[m.group(0)] = TextItem(m.group(0), Span(m.start(), m.end()))
    # a brand found inside a longer one (三一 / 三一重工) is the same competitor
    items = sorted(found.values(), key=lambda t: t.span.start)
    return [t for t in items if not any(o is not t and t.text in o.text and o.text != t.text for o in items)]
