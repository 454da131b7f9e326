"""Signed contracts in notes: the signing cue classes, the contract value and the schedule."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from extraction.contract_terms import (
    REMAINDER_LABEL,
    ContractTerms,
    InstallmentTerm,
    ScheduleError,
    find_contract_terms,
    installment_schedule,
    parse_terms,
)

TODAY = date(2026, 4, 8)  # a Wednesday: 下周五 = Apr 17, 下周一 = Apr 13, 月底 = Apr 30


def terms(text: str) -> ContractTerms:
    found = find_contract_terms(text, TODAY)
    assert found is not None, text
    return found


def plan(text: str) -> list[tuple[str, float | None, float | None, date | None]]:
    return [(t.label, t.ratio, t.amount, t.due) for t in terms(text).installments]


def test_signing_with_percent_schedule_and_contract_value() -> None:
    t = terms("上午去锦泰，合同签了，合同额六十万，首付百分之三十下周五前打过来，尾款百分之七十验收后付")
    assert t.amount == 600_000
    assert plan("上午去锦泰，合同签了，合同额六十万，首付百分之三十下周五前打过来，尾款百分之七十验收后付") == [
        ("首付", 0.3, None, date(2026, 4, 17)), ("尾款", 0.7, None, None)]
    assert t.installments[0].text.startswith("首付") and not t.installments[0].paid


@pytest.mark.parametrize("text, amount", [
    ("和康博签了一份45万的合同，预付款十万月底前到账", 450_000),
    ("宏远的采购合同盖章回来了，总价两百万，首付三成，下周三付", 2_000_000),
    ("PO下来了，金额8.5万，货到付款", 85_000),
    ("合同今天下午签好了，金额还要等财务核一下", None),
    ("不到一周合同就签了，货款32万", 320_000),
    ("没想到合同这么快就签了", None),
    ("客户终于签下来了，订单金额12万", 120_000),
    ("双签版回来了，合同总额一百五十万", 1_500_000),
    ("昨天已经跟他们签合同了，金额66万", 660_000),
])
def test_phrasings_of_a_completed_signing(text: str, amount: float | None) -> None:
    assert terms(text).amount == amount


@pytest.mark.parametrize("text", [
    "合同还没签下来，法务在审",          # negation attached to the verb
    "合同尚未签订",
    "还没签完合同，客户在走流程",
    "我们还没跟他们签下合同",
    "客户说合同签不下来了，预算砍了",     # cannot
    "我们准备下周和他们签合同，首付30%",  # intent
    "客户打算月底签约",
    "合同估计下个月能签下来",
    "合同可以签了，等老板回来盖章",       # modality
    "下周二合同签了再发货",               # a future date before the verb
    "合同签了吗？客户一直没回",           # question
    "合同签了没",
    "要是合同签了，首付就下周打",         # condition
    "客户最后跟竞争对手签了合同",         # someone else signed
    "他们还是签了西门子",
    "今天又聊了付款方式，首付30%，尾款验收后",  # terms, but no signing
])
def test_negation_future_and_others_are_not_a_signing(text: str) -> None:
    assert find_contract_terms(text, TODAY) is None


def test_amounts_dates_and_paid_installments() -> None:
    assert plan("和康博签了一份45万的合同，预付款十万月底前到账") == [("预付款", None, 100_000, date(2026, 4, 30))]
    assert plan("宏远的采购合同盖章回来了，总价两百万，首付三成，下周三付") == [("首付", 0.3, None, date(2026, 4, 15))]
    t = terms("客户那边签约了！首付款二十万已经到账了，尾款月底前付清")
    assert t.amount is None
    assert [(i.label, i.amount, i.due, i.paid) for i in t.installments] == [
        ("首付", 200_000, None, True), ("尾款", None, date(2026, 4, 30), False)]
    assert not terms("合同签了，首付还没到账").installments[0].paid


def test_ratio_before_the_label_and_the_rest() -> None:
    assert plan("签了合同，30%的定金下周一之前付") == [("定金", 0.3, None, date(2026, 4, 13))]
    assert plan("合同昨天签了，三成首付已经打过来了，剩余七成发货前付") == [
        ("首付", 0.3, None, None), (REMAINDER_LABEL, 0.7, None, None)]
    assert plan("签了合同，剩下的问题下周再说") == []  # 剩下的 is a payment only with money


@pytest.mark.parametrize("words, ratio", [("百分之三十", 0.3), ("三成", 0.3), ("三成半", 0.35), ("一半", 0.5),
                                          ("25%", 0.25), ("12.5％", 0.125)])
def test_ratio_forms(words: str, ratio: float) -> None:
    [t] = parse_terms(f"首付{words}", TODAY).installments
    assert t.ratio == ratio


def test_total_is_implied_by_a_ratio_with_its_amount() -> None:
    t = terms("签约了，首付30%是十二万，下周五到")
    assert t.amount is None and t.total() == 400_000
    assert t.installments[0].due == date(2026, 4, 17)


def test_command_arguments_without_punctuation() -> None:
    t = parse_terms("120万 首付30% 下周五 尾款70% 验收后", TODAY)
    assert t.amount == 1_200_000
    assert [(i.label, i.ratio, i.due) for i in t.installments] == [("首付", 0.3, date(2026, 4, 17)), ("尾款", 0.7, None)]
    assert parse_terms("30万", TODAY) == ContractTerms(300_000, ())


def _t(label: str, ratio: float | None = None, amount: float | None = None, due: date | None = None) -> InstallmentTerm:
    return InstallmentTerm(label, ratio, amount, due, label)


def test_schedule_adds_up_to_the_contract() -> None:
    d = date(2026, 4, 17)
    total = Decimal(600_000)
    assert installment_schedule(ContractTerms(600_000, (_t("首付", 0.3, due=d), _t("尾款", 0.7))), total) == [
        ("首付", Decimal("180000.00"), d), ("尾款", Decimal("420000.00"), None)]
    # A stated part leaves a remainder row; one term without a figure takes the rest.
    assert installment_schedule(ContractTerms(600_000, (_t("首付", 0.3, due=d),)), total)[-1] == (
        REMAINDER_LABEL, Decimal("420000.00"), None)
    assert installment_schedule(ContractTerms(None, (_t("预付款", amount=100_000), _t("尾款"))), total) == [
        ("预付款", Decimal("100000.00"), None), ("尾款", Decimal("500000.00"), None)]
    assert installment_schedule(ContractTerms(600_000, ()), total) == []


def test_schedule_errors_name_the_problem() -> None:
    total = Decimal(100_000)
    with pytest.raises(ScheduleError) as over:
        installment_schedule(ContractTerms(None, (_t("首付", amount=80_000), _t("尾款", amount=50_000))), total)
    assert over.value.reason == "over"
    with pytest.raises(ScheduleError) as missing:
        installment_schedule(ContractTerms(None, (_t("首付"), _t("尾款"))), total)
    assert (missing.value.reason, missing.value.label) == ("missing", "首付")
