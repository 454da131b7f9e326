"""Competitors are found by construction (README §2), with brands that no lexicon lists.

The brand names here are made up (or absent from lexicon/competitors.txt) on purpose: the
constructions must find them, and must not take pronouns, our own products, the customer,
people, regions, time words or generic nouns.
"""
from __future__ import annotations

import re

import pytest

from extraction.competitors import cue_patterns, find_competitors
from extraction.types import Span


def names(text: str, blocked: tuple[Span, ...] = (), known: tuple[str, ...] = ()) -> list[str]:
    return [c.text for c in find_competitors(text, blocked, known=known)]


FOUND = [
    # comparison
    ("他们说我们的报价比澜拓贵了两万", "澜拓"),
    ("客户觉得跟森沃比我们的交期没优势", "森沃"),
    ("这次是和Quantix PK，对方技术很强", "Quantix"),
    ("采购说比栢瑞的价格高了8%", "栢瑞"),
    ("鼎衡比我们便宜三个点", "鼎衡"),
    ("卓泓的报价比我们低了不少", "卓泓"),
    ("目前在看蓝岑和我们两家", "蓝岑"),
    # incumbency
    ("他们用惯了瑞科思的软件，不太想换", "瑞科思"),
    ("现在用的是Veltrona的设备", "Veltrona"),
    ("去年上的是沐川的系统，用得一般", "沐川"),
    ("他们一直用恒朔的，关系很好", "恒朔"),
    ("他们现在的物流服务商是途昶，合同年底到期", "途昶"),
    ("之前买的锐岭售后网点太少", "锐岭"),
    # loss and choice
    ("这单被启澄抢了，价格压得太低", "启澄"),
    ("最后选了衡麓的方案", "衡麓"),
    ("年框最后给了博骁，我们没进", "博骁"),
    ("老板倾向泓远，觉得牌子响", "泓远"),
    ("他们最后还是跟澄宇签了", "澄宇"),
    ("集团统一换成了KorvaTech", "KorvaTech"),
    # quoting
    ("朗腾报了六十八万，含安装", "朗腾"),
    ("昱川给的价是每吨4100", "昱川"),
    ("穹杉那边报价比较激进", "穹杉"),
    # channels
    ("他们在找灏石的代理，想做区域总代", "灏石"),
    # trouble at the incumbent
    ("凯澜那边交付出了问题，项目拖了两个月", "凯澜"),
    ("上个月嘉沅掉链子了，客户很恼火", "嘉沅"),
    # unpunctuated speech
    ("测试的时候会掉线华为的同类产品没这个问题", "华为"),
    ("竞争对手是墨岚，一直在压价", "墨岚"),
    # more comparisons: a head noun after 的, 只有我们的, 拿X压价, 没有X便宜, 不如X
    ("他说跟Norvik的机型比我们贵了两万", "Norvik"),
    ("翎川的价格只有我们的八成", "翎川"),
    ("采购拿翎川的报价来压我们", "翎川"),
    ("我们的交期没有翎川快", "翎川"),
    ("这次拼不过翎川", "翎川"),
    ("翎川那边便宜不少", "翎川"),
    ("翎川便宜了两千块", "翎川"),
    ("翎川报价比我们低了五个点", "翎川"),
    # incumbency: 一直从X拿货, X的老客户, 合作多年, 都是X的设备, 之前是X在做, 合同到期, 换回
    ("他们一直从晟禾拿货", "晟禾"),
    ("店里一直从3M拿货，账期三个月", "3M"),
    ("他们是晟禾的老客户了", "晟禾"),
    ("跟晟禾合作了五六年", "晟禾"),
    ("车间里清一色是晟禾的设备", "晟禾"),
    ("之前一直是晟禾在做维保", "晟禾"),
    ("晟禾那边的年框下个月到期", "晟禾"),
    ("再出问题就换回晟禾", "晟禾"),
    ("原来的供应商晟禾断供了", "晟禾"),
    # loss: 被X的代理抢了, 让X抢走了
    ("标被岱昇的代理抢了", "岱昇"),
    ("这单让岱昇抢走了", "岱昇"),
    # another bidder: 也在报, 也来讲过方案, 手上还有一份X的方案, 看过X的方案
    ("听说栎铭科技也在报，价格压得很低", "栎铭科技"),
    ("然后栎铭上礼拜也来讲过方案", "栎铭"),
    ("他们手上还有一份Orvane的方案", "Orvane"),
    ("之前看过KELDA的方案，嫌贵", "KELDA"),
    ("这个项目栎铭也在跟", "栎铭"),
    ("入围的还有栎铭", "栎铭"),
    ("有一家叫栎铭的也来过", "栎铭"),
    # quotes with a unit or an amount
    ("钧拓每米报0.41元，我们是0.45元", "钧拓"),
    ("钧拓报价四十二万，含运费", "钧拓"),
    ("钧拓那边给了八五折", "钧拓"),
    # a brand of capitalised words
    ("和Atlas Copco的机型比我们贵", "Atlas Copco"),
    # undecided between X and us; the customer trusts X more; a brand glued to 是 by jieba
    ("客户在蓝象和我们之间犹豫", "蓝象"),
    ("老板更认可蓝象", "蓝象"),
    ("蓝象是他们现在的供应商", "蓝象"),
    # a rival's figure with a copula; the same spec cheaper; a prescribed brand; renewed with X;
    # a rival named after a choice verb; bought from X; an adjective glued to the brand
    ("我们报的每米十二块，她说澜拓给的是十块五", "澜拓"),
    ("Veltrix同规格的报价低了两万左右", "Veltrix"),
    ("甲方指定要用森沃的阀门，我们没机会", "森沃"),
    ("老板最后还是跟栢瑞续了三年", "栢瑞"),
    ("最后用了本地一家叫蓝岑的租赁公司", "蓝岑"),
    ("去年他们从鼎衡拿的是每吨八千", "鼎衡"),
    ("干燥速度比他们现在用的卓泓慢一点", "卓泓"),
    # a rival behind a relative clause; compared right now; a unit between verdict and aspect;
    # the one in place before; a subsidiary winning; decided on X at a clause end
    ("跟他们用惯了的森沃比，报表太简单", "森沃"),
    ("他们同时在比澜拓的智慧方案", "澜拓"),
    ("说比栢瑞的报价每台高了80块", "栢瑞"),
    ("之前做的语音导览是卓泓的，交付拖了半年", "卓泓"),
    ("单子被蓝岑旗下的一家公司抢了", "蓝岑"),
    ("车间系统基本定了用鼎衡，说人家免费送一年", "鼎衡"),
    # a quote is 报 with a price after it; two rivals counted together
    ("听说澜拓报了四十二万，含三年维保", "澜拓"),
    ("卓泓报的价还要低一点", "卓泓"),
    ("现在是森沃和栢瑞两家在抢这个单子", "森沃"),
    # 我们 before a verb or a copula does not make the winner ours
    ("我们没拿下，中标的是澜拓报价比我们低了八万", "澜拓"),
    # a short Latin code may head a Chinese name
    ("本地有家QX安防报了三十八万", "QX安防"),
    ("TK电子比我们低了5%，还给60天账期", "TK电子"),
    # a brand may start with 中 / 上 (split off as one piece by the segmenter)
    ("他们现在用的是中岚的，效果一般", "中岚"),
    ("原来用的是上岙的机器", "上岙"),
]


