"""Pain points (README §2 pain_points).

Pain points are clauses matching a category cue
(lexicon/pain_cues.txt); the span is the clause with its subject and linking words
trimmed; any pain clause that names a competitor is category `competitor`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .clauses import Clause
from .competitors import cue_patterns
from .lexload import load_list, load_table
from .types import PainPoint, Span, TextItem

@lru_cache(maxsize=1)
def _pain_res() -> tuple[list[tuple[str, re.Pattern[str]]], re.Pattern[str]]:
    rows = [(cat, re.compile(rx, re.IGNORECASE)) for cat, rx in load_table("pain_cues.txt")]
    neg = re.compile("|".join(map(re.escape, load_list("pain_negations.txt"))) or "(?!)")
    return rows, neg


_LEAD = re.compile(
    r"(?:他们|她们|我们|他|她|客户|对方|说是|说|觉得|认为|反馈|表示|提到|但是|但|而且|并且|"
    r"就是|不过|可是|只是|还有|另外|所以|因为|那边|这边|这个|那个|的|又说|还说|主要是|关键是|问题是|"
    r"很不满意|不满意|投诉说|投诉|抱怨|问)+"
)
# tokens that stop the leftward extension of a cue (subject, linking and function words)
_LEFT_STOP = frozenset(
    ["的", "了", "是", "用的", "说", "觉得", "认为", "反馈", "表示", "就", "剩", "就剩", "而且", "但是", "但", "就是", "不过", "他们", "我们", "他", "她", "她们", "那台", "这台", "以后", "之后", "以前", "之前", "问", "嫌", "和", "跟", "又说", "也说", "还说", "因为", "所以", "不然", "其实", "那边", "这边"]
)
_RIGHT_STOP = re.compile(
    r"(?:想|希望|要求|让|问|说|然后|不然|否则"
    r"|(?:老板|领导|院长|董事长|总经理|他们|她们)(?=那边|还|也|说|在|觉得|要|想|又))"
)
_TAIL = re.compile(r"(?:了吗|吗|呢|吧|啊|哈)+$")
MAX_LEFT_TOKENS = 3
MAX_LEFT_CHARS = 6


def _best_cue(s: str) -> tuple[str, re.Match[str]] | None:
    """Category of the first matching cue in file order; the longest match of that category."""
    rows, _ = _pain_res()
    cat = None
    best: re.Match[str] | None = None
    for c, rx in rows:
        if cat is not None and c != cat:
            continue
        m = rx.search(s)
        if m is None:
            continue
        cat = c
        if best is None or (m.end() - m.start()) > (best.end() - best.start()):
            best = m
    return (cat, best) if cat and best else None


def _left_extend(text: str, lo: int, cue_start: int, stops: list[tuple[int, int]]) -> int:
    """Move left from the cue over at most a few content tokens of the same clause."""
    if cue_start <= lo:
        return lo
    from .segment import token_spans  # lazy: jieba only when a pain cue is found
    toks = token_spans(text[lo:cue_start])
    start = cue_start
    n = 0
    for tok, a, b in reversed(toks):
        a += lo
        if tok in _LEFT_STOP or not re.fullmatch(r"[\u4e00-\u9fff]+", tok):
            break
        if any(s <= a < e for s, e in stops):
            break
        if cue_start - a > MAX_LEFT_CHARS or n >= MAX_LEFT_TOKENS:
            break
        start, n = a, n + 1
    return start


def _right_end(text: str, cue_end: int, hi: int, stops: list[tuple[int, int]],
               min_le: int = 0) -> int:
    """Clause end, but stop after the first 了 (at least `min_le` chars after the cue) that
    has more text after it, or before a new speech/request verb, subject or person."""
    seg = text[cue_end:hi]
    end = hi
    i = seg.find("了", min_le)
    if 0 <= i < len(seg) - 1:
        end = cue_end + i + 1
    m = _RIGHT_STOP.search(seg)
    if m and cue_end + m.start() < end:
        end = cue_end + m.start()
    for s, _e in stops:
        if cue_end <= s < end:
            end = s
    return end


def find_pains(
    text: str,
    clauses: list[Clause],
    competitors: list[TextItem],
    skip_prefixes: Iterable[Span] = (),
) -> list[PainPoint]:
    """Pain points per clause; `skip_prefixes` (contacts, customer) bound the spans."""
    _, neg = _pain_res()
    comp_names = [c.text for c in competitors]
    pats = cue_patterns()
    heads = sorted((s.start, s.end) for s in skip_prefixes)
    out: list[PainPoint] = []
    prev_comp: int | None = None  # index in `out` of a competitor pain ending the last clause
    for ci, cl in enumerate(clauses):
        s = cl.text
        found = _best_cue(s)
        has_comp = any(n in s for n in comp_names)
        comp_m = None
        if has_comp:
            for p in pats:
                m = p.search(s)
                if (m and m.group("X") and any(n in m.group(0) for n in comp_names)
                        and (comp_m is None or m.start() < comp_m.start())):
                    comp_m = m
        # "最后选了恒立，价格比我们低了8万": a bare comparison continues the competitor pain
        if not has_comp and prev_comp is not None and re.search(r"比我们.{0,3}(低|便宜|少|好|快)", s):
            old = out[prev_comp]
            b = cl.end
            out[prev_comp] = PainPoint(old.category, text[old.span.start:b], Span(old.span.start, b))
            prev_comp = None
            continue
        prev_comp = None
        if found is None and comp_m is None:
            continue
        if found is not None and comp_m is None and neg.search(s):
            continue
        if comp_m is not None:
            cat, m = "competitor", comp_m
        elif found is not None:
            cat, m = ("competitor" if has_comp else found[0]), found[1]
        else:
            continue
        # trim leading names and linking words of the clause
        a, b = cl.start, cl.end
        changed = True
        while changed and a < b:
            changed = False
            for hs, he in heads:
                if hs <= a < he:
                    a, changed = he, True
            lm = _LEAD.match(text, a, b)
            if lm and lm.end() > a:
                a, changed = lm.end(), True
        cue_start, cue_end = cl.start + m.start(), cl.start + m.end()
        cue_start = max(cue_start, a)
        start = _left_extend(text, a, cue_start, heads)
        end = _right_end(text, max(cue_end, start), b, heads, 3 if cat == "competitor" else 0)
        tm = _TAIL.search(text[start:end])
        if tm:
            end = start + tm.start()
        if end - start < 2:
            continue
        out.append(PainPoint(cat, text[start:end], Span(start, end)))
        if cat == "competitor":
            prev_comp = len(out) - 1
    return out
