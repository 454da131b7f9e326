"""Customer matching: linking, asking and refusing, and finding the customer in a note."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extraction.customers import ASK, AUTO_LINK, REGION_CONFLICT, CustomerIndex, load_customers_csv
from extraction.matchcli import match_main
from extraction.types import CustomerRef

FIXTURE = Path(__file__).parent / "fixtures" / "match_customers.csv"


@pytest.fixture(scope="module")
def index() -> CustomerIndex:
    return CustomerIndex(load_customers_csv(FIXTURE))


def test_thresholds_are_ordered():
    assert 0 < ASK < AUTO_LINK <= 1
    # candidates in another city are skipped unscored: they could never be shown
    assert REGION_CONFLICT < ASK


def test_load_customers_csv_with_aliases(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,name,region,owner,aliases\nX1,苏州恒达精密机械有限公司,苏州,张伟,恒达|HD\n", encoding="utf-8")
    [ref] = load_customers_csv(path)
    assert ref == CustomerRef("X1", "苏州恒达精密机械有限公司", "苏州", ("恒达", "HD"))


@pytest.mark.parametrize(
    "name,expected",
    [
        # legal forms missing, extra or wrong
        ("苏州恒达", "C001"),
        ("苏州恒达有限公司", "C001"),
        ("天津北辰重工机械有限公司", "C005"),
        ("北辰重工", "C005"),
        ("苏州恒达机械厂", "C001"),
        # abbreviations, dropped or bracketed regions, province vs city, short forms
        ("恒达", "C001"),
        ("BKT传动", "C006"),
        ("上海康博", "C020"),
        ("成都蜀星", "C013"),
        ("四川蜀星", "C013"),
        ("沪上优鲜汇", "C033"),
        ("昆山立讯", "N03"),
        ("江苏中恒", "N02"),
        # typos and ASR homophones
        ("横达精密机械", "C001"),
        ("无锡红远数控", "C002"),
        ("温州欧江阀门", "N01"),
        ("常州天和光伏", "N04"),
        # traditional, full width, odd spaces, case
        ("蘇州恆達精密機械有限公司", "C001"),
        ("苏州ＢＫＴ传动", "C006"),
        ("bkt", "C006"),
        ("武漢 楚天 管業", "C014"),
        # pinyin / English renderings
        ("YunFan Tech", "C025"),
        ("Beijing Hengtong Medical", "C017"),
        ("WeikeCloud", "C028"),
        # brand + industry word the lexicon does not list
        ("常州天合", "N04"),
    ],
)
def test_links(index, name, expected):
    res = index.match(name)
    assert res.best is not None and res.best.id == expected, res
    assert res.score >= AUTO_LINK


@pytest.mark.parametrize(
    "name",
    [
        "无锡恒达",  # same brand, other city
        "北京华信",
        "荆州楚天管业",  # other city in the same province
        "绵阳蜀星",
        "无锡中恒电缆",  # customer named by province, but its city is 南京
        "杭州海川汽配",
        "上海华新",  # region of one customer + brand of another
        "杭州华信",
        "天津北辰物流",  # same region and brand, other line of business
        "上海中信建材",  # similar but different brand
        "东方雨虹",
        "鹭通物流",
        "",
    ],
)
def test_no_link(index, name):
    assert index.match(name).best is None


def test_shared_brand_without_region_asks(index):
    res = index.match("恒通医疗")
    assert res.best is None
    assert {c.id for c in res.alternates} == {"C017", "C018"}
    assert res.score >= ASK


def test_region_decides_shared_brand(index):
    assert index.match("广州恒通").best.id == "C018"
    assert index.match("北京恒通医疗").best.id == "C017"
    assert index.match("恒通医疗", region="广州").best.id == "C018"


def test_query_characters_decide_between_homophone_brands(index):
    assert index.match("华信").best.id == "C009"
    assert index.match("华新").best.id == "C010"
    res = index.match("花信科技")  # sounds like both: ask
    assert res.best is None and {c.id for c in res.alternates} == {"C009", "C010"}


def test_scores_are_in_unit_interval(index):
    for name in ("苏州恒达", "无锡恒达", "完全不相干的名字", "x"):
        assert 0.0 <= index.match(name).score <= 1.0


def test_index_over_aliases():
    idx = CustomerIndex([CustomerRef("A1", "深圳市腾飞网络科技有限公司", "深圳", ("飞鹅",))])
    assert idx.match("飞鹅").best.id == "A1"
    assert idx.match("腾飞网络").best.id == "A1"


@pytest.mark.parametrize(
    "text,mention,expected",
    [
        ("刚从苏州恒达出来，见了采购部王总，他们想换一批数控车床。", "苏州恒达", "C001"),
        ("今天下午去了无锡红远数控跟李厂长聊了一下", "无锡红远数控", "C002"),
        ("今天拜访了横达，王总说下个月要采购", "横达", "C001"),
        ("恒达王总和生产部杨主管一起看了试机", "恒达", "C001"),
        ("跟常州天合的王总通了电话，他们要扩产", "常州天合", "N04"),
        ("Weike Cloud的产品经理说要私有化部署", "Weike Cloud", "C028"),
        ("恒通的李经理说报价收到了，下周我去广州当面谈", "恒通", "C018"),
        ("恒达王总介绍了新产线的需求", "恒达", "C001"),  # 介绍 here is not a referral
        ("经苏州恒达王总介绍，认识了无锡宏远的李厂长", "无锡宏远", "C002"),
        ("武漢楚天管業的孫總說明天給答覆", "武漢楚天管業", "C014"),
    ],
)
def test_find_mention_links(index, text, mention, expected):
    m = index.find_mention(text)
    assert m is not None and m.text == mention
    assert text[m.span.start : m.span.end] == mention
    assert m.customer_id == expected


@pytest.mark.parametrize(
    "text",
    [
        "北京华信建材的赵总约我下周二去他们工地看看，说是上海华信介绍过来的。",  # referrer is not the customer
        "深圳恒通医疗的朱总今天打电话过来，想代理我们的血氧仪。",  # same brand, unlisted city
        "新线索，成都锦城装饰工程公司的林总，展会上拿的名片还没联系过。",
        "新客户杭州远大科技的王总，之前在苏州恒达做采购，下周拜访",
        "他们现在用的是苏州恒达的设备，想换成我们的",  # competitor / incumbent supplier
        "恒通的李经理说报价收到了",  # two listed 恒通, nothing decides
        "新客户叫鹭通物流有限公司，想了解我们给鹭美口腔做的方案",  # unlisted company comes first
    ],
)
def test_find_mention_unlisted_or_unclear(index, text):
    m = index.find_mention(text)
    assert m is None or m.customer_id is None


@pytest.mark.parametrize(
    "text", ["提醒一下，周一上午部门例会要交回款明细。", "一路顺风，明天回公司", "我们公司下周开年会", ""]
)
def test_find_mention_none_for_internal_notes(index, text):
    assert index.find_mention(text) is None


def test_match_main_lines():
    stdin = io.StringIO(
        '{"id": "q1", "name": "苏州恒达"}\n'
        "not json\n"
        '{"id": "q2", "name": "无锡恒达"}\n'
        '{"id": "q3"}\n'
        "\n"
        '{"id": "q4", "name": "恒通医疗"}\n'
    )
    stdout = io.StringIO()
    assert match_main(str(FIXTURE), stdin, stdout) == 0
    rows = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert len(rows) == 5
    assert rows[0]["id"] == "q1" and rows[0]["match_id"] == "C001" and rows[0]["candidates"][0]["id"] == "C001"
    assert "error" in rows[1]
    assert rows[2]["match_id"] is None
    assert rows[3] == {"id": "q3", "error": "missing or empty 'name'"}
    assert rows[4]["match_id"] is None and {c["id"] for c in rows[4]["candidates"]} == {"C017", "C018"}


def test_brand_with_industry_word_missing_from_lexicon():
    idx = CustomerIndex([CustomerRef("Z1", "昆明滇池螺旋藻有限公司", "昆明")])
    assert idx.match("滇池").best.id == "Z1"
    assert idx.match("昆明滇池").best.id == "Z1"
    assert idx.match("大理滇池").best is None
    assert idx.match("滇池物流").best is None  # a different line of business
    m = idx.find_mention("滇池那边说样品收到了")
    assert m is not None and m.text == "滇池" and m.customer_id == "Z1"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("苏州恒达华信新北京(（)）·, 　ＢＫＴbkt123有限公司科技的了说那边恆達") + ["\u200b", "😀"]),
               max_size=40))
def test_never_raises_on_odd_input(index, text):
    res = index.match(text)
    assert 0.0 <= res.score <= 1.0
    m = index.find_mention(text)
    if m is not None:
        assert text[m.span.start : m.span.end] == m.text


def test_related_industries_link_and_unrelated_do_not(index):
    assert index.match("北京恒通器械").best.id == "C017"
    assert index.match("北京恒通制药").best is None  # pharma is not a device maker
    assert index.match("北京恒通医院").best is None


def test_pinyin_with_tone_marks_and_brackets():
    idx = CustomerIndex([CustomerRef("K1", "康博生物医疗科技(上海)有限公司", "上海")])
    assert idx.match("Kāngbó").best.id == "K1"
    assert idx.match("Kangbo Biotech (Shanghai)").best.id == "K1"
    assert idx.match("Kangbo Biotech Beijing").best is None


def test_company_and_institution_with_one_brand_are_only_offered():
    idx = CustomerIndex([CustomerRef("1", "北京华信科技有限公司", None)])
    assert idx.match("北京华信科技股份有限公司").best.id == "1"  # another company form: same
    res = idx.match("华信信息技术服务中心")
    assert res.best is None and [c.id for c in res.alternates] == ["1"]


# ---------------------------------------------------------------- brand cores and short forms


@pytest.fixture(scope="module")
def core_index() -> CustomerIndex:
    return CustomerIndex([
        CustomerRef("A", "广州蓝鲸智能换电设备有限公司", "广州"),  # 换电 is not in the lexicon
        CustomerRef("B", "Zentra光谱检测(苏州)有限公司", "苏州"),
        CustomerRef("C", "北京中科微澜仪器有限公司", "北京"),
        CustomerRef("D", "青岛海瑞船舶物资供应有限公司", "青岛"),
        CustomerRef("E", "青岛海岚冷链科技有限公司", "青岛"),
        CustomerRef("F", "洛阳金牛重工机械有限公司", "洛阳"),
        CustomerRef("G", "成都锦岚换电运营有限公司", "成都"),
    ])


@pytest.mark.parametrize(
    "name,expected",
    [
        ("蓝鲸", "A"),  # brand before the first industry word
        ("广州兰京", "A"),  # ... and its homophone
        ("zentra", "B"),  # a leading Latin brand, any case
        ("苏州ZENTRA", "B"),
        ("北京微澜", "C"),  # group prefix dropped
        ("微澜仪器", "C"),
        ("海瑞船供", "D"),  # abbreviation: head + one character of each later word
        ("洛阳金流重工", "F"),  # accent-level sound match confirmed by region and industry
        ("成都金兰", "G"),  # sounds like the head of an unsplit brand, region confirms
        ("锦岚换电", "G"),
    ],
)
def test_links_brand_cores(core_index, name, expected):
    res = core_index.match(name)
    assert res.best is not None and res.best.id == expected, res


@pytest.mark.parametrize(
    "name",
    [
        "上海微澜",  # other city
        "海瑞物流",  # other line of business
        "金流",  # accent-level match, nothing confirms it: ask
        "金兰",  # sound of a head only, no region: ask
        "重庆金兰",
        "锦岚物流",
    ],
)
def test_brand_cores_do_not_overreach(core_index, name):
    assert core_index.match(name).best is None


@pytest.mark.parametrize(
    "text,mention,expected",
    [
        ("今天去广州蓝京那边看了换电柜的安装位置", "广州蓝京", "A"),
        ("苏州zentra的Mike说样品收到了", "苏州zentra", "B"),
        ("ZENTRA苏州：光谱仪试用第二周，反馈不错", "ZENTRA苏州", "B"),
        ("跟北京微澜的赵总吃了个饭", "北京微澜", "C"),
        ("海瑞船供的采购说下周要货", "海瑞船供", "D"),
        ("海岚设备科的唐科长说机组又报警了", "海岚", "E"),  # 设备科 is a department
    ],
)
def test_find_mention_brand_cores(core_index, text, mention, expected):
    m = core_index.find_mention(text)
    assert m is not None and m.text == mention and m.customer_id == expected, m


def test_find_mention_sound_of_head_needs_region(core_index):
    m = core_index.find_mention("金兰那边说价格贵了")
    assert m is None or m.customer_id is None


@pytest.mark.parametrize(
    "text",
    [
        "老客户苏州恒达的王总给我们推了个新客户，杭州远大科技，下周去拜访",
        "通过苏州恒达的王总认识了杭州远大科技的采购",
    ],
)
def test_referrer_constructions(index, text):
    m = index.find_mention(text)
    assert m is None or m.customer_id != "C001"


def test_new_order_from_customer_is_not_a_referral(index):
    assert index.find_mention("苏州恒达王总推了一批新订单过来").customer_id == "C001"


def test_introducing_the_customers_own_needs_is_not_a_referral(index):
    assert index.find_mention("苏州恒达王总介绍客户的使用情况").customer_id == "C001"


def test_same_brand_other_trade_in_note_is_not_linked():
    idx = CustomerIndex([CustomerRef("P", "四川蓉城楼宇设施管理有限公司", "成都")])
    m = idx.find_mention("新线索，成都蓉城装饰工程公司的林总，展会上拿的名片")
    assert m is None or m.customer_id is None
    assert idx.find_mention("蓉城楼宇那个保洁项目下周验收").customer_id == "P"
