"""Clearly labelled demo data: a manager, two reps, ten customers, deals at several stages,
open to-dos, one overdue contract and one unpaid new one, so every chat command and alert
rule has something to show."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from store import repos
from store.models import ActionItem, Contract, Deal, FollowUp, Payment, StageChange, User

DEMO_USERS = [  # (console id, name, role, manager console id)
    ("wang", "王经理", "manager", None),
    ("zhang", "张伟", "rep", "wang"),
    ("li", "李娜", "rep", "wang"),
    ("admin", "管理员", "admin", None),
]
# (name, region, owner, stage, amount in 万, days since last activity)
DEMO_CUSTOMERS = [
    ("苏州恒达精密机械有限公司", "苏州", "zhang", "quote", 80, 3),
    ("无锡宏远数控设备有限公司", "无锡", "zhang", "needs", 45, 12),
    ("宁波锦泰液压设备有限公司", "宁波", "zhang", "trial", 30, 5),
    ("上海华信建材有限公司", "上海", "zhang", "won", 50, 20),
    ("成都蜀星新型建材有限公司", "成都", "zhang", "contacted", None, 9),
    ("康博生物医疗科技(上海)有限公司", "上海", "li", "negotiation", 120, 2),
    ("北京恒通医疗器械有限公司", "北京", "li", "contacted", None, 20),
    ("杭州云帆科技有限公司", "杭州", "li", "quote", 26, 8),
    ("深圳优鲜汇便利连锁有限公司", "深圳", "li", "lead", None, 1),
    ("天津北辰重工机械股份有限公司", "天津", "li", "needs", 200, 15),
]
DEMO_NOTES = [  # (customer index, days ago, text, to-do text, to-do due in days from today)
    (0, 3, "【演示】去苏州恒达见了采购部王总，嫌我们报价偏高，周五前把优化后的报价发给他。",
     "把优化后的报价发给他", 2),
    (1, 12, "【演示】无锡宏远李厂长说二期车间要上五台加工中心，让工程师过去量尺寸。",
     "让工程师过去现场量一下尺寸", -4),
    (5, 2, "【演示】康博胡科长说合同卡在付款方式上，下周一前我把修改后的条款发过去。",
     "把修改后的条款发过去", 5),
]


def seed_demo(s: Session, now: datetime, tz: ZoneInfo, normalize: Callable[[str], str]) -> None:
    """Fill an empty database with the demo data; refuses a database that already has users."""
    if s.exec(select(User)).first() is not None:
        raise ValueError("database already has users; demo data goes only into an empty database")
    users: dict[str, User] = {}
    for cid, name, role, mgr in DEMO_USERS:
        users[cid] = repos.add_user(s, name, role, users.get(mgr) if mgr else None, {"console": cid})
    today = now.astimezone(tz).date()
    deals: list[Deal] = []
    for i, (name, region, owner, stage, wan, idle) in enumerate(DEMO_CUSTOMERS, 1):
        cust = repos.add_customer(s, name, normalize(name), users[owner].id, region,
                                  external_id=f"DEMO-{i:03d}")
        cust.created_at = now - timedelta(days=90)  # known for months: silence alerts have history
        at = now - timedelta(days=idle)
        deal = Deal(customer_id=cust.id, owner_id=users[owner].id, title=f"{name} 商机", stage=stage,  # type: ignore[arg-type]
                    amount=Decimal(wan * 10_000) if wan else None, status=repos.status_for_stage(stage),
                    amount_kind=("order" if stage == "won" else "quote" if stage in ("quote", "trial", "negotiation")
                                 else "budget") if wan else None,
                    quote_sent_at=at if stage == "quote" else None,  # a quote out, no answer yet
                    last_activity_at=at, created_at=at - timedelta(days=30), updated_at=at)
        s.add(deal)
        s.flush()
        s.add(StageChange(deal_id=deal.id, to_stage=stage, changed_by_id=users[owner].id,  # type: ignore[arg-type]
                          source="import", at=at))
        deals.append(deal)
    won = deals[3]
    contract = Contract(deal_id=won.id, number="HT-DEMO-001", signed_on=today - timedelta(days=60),  # type: ignore[arg-type]
                        amount=Decimal(500_000), due_on=today - timedelta(days=30))
    s.add(contract)
    s.flush()
    s.add(Payment(contract_id=contract.id, amount=Decimal(200_000), paid_on=today - timedelta(days=55),  # type: ignore[arg-type]
                  note="首付款"))
    # Phase two, signed ten days ago and not paid yet: shows up on the collection list.
    s.add(Contract(deal_id=won.id, number="HT-DEMO-002", signed_on=today - timedelta(days=10),  # type: ignore[arg-type]
                   amount=Decimal(180_000), due_on=today + timedelta(days=20)))
    for n, (ci, ago, text, todo, due_in) in enumerate(DEMO_NOTES, 1):
        deal = deals[ci]
        fu = FollowUp(source_key=f"demo:{n}", author_id=deal.owner_id, customer_id=deal.customer_id,
                      deal_id=deal.id, raw_text=text, extracted={"demo": True}, stage=deal.stage,
                      created_at=now - timedelta(days=ago))
        s.add(fu)
        s.flush()
        s.add(ActionItem(followup_id=fu.id, customer_id=deal.customer_id, deal_id=deal.id,
                         assignee_id=deal.owner_id, owner_kind="self", text=todo,
                         due=today + timedelta(days=due_in), created_at=fu.created_at))
    s.flush()
