"""`apply_followup` and `unapply_followup` are exact inverses, and the amount policy holds, for any record.

Each example runs in one transaction on a real SQLite file and is rolled back afterwards.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from store import repos
from store.db import Database
from store.models import ActionItem, Contact, Customer, Deal, FollowUp, User
from store.records import BASIS_RANK, DealAmount, Effects, ItemRec, NoteRecord

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(days=3)
STAGES = ["lead", "contacted", "needs", "quote", "trial", "negotiation", "won"]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    path: Path = tmp_path_factory.mktemp("props") / "p.db"
    d = Database(f"sqlite:///{path}")
    d.upgrade()
    with d.session() as s:
        rep = repos.add_user(s, "张伟", "rep")
        repos.add_customer(s, "苏州恒达精密机械有限公司", "恒达精密机械", rep.id)
        repos.add_customer(s, "无锡宏远数控设备有限公司", "宏远数控设备", None)
    yield d
    d.dispose()


deals = st.one_of(
    st.none(),
    st.fixed_dictionaries({
        "stage": st.sampled_from(STAGES + ["lost"]),
        "amount": st.one_of(st.none(), st.integers(1, 900).map(lambda n: Decimal(n * 10_000))),
        "amount_kind": st.sampled_from([None, "budget", "quote", "order", "manual"]),
        "quote_sent": st.booleans(),
        "answered": st.booleans(),
    }),
)
records = st.builds(
    NoteRecord,
    stage=st.one_of(st.none(), st.sampled_from(STAGES + ["lost"])),
    contacts=st.lists(st.sampled_from(["王总", "采购部王总", "李工", "Kevin"]), max_size=3, unique=True),
    action_items=st.lists(st.builds(ItemRec, text=st.sampled_from(["发报价", "约演示", "回款"]),
                                    due=st.one_of(st.none(), st.just(date(2026, 3, 9))),
                                    owner=st.sampled_from(["self", "team", "customer"])), max_size=3),
    deal_amount=st.one_of(st.none(), st.builds(
        DealAmount, value=st.integers(1, 900).map(lambda n: float(n * 10_000)),
        basis=st.sampled_from(["order", "quote", "budget", "manual"]), ambiguous=st.booleans())),
    quote_sent=st.booleans(),
    quote_no_reply=st.booleans(),
    new_opportunity=st.booleans(),
    new_deal_ok=st.booleans(),
)


def _snapshot(s: Session) -> dict[str, Any]:
    """Everything a note may change, without bookkeeping (updated_at, stage history)."""
    s.flush()
    s.expire_all()
    return {
        "deals": [(d.id, d.stage, d.status, d.amount, d.amount_kind, d.last_activity_at, d.quote_sent_at,
                   d.quote_answered_at) for d in s.exec(select(Deal).order_by(Deal.id))],
        "items": [(i.id, i.text, i.due) for i in s.exec(select(ActionItem).order_by(ActionItem.id))],
        "contacts": sorted((c.customer_id, c.name) for c in s.exec(select(Contact))),
        "owners": [(c.id, c.owner_id) for c in s.exec(select(Customer).order_by(Customer.id))],
    }


def _seed_deal(s: Session, customer_id: int, d: dict[str, Any] | None, won_before: bool) -> Deal | None:
    if won_before:
        s.add(Deal(customer_id=customer_id, owner_id=1, title="老单", stage="won", status="won",
                   last_activity_at=T0, amount=Decimal(100_000), amount_kind="order"))
    if d is None:
        return None
    deal = Deal(customer_id=customer_id, owner_id=1, title="商机", stage=d["stage"],
                status=repos.status_for_stage(d["stage"]), amount=d["amount"],
                amount_kind=d["amount_kind"] if d["amount"] is not None else None, last_activity_at=T0,
                quote_sent_at=T0 if d["quote_sent"] else None,
                quote_answered_at=T0 + timedelta(hours=1) if d["quote_sent"] and d["answered"] else None)
    s.add(deal)
    s.flush()
    return deal


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rec=records, deal=deals, customer_id=st.sampled_from([1, 2, None]), won_before=st.booleans())
def test_unapply_is_the_exact_inverse_of_apply(db: Database, rec: NoteRecord, deal: dict[str, Any] | None,
                                               customer_id: int | None, won_before: bool) -> None:
    with Session(db.engine) as s:
        try:
            if customer_id is not None:
                _seed_deal(s, customer_id, deal, won_before)
            author = s.get(User, 1)
            assert author is not None
            before = _snapshot(s)
            fu = FollowUp(source_key=f"t:{id(rec)}", author_id=1, customer_id=customer_id, raw_text="x",
                          extracted=rec.dump(), created_at=NOW)
            s.add(fu)
            s.flush()
            repos.apply_followup(s, fu, author, STAGES, NOW)
            after = _snapshot(s)
            _check_policy(before, after, NoteRecord.load(fu.extracted), Effects.load(fu.effects))
            repos.unapply_followup(s, fu, author, NOW)
            assert _snapshot(s) == before
        finally:
            s.rollback()


def _check_policy(before: dict[str, Any], after: dict[str, Any], rec: NoteRecord, eff: Effects) -> None:
    """Amounts only move up the basis ranks (a budget never replaces a figure); stages never go back."""
    old = {d[0]: d for d in before["deals"]}
    for d in after["deals"]:
        prev = old.get(d[0])
        if prev is None:
            continue
        if prev[3] != d[3]:  # amount changed
            assert rec.deal_amount is not None and not rec.deal_amount.ambiguous
            assert prev[3] is None or (rec.deal_amount.basis != "budget"
                                       and BASIS_RANK[d[4]] >= BASIS_RANK.get(prev[4], 0))
            assert eff.change("amount") is not None
        if prev[1] != d[1]:  # stage changed
            assert prev[2] == "open" or prev[1] == "lost"
            assert STAGES.index(d[1]) > STAGES.index(prev[1]) if prev[1] in STAGES and d[1] in STAGES \
                else d[1] == "lost"
    won_customer_new_deal = [d for d in after["deals"] if d[0] not in old]
    if won_customer_new_deal and eff.deal_created:
        assert rec.stage not in (None, "lost") or rec.new_deal_ok
