"""Contact constructions (README §2 contacts): names, roles, our colleagues, other
organisations, dedupe, Traditional script, English names, phones and WeChat ids.

All sentences are written for these tests; none come from the evaluation sets.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from extraction.contacts import find_contacts, fold, mention_spans, normalize_phone
from extraction.extractor import extract
from extraction.types import Contact, Span, TextItem


def names(text: str) -> list[str]:
    return [c.text for c in find_contacts(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        # surname + title / kinship / diminutive
        ("下午去见了冯总，聊得不错", ["冯总"]),
        ("鄢经理说合同下周盖章", ["鄢经理"]),  # a rarer surname
        ("端木主任嫌交期太长", ["端木主任"]),  # a compound surname
        ("晚上和戚老板吃了饭", ["戚老板"]),
        ("骆先生要了一份彩页", ["骆先生"]),
        ("小蒋说试用装已经发完了", ["小蒋"]),
        ("老聂那边还在走审批", ["老聂"]),
        ("车间的甘姐说机器噪音大", ["甘姐"]),
        # a role or department written directly in front stays part of the string
        ("见了质检部邵主管，她要检测报告", ["质检部邵主管"]),
        ("他们的渠道经理苗工问返点怎么算", ["渠道经理苗工"]),
        ("检验科的卢科长说样本量不够", ["卢科长"]),  # joined with 的: dropped
        ("实验室负责人单主任要看方法验证", ["实验室负责人单主任"]),
        # full names with a role before or a title after
        ("今天拜访了采购经理邹晓岚，她说还要比价", ["采购经理邹晓岚"]),
        ("设备部主管 翁建平说下月立项", ["设备部主管 翁建平"]),
        ("邬国栋经理觉得方案太复杂", ["邬国栋经理"]),
        # bare full names introduced as a person
        ("他们的对接人是郁文涛，下周一给答复", ["郁文涛"]),
        ("新项目的负责人叫童思远，人挺好说话", ["童思远"]),
        ("见了客户，阎思琪表示价格可以接受", ["阎思琪"]),  # a full name as the speaker
        ("成本高说明工艺有问题", []),
        ("李明天说要来", []),  # 明天 is a word, not a given name
        # English names
        ("Vivian说样品收到了，下周反馈", ["Vivian"]),
        ("今天见了Peter Lau，他对报价没意见", ["Peter Lau"]),
        ("他们的运营总监Grace说要先做小范围试点", ["运营总监Grace"]),
        ("CFO Nathan回了邮件说预算已批", ["CFO Nathan"]),
        ("Met Olivia at the expo, 她们要补货", ["Olivia"]),
        # Traditional script: recognised, kept as written
        ("王總說預算還沒批下來", ["王總"]),
        ("張經理下週來工廠看設備", ["張經理"]),
        ("採購部劉主管嫌價格偏高", ["採購部劉主管"]),
        # our own colleagues are not contacts
        ("研发老赵下周过去调试一下", []),
        ("我们技术部张工明天去现场", []),
        ("售后老徐说配件已经寄出了", []),
        ("同事小李把报价单发过去了", []),
        ("我让技术员小葛明天过去换个探头", []),
        ("我方项目经理詹工负责实施", []),
        # people of other organisations
        ("竞品的销售小韦也在现场", []),
        ("通过华盛的罗总认识了他们采购", []),
        ("这单是老客户的龚总介绍过来的", []),
        ("介绍人是他们行业协会的祁主任", []),
        # words that only look like names
        ("下周二带抓包工具过去测一下", []),
        ("老冷库没有独立电表", []),
        ("他们之前买的徐工设备服务跟不上", []),  # a competitor brand
        ("向经理汇报以后再定", []),
        ("这个总价太高了，总共八十万", []),
        ("他们老板和院长都没来，只见了采购", []),  # nameless roles
        ("Lumina Fabrics的负责人还没联系", []),  # a company name in English
    ],
)
def test_constructions(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("见了采购部霍总，霍总嫌我们报价高", ["采购部霍总"]),
        ("采购经理邹晓岚说要比价，邹经理还问了交期", ["采购经理邹晓岚"]),
        ("对接人是郁文涛。郁总说下周签", ["郁文涛"]),
        ("Kevin Zhang说可以，Kevin下周来工厂", ["Kevin Zhang"]),
        ("市场部Ivy和Ivy的同事都在", ["市场部Ivy"]),
        ("龚总和财务龚经理", ["龚总"]),  # 财务 + name: our accountant
    ],
)
def test_dedupe_to_fullest_form(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_two_people_with_the_same_surname_stay_apart() -> None:
    # two full names share the surname: 李总 cannot be tied to either, so it stays on its own
    assert names("采购经理李文博和设备科李海涛都在，李总没来") == ["采购经理李文博", "设备科李海涛", "李总"]


def test_spans_point_at_the_text_as_written() -> None:
    text = "今天張經理說要降價"
    (c,) = find_contacts(text)
    assert text[c.span.start:c.span.end] == "張經理"
    assert isinstance(c, Contact) and isinstance(c, TextItem)


def test_blocked_spans_are_skipped() -> None:
    text = "王总那边说好了"
    assert find_contacts(text, [Span(0, 2)]) == []


def test_mention_spans_include_our_people() -> None:
    text = "让售后老徐去一趟，柴总说可以"
    spans = {text[s.start:s.end] for s in mention_spans(text)}
    assert {"售后老徐", "柴总"} <= spans
    assert names(text) == ["柴总"]


# ------------------------------------------------------------------ phones / WeChat


@pytest.mark.parametrize(
    "raw, norm",
    [
        ("138 0013 8000", "13800138000"),
        ("139-1234-5678", "13912345678"),
        ("+86 13912345678", "13912345678"),
        ("8613912345678", "13912345678"),
        ("021-5888 1234 转 8", "02158881234-8"),
        ("0755-8888 6666 ext 12", "075588886666-12"),
        ("010-6543 2100-3", "01065432100-3"),
    ],
)
def test_normalize_phone(raw: str, norm: str) -> None:
    assert normalize_phone(raw) == norm


@pytest.mark.parametrize(
    "text, phone, wechat",
    [
        ("姜经理电话138 0013 8000，下周联系", "13800138000", None),
        ("项目负责人喻工（139-1234-5678）说图纸周三给", "13912345678", None),
        ("佟总的手机是+86 13912345678，微信 tong_2026", "13912345678", "tong_2026"),
        ("联系施主任，座机021-5888 1234 转 8", "02158881234-8", None),
        ("Linda加了微信：linda_sh88，说晚点发资料", None, "linda_sh88"),
    ],
)
def test_phone_and_wechat_attach_to_the_contact(text: str, phone: str | None, wechat: str | None) -> None:
    (c,) = find_contacts(text)
    assert isinstance(c, Contact) and (c.phone, c.wechat) == (phone, wechat)


def test_phone_does_not_change_the_contact_string() -> None:
    assert names("姜经理13800138000说可以") == ["姜经理"]


def test_phone_in_another_sentence_is_not_attached() -> None:
    (c,) = find_contacts("见了鲍总。售后热线400-800-1234有问题可以打")
    assert isinstance(c, Contact) and c.phone is None


def test_record_has_aligned_phone_keys() -> None:
    d = extract("见了卓经理，电话13800138000；还有Vivian，微信 viv_0501",
                ref_time=datetime.fromisoformat("2026-05-04T10:00:00+08:00"))
    rec = d.to_record()
    assert rec["contacts"] == ["卓经理", "Vivian"]
    assert rec["contact_phones"] == ["13800138000", None]
    assert rec["contact_wechats"] == [None, "viv_0501"]


def test_fold_keeps_length() -> None:
    s = "張經理　ＡＢＣ１２３"
    assert len(fold(s)) == len(s) and fold(s).startswith("张经理 ABC123")


# ------------------------------------------------------------------ added phenomena


@pytest.mark.parametrize(
    "text, expected",
    [
        # a bare full name right after a role, whatever word follows it
        ("上午跟质量总监邱文涛过了一遍图纸", ["质量总监邱文涛"]),
        ("区域经理柯立伟主动约我下周见面", ["区域经理柯立伟"]),
        ("协会理事长庞永福，电话还没要到", ["理事长庞永福"]),
        ("他们老总蔺海 给了张名片", ["老总蔺海"]),
        ("老板叫龙志刚 电话还没打", ["龙志刚"]),  # 刚 cannot end a clause: it is part of the name
        ("联系人是品管部的蓝振华，下周回复", ["蓝振华"]),  # after 的 the department is dropped
        ("对接人叫李娜，她说下周签", ["李娜"]),  # a frequent word that jieba tags as a name
        # nicknames without a listed surname
        ("阿辉说样品下周寄回来", ["阿辉"]),
        ("仓库的阿峰说库位不够", ["阿峰"]),
        ("琴姐说老板出差了", ["琴姐"]),
        ("品控霞姐说色差还是大", ["品控霞姐"]),
        ("质检部的莉莉主动打电话来", ["莉莉"]),  # a doubled name needs a role or department in front
        ("阿姨说门卫不让进", []),
        ("表姐介绍的，大姐人挺好", []),
        ("他们天天加班，刚刚才回复", []),
        # job-function nouns, chained roles and any noun naming the field of a post
        ("跟单Vivian确认了交期", ["跟单Vivian"]),
        ("仓管小严说还有两百箱", ["仓管小严"]),
        ("总经理助理Fiona说方案要再改", ["总经理助理Fiona"]),
        ("物业经理老尹说要先开协调会", ["物业经理老尹"]),
        ("车床组长老鲁说刀具磨损快", ["车床组长老鲁"]),  # 车床 is a noun, not 车 + 床
        ("院长助理说下周再约", []),  # a role without a name
        # capitalised words that are not given names: brands and products
        ("他们手上还有一份Norvik的方案", []),
        ("Zentra那边交期要三个月", []),
        ("Rosamund说复购率还可以", ["Rosamund"]),  # an unlisted name as the speaker
        # our own colleagues
        ("我下周一带技术老戴过去看接口", []),
        ("研发的小晏已经在查日志了", []),
        ("同事老骆转来一个线索。老骆说他们急着要", []),
        ("对接人叫小庞，下周约", ["小庞"]),  # 叫 names the person here; it sends nobody
        ("明天和他们财务Grace开个会", ["财务Grace"]),
        ("研发部Ethan私下说老板定了别家", ["研发部Ethan"]),
        ("研发总监Owen Xu昨天来电", ["研发总监Owen Xu"]),
        # people of other organisations
        ("代理商严总介绍了一家新客户", []),
        ("监理单位的魏工要逐栋验收", []),
        ("老客户的柏主任给推了个新客户，联系人是采购邢经理", ["采购邢经理"]),
        ("经销商老覃说他们明年扩产，他们老板是裴总", ["裴总"]),
    ],
)
def test_more_constructions(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_department_swallowed_by_the_customer_mention_stays() -> None:
    # the customer matcher took 设备 of 设备科: the department is still written in front
    text = "华岭设备科尚科长说机组坏了"
    assert [c.text for c in find_contacts(text, [Span(0, 4)])] == ["设备科尚科长"]


@pytest.mark.parametrize("text, contact", [
    ("农场的钟场长今天来电话", "钟场长"),
    ("驿站的刘站长说设备不错", "刘站长"),
    ("老板娘芳姐说想把灶台换成电的", "老板娘芳姐"),
    ("仓管员阿伟说还压着四百多箱", "仓管员阿伟"),
    # a workshop in front of the title is part of the string
    ("印刷车间齐主任说网点没问题", "印刷车间齐主任"),
    ("车间欧阳主管说起皱了", "车间欧阳主管"),
])
def test_more_titles_and_posts(text: str, contact: str) -> None:
    assert contact in [c.text for c in find_contacts(text, [])]


@pytest.mark.parametrize("text, contact", [
    # a post's modifier or Latin function code stays in front of the name
    ("分管副总韩总嫌每站贵", "分管副总韩总"),
    ("他们的QA经理Teresa发微信说要样品", "QA经理Teresa"),
    ("IT主管王工说接口没问题", "IT主管王工"),
    # a Latin function code alone heads a Chinese person, or a known English given name
    ("他们的SQE郝工说整改报告要加急", "SQE郝工"),
    ("今天CFO龚总也在，问了付款节点", "CFO龚总"),
    ("QC部柴经理说这批货合格", "QC部柴经理"),
    ("集团的HR Megan约了周四面谈", "HR Megan"),
    # any dictionary word names the field of a post before its head, verbs too (招聘, 陈列)
    ("他们的招聘经理Nina说简历不够", "招聘经理Nina"),
    ("门店的陈列主管小芮说堆头太小", "陈列主管小芮"),
    # … but not a verb whose object is a person
    ("上午已经通知主管小岳了，他说没问题", "主管小岳"),
    # 处 ends a department too
    ("保卫处甘处长说要先走审批", "保卫处甘处长"),
    # a role read as a surname and a title, right in front of the person, is that person's role
    ("他们的车队长鲍师傅说轮胎磨得快", "车队长鲍师傅"),
])
def test_post_modifiers_and_function_codes(text: str, contact: str) -> None:
    assert [c.text for c in find_contacts(text, [])] == [contact]


@pytest.mark.parametrize("text, expected", [
    # a role ending in 长 before 老/小 + surname (jieba glues 长老 into one word)
    ("那个机长老蔡说附着力够了", ["机长老蔡"]),
    ("牧场那边场长小聂打电话来说结块了", ["场长小聂"]),
    # 少 stands in given names (少华, 少杰)
    ("采购经理翁少华说价格偏高", ["采购经理翁少华"]),
])
def test_roles_glued_to_names_and_given_names(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_an_elder_is_no_contact() -> None:
    assert names("教练长老是迟到") == []


@pytest.mark.parametrize("text, expected", [
    # going to the person, or handing them our offer: the customer's people
    ("周五我带技术过去找邹总再碰一次", ["邹总"]),
    ("下周三去杭州当面找姜经理催款", ["姜经理"]),
    ("月底前得把方案交给龚总", ["龚总"]),
    # handing in an internal document, or asking someone of ours: our colleagues
    ("明天中午前把本月提成表交给何经理审核", []),
    ("我明天去找技术部老王问一下", []),
])
def test_going_to_someone_or_handing_them_our_offer(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_a_function_code_does_not_make_a_product_word_a_person() -> None:
    """A Latin code heads an English name only when the name is a known given name."""
    assert names("NFC Tag月用量三十万片，要我们周五报价") == []


@pytest.mark.parametrize("text", [
    "备忘：明天下班前把本月的费用明细发给程经理",
    "周五前跟葛总监汇报一下三季度的回款",
    "下周一把展会物料清单交给市场部的小隋",
])
def test_in_a_note_naming_no_customer_who_takes_our_paperwork_is_a_colleague(text: str) -> None:
    assert [c.text for c in find_contacts(text, [], customer_named=False)] == []


def test_with_a_customer_named_the_person_we_send_things_to_is_theirs() -> None:
    text = "见了采购部龚经理，明天把报价发给龚经理"
    assert [c.text for c in find_contacts(text, [])] == ["采购部龚经理"]


@pytest.mark.parametrize("text, expected", [
    # the rep going over with someone brings a colleague
    ("下周二我跟工程部的小阎一起过去看现场", []),
    ("明天我带测试工程师小滕去他们车间", []),
    ("设备科滕工说温度不稳，周四我再派调试师傅老满过去", ["设备科滕工"]),
    # … not the customer's people, nor someone the rep only meets
    ("我跟他们的滕工一起去车间看了", ["滕工"]),
    ("昨晚我跟采购部甘总一起吃了个饭", ["采购部甘总"]),
])
def test_the_rep_going_over_with_someone_brings_a_colleague(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize("text, expected", [
    # whoever introduces another party to us is a referrer, not the customer's contact
    ("老客户的尤经理介绍了一家做冷库的厂，老板钮总想上两台压缩机", ["钮总"]),
    ("朋友老谷介绍；他们一年要两百吨", []),
    ("设计院的满工介绍认识了业主方的邬总", ["邬总"]),
    # … but introducing their own needs is talking to us
    ("采购部秦经理介绍了一下他们的产线", ["采购部秦经理"]),
])
def test_someone_who_introduces_another_party_is_a_referrer(text: str, expected: list[str]) -> None:
    assert names(text) == expected
