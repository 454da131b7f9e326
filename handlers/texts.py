"""Every Simplified-Chinese string the bot says, and the renderers that build replies.

Kept in one place so wording is consistent and the scheduler can reuse the same renderers.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from scheduler.workdays import working_days_between

if TYPE_CHECKING:
    from store.repos import MergePreview, MergeSide, UnmergeResult

WEEKDAYS = "一二三四五六日"

HELP = """我是销售助手，直接发拜访记录（文字或语音）我就帮你整理成跟进记录。
例如：今天去恒达见了王总，他们设备故障率高，想下周三前拿到报价，预算五十万左右

常用命令：
· 我的商机 — 我负责的商机：阶段、金额、多久没更新
· 查 <客户> — 客户卡片：商机、最近跟进、未完成待办
· 待办 — 我的待办，按截止日期排序
· 完成 <待办编号> — 标记待办完成，如：完成 12
· 阶段 <商机编号> <阶段> — 如：阶段 3 报价
· 回款 — 已签合同的未回款金额、下一期应收和逾期天数
· 报价 <客户> [金额] — 记下报价已发出（48小时没回复会提醒）
· 签约 <客户> <金额> [首付30% 下周五] — 记录签约和回款计划
· 收款 <客户或合同号> <金额> — 记录收到的回款
· 团队 — （主管）每个人的商机数和久未更新的商机
· 新建客户 <名称> — 新建客户并关联最近一条未关联的记录
· 待关联 — 还没关联客户的记录
· 暂停提醒 <商机编号> <天数> — 暂停某个商机的提醒
· 提醒记录 — 最近 7 天发出的提醒（主管可看团队）
· （主管）合并客户 <保留的> <并入的>，再回「确认合并」／ 撤销合并 ／ 释放客户 <客户>

记录发错了？一条消息就能改（改更早的记录加编号，如 改 客户 #12 恒达）：
· 改 客户 恒达精密 ／ 改 日期 下周三 ／ 改 金额 50万 ／ 改 竞品 安川 ／ 不是这家
· 撤销 — 撤销最近一条记录（默认24小时内的）；撤销 #12 — 撤销更早的记录
· 撤销 金额 ／ 撤销 阶段 — 只撤回记录对商机的某一项改动
· 回答提问：直接回复序号，或「#12 1」回答记录 #12 的提问
· 确认 — 确认最近一条记录无误
英文别名：/help /deals /customer /todo /done /stage /receivables /quote /sign /paid /team /fix /undo /confirm /new /unlinked /notthis /snooze /pushes /merge /unmerge /release"""

NOT_REGISTERED = "你还没有开通销售助手账号，请联系管理员开通（管理员命令：salesbot users add）。"
EMPTY = "收到一条空消息。直接发拜访记录就能记下来，发送「帮助」查看所有命令。"
TOO_LONG = "这条消息有 {n} 个字，超过了单条 {limit} 字的上限，没有记录。请分几条发送。"
NOT_UNDERSTOOD = "没看懂这条消息，也没找到可记录的拜访内容。直接描述拜访情况（客户、联系人、下一步），或发送「帮助」查看命令。"
UNKNOWN_COMMAND = "没有「{word}」这个命令。发送「帮助」查看所有命令。"
INTERNAL_ERROR = "抱歉，处理这条消息时出错了，已记录下来。请稍后再试；如果一直失败，请联系管理员。"
UNSUPPORTED = "暂时只支持文字和语音消息，图片和文件还看不懂。请用文字或语音描述拜访情况。"
NO_RECORD = "你还没有可修改的跟进记录。"
USAGE_FIX = ("用法：改 客户 <名称> ／ 改 日期 <日期> ／ 改 金额 <金额> ／ 改 竞品 <品牌、品牌 或 无>，例如：改 日期 下周三；"
             "改更早的记录加编号：改 客户 #12 恒达")
USAGE_DONE = "用法：完成 <待办编号>，例如：完成 12。发送「待办」查看编号。"
USAGE_STAGE = "用法：阶段 <商机编号> <阶段>，例如：阶段 3 报价。可选阶段：{stages}"
USAGE_QUERY = "用法：查 <客户名称>，例如：查 恒达"
USAGE_NEW = "用法：新建客户 <名称>，例如：新建客户 苏州恒达精密机械有限公司"
BAD_DATE = ("没看懂日期「{text}」，或它不是某一天。可以写：明天下午三点、下周三、这周内、月底、国庆后、3月15号 等"
            "（节假日前后的日子要有当年的放假安排，还没公布的年份请写具体日期）。")
BAD_AMOUNT = "没看懂金额「{text}」。可以写：50万、五十万、12000元、1.2亿 等。"
BAD_STAGE = "没有「{text}」这个阶段。可选阶段：{stages}"
NOT_YOUR_CUSTOMER = "「{name}」不是你负责的客户，不能查看它的资料。如需协作，请联系你的主管。"
OWNED_BY_OTHER = "「{name}」由其他同事负责，这条记录没有关联到该客户。如需协作，请联系你的主管。"
CUSTOMER_NOT_FOUND = "没找到客户「{name}」。回复「新建客户 {name}」新建，或检查一下名称。"
ASK_PICK = "你说的是哪一家？\n{options}\n回复序号即可"
ASK_QUERY = "你要查的是哪一家？\n{options}\n请用完整名称再查一次"
PICK_OUT_OF_RANGE = "没有第 {n} 个选项，请回复 1 到 {max} 之间的序号。"
NO_PENDING_PICK = "现在没有等你回答的问题。发送「待关联」查看还没关联客户的记录。"
ITEM_NOT_FOUND = "没有编号为 {id} 的待办（或不是你的待办）。发送「待办」查看编号。"
ITEM_ALREADY_DONE = "待办 #{id} 已经完成过了：{text}"
ITEM_DONE = "已完成待办 #{id}：{text}"
DEAL_NOT_FOUND = "没有编号为 {id} 的商机（或不是你负责的）。发送「我的商机」查看编号。"
STAGE_SAME = "商机 #{id} 已经在「{stage}」阶段了。"
STAGE_MOVED = "商机 #{id}（{customer}）阶段：{old} → {new}"
NO_DEALS = "你目前没有进行中的商机。发拜访记录时提到阶段（如已报价、在试用），会自动建立商机。"
NO_ITEMS = "没有未完成的待办，干得漂亮！"
NO_RECEIVABLES = "没有未回款的合同。"
TEAM_ONLY_MANAGERS = "「团队」只对主管开放。"
TEAM_EMPTY = "你的团队里还没有成员。"
UNDONE = "已撤销记录 #{id}（{customer}），相关待办和商机变化已还原。"
UNDO_REPLAY = "记录 #{id} 已经撤销过了。"
CONFIRMED = "已确认记录 #{id}。"
CUSTOMER_EXISTS = "客户「{name}」已经存在（#{id}），不用新建。"
CUSTOMER_CREATED = "已新建客户「{name}」（#{id}），负责人：{owner}。"
LINKED = "已把记录 #{fid} 关联到客户「{name}」。"
TRANSCRIBING = "正在识别…"
HEARD = "🎙 识别内容：{text}"
VOICE_EMPTY = "这条语音里没有听到说话内容，请靠近话筒重新录一条，或直接发文字。"
VOICE_NO_AUDIO = "没收到语音文件，请重新发送。"
VOICE_FETCH_FAILED = "语音文件下载失败了，请重新发送这条语音（或改发文字）。"
UNKNOWN_BUTTON = "这个按钮已经失效了，请直接发消息操作（发送「帮助」查看命令）。"
RECORD_NOT_FOUND = "没有找到你的记录 #{id}。"
EDIT_HELP = ("要修改记录 #{id}，直接回复：改 客户 <名称> ／ 改 日期 <日期> ／ 改 金额 <金额> ／ 不是这家"
             "（接下来不带编号的修改都改 #{id}，直到你再发新的拜访记录）")
GREETING = "{name}你好！我是销售助手。拜访完直接发文字或语音，我帮你整理成跟进记录；发送「帮助」查看所有命令。"
FIX_HINT = "改错请回复：改 客户 <名称> ／ 改 日期 <日期> ／ 改 金额 <金额> ／ 不是这家 ／ 撤销"
VOICE_NO_CUSTOMER = "没听出是哪家客户：已有的客户请回复「改 客户 <名称>」，新客户请回复「新建客户 <名称>」。"

MISSING_LABELS = {
    "customer": "客户",
    "contacts": "联系人",
    "next_follow_up": "下次跟进时间",
}
OWNER_LABELS = {"self": "我", "team": "同事", "customer": "客户", None: ""}
PAIN_LABELS = {
    "competitor": "竞品",
    "price": "价格",
    "budget": "预算",
    "decision": "决策",
    "quality": "质量",
    "technical": "技术",
    "delivery": "交付",
    "inventory": "库存",
    "service": "服务",
    "other": "其他",
}
AMOUNT_KIND_LABELS = {
    "budget": "预算",
    "quote": "报价",
    "order": "合同",
    "payment": "回款",
    "other": "其他",
    None: "",
}


def fmt_date(d: date | None, today: date | None = None) -> str:
    if d is None:
        return "未定"
    text = f"{d.month}月{d.day}日(周{WEEKDAYS[d.weekday()]})"
    if today is not None and d.year != today.year:
        text = f"{d.year}年{text}"
    return text


def fmt_due(d: date | None, t: time | None, today: date | None = None) -> str:
    """A to-do's due date with the time of day when the rep gave one (6月11日(周四) 15:00)."""
    text = fmt_date(d, today)
    return f"{text} {t.strftime('%H:%M')}" if d is not None and t is not None else text


