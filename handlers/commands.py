"""Query and update commands: 帮助 我的商机 查 待办 完成 阶段 回款 团队.

Permission rule everywhere: a rep sees their own customers' data, a manager their team's
(recursively), an admin everything. Out-of-scope objects are refused politely, never shown.
"""
from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlmodel import Session

from bot.types import Reply
from handlers import texts
from handlers.router import Context, Router
from store import repos
from store.contracts import contract_by_number
from store.models import ActionItem, Customer, CustomerMerge, Deal, User

router = Router()

STAGE_ALIASES = {
    "线索": "lead", "接触": "contacted", "初步接触": "contacted", "初次接触": "contacted",
    "需求": "needs", "需求确认": "needs", "报价": "quote", "方案": "quote", "方案报价": "quote",
    "试用": "trial", "试用验证": "trial", "poc": "trial", "演示": "trial", "谈判": "negotiation",
    "商务谈判": "negotiation", "合同": "negotiation", "赢单": "won", "成交": "won", "签约": "won",
    "输单": "lost", "丢单": "lost", "丢了": "lost",
}


def parse_stage(ctx: Context, text: str) -> str | None:
    """A stage key from a key, a configured label or a common Chinese word for it."""
    pipeline = ctx.svc.settings.pipeline
    t = text.strip().lower()
    for key in pipeline.stages:
        if t == key or t == pipeline.labels[key].lower():
            return key
    alias = STAGE_ALIASES.get(t)
    return alias if alias in pipeline.stages else None


def _stage_names(ctx: Context) -> str:
    p = ctx.svc.settings.pipeline
    return "、".join(p.labels[s] for s in p.stages)


def _days_idle(ctx: Context, deal: Deal) -> int:
    return (ctx.svc.today() - deal.last_activity_at.astimezone(ctx.svc.settings.tz).date()).days


def _deal_line(ctx: Context, s: Session, deal: Deal, owner: bool = False) -> str:
    customer = s.get(Customer, deal.customer_id)
    line = (
        f"#{deal.id} {customer.name if customer else '?'} · {ctx.svc.settings.stage_label(deal.stage)}"
        f" · {texts.fmt_money(deal.amount)} · {texts.fmt_idle(_days_idle(ctx, deal))}"
    )
    if owner:
        u = s.get(User, deal.owner_id)
        line += f" · {u.name if u else '?'}"
    return line


def _item_line(ctx: Context, s: Session, item: ActionItem) -> str:
    customer = s.get(Customer, item.customer_id) if item.customer_id else None
    today = ctx.svc.today()
    overdue = f" · 已逾期{(today - item.due).days}天" if item.due and item.due < today else ""
    where = f"【{customer.name}】" if customer else ""
    what = texts.item_text(item.text, item.owner_kind)
    return f"#{item.id} {texts.fmt_due(item.due, item.due_time, today)} {where}{what}{overdue}"


@router.command("帮助", "/help", "help", "？", "?")
async def help_(ctx: Context) -> Reply:
    return Reply(texts.HELP)


@router.command("我的商机", "/deals")
async def my_deals(ctx: Context) -> Reply:
    def work(s: Session) -> Reply:
        deals = repos.deals_owned(s, [ctx.user.id])  # type: ignore[list-item]
        if not deals:
            return Reply(texts.NO_DEALS)
        total = sum((d.amount or 0) for d in deals)
        lines = [f"你的进行中商机 {len(deals)} 个，合计 {texts.fmt_money(total)}（最久未更新的在前）："]
        lines += [_deal_line(ctx, s, d) for d in deals]
        return Reply("\n".join(lines))

    return await ctx.svc.db.run(work)