@pytest.mark.parametrize(("text", "brand"), FOUND)
def test_construction_finds_unseen_brand(text: str, brand: str) -> None:
    assert brand in names(text)


NOT_FOUND = [
    # our own company and products (first person)
    "我们的云枢平台比上一版稳定多了",
    "我司报了六十八万，客户说还行",
    # generic nouns, categories and origins
    "客户说比厂家直供贵了一点",
    "院长倾向进口的，觉得国产不稳",
    "他们现在用的是老系统，经常卡",
    "之前用的输液泵故障率高",
    "最后选了别家，价格低了不少",
    "他们在找供应商的代理",
    # time words, numbers, people, regions
    "比上周报的贵了五百",
    "今天签了两年的框架协议",
    "合同签了一共八十八万",
    "跟王总比较熟，下周再约",
    "比去年同期多了三成",
    "他们说比广州那边便宜",
    "跟他们比我们的服务好",
    # vague or hypothetical references without a name
    "如果选了其他家，售后会跟不上",
    "他们还没定供应商，也没提别家",
    # plain quotes of products, not competitors
    "复合肥的报价收到了，嫌贵",
    "单台报价3.8万，超预算",
    # numbers and distributives next to a comparison
    "嫌每吨贵了120块",
    "人家报的比我们便宜了将近一成",
    "每公斤比我们便宜4块",
    # adverbs, measure words and negations are no brand
    "用惯了不太想换",
    "去年换的那批配件也老出问题",
    # head nouns of the customer or a person, and nameless parties
    "他们的机型比我们贵",
    "年费报的六十二万",
    "总价报了五十万",
    "从仓库拿货，三天到",
    "设计院也在推别的方案",
    "之前是老李在做",
    "之前用的是手动的",
    "价格和交期都在谈",
    "新开两家门店，要配收银机",
    "还有一份合同要签",
    "手上有两家的报价",
    "另一家报了7万，不含安装",
    "更喜欢进口的",
    # the rep's own change of a part; an aspect and its predicate
    "下周把那几台的天线换成外置的",
    "原来的供应商交货老拖，想找个备选",
    "价钱只有我们新机的一半",
    # the slot must not run into a time word, an adverb or a price noun
    "之前合作的那家配送商今年夏天断供过两次",
    "他们在武汉新中标了一个学校项目",
    "他说要跟原来那家的续约价比一比",
    # 报 without a price is no quote (a fault reported, a filing under way)
    "温度读数老是跳误报了好几回",
    "传感器老是乱报警，他们很烦",
    "问清楚补贴目录申报的进度再回他",
    # a part swapped to end a fault is no rival's product
    "漏水的问题换了密封圈以后就好了",
    "上次说的异响换了轴承已经解决了",
    # 中 / 上 starting a word (中间, 上次) is no brand
    "用的是中间那台，声音小一点",
    "原来用的是上次那批的料",
    # our own product before its quote (我们 + a few modifiers)
    "我们那台便携B超报价十二万八，客户嫌贵",
    "我们浓缩橙浆报的每吨一万三，他说要比一比",
    # a dictionary verb is no brand (演示, 联动, 吸水)
    "对方上周也做了演示报价比我们低一些",
    "安装调试报价八万，含三年维保",
    # a size or a count in front of a quote is no brand
    "客车方案里四十五座每台报五十八万",
    # one name and a count of parties: not a whole clause in between
    "袋子容易破还有一股味道她们下游有两家诊所要退货",
    "想把果酱和糖浆从三家供应商并成一家",
]


