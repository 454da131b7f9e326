"""ASR transcript correction by sound toward the rep's CRM names and the sales terms.

The heard sentences are real Whisper base outputs on the bench's AMR clips (bench/asr_bench.py).
"""
from __future__ import annotations

import pytest

from speech.correct import Corrector, correct_text, default_corrector, name_forms

REP = ["青岛瑞丰机械有限公司", "杭州青梧数据科技有限公司", "四川蜀星新型建材有限公司", "上海易企通软件有限公司",
       "上海优鲜汇超市有限公司"]


@pytest.mark.parametrize(("heard", "written"), [
    ("授务去了清导瑞丰，借了设备部的赵经领。", "青岛瑞丰"),  # region + brand, exact homophone
    ("一起通软件的未经理说他们还在比较", "易企通软件"),  # brand heard as an everyday word
    ("航周七五数据约了周四开会", "杭州青梧数据"),  # one syllable off (qi / qing) in a long name
    ("拜访了书新建材，吴总对样品很满意", "蜀星建材"),  # in / ing
])
def test_crm_names_are_written_as_in_the_crm(heard: str, written: str) -> None:
    text, fixes = correct_text(heard, REP)
    assert written in text, text
    assert fixes and all(len(f.heard) == len(f.written) for f in fixes)


def test_sales_terms_replace_nonsense_homophones() -> None:
    text, _ = correct_text("刚跟固邦防水的材购州经理聊完，他们闲交获州期太长。但是单心数据安全", REP)
    assert "采购" in text and "交货周期" in text and "担心" in text


def test_without_crm_names_a_rep_name_is_not_invented() -> None:
    text, _ = correct_text("航周七五数据约了周四开会")
    assert text == "杭州七五数据约了周四开会"  # the city is a common word; the brand is nobody's


def test_a_brand_between_region_and_industry_stays_unless_it_is_a_crm_name() -> None:
    assert correct_text("武汉知行软件的韩经理")[0] == "武汉知行软件的韩经理"  # not 执行
    assert correct_text("陈经理反亏系统太慢")[0] == "陈经理反馈系统太慢"  # 系统 alone is no brand cue


@pytest.mark.parametrize("clean", [
    "今天去佛山顺锋空压机拜访了生产部的陶经理，他们的车间有二十多台空压机，能耗很高。",
    "让我下周一把试用协议发给他们的华经理。",
    "觉得投资回报周期太长，陶经理说下周会跟老板汇报。",
    "武汉知行软件的韩经理说报价已经收到了，内部还在走审批，让我们下周再问。",
    "郑工说领导出差了，等下周一回来再定。",
])
def test_correct_text_is_left_alone(clean: str) -> None:
    assert correct_text(clean, REP + ["佛山顺锋空压机有限公司"]) == (clean, [])


def test_surname_before_a_title_is_never_rewritten() -> None:
    # "的华" would read as the common word 的话; 华经理 is a person
    assert correct_text("发给他们的华经理")[0] == "发给他们的华经理"


def test_only_hanzi_runs_change_and_offsets_point_at_the_fix() -> None:
    heard = "预算120万，ok，但是单心数据安全"
    text, fixes = correct_text(heard)
    assert text == "预算120万，ok，但是担心数据安全"
    assert [(f.start, f.heard, f.written) for f in fixes] == [(heard.index("单心"), "单", "担")]


def test_name_forms_cover_how_reps_say_a_name() -> None:
    forms = name_forms("杭州青梧数据科技有限公司")
    assert {"青梧", "青梧数据", "青梧数据科技", "杭州青梧", "杭州青梧数据"} <= forms
    assert all(2 <= len(f) <= 8 for f in forms)


def test_a_custom_corrector_only_boosts_its_own_terms() -> None:
    freq = {"经历": 5000, "经理": 3000}
    corr = Corrector(["回款"], [], freq, 60_000_000)
    assert corr.correct("催一下会款")[0] == "催一下回款"
    assert corr.correct("他的经历")[0] == "他的经历"  # both words: the likelier one was heard
    assert default_corrector() is default_corrector()


def test_everyday_words_need_more_evidence_than_sales_terms() -> None:
    # Whisper heard 恒达见了 as 鸿达建了; 达建 → 搭建 (an everyday word) would only add an error
    assert correct_text("今天去鸿达建了王总")[0] == "今天去鸿达建了王总"
    assert correct_text("他们闲交获州期太长")[0] == "他们闲交货周期太长"  # sales terms still are


def test_the_whole_book_corrects_a_name_that_is_not_in_the_prompt() -> None:
    """Correction by sound over a 400-name book (the bot now passes the whole book, not the prompt's
    first names): the spoken customer, last on the list, is still written as in the CRM."""
    book = [f"{city}{n}号{kind}有限公司" for n in range(400) for city, kind in [("常州", "五金")]][:399]
    book.append("青岛瑞丰机械有限公司")
    text, _ = correct_text("授务去了清导瑞丰，借了设备部的赵经领。", book)
    assert "青岛瑞丰" in text