def fmt_money(v: Decimal | float | None) -> str:
    if v is None:
        return "未填"
    x = Decimal(str(v))
    if x >= 100_000_000:
        return f"{_trim(x / 100_000_000)}亿"
    if x >= 10_000:
        return f"{_trim(x / 10_000)}万"
    return f"{_trim(x)}元"


def fmt_idle(days: int) -> str:
    return "今天有更新" if days <= 0 else f"{days}天未更新"


def _trim(x: Decimal) -> str:
    s = f"{x.quantize(Decimal('0.01')):f}".rstrip("0").rstrip(".")
    return s or "0"


def numbered(options: Iterable[str]) -> str:
    return "\n".join(f"{i}) {o}" for i, o in enumerate(options, 1))


CURRENCY_NAMES = {"USD": "美元", "EUR": "欧元", "JPY": "日元", "HKD": "港元", "GBP": "英镑",
                  "TWD": "新台币", "KRW": "韩元", "SGD": "新加坡元", "AUD": "澳元", "CAD": "加元",
                  "CHF": "瑞士法郎", "RUB": "卢布", "MOP": "澳门元", "THB": "泰铢", "INR": "印度卢比"}
AMOUNT_ROLE_LABELS = {
    "order": "合同", "our_quote": "我方报价", "budget": "预算", "competitor": "竞品报价", "unit_price": "单价",
    "total": "总价", "deposit": "定金/首付", "difference": "差额", "payment": "回款", "other": "其他",
}
BASIS_LABELS = {"order": "合同", "quote": "报价", "budget": "预算", "manual": "手动"}
CHANGE_LABELS = {"stage": "阶段", "amount": "金额", "quote_sent_at": "报价", "quote_answered_at": "报价回复"}
QUOTE_SENT = "已发出（48小时内没回复会提醒）"
QUOTE_ANSWERED = "客户已回复"
CUSTOMER_TAG = "【客户】"
UNDO_FIELD_HINT = "撤销其中一项：撤销 金额 ／ 撤销 阶段"
Q_CUSTOMER = "你说的是哪一家？\n{options}\n回复「#{fid} 序号」；都不是请回复「新建客户 <名称>」"
Q_SPLIT_NOTICE = "这条消息提到了几家客户（{names}），分不清哪些内容属于哪家，先没有关联客户。"
NEW_DEAL_LINE = "  新建了商机 #{id}"
NO_CUSTOMER = "未关联客户"
USAGE_QUOTE = "用法：报价 <客户> [金额]，例如：报价 恒达 78万（记下报价已发出，48小时没回复会提醒）"
DEFAULT_TODO = "跟进客户"  # the to-do `改 日期` adds to a record that had none
CONTRACT_LINE = "  建了合同 #{id}（合同额 {amount}），回款计划发送「回款」查看"
Q_NEW_DEAL = "「{customer}」已有赢单的商机。这次是新商机吗？回复「#{fid} 1」新建商机，「#{fid} 2」不是（只记跟进）"
Q_BAD_DATE = "「{text}」不是日历上有的日子，没有记为日期。正确的是哪天？回复「改 日期 <日期>」"
Q_AMOUNT = "这条记录里有几个金额，商机金额用哪个？\n{options}\n回复「#{fid} 序号」；都不对就不用回，商机金额不变"
Q_CONTRACT = "记到签约：合同额 {amount}{plan}。回复「#{fid} 1」建合同和回款计划，「#{fid} 2」先不建"
Q_CONTRACT_PLAN = "，回款计划：{plan}"
NEW_DEAL_OPTIONS = ("是，新建商机", "不是，只记跟进")
CONTRACT_OPTIONS = ("建合同和回款计划", "先不建")
ANSWERED_NO_DEAL = "好的，记录 #{fid} 只记为跟进，不建商机。"
ANSWERED_NO_CONTRACT = "好的，记录 #{fid} 先不建合同。需要时可用「签约 <客户> <金额>」。"
CONTRACT_NEEDS_DEAL = "记录 #{fid} 还没有关联客户的商机，建不了合同。先「改 客户 #{fid} <名称>」，或用「签约 <客户> <金额>」。"
NO_OPEN_QUESTION = "记录 #{fid} 没有待回答的问题。"
SPLIT_HEAD = "这条消息提到 {n} 家客户，已按客户分成 {n} 条记录："
UNDO_TOO_OLD = ("你最近的记录 #{id} 是 {ago}前的，超过了 {hours} 小时的撤销时限，没有撤销。"
                "确实要撤销请回复「撤销 #{id}」。")
