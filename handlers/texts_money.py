"""Simplified-Chinese strings of the contract and payment commands (签约, 收款, 回款).

Kept apart from handlers/texts.py only while that file is being edited elsewhere; to be folded
into it. Money and dates are formatted with texts.fmt_money / texts.fmt_date.
"""
from __future__ import annotations

HELP_MONEY = """· 签约 <客户> <金额> [首付30% 下周五 尾款70% 验收后] — 记录签约和回款计划，商机转为赢单
· 收款 <客户或合同号> <金额> [日期] — 记录一笔回款
· 回款 — 未回清的合同：待回金额、下一笔应收和逾期天数"""

USAGE_SIGN = ("用法：签约 <客户> <合同金额> [回款计划]，例如：签约 恒达 120万 首付30% 下周五 尾款70% 验收后；"
              "可加合同号：签约 恒达 120万 合同号 HT-2026-001")
USAGE_PAID = "用法：收款 <客户或合同号> <金额> [日期]，例如：收款 恒达 36万 ／ 收款 HT-2026-001 36万 昨天"
SIGN_NO_AMOUNT = "没看到合同金额。" + USAGE_SIGN
PAID_NO_AMOUNT = "没看到收款金额。" + USAGE_PAID
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