@pytest.mark.parametrize("text", NOT_FOUND)
def test_no_false_competitor(text: str) -> None:
    assert names(text) == []


def test_customer_span_is_blocked() -> None:
    text = "宁川精工最后选了宁川精工的老设备"
    assert "宁川精工" not in names(text, (Span(0, 4),))


def test_customer_brand_blocked_at_every_mention() -> None:
    text = "苏州澜泽机械的采购说澜泽那边报价比我们低"
    assert names(text, (Span(0, 6),)) == []


def test_contact_span_is_blocked() -> None:
    text = "跟周工比我们的方案更细"
    assert names(text, (Span(1, 3),)) == []


def test_known_brands_found_anywhere() -> None:
    text = "客户提到曜石云和北辰数科，聊了聊行业情况"
    assert names(text) == []
    assert names(text, known=("曜石云", "北辰数科")) == ["曜石云", "北辰数科"]


def test_known_brand_in_blocked_span_is_not_listed() -> None:
    assert names("曜石云今天签了", (Span(0, 3),), known=("曜石云",)) == []


def test_repeated_brand_listed_once_in_order() -> None:
    text = "最后选了衡麓，衡麓比我们便宜，跟朗腾比也低"
    assert names(text) == ["衡麓", "朗腾"]


def test_bare_first_mention_orders_the_list() -> None:
    # 朗腾 is named bare first and found by a construction later: it is still listed first, once
    text = "朗腾的人上周来过，后来衡麓报了三十万，再后来被朗腾抢了"
    assert names(text) == ["朗腾", "衡麓"]


def test_latin_brand_listed_once_across_case() -> None:
    assert names("最后选了Norvik，NORVIK比我们便宜") == ["Norvik"]


def test_listed_brands_joined_by_he() -> None:
    assert names("在看澜拓和森沃两家") == ["澜拓", "森沃"]
    assert names("澜拓、森沃都在报") == ["澜拓", "森沃"]
    assert names("跟澜拓比我们贵") == ["澜拓"]


def test_latin_acronym_brand_and_term() -> None:
    assert names("客户说POC跑完了，最后选了ZKT") == ["ZKT"]
    assert names("最后选了SaaS方案") == []


