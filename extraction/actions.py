"""Action items: concrete future tasks with due date and owner (README §2 action_items).

A clause is an action when it is planned (right after a future-or-today date, or led by
我/让我/modal + an action verb), is not already done (…了, 已经), and is not an event inside
the customer's company (开会, 公示, 挂网 …; lexicon/customer_events.txt).  The text span
starts at the verb (or at a named doer such as 让/派 + person, 技术部张工) and runs to
the clause end; leading time words and subject pronouns are left out.
"""
from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from .clauses import Clause
from .lexload import load_list
from .types import ActionItemDraft, DateMention, Span


def _alt(name: str) -> str:
    return "|".join(map(re.escape, load_list(name)))


@lru_cache(maxsize=1)
def _res() -> dict[str, re.Pattern[str]]:
    return {
        "verb": re.compile(rf"(?:{_alt('action_verbs.txt')})"),
        "time": re.compile(
            rf"(?:{_alt('action_time_words.txt')}|(?:[一二两三四五六七八九十\d]{{1,3}})点(?:半|钟|\d{{1,2}}分?)?"
            r"|(?:明年|今年|年后)?(?:[一二两三四五六七八九十\d]{1,3}月份|[上下]半年|年初|年后)|明年|今年"
            r"|(?:部门)?(?:例会|周会|晨会|月会|会议|会上)(?:上)?(?:要|得)?)+"
        ),
        "event": re.compile(rf"(?:{_alt('customer_events.txt')})"),
        "internal": re.compile(rf"(?:{_alt('internal_tasks.txt')})"),
        "team": re.compile(rf"(?:{_alt('team_cues.txt')})"),
        "team_work": re.compile(rf"(?:{_alt('team_work.txt')})"),
        "cust": re.compile(rf"(?:{_alt('customer_action_cues.txt')})"),
    }


_SUBJ = re.compile(r"(?:我们|我|他们|她们|他|她|咱们|对方|客户)(?!的)")
_LEAD_SELF = re.compile(r"(?:让我们|让我|要求我们|要求我|叫我|请我|约我|约了|我们|我)(?!的)")
_MODAL = re.compile(r"(?:还要|还得|也要|要|得|需要|会|先去|先|再|回去|马上|尽快|争取|打算|准备|就|一定|今天|明天)")
_DONE = re.compile(r"(?:了$|了[吧啊呢]$|已经|已|过了|完了$|好了$)")
_WISH = re.compile(r"^(?:想|希望|打算让|说想)")
_DEADLINE = re.compile(r"(?:之前|以前|前|内|之内|以内)")


def _strip_time(text: str, a: int, b: int) -> int:
    m = _res()["time"].match(text, a, b)
    return m.end() if m else a


_TEAM_LEAD = re.compile(r"(?:让|派|安排|叫|请)(?:我们的?|我司的?|公司的?)?")
_SELF_CTX = re.compile(r"(?:让我们|让我|要求我们|要求我|叫我|请我|约我|约了|我们|我)$")
_CUST_CTX = re.compile(r"(?:说|答应|承诺|保证|表示|他们|她们|他|她|对方|那边)$")
_NOUNY_HEAD = ("交期", "交货", "报价", "发票", "价格", "付款", "出厂", "送货", "发货", "开会", "见面",
               "做工", "出货", "到货", "交付", "回款", "找到", "去年", "打折", "给力")


_DOER_ONLY = re.compile(r"(?:我们|我)?(?:先|再|就)?(?P<doer>(?:让|派|安排|叫)[^，。我]{0,8})")


def _date_only(text: str, cl: Clause, by_start: dict[int, DateMention]) -> DateMention | None:
    """The date when the clause is nothing but a date (+前/time words)."""
    d = by_start.get(cl.start)
    if d is None:
        return None
    a = d.span.end
    m = _DEADLINE.match(text, a, cl.end)
    if m:
        a = m.end()
    a = _strip_time(text, a, cl.end)
    return d if a >= cl.end else None


