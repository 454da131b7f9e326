"""Customer-side contact people (README §2 contacts).

A contact is a surname + title (王总, 李厂长), a nickname (小林, 老徐, 刘姐) or an English
given name (Kevin), optionally with a department/role written directly in front
(采购部王总, 采购小赵).  Our own colleagues (让售后老徐…, 技术部张工把测试机送过去) and
nameless roles (老板, 院长) are dropped; one entry per person, the most complete form.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .lexload import load_list
from .types import Span, TextItem


@lru_cache(maxsize=1)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    surnames = sorted(load_list("surnames.txt"), key=len, reverse=True)
    titles = [t for t in load_list("contact_titles.txt") if t not in ("老板",)]
    # 总 is a title only when it does not start a word (总结, 总价, 总共 …)
    titles = [t if t != "总" else "总(?![结价共部额体量数计算之是包账线装监体裁])" for t in titles]
    prefixes = list(load_list("contact_prefixes.txt"))
    stems = load_list("dept_stems.txt")
    sn = "|".join(map(re.escape, surnames))
    tt = "|".join(t if t.startswith("总(") else re.escape(t) for t in titles)
    known = "(?:" + "|".join(map(re.escape, stems)) + ")(?:部门|部|科|处|中心|组)"
    # any two-character stem + 部/科 also names a department (品控部, 信息科), except words
    generic = (r"[\u4e00-\u9fff](?<![的们了和跟与说是在把给对从向及])"
               r"[\u4e00-\u9fff](?<![总内全局外本干东西南北中专学])(?:部|科)")
    dept = f"(?:{known}|{generic})"
    role = "|".join(map(re.escape, prefixes)) + "|主管|专员|负责人|对接人"
    prefix = rf"(?P<pre>(?:{dept})?(?:{role})?)"
    person = (
        rf"(?P<person>(?:{sn})(?:{tt})"           # 王总, 欧阳经理
        rf"|[小老](?:{sn})(?![\u4e00-\u9fff]{{0,0}}[总工])"  # 小赵, 老徐
        rf"|(?:{sn})[姐哥](?!们)"
        rf"|[A-Z][a-z]{{2,11}}(?![A-Za-z]))"      # Kevin
    )
    main = re.compile(prefix + person)
    return main, re.compile(rf"^(?:{sn})"), re.compile(tt)


@lru_cache(maxsize=1)
def _english_names() -> frozenset[str]:
    return frozenset(load_list("english_names.txt"))


def _cjk_context(text: str, a: int, b: int) -> bool:
    """The word touches Chinese on its right (Kevin说, Kevin的) or sits between Chinese."""
    nxt = text[b:b + 1]
    return bool(nxt) and "\u4e00" <= nxt <= "\u9fff"


def _is_word(s: str) -> bool:
    return s in _not_names()


@lru_cache(maxsize=1)
def _not_names() -> frozenset[str]:
    return frozenset(load_list("not_names.txt"))


@lru_cache(maxsize=1)
def _english_stop() -> frozenset[str]:
    return frozenset(w.lower() for w in load_list("english_stopwords.txt"))


@lru_cache(maxsize=1)
def _arranged_re() -> re.Pattern[str]:
    team = "|".join(map(re.escape, load_list("team_cues.txt")))
    return re.compile(rf"(?:让|派|安排|叫)(?:我们的?|公司的?|我司的?)?(?:{team})+$")


@lru_cache(maxsize=1)
def _our_side_re() -> re.Pattern[str]:
    cues = load_list("our_side_cues.txt")
    return re.compile("(?:" + "|".join(map(re.escape, cues)) + ")$")


# prefixes that by themselves mark our own department
_OUR_PREFIX = re.compile(r"^(?:售后|财务|研发|实施|技术支持|客服)")
# a person followed by a delivery/visit verb phrase is our colleague doing our task
_OUR_TASK_AFTER = re.compile(r"^(?:把|去|过去|带|送|上门|负责|跟进)")


def mention_spans(text: str, blocked: Iterable[Span] = ()) -> list[Span]:
    """Spans of every person-like mention (ours and theirs, repeats included)."""
    main, _, _ = _patterns()
    blk = [(s.start, s.end) for s in blocked]
    return [Span(*m.span()) for m in main.finditer(text)
            if not any(not (m.end() <= s or m.start() >= e) for s, e in blk)]


def find_contacts(text: str, blocked: Iterable[Span] = (), *, our_task_people: bool = True) -> list[TextItem]:
    """Contacts in order of first mention; `blocked` spans (customer name, dates) are skipped."""
    main, _, _ = _patterns()
    blk = [(s.start, s.end) for s in blocked]
    found: list[TextItem] = []
    for m in main.finditer(text):
        a, b = m.span()
        pa, pb = m.span("person")
        person = m.group("person")
        if any(not (pb <= s or pa >= e) for s, e in blk):
            continue
        if person[0].isascii():
            if person.lower() in _english_stop():
                continue
            if person not in _english_names() and not _cjk_context(text, pa, pb):
                continue  # a capitalised word inside English text ("Met", "Today")
            # part of a longer Latin token or a product name (e.g. "Apex", "ProMax")
            if pa > 0 and text[pa - 1].isascii() and text[pa - 1].isalpha():
                continue
        else:
            if _is_word(person[:2]) or _is_word(person):
                continue
            # 老板 / 院长 style roles are excluded by the title list; 小X must not be a longer word
            if person[0] in "小老" and len(person) == 2 and pb < len(text) and text[pb] in "时程区组型批":
                continue
        pre = m.group("pre") or ""
        before = text[max(0, a - 4):a]
        if _arranged_re().search(text[max(0, a - 10):a]):
            continue  # "让售后工程师小吴…": a colleague the rep sends
        if _our_side_re().search(before) or _OUR_PREFIX.match(pre) or _OUR_PREFIX.match(person):
            continue
        # "下周三前技术部张工把测试机送过去": a department person doing our delivery task
        if (our_task_people and pre and ("部" in pre or "科" in pre)
                and _OUR_TASK_AFTER.match(text[b:b + 2])
                and re.search(r"(?:前|之前|以前|明天|后天|今天)$", text[max(0, a - 3):a])):
            continue
        # a prefix that is a department must not run into the previous word ("和生产部")
        found.append(TextItem(text[a:b], Span(a, b)))
    return _dedupe(found)


def _dedupe(items: list[TextItem]) -> list[TextItem]:
    """One entry per person: keep the longest form; order of first mention."""
    out: list[TextItem] = []
    for it in items:
        merged = False
        for i, ex in enumerate(out):
            if it.text == ex.text or ex.text.endswith(it.text):
                merged = True
                break
            if it.text.endswith(ex.text):
                out[i] = it
                merged = True
                break
        if not merged:
            out.append(it)
    return out