@router.command("查", "/customer", "查客户", glued=r"[^\s，。,.!！?？]{1,12}")
async def query_customer(ctx: Context) -> Reply:
    name = ctx.args.strip()
    if not name:
        return Reply(texts.USAGE_QUERY)
    match = await asyncio.to_thread(ctx.svc.crm.match, name)

    def work(s: Session) -> Reply:
        user = s.get(User, ctx.user.id)
        assert user is not None
        if match.best is None:
            cands = [
                c for c in match.alternates
                if (cust := s.get(Customer, int(c.id))) and repos.can_see_customer(s, user, cust)
            ]
            if cands:
                return Reply(texts.ASK_QUERY.format(options=texts.numbered(c.name for c in cands)))
            return Reply(texts.CUSTOMER_NOT_FOUND.format(name=name))
        customer = s.get(Customer, int(match.best.id))
        if customer is None:
            return Reply(texts.CUSTOMER_NOT_FOUND.format(name=name))
        if not repos.can_see_customer(s, user, customer):
            return Reply(texts.NOT_YOUR_CUSTOMER.format(name=name))
        return Reply(_render_card(ctx, s, repos.customer_card(s, customer.id)))  # type: ignore[arg-type]

    return await ctx.svc.db.run(work)


def _render_card(ctx: Context, s: Session, card: repos.CustomerCard) -> str:
    c, tz, today = card.customer, ctx.svc.settings.tz, ctx.svc.today()
    lines = [f"【{c.name}】#{c.id}" + (f" · {c.region}" if c.region else ""),
             f"负责人：{card.owner.name if card.owner else '公海（未分配）'}"]
    if card.contacts:
        lines.append("联系人：" + "、".join(x.name for x in card.contacts))
    lines.append("商机：" if card.deals else "商机：暂无")
    lines += ["  " + _deal_line(ctx, s, d) + ("" if d.status == "open" else f"（{ctx.svc.settings.stage_label(d.stage)}）")
              for d in card.deals]
    lines.append("最近跟进：" if card.followups else "最近跟进：暂无")
    for fu in card.followups:
        when = texts.fmt_date(fu.created_at.astimezone(tz).date(), today)
        author = s.get(User, fu.author_id)
        text = fu.raw_text if len(fu.raw_text) <= 60 else fu.raw_text[:60] + "…"
        lines.append(f"  #{fu.id} {when} {author.name if author else ''}：{text}")
    lines.append("未完成待办：" if card.open_items else "未完成待办：无")
    lines += ["  " + _item_line(ctx, s, i) for i in card.open_items]
    return "\n".join(lines)


@router.command("待办", "/todo", "我的待办")
async def todo(ctx: Context) -> Reply:
    def work(s: Session) -> Reply:
        items = repos.open_items(s, [ctx.user.id])  # type: ignore[list-item]
        if not items:
            return Reply(texts.NO_ITEMS)
        mine = [i for i in items if i.owner_kind != "customer"]
        theirs = [i for i in items if i.owner_kind == "customer"]
        lines = [f"你有 {len(mine)} 条未完成待办（按截止日期）："] if mine else []
        lines += [_item_line(ctx, s, i) for i in mine]
        if theirs:  # the customer's promises: the rep chases them, but does not do them
            lines.append(texts.TODO_CUSTOMER_HEAD.format(n=len(theirs)))
            lines += [_item_line(ctx, s, i) for i in theirs]
        lines.append("完成后回复「完成 编号」")
        return Reply("\n".join(lines))

    return await ctx.svc.db.run(work)


@router.command("完成", "/done", glued=r"#?\d+")
async def done(ctx: Context) -> Reply:
    m = re.fullmatch(r"#?(\d+)", ctx.args.strip())
    if not m:
        return Reply(texts.USAGE_DONE)
    item_id = int(m.group(1))

    def work(s: Session) -> Reply:
        item = s.get(ActionItem, item_id)
        scope = repos.scope_user_ids(s, ctx.user)
        if item is None or item.status == "cancelled" or (scope is not None and item.assignee_id not in scope):
            return Reply(texts.ITEM_NOT_FOUND.format(id=item_id))
        if item.status == "done":
            return Reply(texts.ITEM_ALREADY_DONE.format(id=item_id, text=item.text))
        item.status = "done"
        item.done_at = ctx.svc.clock.now()
        s.add(item)
        return Reply(texts.ITEM_DONE.format(id=item_id, text=item.text))

    return await ctx.svc.db.run(work)