UNDO_CONFIRM = ("确定撤销记录 #{id} 吗？（{customer}，{when}：{text}）相关待办和商机变化会还原。"
                "确认请回复「撤销 #{id} 确认」")
FIELD_UNDONE = "已撤销记录 #{id} 对商机 #{deal} 的{field}改动：{new} → {old}"
NO_FIELD_CHANGE = "记录 #{id} 没有改动商机的{field}，没有可撤销的。"
USAGE_UNDO = "用法：撤销 ／ 撤销 #记录编号 ／ 撤销 金额 ／ 撤销 阶段 ／ 撤销 #记录编号 金额"
NO_UNLINKED = "没有待关联客户的记录。"
UNLINKED_HEAD = "待关联客户的记录 {n} 条："
UNLINKED_TAIL = "回复「改 客户 #编号 <客户名称>」关联；新客户请回复「新建客户 <名称>」"
NOT_THIS = ("已取消记录 #{id} 与「{name}」的关联（相关商机变化已还原）。"
            "回复「改 客户 #{id} <名称>」关联到正确的客户，或「新建客户 <名称>」新建。")
NOT_LINKED = "记录 #{id} 没有关联客户。"
CUSTOMER_SIMILAR = ("已有相似的客户「{name}」（#{id}）。是同一家请回复「改 客户 {name}」；"
                    "确认是另一家公司，请回复「新建客户 {new} 确认」")
AGO_HOURS = "{n}小时"
AGO_DAYS = "{n}天"
TODO_CUSTOMER_HEAD = "等客户做的事（{n} 条）："