def test_cue_patterns_have_brand_group() -> None:
    pats = cue_patterns()
    assert pats and all("X" in p.groupindex for p in pats)
    assert any((m := p.search("东方雨虹给他们报的价比我们低")) and m.group("X") for p in pats)
    assert all(isinstance(p, re.Pattern) for p in pats)


def test_empty_and_plain_text() -> None:
    assert names("") == []
    assert names("今天拜访了客户，聊得不错，下周再约") == []


def test_coordinated_brands_share_the_construction() -> None:
    assert names("他们在看澜拓、森沃的同类产品") == ["澜拓", "森沃"]
    assert names("最后选了衡麓和我们的二期") == ["衡麓"]


@pytest.mark.parametrize("text, brand", [
    ("采购说手上已经有一份凯诺达的方案了", "凯诺达"),
    ("他们还拉了维斯顿一起比价", "维斯顿"),
    ("听说基本定了用云策通", "云策通"),
    ("最后是恒立方的代理商拿下的", "恒立方"),
    ("钱经理说博远报的价比我们低", "博远"),
    ("听说拓迈也在找他们", "拓迈"),
])
def test_more_constructions(text: str, brand: str) -> None:
    assert brand in [c.text for c in find_competitors(text)]


@pytest.mark.parametrize("text, brand", [
    ("招标结果出来了，奥维电气中的标", "奥维电气"),
    ("最后还是续了巴赫的", "巴赫"),
    ("他们刚和明远科技签了三年", "明远科技"),
    ("总部拍板用了Novaline", "Novaline"),
    ("现在那套是凯德的，老出问题", "凯德"),
    ("还要跟朗睿的做对比", "朗睿"),
    # a price word glued to an unpunctuated brand is cut off
    ("比他们现在的供应商泰科贵了两块", "泰科"),
])
def test_chosen_renewed_or_compared(text: str, brand: str) -> None:
    assert [c.text for c in find_competitors(text)] == [brand]


def test_renewing_our_own_contract_names_no_rival() -> None:
    assert find_competitors("客户续签维保合同，按原价续") == []


@pytest.mark.parametrize("text, brand", [
    ("那条线最后还是签给瑞丰了", "瑞丰"),
    ("听说领导已经拍板用恒拓的了", "恒拓"),
    ("他们领导更想要博通的", "博通"),
    ("采购说欧迅那边给到三百二", "欧迅"),
    ("车间主任说卡特斯同型号才十九万", "卡特斯"),
    ("梁总说跟德国的罗维化学签了框架", "罗维化学"),
    ("还提到汇宝给过他们阶梯价", "汇宝"),
])
def test_choosing_preferring_pricing(text: str, brand: str) -> None:
    assert brand in [c.text for c in find_competitors(text)]


@pytest.mark.parametrize("text, brand", [
    # a price given to the customer, with the receiver named
    ("留置针我们报2.1元，康迪给她们的是1.9元", "康迪"),
    # the incumbent as a relative clause or a maintainer in place
    ("他说现在在保的通力一年只收二十八万", "通力"),
    ("工程部说现在是菱奥原厂在保，一年一台要九千", "菱奥"),
    # a model number and a dealer between the brand and its price
    ("农机站说飞鹰T40那边经销商给到六万八", "飞鹰"),
    # a brand dictated through a longer phrase
    ("出版社指定了纸张品牌要用晨鸣的", "晨鸣"),
    # a rival's product or people used or tried before
    ("他们之前试过宇视的一套，说误报少一些", "宇视"),
    ("他们以前用华泰的没这个问题", "华泰"),
    ("往年他们是请翼飞的飞手来做的", "翼飞"),
    ("她们现在主要卖勃林格的驱虫药", "勃林格"),
    # a contract signed with a named other party
    ("他们集团发了通知，跟安达气体签了全国框架", "安达气体"),
])
def test_incumbents_prices_and_signings(text: str, brand: str) -> None:
    assert brand in [c.text for c in find_competitors(text)]


@pytest.mark.parametrize("text", [
    # a colleague named with a department, a product category, an aspect word
    "下周二前把换证材料交给行政小唐",
    "后厨想全换成电磁灶",
    "明天我把两家的参数对比发给他",
])
def test_colleagues_categories_and_aspects_are_no_brands(text: str) -> None:
    assert find_competitors(text) == []


def test_a_brand_valued_more_by_the_customer() -> None:
    assert [c.text for c in find_competitors("校董会更看重宇视的牌子")] == ["宇视"]