@router.command("阶段", "/stage", glued=r"#?\d+\s*\S+")
async def stage(ctx: Context) -> Reply:
    m = re.fullmatch(r"#?(\d+)\s*(\S+)", ctx.args.strip())
    if not m:
        return Reply(texts.USAGE_STAGE.format(stages=_stage_names(ctx)))
    deal_id, new = int(m.group(1)), parse_stage(ctx, m.group(2))
    if new is None:
        return Reply(texts.BAD_STAGE.format(text=m.group(2), stages=_stage_names(ctx)))

    def work(s: Session) -> Reply:
        deal = s.get(Deal, deal_id)
        scope = repos.scope_user_ids(s, ctx.user)
        if deal is None or (scope is not None and deal.owner_id not in scope):
            return Reply(texts.DEAL_NOT_FOUND.format(id=deal_id))
        label = ctx.svc.settings.stage_label
        if deal.stage == new:
            return Reply(texts.STAGE_SAME.format(id=deal_id, stage=label(new)))
        old = deal.stage
        now = ctx.svc.clock.now()
        repos.set_stage(s, deal, new, ctx.user, "command", now=now)
        deal.last_activity_at = now
        s.add(deal)
        customer = s.get(Customer, deal.customer_id)
        return Reply(texts.STAGE_MOVED.format(
            id=deal_id, customer=customer.name if customer else "?", old=label(old), new=label(new)))

    return await ctx.svc.db.run(work)


@router.command("团队", "/team")
async def team(ctx: Context) -> Reply:
    if ctx.user.role not in ("manager", "admin"):
        return Reply(texts.TEAM_ONLY_MANAGERS)
    stale_days = ctx.svc.settings.alerts.stale_deal_rep_days

    def work(s: Session) -> Reply:
        scope = repos.scope_user_ids(s, ctx.user)
        deals = repos.deals_owned(s, scope)
        members = [u for u in repos.list_users(s) if scope is None or u.id in scope]
        if len(members) <= 1 and not deals:
            return Reply(texts.TEAM_EMPTY)
        by_owner: dict[int, list[Deal]] = defaultdict(list)
        for d in deals:
            by_owner[d.owner_id].append(d)
        from scheduler.workdays import workday_cutoff

        cut_day = workday_cutoff(ctx.svc.today(), stale_days) + timedelta(days=1)
        cutoff = datetime.combine(cut_day, time.min, tzinfo=ctx.svc.settings.tz)
        lines = ["团队商机概况（进行中）："]
        for u in members:
            ds = by_owner.get(u.id, [])  # type: ignore[arg-type]
            stale = sum(1 for d in ds if d.last_activity_at < cutoff)
            amount = sum((d.amount or 0) for d in ds)
            lines.append(f"· {u.name}：{len(ds)} 个，{texts.fmt_money(amount)}，{stale} 个超过{stale_days}个工作日未更新")
        stale_deals = [d for d in deals if d.last_activity_at < cutoff]
        if stale_deals:
            lines.append(f"超过{stale_days}个工作日未更新的商机：")
            lines += ["  " + _deal_line(ctx, s, d, owner=True) for d in stale_deals[:15]]
            if len(stale_deals) > 15:
                lines.append(f"  ……还有 {len(stale_deals) - 15} 个")
        return Reply("\n".join(lines))

    return await ctx.svc.db.run(work)


def find_customer(ctx: Context, s: Session, user: User, name: str) -> tuple[Customer | None, str | None]:
    """A visible customer for a name a user typed, or the reply that explains why not."""
    if name.isdigit() and (c := s.get(Customer, int(name))) is not None and c.merged_into_id is None:
        customer: Customer | None = c
    else:
        match = ctx.svc.crm.match(name)
        customer = s.get(Customer, int(match.best.id)) if match.best else None
    if customer is None:
        return None, texts.CUSTOMER_NOT_FOUND.format(name=name)
    if not repos.can_see_customer(s, user, customer):
        return None, texts.NOT_YOUR_CUSTOMER.format(name=name)
    return customer, None


