"""The literal gate index must never hide a cue that matches (it only skips hopeless regexes)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extraction import competitors, pains, stage
from extraction.regexgate import CueIndex, gate_groups, gates, lead_checked


def test_gates_of_constructions() -> None:
    assert gates("比(?:我们|咱们)便宜") == (("比",), ("我们", "咱们"), ("便",), ("宜",))
    # an optional group or character is no gate; a repeated group is
    assert gates("(?:已经)?签了?") == (("签",),)
    assert gates("(?:还没|没)[^，]{0,4}(?:联系|聊)") == (("还没", "没"), ("联系", "聊"))
    assert gates("(?:签了){0,10}?报价") == (("报",), ("价",))
    # alternatives with a literal head: every match starts with one of the heads
    assert gates("标(?:没|未)中|没投中") == (("标", "没投中"),)
    assert gates("(?<!测)试机|送测") == (("试机", "送测"),)
    # an alternative that can start anywhere leaves the cue ungated
    assert gates("[甲乙]方|合同") == ()


def test_index_candidates() -> None:
    ix = CueIndex(["比(?:我们|咱们)贵", "签了", "[甲乙]方|合同", "PO"])
    assert ix.candidates("他们说比咱们贵") == [0, 2]
    assert ix.candidates("合同签了，po也下了") == [1, 2, 3]  # case-insensitive: a superset
    assert ix.candidates("") == [2]


def _words(patterns: list[str]) -> list[str]:
    out: list[str] = []
    for p in patterns:
        for g in gates(p):
            out.extend(g)
    return sorted(set(out))


_STAGE = [c.rx for c in stage._cues()]
_PAINS = [rx for _, rx, _ in pains._res().table]
_COMP = [c.pat for c in competitors._cues()]
_FRAGMENTS = _words([r.pattern for r in _STAGE + _PAINS]) + list("，。他们的了我不没还在是")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=12))
def test_index_never_hides_a_matching_cue(parts: list[str]) -> None:
    text = "".join(parts)
    for rxs in (_STAGE, _PAINS):
        cand = set(CueIndex([r.pattern for r in rxs]).candidates(text)) if rxs else set()
        for i, rx in enumerate(rxs):
            if rx.search(text):
                assert i in cand, (rx.pattern, text)


def test_competitor_cues_found_in_a_note() -> None:
    text = "客户现在用的是华为的设备，跟海康比价格贵了，最后选了大华"
    cand = set(competitors._cue_index().candidates(text))
    hits = {i for i, p in enumerate(_COMP) if p.search(text)}
    assert hits and hits <= cand


def test_trie_prefers_longest_but_reports_prefixes() -> None:
    ix = CueIndex(["(?:比|比我们|我们)X"])
    assert {"比", "比我们", "我们"} <= ix.present("他比我们")  # the scan also knows other indices' words
    assert "比" in ix.present("比我") and "比我们" not in ix.present("比我")


def test_index_built_after_a_scan_sees_its_words() -> None:
    text = "这个客户要的是蓝鲸牌抽水泵"
    CueIndex(["客户"]).candidates(text)
    assert CueIndex(["蓝鲸牌"]).candidates(text) == [0]


def test_gate_groups_read_the_parsed_pattern() -> None:
    # an alternative that starts with a group leaves `gates` empty; the parsed pattern still
    # says every match holds 售后 or 投诉
    assert gates("(?:(?:做|走)售后|投诉)") == ()
    assert gate_groups(re.compile("(?:(?:做|走)售后|投诉)")) == (("售后", "投诉"),)
    # a word holding a placeholder the caller writes into the text gates nothing
    assert set(gate_groups(re.compile("签\u3000了"), exclude="\u3000")) == {("了",), ("签",)}
    # case-insensitive patterns keep only the literal gates
    assert gate_groups(re.compile("(?:(?:做|走)售后|投诉)", re.IGNORECASE)) == ()


@pytest.mark.parametrize("src", [
    r"(?<!不)(?:太贵|偏高)|(?:交期|工期)(?:太|很)?长",
    r"(?P<X>)(?:那边|的)?(?:报价|价格)[^，。]{0,4}?高",
    r"[\u4e00-\u9fff]得(?:慢|差)",
])
def test_a_lead_checked_regex_finds_the_same_matches(src: str) -> None:
    rx = re.compile(src)
    checked = lead_checked(rx)
    assert checked.pattern.startswith("(?=")  # a look-ahead was found for each of these
    for text in ("他们觉得太贵了，交期太长", "不太贵，工期长", "王总那边报价比我们高", "卖得慢做得差", ""):
        assert [m.span() for m in checked.finditer(text)] == [m.span() for m in rx.finditer(text)]


def test_scan_checked_wraps_only_patterns_re_cannot_skip_and_keeps_the_matches() -> None:
    from extraction.regexgate import scan_checked
    literal = re.compile(r"报价(?:单|表)")
    assert scan_checked(literal) is literal  # re skips to 报 by itself
    hidden = re.compile(r"(?<!不)(?:签了|定了)(?=合同|单)")
    wrapped = scan_checked(hidden)
    assert wrapped is not hidden
    text = "上周不签了合同，这周定了单，又签了合同"
    assert [m.span() for m in wrapped.finditer(text)] == [m.span() for m in hidden.finditer(text)] != []
