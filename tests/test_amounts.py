"""Amount conventions of the evaluation README §2 (amounts)."""
import pytest

from extraction.amounts import find_amounts, parse_amount


@pytest.mark.parametrize(
    "phrase, value",
    [
        ("八十万", 800000), ("两百万", 2000000), ("三千块", 3000), ("一万二", 12000),
        ("四万八", 48000), ("两千五", 2500), ("12.5万", 125000), ("1.2亿", 120000000),
        ("三个亿", 300000000), ("每平米85.5元", 85.5), ("80万左右", 800000), ("大概八十万", 800000),
        ("18w", 180000), ("50万", 500000), ("36万", 360000), ("3万5千", 35000),
    ],
)
def test_parse_amount(phrase: str, value: float) -> None:
    assert parse_amount(phrase) == pytest.approx(value)


@pytest.mark.parametrize(
    "text",
    ["比我们低5%", "降五个点", "打八折", "一年大概要三百万只", "5万个", "退了两吨", "寄200个过去",
     "交货要45天", "两台螺杆机", "试用三成", "10家门店"],
)
def test_not_amounts(text: str) -> None:
    assert find_amounts(text) == []


def test_money_in_context_without_unit() -> None:
    vals = [a.value for a in find_amounts("我们的冷柜一台6800比海尔贵了800块")]
    assert vals == [6800, 800]
    assert [a.value for a in find_amounts("单价能不能再让五十")] == [50]


def test_kinds() -> None:
    kinds = {a.value: a.kind for a in find_amounts("他们预算只有15万，我们的报价每年18w")}
    assert kinds == {150000: "budget", 180000: "quote"}
    kinds = {a.value: a.kind for a in find_amounts("尾款12.5万今天到账了")}
    assert kinds == {125000: "payment"}


def test_parse_amount_rejects_garbage() -> None:
    assert parse_amount("") is None
    assert parse_amount("没有") is None


@pytest.mark.parametrize("text", ["预算大概八十万周五前我把报价发给他", "预算大概80万周五前", "预算八十万月底前定下来"])
def test_amount_followed_by_a_date_in_unpunctuated_speech(text: str) -> None:
    from extraction.amounts import find_amounts

    assert [a.value for a in find_amounts(text)] == [800000]


@pytest.mark.parametrize("text, values", [
    # 块 + jiao (+ fen) digits, Chinese or Arabic
    ("每斤七块五，一共二十万", [7.5, 200000]),
    ("单价报的四块二一瓦", [4.2]),
    ("对方给的是三块六五而且包运费", [3.65]),
    ("8块5一斤", [8.5]),
    ("预算4万5左右", [45000]),
    # a penalty is money
    ("超过半小时每次罚三千，", [3000]),
    # the next clause may follow 块 in an unpunctuated note
    ("看能不能再让十块明天给她答复", [10]),
])
def test_colloquial_yuan_and_penalties(text: str, values: list[float]) -> None:
    assert [a.value for a in find_amounts(text)] == values


@pytest.mark.parametrize("text", ["一块电池只能用两小时", "有两块模组黑了", "两块玻璃裂了"])
def test_kuai_before_a_noun_is_a_measure_word(text: str) -> None:
    assert find_amounts(text) == []


@pytest.mark.parametrize("text, values", [
    # a bare number right after a price word is a price, decimals and Chinese numerals too
    ("海天给的代工价是5.8；", [5.8]),
    ("Coldway报了265；", [265]),
    ("希望我们能跟到0.42。", [0.42]),
    ("东建那边给到四百二十五还包运费", [425]),
    ("每公斤七十六 要我们", [76]),
    # a Chinese numeral that goes on past 千 after a price word
    ("单价三千二百五 总共三百九十万", [3250, 3900000]),
    ("每台每月一千零八十，", [1080]),
    ("月租一千六一台", [1600]),
])
def test_prices_after_price_words(text: str, values: list[float]) -> None:
    assert [a.value for a in find_amounts(text)] == values


@pytest.mark.parametrize("text", ["首单4万支", "年用量约200万颗", "日产5万杯", "库里还压着30万粒"])
def test_counted_goods_are_no_money(text: str) -> None:
    assert find_amounts(text) == []


def test_a_measure_word_list_does_not_swallow_words() -> None:
    assert [a.value for a in find_amounts("合同总价326.4万双方已确认，预算50万根据进度付")] == [3264000, 500000]


@pytest.mark.parametrize("text, values", [
    ("我们报的250克铜版纸每吨6100元", [6100]),  # a weight is a quantity
    ("尾款四千三百六还没付", [4360]),  # a numeral read whole with money words near
    ("热镀锌卷一千二百吨 单价四千一百五", [4150]),  # a counted quantity is not money
    ("发货四千三百六十个", []),
])
def test_weights_counts_and_long_numerals(text: str, values: list[float]) -> None:
    assert [a.value for a in find_amounts(text)] == values


def test_a_volume_unit_does_not_swallow_words() -> None:
    assert [a.value for a in find_amounts("预算5万升级两台设备")] == [50000]