@router.command("合并客户", "/merge")
async def merge(ctx: Context) -> Reply:
    """Show both customers and wait for 确认合并: a merge is never done on a typo's say-so."""
    if ctx.user.role not in ("manager", "admin"):
        return Reply(texts.MERGE_ONLY_MANAGERS)
    parts = re.split(r"[\s,，、]+", ctx.args.strip())
    if len(parts) != 2 or not all(parts):
        return Reply(texts.USAGE_MERGE)
    await asyncio.to_thread(ctx.svc.crm.index)  # matching sees the current CRM before the transaction
    app = ctx.svc.settings.app

    def work(s: Session) -> Reply:
        user = s.get(User, ctx.user.id)
        assert user is not None
        keep, why = find_customer(ctx, s, user, parts[0].lstrip("#"))
        if keep is None:
            return Reply(why or texts.USAGE_MERGE)
        drop, why = find_customer(ctx, s, user, parts[1].lstrip("#"))
        if drop is None:
            return Reply(why or texts.USAGE_MERGE)
        if keep.id == drop.id:
            return Reply(texts.MERGE_SAME.format(a=parts[0], b=parts[1]))
        try:
            m = repos.request_merge(s, keep.id, drop.id, user.id, ctx.msg.source_key,  # type: ignore[arg-type]
                                    ctx.svc.clock.now())
            if m.status != "pending":  # this very message again, after it was confirmed or replaced
                return Reply(texts.MERGE_REQUEST_CLOSED.format(state=texts.MERGE_STATES.get(m.status, m.status)))
            preview = repos.merge_preview(s, keep.id, drop.id)  # type: ignore[arg-type]
        except ValueError:
            return Reply(texts.MERGE_STALE.format(keep=keep.name, drop=drop.name))
        return Reply(texts.MERGE_ASK.format(cards=texts.merge_cards(preview), keep=keep.name, drop=drop.name,
                                            minutes=app.merge_confirm_minutes, days=app.merge_undo_days))

    return await ctx.svc.db.run(work)


def _merged_reply(ctx: Context, r: repos.MergeResult) -> Reply:
    text = texts.MERGED.format(keep=r.keep.name, drop=r.drop.name, deals=r.deals, contacts=r.contacts,
                               followups=r.followups, items=r.items)
    return Reply(text + texts.MERGED_UNDO_HINT.format(id=r.merge_id, days=ctx.svc.settings.app.merge_undo_days))


@router.command("确认合并", "/confirm-merge")
async def confirm_merge(ctx: Context) -> Reply:
    """Carry out the merge this user was shown last, if it is recent and still possible."""
    if ctx.user.role not in ("manager", "admin"):
        return Reply(texts.MERGE_ONLY_MANAGERS)
    minutes = ctx.svc.settings.app.merge_confirm_minutes

    def work(s: Session) -> Reply:
        done = repos.merge_confirmed_by(s, ctx.msg.source_key)
        if done is not None:  # the same 确认合并 again (a replay): report, never merge twice
            r = repos.merge_result(s, done)
            return Reply(texts.MERGE_REPLAY.format(id=done.id, keep=r.keep.name, drop=r.drop.name))
        m = repos.pending_merge(s, ctx.user.id)  # type: ignore[arg-type]
        if m is None:
            return Reply(texts.NO_PENDING_MERGE)
        keep, drop = s.get(Customer, m.keep_id), s.get(Customer, m.drop_id)
        names = {"keep": keep.name if keep else "?", "drop": drop.name if drop else "?"}
        now = ctx.svc.clock.now()
        if now - m.created_at > timedelta(minutes=minutes):
            repos.close_merge(s, m, "expired")
            return Reply(texts.MERGE_EXPIRED.format(minutes=minutes, keep_id=m.keep_id, drop_id=m.drop_id, **names))
        user = s.get(User, ctx.user.id)
        assert user is not None
        if keep is None or drop is None or not (repos.can_see_customer(s, user, keep)
                                                and repos.can_see_customer(s, user, drop)):
            repos.close_merge(s, m, "cancelled")
            return Reply(texts.MERGE_STALE.format(**names))
        try:
            r = repos.carry_out_merge(s, m, ctx.msg.source_key, now)
        except ValueError:  # one of them was merged or removed since it was shown
            repos.close_merge(s, m, "cancelled")
            return Reply(texts.MERGE_STALE.format(**names))
        return _merged_reply(ctx, r)

    reply = await ctx.svc.db.run(work)
    await asyncio.to_thread(ctx.svc.crm.index)  # the dropped name now resolves to the kept customer
    return reply