def find_actions(
    text: str,
    clauses: list[Clause],
    dates: list[DateMention],
    ref: date,
    contact_spans: list[Span],
) -> list[ActionItemDraft]:
    res = _res()
    out: list[ActionItemDraft] = []
    by_start = {d.span.start: d for d in dates}
    contact_ends = {s.end for s in contact_spans}
    consumed: set[int] = set()
    for ci, cl in enumerate(clauses):
        if ci in consumed:
            continue
        a, b = cl.start, cl.end
        due: date | None = None
        dated = False
        if _date_only(text, cl, by_start) is not None:
            continue
        # "我让研发小周 | 明天远程看一下": a doer clause and its dated task are one item
        md = _DOER_ONLY.fullmatch(cl.text)
        if md and ci + 1 < len(clauses) and clauses[ci + 1].start == b and b in by_start:
            nxt = clauses[ci + 1]
            d = by_start[b]
            s0 = a + md.start("doer")
            body = text[s0:nxt.end]
            if d.value >= ref and not re.search(r"了(?!解)", body):
                own = "team" if (res["team"].search(md.group("doer"))
                                 or res["team_work"].search(body)) else "self"
                involves = not bool(res["internal"].search(body))
                out.append(ActionItemDraft(body, Span(s0, nxt.end), d.value, own, involves))
                consumed.add(ci + 1)
                continue
        ctx_end = a
        if a in by_start:
            d = by_start[a]
            due, dated = d.value, True
            a = d.span.end
            m = _DEADLINE.match(text, a, b)
            if m:
                a = m.end()
            a = _strip_time(text, a, b)
        elif ci > 0:
            prev = clauses[ci - 1]
            pd = _date_only(text, prev, by_start)
            if pd is not None and prev.end == a:
                due, dated = pd.value, True
                ctx_end = prev.start
        # who: the words right before the clause (or before its date)
        ctx_start = max(0, ctx_end - 6)
        for c2 in reversed(clauses[:ci]):
            if c2.end <= ctx_end:
                ctx_start = max(c2.start, ctx_end - 6)
                break
        ctx = text[ctx_start:ctx_end]
        owner: str | None = None
        led_by_self = False
        keep_doer = False
        mt = _TEAM_LEAD.match(text, a, b)
        if mt and res["team"].match(text, mt.end(), b):
            owner, keep_doer = "team", True
        else:
            m = _LEAD_SELF.match(text, a, b)
            if m and m.group(0).startswith("要求") and not dated:
                m = None  # "要求我们做二次开发": an undated requirement, not a task
            if m:
                led_by_self = True
                a = m.end()
            else:
                m2 = _SUBJ.match(text, a, b)
                if m2:
                    owner = "customer"
                    a = m2.end()
        a = _strip_time(text, a, b)
        mm = _MODAL.match(text, a, b)
        if mm and mm.group(0) in ("还要", "还得", "也要", "要", "得", "需要", "就", "一定", "争取",
                                  "打算", "准备", "回去", "马上", "尽快"):
            a = _strip_time(text, mm.end(), b)
        if owner is None and not led_by_self:
            if _SELF_CTX.search(ctx) and not re.search(r"(?:给|发给|约了?他们?)我们?$", ctx) or re.search(r"我们?(?:就)?(?:说|表示|答应)$", ctx):
                led_by_self = True
            elif _CUST_CTX.search(ctx) or any(e == ctx_end for e in contact_ends):
                owner = "customer"
        body = text[a:b]
        if len(body) < 2:
            continue
        if not dated and not led_by_self:
            continue
        if re.search(r"(?:想|希望|想要|打算)$", ctx) and not dated:
            continue  # "想让我们再让一点": a wish of the customer, not a task
        if dated and due is not None and due < ref:
            continue
        if owner == "customer" and due is not None and due <= ref:
            continue  # "朱总今天打电话过来": the customer already did it
        past = "已经" in body or body.startswith("已") or (re.search(r"了(?!解)", body) and (due is None or due <= ref))
        if past or _WISH.match(body):
            continue
        head = re.sub(r"^(?:先|再|一起|亲自|顺便)+", "", body)
        if res["event"].search(body) and not (res["verb"].match(head) and not head.startswith(("开", "走"))):
            continue
        doer = keep_doer or any(s.start == a for s in contact_spans)
        starts_verb = bool(res["verb"].match(head)) and not head.startswith(_NOUNY_HEAD)
        if not (starts_verb or doer or res["team"].match(head) or "把" in body[:6]
                or res["team_work"].search(body)):
            continue
        # "部门周会要把…", "财务一定把钱…": start at 把 when what precedes is not a doer
        bi = body.find("把")
        if 0 < bi <= 8 and not doer and not starts_verb and not res["team"].search(body[:bi]) \
                and owner != "customer":
            a += bi
            body = text[a:b]
        if owner is None:
            owner = _owner(body, led_by_self)
        involves = not bool(res["internal"].search(body))
        out.append(ActionItemDraft(body, Span(a, b), due, owner, involves))
    return out


def _owner(body: str, led_by_self: bool) -> str:
    res = _res()
    if re.match(r"^(?:让|派|安排|叫)", body) and res["team"].search(body[:8]):
        return "team"
    if res["team"].match(body) or re.match(r"^[^，。把]{0,4}(?:部|团队)", body):
        return "team"
    if led_by_self:
        return "self"
    if res["cust"].search(body):
        return "customer"
    if res["team_work"].search(body) and not re.search(r"[发给把]", body[:1]):
        return "team"
    return "self"
