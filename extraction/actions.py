"""Action items: concrete future tasks with due date and owner (README §2 action_items).

A clause is an action when it is planned (right after a future-or-today date, or led by
我/让我/modal + an action verb), is not already done (…了, 已经), and is not an event inside
the customer's company (开会, 公示, 挂网 …; lexicon/customer_events.txt).  The text span
starts at the verb (or at a named doer such as 让/派 + person, 技术部张工) and runs to
the clause end; leading time words and subject pronouns are left out.

`finish_actions` then works on the note as a whole: a future date that no item took but
that a plan of ours with the customer follows gets its item, the same task stated twice
becomes one item, and every item gets a `summary`, the task reworded to stand alone in a
to-do list (pronouns resolved against the note's contacts and customer, a bare verb given
the object named earlier, the doer named for customer commitments).  `text` stays the exact
span of the note: that is what the evaluation scores and what the evidence shows.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from functools import lru_cache

from .clauses import Clause
from .lexload import load_list
from .types import ActionItemDraft, DateMention, Span, TextItem


def _alt(name: str) -> str:
    return "|".join(map(re.escape, load_list(name)))


@lru_cache(maxsize=1)
def _res() -> dict[str, re.Pattern[str]]:
    return {
        "verb": re.compile(rf"(?:{_alt('action_verbs.txt')}|{_alt('action_verbs_extra.txt')})"),
        "time": re.compile(
            rf"(?:{_alt('action_time_words.txt')}|(?:[一二两三四五六七八九十\d]{{1,3}})点(?:半|钟|\d{{1,2}}分?)?(?:左右)?"
            r"|(?:明年|今年|年后)?(?:[一二两三四五六七八九十\d]{1,3}月份|[上下]半年|年初|年后)|明年|今年"
            r"|(?:部门)?(?:例会|周会|晨会|月会|会议|会上)(?:上)?(?:要|得)?)+"
        ),
        "event": re.compile(rf"(?:{_alt('customer_events.txt')})"),
        "internal": re.compile(rf"(?:{_alt('internal_tasks.txt')})"),
        "team": re.compile(rf"(?:{_alt('team_cues.txt')})"),
        "team_work": re.compile(rf"(?:{_alt('team_work.txt')}|{_alt('team_work_extra.txt')})"),
        "our_role": re.compile(rf"(?:我们的?|我司的?|公司的?)?(?:{_alt('our_roles.txt')})"),
        "internal_party": re.compile(
            rf"^(?:先|再|我|我先|我再|今天|明天|回去|去)?(?:跟|找|和|问|同|与|向)(?:我们|公司|咱们|我司)?的?"
            rf"(?:{_alt('our_roles.txt')}|{_alt('team_cues.txt')}|领导|老板|经理|工厂|厂里|生产|总部|配方师傅)"
            rf"|(?:发给|交给|转给|报给)(?:我们|公司|咱们|我司)?的?"
            rf"(?:{_alt('our_roles.txt')}|{_alt('team_cues.txt')}|领导|经理|总部|工厂)"),
        # "我们实施团队 | 下周一进场": a team doer alone, its task in the next (dated) clause
        "team_doer": re.compile(
            rf"(?:我们的?|我司的?|公司的?)(?P<doer>(?:{_alt('team_cues.txt')})[^，。我他她]{{0,4}})"),
        # 交付首批 is our delivery, not 付首(款)
        "cust": re.compile(rf"(?<!交)(?:{_alt('customer_action_cues.txt')})"),
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
_CUST_CTX = re.compile(r"(?:说|答应|承诺|保证|表示|他们|她们|他|她|对方|那边|客户)$")
_NOUNY_HEAD = ("交期", "交货", "报价", "发票", "价格", "付款", "出厂", "送货", "发货", "开会", "见面",
               "做工", "出货", "到货", "交付", "回款", "找到", "去年", "打折", "给力")


_DOER_ONLY = re.compile(r"(?:我们|我)?(?:已经|已)?(?:先|再|就)?(?P<doer>(?:让|派|安排|叫)[^，。我]{0,8})")


_SELF_TAIL = re.compile(r"(?:我们|我|咱们)")
# compiled once for find_actions' clause loop (re.search with a pattern string looks it up per call)
_SELF_END = re.compile(r"(?:我们|我|咱们)$")
_DONE_LE = re.compile(r"了(?!解)")  # 了 of a thing done, not 了解
_TO_US_CTX = re.compile(r"(?:给|发给|约了?他们?)我们?$")
_WE_SAID_CTX = re.compile(r"我们?(?:就)?(?:说|表示|答应)$")
_WISH_CTX = re.compile(r"(?:想|希望|想要|打算)$")
_ASK_TAIL = re.compile(r"(?:一下|下|问|见|找|约|联系|拜访)$")
_LEAD_ADVERBS = re.compile(r"^(?:先|再|一起|亲自|顺便|重新|全部|都|当面|远程)+")


def _date_only(text: str, cl: Clause, by_start: dict[int, DateMention],
               allow_self: bool = False) -> DateMention | None:
    """The date when the clause is nothing but a date (+前/time words); with `allow_self`
    also a date followed by the rep as subject ("下礼拜一我 | 让技术员小宁过去…")."""
    d = by_start.get(cl.start)
    if d is None:
        return None
    a = d.span.end
    m = _DEADLINE.match(text, a, cl.end)
    if m:
        a = m.end()
    a = _strip_time(text, a, cl.end)
    if allow_self and a < cl.end:
        ms = _SELF_TAIL.fullmatch(text, a, cl.end)
        if ms:
            a = ms.end()
    return d if a >= cl.end else None


# a pronoun that is the object of a verb ("发给他", "跟他们") says nothing about the doer
_PRON_OBJ = re.compile(r"(?:给|跟|和|找|约|发|问|陪|带|向|让|帮|通知|告诉|联系)(?:他们|她们|他|她|客户)$")
# something we do together with the customer: the rep's to-do even when the customer proposes it
_JOINT = re.compile(r"^(?:再|先|一起)?(?:碰|见面|见个面|面谈|当面谈|聊|谈)")
# what the customer commits to us: send, give, pay, reply, confirm, prepare (README §2)
_COMMIT = re.compile(
    r"^(?:[^，。把]{0,3}?)(?:再|先|就|会|都|一定|尽快|马上)*"
    r"(?:把|给|发|寄|送|付|打|结|回复|答复|回话|回电|出|提供|确认|签|盖章|反馈|开通|开放|安排|准备|报|交)"
)
_OBJ_PRON_NEXT = re.compile(r"(?:他们|她们|他|她)(?!说|觉得|想|希望|认为|表示|反馈|也|还|都|已|现在|目前|那边|这边)")
_CUST_PRON = re.compile(r"他们|她们|对方|客户")
# handed towards us: the customer does it ("把图纸发过来", "寄过来")
_TOWARDS_US = re.compile(r"(?:发|寄|送|传|递)(?:过来|回来|给我)")
_TIME_OF_DAY = re.compile(r"(?:上午|下午|晚上|中午|早上|傍晚|一早)")
_VAGUE_TIME = re.compile(r"(?:回头|改天|有空|到时候|到时)")
_HABITUAL = re.compile(r"一直|老是|总是|经常|每次")
# "签的合同", "报的价": a relative clause about something done, not a task
_REL_DONE = re.compile(r"^(?:[^\W把跟给和找让派带向对][\u4e00-\u9fff]?|给|开|发)的")  # 签的合同, 给的每斤九块八
_DUPLICATED = re.compile(r"^(.)\1$")
# asking a named person to do it: 让江站长…, 安排小谭…, 叫老周…
_ASK_PERSON = re.compile(r"(?:让|派|安排|叫)(?:[小老][\u4e00-\u9fff]|[\u4e00-\u9fff]{1,2}?(?:站长|经理|主管|师傅|主任|工))(?:先|去|过去|把|带|给|来)")
# a clause that ends in a judgement (太长, 太贵了, 不够快): an opinion of the customer
_VERDICT = re.compile(r"(?:太|过于|偏)[\u4e00-\u9fff]了?$|不够[\u4e00-\u9fff]{1,2}$")
# a price stated right after the verb (报0.38元一支, 开的是七万九): what was quoted
_PRICE_STATED = re.compile(r"^(?:报|开|给)(?:的|了)?(?:是|价|价格)?(?:每[^，。\d]{1,2})?[0-9一二两三四五六七八九十.]+(?:元|块|万|毛|角|分)")
_TEAM_SUBJ_DEPT = re.compile(r"^[^，。把找跟和问向同约去到陪带]{0,4}(?<!总)(?:部|团队)")
# going to the customer (or working on their equipment) makes an otherwise internal-sounding
# task customer-facing: "让研发带抓包工具过去", "去工厂聊需求", "让研发远程看一下"
_FACING = re.compile(r"过去|上门|现场|远程|去[^，。找跟和问]{0,6}(?:工厂|总部|厂里)")


def find_actions(
    text: str,
    clauses: list[Clause],
    dates: list[DateMention],
    ref: date,
    contact_spans: list[Span],
) -> list[ActionItemDraft]:
    """Action items of a note in order; `clauses` are cut at every date start."""
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
        if _date_only(text, cl, by_start, allow_self=True) is not None:
            continue
        # "我让研发小周 | 明天远程看一下", "我们实施团队 | 下周一进场": a doer clause and its dated
        # task are one item
        md = None
        if b in by_start and ci + 1 < len(clauses) and clauses[ci + 1].start == b:  # only then
            md = _DOER_ONLY.fullmatch(cl.text) or res["team_doer"].fullmatch(cl.text)
        if md:
            nxt = clauses[ci + 1]
            d = by_start[b]
            s0 = a + md.start("doer")
            body = text[s0:nxt.end]
            if d.value >= ref and not _DONE_LE.search(body):
                own = "team" if (res["team"].search(md.group("doer"))
                                 or res["team_work"].search(body)) else "self"
                out.append(ActionItemDraft(body, Span(s0, nxt.end), d.value, own, _involves(body)))
                consumed.add(ci + 1)
                continue
        ctx_end = a
        self_subject = False
        if a in by_start:
            d = by_start[a]
            due, dated = d.value, True
            a = d.span.end
            m = _DEADLINE.match(text, a, b)
            if not m:  # "下礼拜一开标之前要交…": the deadline is a customer event on that date
                me = res["event"].match(text, a, b)
                m = _DEADLINE.match(text, me.end(), b) if me else None
            if m:
                a = m.end()
            a = _strip_time(text, a, b)
        elif ci > 0:
            prev = clauses[ci - 1]
            if ci > 1 and _SELF_TAIL.fullmatch(prev.text) and clauses[ci - 2].end == prev.start:
                prev, self_subject = clauses[ci - 2], True  # "下礼拜一 | 我 | 让技术员小宁…"
            pd = _date_only(text, prev, by_start, allow_self=True)
            if pd is not None and prev.end == a or pd is not None and self_subject and prev.end < a:
                due, dated = pd.value, True
                ctx_end = prev.start
                self_subject = self_subject or _date_only(text, prev, by_start) is None  # "下礼拜一我 | …"
            else:
                self_subject = False
        # "周一我跟生产确认，下午给詹工回电话": a time of day continues the previous item's day
        prev_item = out[-1] if out else None
        follows_item = (prev_item is not None and not text[prev_item.span.end:cl.start].strip("，, ")
                        and _sentence_start(text, cl.start) <= prev_item.span.start)
        if not dated and follows_item and prev_item is not None and prev_item.due is not None \
                and _TIME_OF_DAY.match(text, a, b):
            due, dated = prev_item.due, True
            a = _strip_time(text, a, b)
        # who: the words right before the clause (or before its date)
        ctx_start = max(0, ctx_end - 6)
        for c2 in reversed(clauses[:ci]):
            if c2.end <= ctx_end:
                ctx_start = max(c2.start, ctx_end - 6)
                break
        ctx = text[ctx_start:ctx_end]
        owner: str | None = None
        led_by_self = self_subject
        keep_doer = False
        mt = _TEAM_LEAD.match(text, a, b)
        if mt and (res["team"].match(text, mt.end(), b) or res["our_role"].match(text, mt.end(), b)):
            owner, keep_doer = "team", True
        else:
            m = _LEAD_SELF.match(text, a, b)
            if m and m.group(0).startswith("要求") and not dated:
                m = None  # "要求我们做二次开发": an undated requirement, not a task
            if m:
                led_by_self = True
                a = m.end()
                # "让我们法务把回复意见发给他们": our colleague does it
                mr = res["our_role"].match(text, a, b) if m.group(0).startswith("让") else None
                if mr and re.match(r"[把去给发]", text[mr.end():mr.end() + 1]):
                    a, owner, keep_doer = m.start(), "team", True
            else:
                m2 = _SUBJ.match(text, a, b)
                if m2:
                    owner = "customer"
                    a = m2.end()
        a = _strip_time(text, a, b)
        mv = _VAGUE_TIME.match(text, a, b)
        if mv:
            a = mv.end()
        mm = _MODAL.match(text, a, b)
        if mm and mm.group(0) in ("还要", "还得", "也要", "要", "得", "需要", "就", "一定", "争取",
                                  "打算", "准备", "回去", "马上", "尽快"):
            a = _strip_time(text, mm.end(), b)
        if owner is None and not led_by_self:
            if _SELF_CTX.search(ctx) and not _TO_US_CTX.search(ctx) or _WE_SAID_CTX.search(ctx):
                led_by_self = True
            elif (_CUST_CTX.search(ctx) and not _PRON_OBJ.search(ctx)) or any(e == ctx_end for e in contact_ends):
                owner = "customer"
            elif follows_item and prev_item is not None and prev_item.owner == "self":
                led_by_self = True  # the subject carries on: "我明天找服务部确认，周三给回复"
        # "我回头查一下 | 他们的电话": a pronoun right after 一下 is the object, not a new subject
        if ci + 1 < len(clauses) and clauses[ci + 1].start == b and _OBJ_PRON_NEXT.match(clauses[ci + 1].text) \
                and _ASK_TAIL.search(text, a, b):
            b = clauses[ci + 1].end
            consumed.add(ci + 1)
        if b in by_start:  # "…出测试报告我 | 下周五去拿结论": the subject of the next task
            mt2 = _SELF_END.search(text, a, b)
            if mt2:
                b = mt2.start()
        body = text[a:b]
        if len(body) < 2:
            continue
        if not dated and not led_by_self:
            continue
        if _WISH_CTX.search(ctx) and not dated:
            continue  # "想让我们再让一点": a wish of the customer, not a task
        if dated and due is not None and due < ref:
            continue
        if owner == "customer" and due is not None and due <= ref:
            continue  # "朱总今天打电话过来": the customer already did it
        past = "已经" in body or body.startswith("已") or (_DONE_LE.search(body) and (due is None or due <= ref))
        if past or _WISH.match(body):
            continue
        if due is not None and due <= ref and not led_by_self and _reported(text, a, b, contact_spans):
            continue  # "今天吴主任打电话来说…": the other side already called; news, not a task
        if not dated and (_HABITUAL.search(body) or _DUPLICATED.match(body)):
            continue  # "客服一直推给工厂" is a complaint, "问问" a vague reply
        head = _LEAD_ADVERBS.sub("", body)
        if _REL_DONE.match(head) and res["verb"].match(head):
            continue  # "签的一体化泵站合同"
        if not dated and _PRICE_STATED.match(head):
            continue  # "我们报0.38元一支": the price we quoted, not a task
        if not dated and _VERDICT.search(body):
            continue  # "觉得我们换膜停机二十分钟太长": a judgement, not a task
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
            if owner is None and not led_by_self and _CUST_PRON.search(body[:bi]):
                owner = "customer"  # "要求他们把图纸发过来": they do it
            a += bi
            body = text[a:b]
        if owner == "customer" and (res["team"].match(body) or _TEAM_SUBJ_DEPT.match(body)):
            owner = "team"  # "…发给他，下个月底前技术部要完成部署测试": our department is the subject
        if owner == "customer" and _JOINT.match(body):
            owner = "self"  # "隋总说这周四再碰一次": a meeting with us
        if owner is None and _ASK_PERSON.match(body) and not any(s.start == a + 1 for s in contact_spans):
            owner = "team"  # "让江站长把主板换掉": a named colleague of ours (customers' people are contacts)
        if owner is None:
            owner = _owner(body, led_by_self)
        if owner == "customer" and not (_COMMIT.match(body) or res["cust"].search(body)):
            continue  # "他们年底前就要上线": the customer's own plan, not a commitment to us
        out.append(ActionItemDraft(body, Span(a, b), due, owner, _involves(body)))
    return out


# the other side getting in touch (打电话来说, 回话说, 主动找我): something that happened
_REPORTED = re.compile(r"(?:主动|突然|又|也|刚|特意|特地)?(?:打(?:了个?|来|过来)?电话|来(?:了个?)?电话|来电"
                       r"|回(?:复|话|了话|电话)(?:说|了)?|反馈说|通知(?:我|我们)|(?:找|联系|微信)(?:了)?(?:我|我们)"
                       r"|(?:跟|和|对)(?:我|我们)说|说)")


def _reported(text: str, a: int, b: int, contacts: list[Span]) -> bool:
    """A clause dated today that tells how a contact (or an unnamed subject) got in touch."""
    start = max((s.end for s in contacts if s.start == a), default=a)
    return _REPORTED.match(text, start, b) is not None


# asking our own department first: "找服务部确认能不能做到", "跟计划部商量" (not 跟他们采购部…)
_ASK_OURS = re.compile(
    r"^(?:先|再)?(?:找|跟|和|问|同|与)(?:我们|公司|咱们)?的?[^，。他她客对]{0,4}(?:部|中心)(?:门)?"
    r"[^，。]{0,4}?(?:确认|商量|沟通|核实|协调|评估|申请|过一遍|对一下)"
)


def _involves(body: str) -> bool:
    """Whether the task involves the customer (for next_follow_up): internal wording
    (跟领导申请, 找工厂确认, 找服务部确认) does not, unless the task goes to the customer."""
    res = _res()
    if _ASK_OURS.match(body):
        return False
    # work with our own side (跟仓库排发货, 找法务过一遍, 把代码发给技术部) stays internal unless it
    # goes out to the customer (过去, 上门, 现场)
    if res["internal_party"].search(body) and not _FACING.search(body):
        return False
    return not res["internal"].search(body) or bool(_FACING.search(body))


# 把 + goods as the object of a delivery: the goods go, not a document of ours
_GOODS_MOVED = re.compile(r"把[^，。]{0,8}?(?:货|设备|机器|机组|产品|物料|整机|材料)")


def _owner(body: str, led_by_self: bool) -> str:
    res = _res()
    if re.match(r"^(?:让|派|安排|叫)", body) and (res["team"].search(body[:8]) or res["our_role"].search(body[:8])):
        return "team"
    if res["team"].match(body) or _TEAM_SUBJ_DEPT.match(body):
        return "team"
    if led_by_self:
        return "self"
    if res["cust"].search(body) or _TOWARDS_US.search(body):
        return "customer"
    if res["team_work"].search(body) and (not re.search(r"[发给把]", body[:1]) or _GOODS_MOVED.match(body)):
        return "team"  # delivery or installation without a doer (把第一批货送到各分场)
    return "self"


# --------------------------------------------------------------------------------------
# Finishing: a to-do for every customer-facing date, one item per task, readable summaries
# --------------------------------------------------------------------------------------

_PRON_SUM = re.compile(r"(?<![其吉])(?:他们|她们|他|她|对方)(?![人家])")
# 客户 as the object of a verb or preposition ("把报价发给客户"), not 客户端 / 客户经理
_CLIENT_OBJ = re.compile(r"(?<=[给跟和找约问向陪])客户(?![端经群名单的])|(?<=联系|拜访|回访|通知)客户(?![端经群名单的])")
_LEAD_FILLER = re.compile(
    r"^(?:嗯+|呃+|然后|那就|就是|先(?!进)|就|一定|马上|尽快|赶紧|抓紧|争取|还要|还得|也要"
    r"|要(?![求货账款])|得(?!到)|会(?![议签同面诊]))+"
)
_FILLER = re.compile(r"[嗯呃]+")
_TRAIL = re.compile(r"[吧啊呀哈呢哦嘛]+$")
_DEADLINE_AFTER = re.compile(r"(?:之前|以前|前|之内|以内|内)")
# a transfer verb with no object of its own: "给到", "发给他", "打过来", "安排"
_BARE = re.compile(
    r"^(?P<adv>再|也|一起)?(?P<v>给到|提供|回传|发|寄|送|传|递|交|打|报|带|安排|确认|给)"
    r"(?P<tail>过去|过来|一下|到位|给(?P<rcp>.{1,12}))?$"
)
_REPLY = re.compile(r"^(?P<adv>再|也)?(?P<v>回复|答复|回电话|回个电话|打电话|打个电话|联系|回访)(?P<tail>一下)?$")
_VISIT = re.compile(r"^(?P<adv>再|也|一起|亲自)?过去")
_SUMMARY_MAX = 30
_SEND_PRON = re.compile(r"((?<!给)发)(他们|她们|他|她)")  # "发他" reads "发给他"
_SEND_THERE = re.compile(r"((?:发|寄|传|报|递|交)(?:都)?)过去")
_BRING_THERE = re.compile(r"^((?:再|先|一起)?(?:带|送)[^，。过]{1,8})过去")


@lru_cache(maxsize=1)
def _person_re() -> re.Pattern[str]:
    """The name core of a contact string: 王总 in 采购部王总, Rosalind in 采购总监Rosalind."""
    sn = "|".join(map(re.escape, sorted(load_list("surnames.txt"), key=len, reverse=True)))
    tt = "|".join(map(re.escape, load_list("contact_titles.txt")))
    return re.compile(rf"(?:[小老](?:{sn})|(?:{sn})(?:{tt})|[A-Za-z][A-Za-z .'-]*)$")


@lru_cache(maxsize=1)
def _object_re() -> re.Pattern[str]:
    """A deliverable noun, with a modifier that says which one (新报价, 正式测试报告,
    修改后的方案); not any word on its left (刘总嫌报价偏高 -> 报价)."""
    nouns = _alt("action_objects.txt")
    mods = r"(?:(?:修改|调整|优化|更新|整理)(?:后|好)的?|新的?|最新的?|正式的?|最终的?|完整的?|详细的?|书面的?|[A-Za-z0-9]+)?"
    return re.compile(rf"{mods}(?:{nouns})")


@lru_cache(maxsize=4096)
def short_name(contact: str) -> str:
    """The part of a contact string a to-do line needs: 采购部王总 -> 王总."""
    m = _person_re().search(contact)
    return m.group(0).strip() if m and len(m.group(0).strip()) >= 2 else contact


def _mention_name(mention: str | None) -> str | None:
    if not mention:
        return None
    name = re.sub(r"(?:那边|这边|那里|的)+$", "", mention)
    return name or None


class _Resolver:
    """Who a pronoun means in this note: the one plausible contact, else the customer."""

    __slots__ = ("_shorts", "contacts", "org", "text")

    def __init__(self, text: str, contacts: list[TextItem], mention: str | None) -> None:
        self.text = text
        self.contacts = contacts
        self.org = _mention_name(mention)
        self._shorts = [short_name(c.text) for c in contacts]

    def person_near(self, pos: int) -> str | None:
        """The contact for 他/她 at `pos`: the only one, else the latest named before it in
        the same sentence (the one the rep was just talking about)."""
        if len(self.contacts) == 1:
            return self._shorts[0]
        if not self.contacts:
            return None
        start = _sentence_start(self.text, pos)
        best: tuple[int, str] | None = None
        for c, short in zip(self.contacts, self._shorts):
            for name in {c.text, short}:
                i = self.text.rfind(name, start, pos)
                if i >= 0 and (best is None or i > best[0]):
                    best = (i, short)
        return best[1] if best else None

    def person(self, pos: int) -> str:
        return self.person_near(pos) or self.org or "客户"

    def organisation(self, pos: int) -> str:
        return self.org or self.person_near(pos) or "客户"

    def resolve(self, pron: str, pos: int) -> str:
        return self.organisation(pos) if pron in ("他们", "她们") else self.person(pos)

    def doer(self, start: int) -> str:
        """Who does a customer commitment: the person or organisation named just before it."""
        lo = max(_sentence_start(self.text, start), start - 14)
        before = self.text[lo:start]
        best: tuple[int, str] | None = None
        for c, short in zip(self.contacts, self._shorts):
            for name in {c.text, short}:
                i = before.rfind(name)
                if i >= 0 and (best is None or i > best[0]):
                    best = (i, short)
        for m in re.finditer(r"他们|她们|对方|客户|那边|他|她", before):
            if best is None or m.start() > best[0]:
                word = m.group(0)
                best = (m.start(), self.person(start) if word in ("他", "她") else self.organisation(start))
        if best is not None:
            return best[1]
        return self.person(start)


_SENT_BREAK = re.compile(r"[。！？!?；;\n]")


def _sentence_start(text: str, pos: int) -> int:
    """Where the sentence holding `pos` starts (just after the last 。！？；or newline)."""
    start = 0
    for m in _SENT_BREAK.finditer(text, 0, pos):
        start = m.end()
    return start


def _nearest_object(text: str, lo: int, hi: int) -> str | None:
    """The deliverable named last before `hi` (within the sentence, 40 chars at most)."""
    lo = max(lo, hi - 40)
    found = None
    for m in _object_re().finditer(text, lo, hi):
        found = m.group(0)
    return found


def _strip_times(text: str, a: int, b: int, dates: list[DateMention]) -> str:
    """The span text without date expressions (and their 前/time-of-day words): the due
    date is shown next to the to-do."""
    res = _res()
    parts: list[str] = []
    pos = a
    for d in dates:
        s, e = d.span.start, d.span.end
        if e <= a or s >= b:
            continue
        parts.append(text[pos:max(pos, s)])
        e = min(e, b)
        m = _DEADLINE_AFTER.match(text, e, b)
        if m:
            e = m.end()
        m2 = res["time"].match(text, e, b)
        if m2:
            e = m2.end()
        pos = max(pos, e)
    parts.append(text[pos:b])
    return "".join(parts)


def summarize(text: str, item: ActionItemDraft, dates: list[DateMention], who: _Resolver) -> str:
    """A to-do line that reads on its own: pronouns resolved, bare verbs given their object,
    the doer named for customer commitments, time words left out, at most 30 characters."""
    a, b = item.span.start, item.span.end
    body = _strip_times(text, a, b, dates)
    if "嗯" in body or "呃" in body:
        body = _FILLER.sub("", body)
    body = _LEAD_FILLER.sub("", body)
    body = body[_strip_time(body, 0, len(body)):]
    body = _TRAIL.sub("", body).strip() or item.text
    customer = item.owner == "customer"

    # a transfer verb without its object takes the deliverable named earlier in the sentence
    mb = _BARE.match(body)
    if mb:
        obj = _nearest_object(text, _sentence_start(text, a), a)
        v, tail, adv = mb.group("v"), mb.group("tail") or "", mb.group("adv") or ""
        rcp = mb.group("rcp")
        if rcp is not None:
            rcp = _PRON_SUM.sub(lambda m: who.resolve(m.group(0), a), rcp)
        elif not customer and tail in ("", "过去", "到位") and v not in ("安排", "确认"):
            rcp = who.person(a) if who.person_near(a) or who.org else None
        if obj:
            if v in ("给到", "给", "提供"):
                body = f"{adv}给{rcp}{obj}" if rcp else f"{adv}{v}{obj}"
            elif v in ("安排", "确认"):
                body = f"{adv}{v}{obj}"
            elif rcp:
                body = f"{adv}把{obj}{v}给{rcp}"
            else:
                body = f"{adv}把{obj}{v}{tail}"
        elif rcp and v not in ("安排", "确认"):
            body = f"{adv}{v}给{rcp}" if v not in ("给到", "给") else f"{adv}{v}{rcp}"
    else:
        mr = _REPLY.match(body)
        if mr and not customer:
            p = who.person(a) if (who.person_near(a) or who.org) else None
            if p:
                v = mr.group("v")
                adv = mr.group("adv") or ""
                body = f"{adv}给{p}{v}" if v.startswith(("回电话", "回个电话", "打电话", "打个电话")) \
                    else f"{adv}{v}{p}"
    # pronouns -> the contact or the customer (offsets do not matter past this point)
    if "他" in body or "她" in body or "对方" in body:
        body = _PRON_SUM.sub(lambda m: who.resolve(m.group(0), a), _SEND_PRON.sub(r"\1给\2", body))
    if "客户" in body:
        body = _CLIENT_OBJ.sub(lambda m: who.organisation(a), body)
    # "把合同发过去" -> "把合同发给王总", "带样品过去" -> "带样品去恒达"
    if not customer and "过去" in body:
        rcp = who.person(a) if who.person_near(a) else who.org
        if rcp and rcp not in body:
            body = _SEND_THERE.sub(lambda m: f"{m.group(1)}给{rcp}", body, count=1)
        if who.org and who.org not in body:
            body = _BRING_THERE.sub(lambda m: f"{m.group(1)}去{who.org}", body, count=1)
    # "过去签合同" -> "去恒达签合同": where to go, unless the line already says it
    mv = _VISIT.match(body)
    if mv and who.org and who.org not in body:
        body = f"{mv.group('adv') or ''}去{who.org}{body[mv.end():]}"
    if customer:
        doer = who.doer(a)
        if not body.startswith(doer):
            body = f"{doer}：{body}"
    if len(body) > _SUMMARY_MAX:
        body = body[:_SUMMARY_MAX - 1] + "…"
    return body


# characters that carry no task content: compared without them, "把报价发过去" and
# "发报价" name the same task
_NOT_CONTENT = frozenset("把给了的一下个过去来我们他她它再先就要也还都呢吧啊嗯记得")


def _content(item: ActionItemDraft) -> frozenset[str]:
    return frozenset(c for c in item.text if c not in _NOT_CONTENT and not c.isspace())


def _same_task(x: ActionItemDraft, y: ActionItemDraft) -> bool:
    """Same due, same side, and one wording contained in (or nearly equal to) the other."""
    if x.due != y.due or (x.owner == "customer") != (y.owner == "customer"):
        return False
    a, b = _content(x), _content(y)
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) < 2:
        return False
    return small <= large or len(a & b) / len(a | b) >= 0.75


def dedupe_actions(items: list[ActionItemDraft]) -> list[ActionItemDraft]:
    """One item per task when a note states it twice; the more complete wording wins and
    keeps the position of the first statement."""
    out: list[ActionItemDraft] = []
    for it in items:
        for i, ex in enumerate(out):
            if _same_task(ex, it):
                if len(_content(it)) > len(_content(ex)) or (
                        len(_content(it)) == len(_content(ex)) and len(it.text) > len(ex.text)):
                    out[i] = it
                break
        else:
            out.append(it)
    return out


# a plan with the customer: a visit, a call, a meeting, sending or handing over something,
# signing, on-site work (README §2 next_follow_up)
_PLAN_VERB = re.compile(
    r"(?:再|重新|一起|亲自|当面|远程)*"
    r"(?:过去|过来|再来|来一趟|上门|拜访|回访|去|见|约|碰|面谈|谈|聊|打电话|打个电话|回电话|联系|回复|答复|"
    r"发|寄|送|报|演示|培训|签|安装|调试|进场|交付|带)"
)
_PLAN_SUBJ = re.compile(r"(?:我们|我|咱们)(?:这边)?")
_CUST_BEFORE = re.compile(r"(?:他们|她们|他|她|对方|客户|那边|说)$")


def date_items(
    text: str,
    items: list[ActionItemDraft],
    dates: list[DateMention],
    ref: date,
    clauses: list[Clause],
    contact_spans: list[Span],
) -> list[ActionItemDraft]:
    """Items for future dates that no item took although a plan of ours with the customer
    follows them ("下周三再过去一趟"): every explicit date reaches a to-do.  Past events
    (昨天见了) and the customer's own events (月底开会决定) stay without one."""
    res = _res()
    taken = {it.due for it in items}
    spans = [(it.span.start, it.span.end) for it in items]
    contact_ends = {sp.end for sp in contact_spans}
    added: list[ActionItemDraft] = []
    for d in dates:
        if d.value < ref or d.value in taken:
            continue
        if any(a <= d.span.start < b for a, b in spans):
            continue
        s0 = d.span.start
        if _CUST_BEFORE.search(text, max(0, s0 - 3), s0) or s0 in contact_ends:
            continue  # "他说下周一…", "王总下周…": the customer's plan
        cl = next((c for c in clauses if c.start <= d.span.end < c.end), None)
        if cl is None:
            continue
        a, b = d.span.end, cl.end
        m = _DEADLINE.match(text, a, b)
        if m:
            a = m.end()
        a = _strip_time(text, a, b)
        ms = _PLAN_SUBJ.match(text, a, b)
        if ms:
            a = _strip_time(text, ms.end(), b)
        mt = _TEAM_LEAD.match(text, a, b)
        team = bool(mt and (res["team"].match(text, mt.end(), b) or res["our_role"].match(text, mt.end(), b))
                    or res["team"].match(text, a, b))
        if not team and not _PLAN_VERB.match(text, a, b):
            continue
        body = text[a:b]
        if len(body) < 2 or re.search(r"了(?!解)|已", body) or _WISH.match(body):
            continue
        if res["event"].search(body) and not res["verb"].match(body):
            continue
        if _REL_DONE.match(body):
            continue
        added.append(ActionItemDraft(body, Span(a, b), d.value, "team" if team else "self", _involves(body)))
        taken.add(d.value)
    if not added:
        return items
    return sorted(items + added, key=lambda it: it.span.start)


def finish_actions(
    text: str,
    items: list[ActionItemDraft],
    dates: list[DateMention],
    contacts: list[TextItem],
    mention: str | None,
    *,
    ref: date | None = None,
    clauses: list[Clause] | None = None,
) -> list[ActionItemDraft]:
    """Record-level pass over the items of one note: an item for every customer-facing
    date that none took, duplicates merged, and each item given a `summary` that can be
    read on its own in a to-do list."""
    if ref is not None and clauses is not None:
        items = date_items(text, items, dates, ref, clauses, [c.span for c in contacts])
    items = dedupe_actions(items)
    who = _Resolver(text, contacts, mention)
    return [replace(it, summary=summarize(text, it, dates, who)) for it in items]