@router.command("撤销合并", "/unmerge", glued=r"#?\s*\d+")
async def unmerge(ctx: Context) -> Reply:
    """Undo a merge (default: this user's latest) within `app.merge_undo_days`."""
    if ctx.user.role not in ("manager", "admin"):
        return Reply(texts.MERGE_ONLY_MANAGERS_UNDO)
    arg = ctx.args.strip()
    m_id = re.fullmatch(r"#?\s*(\d+)", arg)
    if arg and not m_id:
        return Reply(texts.USAGE_UNMERGE)
    merge_id = int(m_id.group(1)) if m_id else None

    def work(s: Session) -> Reply:
        done = repos.merge_undone_by(s, ctx.msg.source_key)
        if done is not None:  # a replayed 撤销合并 must not undo another merge
            return _unmerge_replay(s, done)
        user = s.get(User, ctx.user.id)
        assert user is not None
        if merge_id is None:
            m = repos.latest_merge(s, user.id)
            if m is None:
                return Reply(texts.NO_MERGE_TO_UNDO)
        else:
            m = s.get(CustomerMerge, merge_id)
            if m is None or m.status not in ("done", "undone") or not _may_undo(s, user, m):
                return Reply(texts.MERGE_NOT_FOUND.format(id=merge_id))
        return Reply(undo_merge(ctx.svc.settings.app.merge_undo_days, s, m, user.id, ctx.msg.source_key,
                                ctx.svc.clock.now()).text)

    reply = await ctx.svc.db.run(work)
    await asyncio.to_thread(ctx.svc.crm.index)  # the dropped customer is matched on its own again
    return reply


def _may_undo(s: Session, user: User, m: CustomerMerge) -> bool:
    """The requester, or a manager who could see both customers (an admin always)."""
    if m.requested_by_id == user.id:
        return True
    keep, drop = s.get(Customer, m.keep_id), s.get(Customer, m.drop_id)
    return keep is not None and drop is not None and all(
        repos.can_see_customer(s, user, c) for c in (keep, drop))


def _unmerge_replay(s: Session, m: CustomerMerge) -> Reply:
    keep, drop = s.get(Customer, m.keep_id), s.get(Customer, m.drop_id)
    return Reply(texts.UNMERGE_REPLAY.format(id=m.id, keep=keep.name if keep else "?",
                                             drop=drop.name if drop else "?"))


@dataclass
class UndoOutcome:
    undone: bool  # False: nothing changed (too late, already undone, blocked)
    text: str


def undo_merge(days: int, s: Session, m: CustomerMerge, by_id: int | None, key: str | None,
               now: datetime) -> UndoOutcome:
    """The undo itself and its answer, shared by 撤销合并 and `salesbot customers unmerge`."""
    if m.status == "undone":
        return UndoOutcome(False, _unmerge_replay(s, m).text)
    keep, drop = s.get(Customer, m.keep_id), s.get(Customer, m.drop_id)
    assert keep is not None and drop is not None and m.merged_at is not None
    age = now - m.merged_at
    if age > timedelta(days=days):
        return UndoOutcome(False, texts.UNMERGE_TOO_LATE.format(
            id=m.id, keep=keep.name, drop=drop.name, days=days, ago=texts.ago(age.total_seconds() / 3600)))
    if keep.merged_into_id is not None:
        into = s.get(Customer, keep.merged_into_id)
        return UndoOutcome(False, texts.UNMERGE_BLOCKED.format(keep=keep.name, into=into.name if into else "?",
                                                               id=m.id))
    r = repos.unmerge(s, m, by_id, key, now)
    return UndoOutcome(True, texts.unmerged_text(r, m.id))  # type: ignore[arg-type]