def test_a_sound_two_customers_share_is_not_guessed() -> None:
    """宏达 and 红达 sound alike (hong da): heard as 洪达, neither is written; the matcher asks."""
    one = ["苏州宏达精密机械有限公司"]
    both = one + ["苏州红达电子有限公司"]
    assert "宏达" in correct_text("今天去了苏州洪达，见了采购", one)[0]
    text, fixes = correct_text("今天去了苏州洪达，见了采购", both)
    assert "洪达" in text and not any(f.written in ("宏达", "红达") for f in fixes)


# ---------------------------------------------------------------- near-sounding names (speech/sounds.py)

BIG_BOOK = ["长沙凯森电气有限公司", "佛山首信陶瓷有限公司", "南通德丰纺织有限公司", "南通德风纺织有限公司", "苏州塔佳电器有限公司",
            "杭州星耀文化传媒有限公司", "杭州星播文化传媒有限公司", "长沙启智教育科技有限公司",
            "广州八方物流有限公司", "宁波德康电子有限公司", "无锡恒远仪器有限公司", "杭州利德工程有限公司"]


def test_syllable_distance_follows_the_features_asr_confuses() -> None:
    from speech.sounds import initials_close, span_cost, split, syllable_cost

    assert split("yan") == ("", "ian") and split("wang") == ("", "uang") and split("ju") == ("j", "v")
    assert split("yue") == ("", "ve") and split("gui") == ("g", "uei")
    assert syllable_cost("zhang", "zang") == 0.3  # zh / z, merged by many accents
    assert syllable_cost("de", "te") == 0.5  # aspiration only
    assert syllable_cost("xin", "xing") == 0.3  # nasal coda
    assert syllable_cost("heng", "hong") == 0.5  # one vowel
    assert syllable_cost("ming", "zhi") == 1.5  # nothing alike
    assert span_cost(("kai", "sen"), ("kai", "shan")) == 0.8
    assert not initials_close(("qi", "ming"), ("qi", "zhi")) and initials_close(("rui",), ("yue",))


@pytest.mark.parametrize(("heard", "written"), [
    ("上午去苏州大家电器找了采购", "苏州塔佳电器"),  # region and trade as said, brand an everyday word
    ("宁波特康电子那边说样机坏了", "宁波德康电子"),  # region as said, brand one feature off (d/t)
    ("五七红远仪器的钱工打来电话", "无锡恒远仪器"),  # trade as said, region and brand near
    ("广州8方物流的车队这周到", "广州八方物流"),  # a digit Whisper wrote for a syllable of the brand
])
def test_a_name_heard_a_little_off_between_its_region_and_trade_is_written_as_in_the_book(heard: str,
                                                                                           written: str) -> None:
    text, fixes = correct_text(heard, BIG_BOOK)
    assert written in text, text
    assert len(text) == len(heard) and fixes


@pytest.mark.parametrize("heard", [
    "大家电器都在降价",  # an everyday word before the trade only: not enough to call it 塔佳
    "南通特丰纺织下周来看样",  # as near to 德丰 as to 德风: the matcher asks instead
    "杭州星耀文化的执行导演约了周三",  # a book name as written is never rewritten toward a near one
    "长沙启明教育的采购打来电话",  # 明 / 智 share no feature: not the same name
    "买5台设备，第3季度再议",  # digits that are numbers stay numbers
    "用的是米其林的工程胎",  # only the trade as written: any 「X的 + trade」 would be a customer
])
def test_a_near_sound_is_left_alone_when_the_construction_or_the_book_does_not_settle_it(heard: str) -> None:
    assert correct_text(heard, BIG_BOOK)[0] == heard


def test_soundalike_names_are_the_closest_few_of_the_book() -> None:
    """Many book names may sound like the heard 鸿达: the few closest come first (what a second
    look puts in the prompt and an unlinked voice note offers), not nothing."""
    from speech.correct import soundalike_names

    book = [f"苏州{brand}机械有限公司" for brand in ("海达", "恒达", "黄达", "洪德", "惠达", "红丹", "汉鼎")]
    found = soundalike_names("今天去鸿达见了王总", book, limit=4)
    assert found[:3] and set(found[:3]) == {"苏州恒达机械有限公司", "苏州洪德机械有限公司", "苏州红丹机械有限公司"}
    assert len(found) == 4 and "苏州汉鼎机械有限公司" not in found
    assert soundalike_names("今天去恒达见了王总", book) == []  # a book name as written: nothing to look for
    assert soundalike_names("南京宁派门窗开了需求会", ["南京宁泰门窗有限公司"]) == ["南京宁泰门窗有限公司"]


def test_a_surname_before_a_title_heard_as_another_word_stays_a_person() -> None:
    """经历 heard for 经理: 陈 is still a person's surname, not the 成 of a customer 德成."""
    book = ["苏州德成机械有限公司", "无锡恒远仪器有限公司"]
    assert correct_text("上午去了恒远的陈经历那里", book)[0] == "上午去了恒远的陈经历那里"


def test_a_grammar_character_is_not_taken_into_a_two_character_name() -> None:
    """的 before a misheard surname is grammar, not the first half of a brand; a longer form of
    the name (brand + trade) is enough to overrule it."""
    book = ["苏州德丰五金有限公司", "宁波德康电子有限公司"]
    assert correct_text("昨天见了恒远的丰主任", book)[0] == "昨天见了恒远的丰主任"
    assert correct_text("的康电子那边说样机到了", book)[0] == "德康电子那边说样机到了"