def ago(hours: float) -> str:
    return AGO_DAYS.format(n=int(hours // 24)) if hours >= 48 else AGO_HOURS.format(n=max(1, int(hours)))


def deal_line(deal_id: int, stage: str, amount: object, basis: str | None) -> str:
    """The deal as it stands after the note (its current stage, never the note's guess)."""
    b = f"（{BASIS_LABELS[basis]}）" if basis in BASIS_LABELS and amount is not None else ""
    return f"商机 #{deal_id} · {stage} · {fmt_money(amount)}{b}"  # type: ignore[arg-type]


def change_line(deal_id: int, field: str, old: str, new: str) -> str:
    return f"  商机 #{deal_id} {CHANGE_LABELS.get(field, field)}：{old} → {new}"


def unlinked_line(fid: int, when: str, mention: str | None, text: str) -> str:
    short = text if len(text) <= 40 else text[:40] + "…"
    return f"#{fid} {when}" + (f"「{mention}」" if mention else "") + f"：{short}"


def quote_line(deal_id: int, sent: bool) -> str:
    """A quote fact the note stamped on the deal: sent (the 48-hour clock starts) or answered."""
    return f"  商机 #{deal_id} {CHANGE_LABELS['quote_sent_at']}：{QUOTE_SENT if sent else QUOTE_ANSWERED}"


def contract_plan(installments: Iterable[Any]) -> str:
    """"，回款计划：首付 30%（12月11日(周五)前）、…" for a signing's installments; "" without a plan."""
    parts = []
    for i in installments:
        share = f"{i.ratio * 100:g}%" if i.ratio is not None else fmt_money(i.amount)
        parts.append(f"{i.label} {share}" + (f"（{fmt_date(i.due)}前）" if i.due else ""))
    return Q_CONTRACT_PLAN.format(plan="、".join(parts)) if parts else ""


def amount_text(value: float, kind: str | None, role: str | None, shown: str = "", *,
                currency: str = "CNY", high: float | None = None, approx: bool = False,
                per: str | None = None) -> str:
    """An amount with its role, as written: 约 for an estimate, low–high for a range, the
    currency when it is not yuan, /台 for a unit price; a computed total shows its working
    (2800元/台 × 30台 = 8.4万)."""
    if role == "total" and shown:
        return f"{shown}（{AMOUNT_ROLE_LABELS['total']}）"
    label = AMOUNT_ROLE_LABELS.get(role or "") or AMOUNT_KIND_LABELS.get(kind, "")
    money = fmt_money_in(value, currency) + (f"–{fmt_money_in(high, currency)}" if high is not None else "")
    return ("约" if approx else "") + money + (f"/{per}" if per else "") + (f"（{label}）" if label else "")


def fmt_money_in(v: float, currency: str) -> str:
    """A sum in its own currency: yuan as fmt_money, others with their name (12万美元)."""
    if currency == "CNY":
        return fmt_money(v)
    name = CURRENCY_NAMES.get(currency, currency)
    return fmt_money(v).removesuffix("元") + name


def item_text(text: str, owner: str | None) -> str:
    """A to-do as listed: the customer's commitments are marked, the rep's are plain."""
    return (CUSTOMER_TAG + text) if owner == "customer" else text


def other_times(date_spans: list[dict[str, Any]], shown: set[date | None], today: date) -> list[str]:
    """The times a note mentions that no to-do or next follow-up shows (下个季度, 元旦前后, 上周三),
    each with what it was read as: nothing the rep said is dropped silently.  Today alone is left out."""
    out = []
    for sp in date_spans:
        start = date.fromisoformat(sp["date"])
        end = date.fromisoformat(sp["end"]) if sp.get("end") else None
        kind, at = sp.get("kind", "day"), sp.get("time")
        if kind == "day" and (start in shown or (start == today and not at)):
            continue
        when = fmt_date(start, today) + (f" {at}" if at else "")
        if kind == "period" and end is not None:
            when = f"{fmt_date(start, today)}–{fmt_date(end, today)}"
        elif kind in ("before", "after"):
            when += "前" if kind == "before" else "起"
        out.append(f"{sp['text']}（{when}）")
    return out


def render_record(
    fid: int,
    record: Any,
    customer_name: str | None,
    deal: str | None,
    changes: list[str],
    items: list[tuple[int, Any]],
    today: date,
    notice: str | None = None,
    verb: str = "已记录",
    questions: list[str] | None = None,
    missing: list[str] | None = None,
) -> str:
    """The confirmation after a note: what was recorded, what changed on the deal, what is asked."""
    lines = [f"{verb} #{fid} · {customer_name or NO_CUSTOMER}"]
    if notice:
        lines.append(notice)
    if deal:
        lines.append(deal)
    if changes:
        lines.extend(changes)
    if record.contacts:
        lines.append("联系人：" + "、".join(record.contacts))
    if record.amounts:
        lines.append("金额：" + "、".join(amount_text(a.value, a.kind, a.role, a.text, currency=a.currency,
                                                   high=a.high, approx=a.approx, per=a.per)
                                       for a in record.amounts))
    if record.pain_points:
        lines.append("痛点：" + "；".join(f"[{PAIN_LABELS.get(p.category, p.category)}] {p.text}"
                                        for p in record.pain_points))
    if record.competitors:
        lines.append("竞品：" + "、".join(record.competitors))
    said = other_times(record.date_spans, {item.due for _, item in items} | {record.next_follow_up}, today)
    if said:
        lines.append("时间：" + "、".join(said))
    if items:
        lines.append("待办：")
        for iid, item in items:
            who = OWNER_LABELS.get(item.owner, "")
            lines.append(f"  #{iid} {item_text(item.label, item.owner)} · {fmt_due(item.due, item.due_time, today)}"
                         + (f" · {who}" if who and item.owner != "customer" else ""))
    nf = record.next_follow_up
    lines.append("下次跟进：" + fmt_date(nf, today))
    labels = [MISSING_LABELS[m] for m in (missing or []) if m in MISSING_LABELS]
    if labels:
        lines.append("缺少：" + "、".join(labels))
    for q in questions or []:
        lines.append("❓ " + q)
    if changes:
        lines.append(UNDO_FIELD_HINT)
    lines.append(FIX_HINT)
    return "\n".join(lines)


USAGE_MERGE = "用法：合并客户 <保留的客户> <要并入的客户>，例如：合并客户 苏州恒达精密机械 恒达精密（两个名称用空格隔开）"
MERGE_ONLY_MANAGERS = "「合并客户」只对主管和管理员开放。"
MERGE_SAME = "「{a}」和「{b}」是同一个客户，不用合并。"
MERGE_ASK = ("{cards}\n确认把「{drop}」并入「{keep}」吗？请在 {minutes} 分钟内回复「确认合并」，不回复就不合并。"
             "合并后 {days} 天内可以回复「撤销合并」还原。")
MERGED = ("已把「{drop}」并入「{keep}」：移动商机 {deals} 个、联系人 {contacts} 个、跟进记录 {followups} 条、"
          "待办 {items} 条。以后提到「{drop}」会自动对应到「{keep}」。")
MERGED_UNDO_HINT = "（合并 #{id}，{days} 天内可回复「撤销合并」还原）"
MERGE_REPLAY = "合并 #{id} 已经完成了（「{drop}」已并入「{keep}」），没有再合并一次。"
NO_PENDING_MERGE = ("没有等待你确认的客户合并。请先发「合并客户 <保留的客户> <要并入的客户>」，"
                    "看过两个客户的信息后再回复「确认合并」。")
MERGE_EXPIRED = ("「{drop}」并入「{keep}」的确认已超过 {minutes} 分钟，已失效，没有合并。"
                 "如仍要合并，请重新发：合并客户 {keep_id} {drop_id}")
MERGE_STALE = "「{drop}」或「{keep}」在你确认前已经被合并或变动，这次没有合并。请重新发「合并客户」核对后再确认。"
MERGE_REQUEST_CLOSED = "这条合并请求已经{state}，没有再次等待确认。如需合并，请重新发「合并客户」。"
MERGE_STATES = {"done": "确认并完成", "undone": "完成后又撤销", "cancelled": "被更新的请求取代",
                "expired": "过期失效"}
MERGE_ONLY_MANAGERS_UNDO = "「撤销合并」只对主管和管理员开放。"
USAGE_UNMERGE = "用法：撤销合并 [合并编号]，例如：撤销合并（你最近的一次合并）／ 撤销合并 #3"
NO_MERGE_TO_UNDO = "你还没有可撤销的客户合并。"
MERGE_NOT_FOUND = "没有找到合并 #{id}（或不是你能操作的）。"
UNMERGE_REPLAY = "合并 #{id}（「{drop}」并入「{keep}」）已经撤销过了。"
UNMERGE_TOO_LATE = ("合并 #{id}（「{drop}」并入「{keep}」）是 {ago}前的，超过了 {days} 天的撤销时限，不能再撤销。"
                    "如需分开，请用「新建客户」和「改 客户 #记录」逐条调整。")
UNMERGE_BLOCKED = "「{keep}」之后又被并入了「{into}」，请先撤销那次合并，再撤销合并 #{id}。"
UNMERGED = ("已撤销合并 #{id}：「{drop}」恢复为独立客户，还原了商机 {deals} 个、联系人 {contacts} 个、"
            "跟进记录 {followups} 条、待办 {items} 条{extra}。合并之后对这些记录的修改都保留。")
UNMERGED_ALIASES = "；「{keep}」去掉了别名 {aliases}"
UNMERGED_OWNER = "；「{keep}」的负责人恢复为公海（合并时从「{drop}」带过来的）"
UNMERGED_REGION = "；「{keep}」的地区恢复为空（合并时从「{drop}」带过来的）"
CLI_MERGED_UNDO_HINT = "（合并 #{id}，{days} 天内可撤销：salesbot customers unmerge {id}）"
CLI_MERGE_QUESTION = "确认合并？[y/N] "
CLI_MERGE_NEEDS_YES = "不能合并：没有终端可以确认。核对上面两个客户后，加 --yes 再运行：salesbot customers merge {keep} {drop} --yes"
CLI_MERGE_DECLINED = "没有合并。"
CLI_MERGE_REFUSED = "不能合并：{why}"
CLI_MERGE_BAD = "客户 #{keep} 或 #{drop} 不存在、是同一个，或已经被合并过"
CLI_NO_MERGE = "没有可撤销的合并。"
CLI_MERGE_NOT_FOUND = "没有合并 #{id}。"
CLI_WORKER_NEEDS_PG = "salesbot worker 处理多台机器共享的任务队列，需要 PostgreSQL（database.url），且 queue.mode 不是 \"local\"。"
CALENDAR_MISSING = ("警告：{year}年没有节假日数据（缺 {names}），这些日子会按工作日计算提醒。"
                    "请在配置的 [calendar] 里按国务院通知补上 {year} 年的放假和调休，或升级 chinesecalendar。")
USER_LEFT_TO = "{name} 已停用：{customers} 个客户、{deals} 个进行中的商机、{items} 条待办已转给 {to}。"
USER_LEFT_FREED = ("{name} 已停用：{customers} 个客户已放回公海，{items} 条待办已转给主管；"
                   "{deals} 个进行中的商机仍在其名下，相关提醒改发给主管并标注“已离职”"
                   "（要转给同事：salesbot users deactivate {name} --to 同事）。")
USER_LEFT_TITLE = "团队成员离职交接："
USER_NOT_FOUND = "没有在职用户 {name}（salesbot users list 查看）"
USER_EMPTY = "还没有用户：先用 salesbot users add 添加，或运行 salesbot demo"
SERVE_NO_CHANNEL = ("注意：企业微信和钉钉都没有启用（wecom.enabled / dingtalk.enabled），只有 /healthz 和 /metrics；"
                    "在配置文件里填好凭据并设为 true 后重启。")
CHANNEL_NAMES = {"wecom": "企业微信", "dingtalk": "钉钉"}
CHANNEL_OK = "{name}：凭据检查通过"
CHANNEL_BAD = {"wecom": "{name}：凭据检查失败（{error}）。请核对 wecom.corp_id 和 wecom.secret，并确认本机出口 IP "
                        "在企业微信应用的“企业可信 IP”里；服务照常启动，/healthz 会显示 degraded，直到接口恢复。",
               "dingtalk": "{name}：凭据检查失败（{error}）。请核对 dingtalk.client_id 和 dingtalk.client_secret"
                           "（开发者后台 → 凭证与基础信息）；服务照常启动，/healthz 会显示 degraded，直到接口恢复。"}
CONSOLE_AS_USAGE = "用法：/as 用户名（切换成另一个用户说话），例如：/as li"
CONSOLE_NO_USER = "没有用户 {name}（salesbot users list 查看）"
CONSOLE_VOICE_USAGE = "用法：/voice 音频文件路径（amr、mp3、wav、m4a、silk…），例如：/voice ~/录音/拜访.amr"
CONSOLE_VOICE_MISSING = "找不到音频文件 {path}：请检查路径（相对路径从启动 salesbot 的目录算起）"
REPLY_LATE = "（以下回复晚到了约{minutes}分钟：消息平台暂时发送失败，已自动重试，记录没有丢）"
CLI_WORKER_BAD_QUEUES = "--queues 只能是 notes、asr 或 notes,asr，收到：{got}"
CLI_WORKER_START = "启动任务进程：数据库 {db}，队列 {queues}，同时处理 {n} 条（Ctrl+C 停止）"


def merge_cards(preview: MergePreview) -> str:
    """Both customers of a proposed merge, side by side in words, the kept one first."""
    return "\n".join([_merge_card("保留", preview.keep), _merge_card("并入（之后停用，名称变为别名）", preview.drop)])


def _merge_card(role: str, side: MergeSide) -> str:
    c = side.customer
    return "\n".join([
        f"【{role}】{c.name} #{c.id}" + (f" · {c.region}" if c.region else " · 地区未填"),
        f"  负责人：{side.owner.name if side.owner else '公海（未分配）'}",
        "  别名：" + ("、".join(c.aliases) if c.aliases else "无"),
        f"  商机 {side.deals} 个 · 联系人 {side.contacts} 个 · 跟进记录 {side.followups} 条 · 未完成待办 {side.items} 条",
    ])


def unmerged_text(r: UnmergeResult, merge_id: int) -> str:
    """What 撤销合并 put back, item by item."""
    extra = ""
    if r.aliases:
        extra += UNMERGED_ALIASES.format(keep=r.keep.name, aliases="、".join(r.aliases))
    if r.owner_cleared:
        extra += UNMERGED_OWNER.format(keep=r.keep.name, drop=r.drop.name)
    if r.region_cleared:
        extra += UNMERGED_REGION.format(keep=r.keep.name, drop=r.drop.name)
    return UNMERGED.format(id=merge_id, drop=r.drop.name, deals=r.deals, contacts=r.contacts,
                           followups=r.followups, items=r.items, extra=extra)


# ---------------------------------------------------------------- contracts and payments (签约 收款 回款)

USAGE_SIGN = ("用法：签约 <客户> <合同金额> [回款计划]，例如：签约 恒达 120万 首付30% 下周五 尾款70% 验收后；"
              "可加合同号：签约 恒达 120万 合同号 HT-2026-001")
USAGE_PAID = "用法：收款 <客户或合同号> <金额> [日期]，例如：收款 恒达 36万 ／ 收款 HT-2026-001 36万 昨天"
SIGN_NO_AMOUNT = "没看到合同金额。" + USAGE_SIGN
PAID_NO_AMOUNT = "没看到收款金额。" + USAGE_PAID
INEXACT_AMOUNT = "合同和回款按确切的人民币金额记账，「{text}」不是（外币、区间或估计）。请写确切金额，如 36万。"
NEGATIVE_AMOUNT = "金额不能是负数或零：「{text}」。请写收到或签下的金额，如 36万。"
SCHEDULE_MISSING = "回款计划里的「{label}」没写比例或金额，请写成：{label}30% 下周五 或 {label}36万 月底。"
SCHEDULE_OVER = "回款计划合计超过了合同金额 {amount}，请核对各笔的比例或金额。"
SIGN_FUTURE_DATE = "「{text}」还没到，签约日期不能晚于今天。若这是某笔款的付款日期，请写在款项后面，如：首付30% {text}。"
PAID_FUTURE_DATE = "收款日期「{text}」还没到。请在钱到账后再记录，或写实际到账日期，如：收款 恒达 36万 昨天。"
NUMBER_TAKEN = "合同号「{number}」已经用在合同 #{id}（{customer}）上了，请换一个合同号，或不写合同号。"
NOT_YOUR_DEAL = "「{customer}」的进行中商机 #{deal} 由其他同事负责，不能替他签约。如需协作，请联系你的主管。"
CONTRACT_NOT_FOUND = "没有找到合同「{ref}」（或不是你负责的）。发送「回款」查看你的合同和合同号。"
NO_OPEN_CONTRACT = "「{customer}」没有待回款的合同。签约后请先发：签约 {customer} <金额>"
ASK_CONTRACT = "「{customer}」有 {n} 份待回款的合同，这笔收款记到哪一份？\n{options}\n请回复：收款 <合同号> {amount}"
OVERPAID = "收款 {amount} 超过了合同 {ref} 的待回金额 {balance}，没有记录。请核对金额，或确认是不是另一份合同。"
CONTRACT_PAID_OFF = "合同 {ref} 已经全部回款，没有待回金额。"

DEAL_TITLE = "{customer} 商机"
SIGNED_HEAD = "已签约 · 合同 #{id} · {customer}"
SIGNED_HEAD_NUMBERED = "已签约 · 合同 {number}（#{id}）· {customer}"
SIGNED_BODY = "合同额 {amount} · 签约日期 {signed} · 商机 #{deal} 已转为赢单"
SCHEDULE_HEAD = "回款计划："
SCHEDULE_NONE = "回款计划：未约定"
SCHEDULE_LINE = "  {seq}) {label} {amount} · {due}"
PAID_HINT = "收到回款后回复：收款 {ref} <金额>"

PAID_HEAD = "已记录收款 · 合同 {ref}【{customer}】{amount}（{date}）"
PAID_BALANCE = "已回 {paid} / 合同额 {total}，待回 {balance}"
PAID_NEXT = "下一笔：{label} {amount} · {due}"
PAID_ALL = "这份合同已全部回款。"

RECEIVABLES_HEAD = "未回款合同 {n} 份，待回款合计 {total}："
RECEIVABLE_LINE = "合同 {ref}【{customer}】合同额 {amount}，已回 {paid}，待回 {balance} · {status}"
RECEIVABLE_INSTALLMENT = "    {label} {amount} · {due} · {status}"
STATUS_OVERDUE = "已逾期{days}天"
STATUS_DUE_TODAY = "今天到期"
STATUS_DUE_ON = "应收日 {due}"
STATUS_WAITING = "待付"
DUE_UNDATED = "日期未定"


# ---------------------------------------------------------------- alerts (scheduler)

ALERT_STALE_REP = "这些商机已满{n}个工作日没有更新，跟进后记一条拜访即可（回复「暂停提醒 商机编号 天数」可暂停）："
ALERT_STALE_MGR = "团队里这些商机已满{n}个工作日没有更新，请督促负责人跟进："
ALERT_SILENT_OWNER = "这些客户已满{n}天没有跟进记录，联系一下吧："
ALERT_SILENT_MGR = "这些客户已满{n}天没人跟进（可回复「释放客户 编号」放回公海）："
ALERT_UNPAID = "这些合同签约已满{n}天还没有回款，请按应收日安排催收："
ALERT_OVERDUE = "这些合同回款已逾期（回复「暂停提醒 合同号或商机编号 天数」可暂停）："
ALERT_QUOTE = "报价发出已满{n}小时还没有客户回复，建议跟进一下："
ALERT_RELEASED = "这些客户已满{n}天没人跟进，已自动放回公海（任何销售记一条拜访即可认领）："
REASON_RELEASED = "客户已{n}天未跟进，已放回公海"
ALERT_TODO = "今天到期和已逾期的待办（完成后回复「完成 编号」）："
ALERT_TODO_CUSTOMER = "客户答应今天前做到的事，记得跟进确认（做到了回复「完成 编号」）："
ALERT_FUNNEL = "销售漏斗周报 · {week}"
ALERT_FUNNEL_TEAM = "{team} · 销售漏斗周报 · {week}"
LEVEL_OWNER = "一级"
LEVEL_MANAGER = "二级·已报主管"
REASON_STALE = "已{n}个工作日未更新（满{t}个工作日，{level}）"
REASON_QUOTE = "报价已{n}小时未回复（满{t}小时）"
REASON_SILENT = "客户已{n}天未跟进（满{t}天，{level}）"
REASON_UNPAID = "签约{n}天未回款（满{t}天）"
REASON_OVERDUE = "已逾期{n}天"
DUE_IN = "应收日 {due}，{n}天后到期"
DUE_TODAY = "应收日 {due}，今天到期"
DUE_PAST = "应收日 {due}，已逾期{n}天"
DUE_NONE = "未约定应收日"
LEFT_MARK = "（已离职）"
DIGEST_MORE = "还有{n}条，回复「提醒记录」查看"
DIGEST_SECTION_MORE = "  ……这一类还有{n}条，回复「提醒记录」查看"
SECTION_MAX, SECTION_SHOWN = 8, 5  # a section longer than this shows its first lines and a count
NOTICE_RANK = 6  # AlertItem.rank from which lines are reports and notices, never summarized
FUNNEL_TEAM = "{manager}的团队"
FUNNEL_HEAD = "阶段 · 数量 · 金额 · 转入下一阶段 · 平均停留"
FUNNEL_UNPRICED = "（另{n}个未填金额）"
FUNNEL_WON_WINDOW = "（近{n}天）"
FUNNEL_LOST = "输单（近{n}天） · {lost}"
FUNNEL_NOTE = "说明：在手商机按当前阶段统计；赢单、输单和平均停留只算近{n}天；金额未填的不计入合计。"
# One digest fits one WeCom text message (2048 bytes), the smallest of the channels.
DIGEST_MAX_BYTES = 1900
DIGEST_HEAD = "🔔 销售助手提醒"
SNOOZED = "已暂停商机 #{id}（{customer}）的提醒（含其合同的催收和逾期提醒），{until} 起恢复。"
USAGE_SNOOZE = "用法：暂停提醒 <商机编号或合同号> <天数>，例如：暂停提醒 3 7 ／ 暂停提醒 HT-2026-001 7"
SNOOZE_NOT_FOUND = "没有找到商机或合同「{ref}」（或不在你的团队里）。商机编号见「我的商机」，合同号见「应收」。"
RELEASED = "已把客户「{name}」放回公海，之后第一个记录拜访的销售会成为负责人。"
RELEASE_ALREADY = "客户「{name}」已经在公海里了（没有负责人）。"
USAGE_RELEASE = "用法：释放客户 <客户名称或编号>，例如：释放客户 恒达精密 ／ 释放客户 12"
RELEASE_ONLY_MANAGERS = "「释放客户」只对主管和管理员开放。"
NO_PUSHES = "最近 7 天没有发出提醒。"
PUSH_LOG_HEAD = "最近 7 天的提醒记录（最新在前）："
PUSH_STATUS = {"pending": "待发送", "sent": "已发送", "dead": "发送失败"}
PUSH_RULES = {"stale_deal": "商机停滞", "stale_deal_team": "商机停滞", "quote_no_reply": "报价未回复",
              "silent_customer": "客户沉默", "silent_customer_team": "客户沉默", "unpaid_contract": "签约未回款",
              "payment_overdue": "回款逾期", "due_items": "待办到期", "weekly_funnel": "漏斗周报",
              "customer_released": "自动放回公海", "customer_released_team": "自动放回公海", "message": "通知"}


def alert_deal_line(deal_id: int, customer: str, stage: str, amount: object, last: date,
                    what: str = "最后更新") -> str:
    return f"#{deal_id} {customer} · {stage} · {fmt_money(amount)} · {what} {fmt_date(last)}"  # type: ignore[arg-type]


def alert_customer_line(customer_id: int, customer: str) -> str:
    return f"#{customer_id} {customer}"


def alert_contract_line(number: str, customer: str, amount: object, paid: object, status: str,
                        deal_id: int | None = None) -> str:
    balance = Decimal(str(amount)) - Decimal(str(paid))
    deal = f" · 商机 #{deal_id}" if deal_id else ""
    return f"合同 {number}【{customer}】合同额 {fmt_money(amount)}，待回 {fmt_money(balance)} · {status}{deal}"  # type: ignore[arg-type]


def due_status(due: date | None, today: date) -> str:
    """A receivable's due date and where today stands to it (N天后到期 / 今天到期 / 已逾期N天)."""
    if due is None:
        return DUE_NONE
    n = (due - today).days
    if n > 0:
        return DUE_IN.format(due=fmt_date(due, today), n=n)
    return DUE_TODAY.format(due=fmt_date(due, today)) if n == 0 else DUE_PAST.format(due=fmt_date(due, today), n=-n)


def _utc(v: str) -> datetime:
    at = datetime.fromisoformat(v)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AlertItem:
    """One outbox row as a digest shows it: its section, its line (saying why), the objects it
    is about (so a deal or customer listed for several reasons appears once) and that why alone."""

    section: str
    line: str
    key: str  # what the line is about: "deal:12", "customer:5", "contract:3", "item:7"
    related: tuple[str, ...]  # objects whose own lines it absorbs (a deal's customer)
    reason: str
    rank: int  # the section's place: deals, quotes, contracts, released, silent, to-dos, reports
    family: str  # one reason per family and object (the owner's and the manager's level alike)


def funnel_title(f: dict[str, Any]) -> str:
    """The weekly report's title (message and chart), naming the team when the facts do."""
    if f.get("team_name"):
        return ALERT_FUNNEL_TEAM.format(team=f["team_name"], week=f["week"])
    return ALERT_FUNNEL.format(week=f["week"])


def _owner_tag(f: dict[str, Any]) -> str:
    return f" · {f['owner']}" + (LEFT_MARK if f.get("left") else "")


@dataclass(frozen=True)
class _Row:
    """One outbox row being worded: its rule and facts, when, and for whom (owner or manager)."""

    settings: Any
    rule: str
    f: dict[str, Any]
    now: datetime
    today: date
    team: bool
    owner: str  # 「· 负责人」 on a manager's line, "" on the owner's own
    level: str


def alert_item(settings: Any, rule: str, f: dict[str, Any], now: datetime) -> AlertItem:
    """One outbox row worded from its facts at `now` (delivery or dry-run time)."""
    team = rule.endswith("_team") or bool(f.get("team")) or bool(f.get("left"))
    row = _Row(settings, rule, f, now, now.astimezone(settings.tz).date(), team,
               _owner_tag(f) if team else "", LEVEL_MANAGER if team else LEVEL_OWNER)
    wording = _ALERT_WORDING.get(rule)
    if wording is not None:
        return wording(row)
    if rule == "weekly_funnel":
        return AlertItem(funnel_title(f), f["text"], f"funnel:{f['week']}", (), "", 6, "funnel")
    title, line = f.get("title", DIGEST_HEAD), f.get("line", "")
    return AlertItem(title, line, f"{rule}:{f.get('line', '')}", (), "", 7, rule)


def _deal_alert(r: _Row) -> AlertItem:
    """A deal without updates, or its quote without a reply."""
    a, f, tz = r.settings.alerts, r.f, r.settings.tz
    sent = f.get("sent") if r.rule == "quote_no_reply" else None  # quote alerts date the quote itself
    last = _utc(sent or f["last"]).astimezone(tz).date()
    base = alert_deal_line(f["deal_id"], f["customer"], r.settings.stage_label(f["stage"]), f["amount"], last,
                           "报价发出" if sent else "最后更新")
    key, related = f"deal:{f['deal_id']}", ((f"customer:{f['customer_id']}",) if f.get("customer_id") else ())
    if sent:
        hours = int((r.now - _utc(sent)).total_seconds() // 3600)
        reason = REASON_QUOTE.format(n=hours, t=a.quote_no_reply_hours)
        return AlertItem(ALERT_QUOTE.format(n=a.quote_no_reply_hours), f"{base} · {reason}{r.owner}", key,
                         related, reason, 1, "quote")
    t = a.stale_deal_manager_days if r.rule == "stale_deal_team" else a.stale_deal_rep_days
    lvl = LEVEL_MANAGER if r.rule == "stale_deal_team" else r.level
    reason = REASON_STALE.format(n=working_days_between(last, r.today), t=t, level=lvl)
    title = ALERT_STALE_MGR.format(n=t) if r.rule == "stale_deal_team" or r.team else ALERT_STALE_REP.format(n=t)
    return AlertItem(title, f"{base} · {reason}{r.owner}", key, related, reason, 0, "stale")


def _silent_alert(r: _Row) -> AlertItem:
    """A customer without a follow-up for too long."""
    days_set, f = r.settings.alerts.silent_customer_days, r.f
    days = (r.now - _utc(f["last"])).days
    t = days_set[min(1, len(days_set) - 1)] if r.rule.endswith("_team") else days_set[0]
    lvl = LEVEL_MANAGER if r.rule.endswith("_team") else r.level
    reason = REASON_SILENT.format(n=days, t=t, level=lvl)
    title = ALERT_SILENT_MGR.format(n=t) if r.team else ALERT_SILENT_OWNER.format(n=t)
    return AlertItem(title, f"{alert_customer_line(f['customer_id'], f['customer'])} · {reason}{r.owner}",
                     f"customer:{f['customer_id']}", (), reason, 4, "silent")


def _released_alert(r: _Row) -> AlertItem:
    """A silent customer gone back to the public pool."""
    f = r.f
    reason = REASON_RELEASED.format(n=(r.now - _utc(f["last"])).days)
    line = f"{alert_customer_line(f['customer_id'], f['customer'])} · {reason} · 原负责人 {f['owner']}" \
        + (LEFT_MARK if f.get("left") else "")
    return AlertItem(ALERT_RELEASED.format(n=f["days"]), line, f"customer:{f['customer_id']}", (), reason, 3,
                     "released")


def _contract_alert(r: _Row) -> AlertItem:
    """A signed contract with nothing paid, or a payment past its due date."""
    a, f, today = r.settings.alerts, r.f, r.today
    number = f["number"] or f"#{f['contract_id']}"
    due = date.fromisoformat(f["due_on"]) if f.get("due_on") else None
    owner = r.owner
    if r.rule == "unpaid_contract":
        signed = date.fromisoformat(f["signed_on"])
        reason = REASON_UNPAID.format(n=(today - signed).days, t=a.unpaid_after_signing_days)
        status = f"签订于 {fmt_date(signed, today)}，{reason} · {due_status(due, today)}"
        title, owner = ALERT_UNPAID.format(n=a.unpaid_after_signing_days), _owner_tag(f)
        family = "unpaid"
    else:
        reason = due_status(due, today)
        status = f"{reason}（{r.level}）"
        title, family = ALERT_OVERDUE, "overdue"
    line = alert_contract_line(number, f["customer"], f["amount"], f["paid"], status, f.get("deal_id")) + owner
    return AlertItem(title, line, f"contract:{f['contract_id']}", (), reason, 2, family)


def _todo_alert(r: _Row) -> AlertItem:
    """A to-do due today or overdue (the customer's own promises apart)."""
    f = r.f
    late = (r.today - date.fromisoformat(f["due"])).days
    theirs = f.get("owner") == "customer"
    line = (f"#{f['item_id']} " + (f"【{f['customer']}】" if f.get("customer") else "")
            + item_text(f["text"], f.get("owner")))
    at = f" {f['due_time'][:5]}" if f.get("due_time") else ""  # "15:00:00" in the facts
    reason = f"已逾期{late}天" if late > 0 else f"今天{at}到期"
    return AlertItem(ALERT_TODO_CUSTOMER if theirs else ALERT_TODO, f"{line} · {reason}",
                     f"item:{f['item_id']}", (), reason, 5, "todo")


_ALERT_WORDING = {
    "stale_deal": _deal_alert, "stale_deal_team": _deal_alert, "quote_no_reply": _deal_alert,
    "silent_customer": _silent_alert, "silent_customer_team": _silent_alert,
    "customer_released": _released_alert, "customer_released_team": _released_alert,
    "unpaid_contract": _contract_alert, "payment_overdue": _contract_alert, "due_items": _todo_alert,
}


def alert_text(settings: Any, rule: str, f: dict[str, Any], now: datetime) -> tuple[str, str]:
    """(title, line) of one outbox row (dry runs, 提醒记录, the CLI)."""
    item = alert_item(settings, rule, f, now)
    return item.section, item.line


def render_digest(items: list[AlertItem], limit: int = DIGEST_MAX_BYTES) -> str:
    """Everything one person gets at once → one message: sections in a fixed order, each deal,
    contract or customer once with every reason it is listed, and when it would not fit one
    message, the rest counted (they stay in 提醒记录)."""
    return _fit(_merged(items), limit)


@dataclass(slots=True)
class _Line:
    section: str
    text: str
    listed: bool  # one of a list of alerts (a long section is summarized), not a notice or report


def _merged(items: list[AlertItem]) -> list[_Line]:
    """One line per listed object, in section order; a later item about an object already
    listed (or absorbed, like a deal's silent customer) adds its reason to that line."""
    ordered = sorted(items, key=lambda i: i.rank)  # stable: queue order within a section
    lines: list[_Line] = []
    where: dict[str, int] = {}
    families: dict[int, set[str]] = {}
    for it in ordered:
        at = where.get(it.key)
        if at is None:
            at = len(lines)
            lines.append(_Line(it.section, it.line, it.rank < NOTICE_RANK))
            families[at] = {it.family}
        elif it.family not in families[at] and it.reason:
            lines[at].text += f"；{it.reason}"
            families[at].add(it.family)
        for k in (it.key, *it.related):
            where.setdefault(k, at)
    return lines


def _blocks(lines: list[_Line]) -> tuple[list[list[str]], set[str], int]:
    """Per section: its title, then its reports, alert lines and, for a long section of listed
    alerts, the first SECTION_SHOWN and a 「还有N条」 line; also those summary lines and how many
    alert lines remain to be shown."""
    sections: dict[str, list[_Line]] = {}
    for line in lines:
        sections.setdefault(line.section, []).append(line)
    alerts = sum(1 for x in lines if "\n" not in x.text)
    blocks: list[list[str]] = []
    summaries: set[str] = set()
    for title, body in sections.items():
        shown = [x.text for x in body if "\n" in x.text] + ["  " + x.text for x in body if "\n" not in x.text]
        n_alerts = len(shown) - sum(1 for x in body if "\n" in x.text)
        if n_alerts > SECTION_MAX and all(x.listed for x in body):
            shown = shown[:len(shown) - n_alerts + SECTION_SHOWN]
            shown.append(DIGEST_SECTION_MORE.format(n=n_alerts - SECTION_SHOWN))
            summaries.add(shown[-1])
            alerts -= n_alerts - SECTION_SHOWN
        blocks.append([title, *shown])
    return blocks, summaries, alerts


def _fit(lines: list[_Line], limit: int) -> str:
    """The message under its sections' titles, within `limit` bytes: reports whole; of a long
    section its first lines and how many more (an import's first run is a summary, not a flood);
    alert lines while they fit, then how many are left."""
    blocks, summaries, alerts = _blocks(lines)

    def cost(parts: list[str]) -> int:
        return sum(len(x.encode()) + 1 for x in parts)

    # reports (several lines: the weekly funnel) are never cut; the alert lines share the rest
    size = cost([DIGEST_HEAD]) + sum(cost([b[0], *[x for x in b[1:] if "\n" in x]])
                                     for b in blocks if any("\n" in x for x in b[1:]))
    parts, left, cut = [DIGEST_HEAD], alerts, False
    for title, *rows in blocks:
        head = [title]
        for text in rows:
            if "\n" in text:
                parts.extend(head + [text])
                head = []
                continue
            add = head + [text]
            counted = text not in summaries  # a section's "还有…" stands for lines already counted off
            more = cost([DIGEST_MORE.format(n=left)])
            if cut or (len(parts) > 1 and size + cost(add) + more > limit):
                cut = True
                continue
            parts.extend(add)
            size, left, head = size + cost(add), left - (1 if counted else 0), []
    if cut and left:
        parts.append(DIGEST_MORE.format(n=left))
    return "\n".join(parts)


def team_name(manager: str) -> str:
    return FUNNEL_TEAM.format(manager=manager)


def _funnel_amount(r: Any) -> str:
    if r.amount is None:
        return fmt_money(None)  # 未填
    return fmt_money(r.amount) + (FUNNEL_UNPRICED.format(n=r.unpriced) if r.unpriced else "")


def render_funnel(settings: Any, rows: list[Any], lost: int, n_stalled: int, stalled: list[Any],
                  window_days: int) -> str:
    """Text table for one manager's team: count, amount, conversion to the next stage, dwell time.
    An empty stage shows no percentage; unknown amounts read 未填; the window of 赢单/输单 is said."""
    lines = [FUNNEL_HEAD]
    for r in rows:
        conv = f"{100 * r.conversion:.0f}%" if r.conversion is not None and r.count else "—"
        avg = f"{r.avg_days:.1f}天" if r.avg_days is not None else "—"
        label = settings.stage_label(r.stage) + (FUNNEL_WON_WINDOW.format(n=window_days) if r.stage == "won" else "")
        lines.append(f"{label} · {r.count} · {_funnel_amount(r)} · {conv} · {avg}")
    lines.append(FUNNEL_LOST.format(n=window_days, lost=lost))
    lines.append(f"停滞商机（超过{settings.alerts.stale_deal_manager_days}个工作日未更新）：{n_stalled} 个")
    for d in stalled:
        lines.append(f"  #{d.deal_id} {d.customer} · {settings.stage_label(d.stage)} · {fmt_money(d.amount)} · {d.owner}")
    lines.append(FUNNEL_NOTE.format(n=window_days))
    return "\n".join(lines)


def calendar_warnings(missing: dict[int, tuple[str, ...]]) -> list[str]:
    """One line per year without a full holiday schedule (start of `serve`, /healthz)."""
    return [CALENDAR_MISSING.format(year=y, names="、".join(n)) for y, n in sorted(missing.items())]


def departure_text(d: Any) -> str:
    """What `users deactivate` did, for the admin and for the leaver's manager."""
    if d.to:
        return USER_LEFT_TO.format(name=d.user, customers=d.customers, deals=d.deals, items=d.items, to=d.to)
    return USER_LEFT_FREED.format(name=d.user, customers=d.customers, deals=d.deals, items=d.items)


def channel_check(channel: str, error: str | None) -> str:
    """The start-up line for one channel's credential check."""
    name = CHANNEL_NAMES.get(channel, channel)
    if error is None:
        return CHANNEL_OK.format(name=name)
    return CHANNEL_BAD.get(channel, "{name}：凭据检查失败（{error}）").format(name=name, error=error)