@router.command("暂停提醒", "/snooze", glued=r"(?:合同)?\s*#?[A-Za-z0-9][\w\-/]*\s+\d+")
async def snooze(ctx: Context) -> Reply:
    """Silence a deal's alerts, its contracts' collection lines included, for N days; the deal is
    named by its number (#12) or by one of its contracts' numbers (HT-2026-001)."""
    m = re.fullmatch(r"(合同)?\s*#?([A-Za-z0-9][\w\-/]*)\s+(\d+)\s*天?", ctx.args.strip())
    if not m or not 1 <= int(m.group(3)) <= 365:
        return Reply(texts.USAGE_SNOOZE)
    ref, days, by_contract = m.group(2), int(m.group(3)), bool(m.group(1))

    def work(s: Session) -> Reply:
        deal = s.get(Deal, int(ref)) if ref.isdigit() and not by_contract else None
        if deal is None:
            contract = contract_by_number(s, ref)
            deal = s.get(Deal, contract.deal_id) if contract is not None else None
        scope = repos.scope_user_ids(s, ctx.user)
        if deal is None or (scope is not None and deal.owner_id not in scope):
            return Reply(texts.SNOOZE_NOT_FOUND.format(ref=ref))
        until = ctx.svc.today() + timedelta(days=days)
        deal.snoozed_until = until
        s.add(deal)
        customer = s.get(Customer, deal.customer_id)
        return Reply(texts.SNOOZED.format(id=deal.id, customer=customer.name if customer else "?",
                                          until=texts.fmt_date(until, ctx.svc.today())))

    return await ctx.svc.db.run(work)


@router.command("释放客户", "/release", glued=r"#?\d+|[^\s，。,.!！?？]{1,30}")
async def release(ctx: Context) -> Reply:
    """Put a customer (by name or number) back into the public pool; managers, within their team."""
    if ctx.user.role not in ("manager", "admin"):
        return Reply(texts.RELEASE_ONLY_MANAGERS)
    name = ctx.args.strip().lstrip("#").strip()
    if not name:
        return Reply(texts.USAGE_RELEASE)
    await asyncio.to_thread(ctx.svc.crm.index)  # matching sees the current CRM before the transaction

    def work(s: Session) -> Reply:
        user = s.get(User, ctx.user.id)
        assert user is not None
        customer, why = find_customer(ctx, s, user, name)
        if customer is None:
            return Reply(why or texts.USAGE_RELEASE)
        if customer.owner_id is None:
            return Reply(texts.RELEASE_ALREADY.format(name=customer.name))
        customer.owner_id = None
        customer.updated_at = ctx.svc.clock.now()
        s.add(customer)
        return Reply(texts.RELEASED.format(name=customer.name))

    return await ctx.svc.db.run(work)


@router.command("提醒记录", "/pushes")
async def push_log(ctx: Context) -> Reply:
    """What was pushed to whom in the last 7 days: a manager sees the team, a rep themself."""
    from store import alerts

    def work(s: Session) -> Reply:
        scope = repos.scope_user_ids(s, ctx.user)
        since = ctx.svc.clock.now() - timedelta(days=7)
        rows = alerts.notifications(s, recipient_ids=scope, since=since, limit=50)
        if not rows:
            return Reply(texts.NO_PUSHES)
        names = {u.id: u.name for u in repos.list_users(s)}
        tz = ctx.svc.settings.tz
        lines = [texts.PUSH_LOG_HEAD]
        for n in rows:
            when = (n.sent_at or n.created_at).astimezone(tz).strftime("%m-%d %H:%M")
            status = texts.PUSH_STATUS.get(n.status, n.status)
            rule = texts.PUSH_RULES.get(n.rule, n.rule)
            line = texts.alert_text(ctx.svc.settings, n.rule, n.body, n.sent_at or n.created_at)[1].split("\n")[0]
            lines.append(f"{when} → {names.get(n.recipient_id, '?')} [{status}·{rule}] {line}")
        return Reply("\n".join(lines))

    return await ctx.svc.db.run(work)
