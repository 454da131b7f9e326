"""What a note says happened to the deal, beyond its stage: a quote sent, no answer yet, a new opportunity.

Cue classes, not sentences: a sending verb after 报价/方案 in the past (发过去了, 已经给了), 报 + amount
with a first-person subject, a waiting construction (还没回, 没消息), an additional-purchase verb
(加购, 追加, 二期). Future and negated forms are excluded by the clause's own markers, and text
inside a to-do (a quote still to be sent) never counts as sent.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from .types import Span

_QUOTE = r"(?:报价单?|报价方案|方案和报价|价格表|报价函)"
_SENT = re.compile(
    rf"{_QUOTE}[^，。；！？,;]{{0,5}}?(?:发|给|递|交|传|报)(?:过去|出去|给[^，。；！？,;]{{0,6}}|到[^，。；！？,;]{{0,6}})?了"
    rf"|(?:已经|已)(?:把)?{_QUOTE}(?:发|给|递|交|报)"
    r"|(?:已经|已)?(?:报过价|报了价|报完价|报价了)"
    r"|(?:我们|我|咱们|我司|我方)(?:这边)?(?:的)?(?:最终|最后)?(?:报|开)(?:的|了)(?:是|价)?\s*[\d一二三四五六七八九十两百千万]"
    r"|给(?:他们|她们|他|她|对方|客户|[^，。；！？,;\s]{1,4})报了"
)
_NOT_YET = re.compile(r"(?:还没|没有|没|未|准备|打算|计划|要|会|将|得|需要|尽快|抓紧|争取)[^，。；！？,;]{0,4}$")
_NEGATED_INSIDE = re.compile(r"没|未|准备|打算|要|会|得|需")
_NO_REPLY = re.compile(
    r"(?:还|仍|一直|都)?(?:没有?|未|不)(?:回复|回音|回话|回|答复|反馈|消息|动静|表态|下文)"
    r"|石沉大海|杳无音信|已读不回|没下文|等(?:他们|对方|客户)?(?:回复|回音|答复|消息)"
)
_NEW_OPPORTUNITY = re.compile(
    r"加购|增购|追加|复购|再采购|再买|再订|再上|再要|扩产|扩建|扩容|[二三四]期|新项目|新产线|新厂|新一批|新的一批|"
    r"另一个项目|另外一个项目|新需求|又有需求|还想要|还要再"
)
_CLAUSE_START = re.compile(r"[，。；！？,;!?\n]")


def _clause_before(text: str, at: int) -> str:
    """The clause text before position `at` (back to the nearest punctuation)."""
    start = max((m.end() for m in _CLAUSE_START.finditer(text, 0, at)), default=0)
    return text[start:at]


def _outside(span: tuple[int, int], blocked: Iterable[Span]) -> bool:
    return all(span[1] <= b.start or b.end <= span[0] for b in blocked)


def quote_sent(text: str, todo_spans: Iterable[Span] = ()) -> bool:
    """True when the note says our quote went out (past, not negated, not a to-do)."""
    todos = list(todo_spans)
    for m in _SENT.finditer(text):
        if not _outside(m.span(), todos):
            continue
        if _NOT_YET.search(_clause_before(text, m.start())) or _NEGATED_INSIDE.search(m.group()):
            continue
        return True
    return False


def quote_no_reply(text: str) -> bool:
    """True when the note says the customer has not answered yet."""
    return _NO_REPLY.search(text) is not None


def new_opportunity(text: str) -> bool:
    """True when the note talks about buying more or another project (a deal beyond a won one)."""
    return _NEW_OPPORTUNITY.search(text) is not None
