"""Stage extraction, precision first (issue 13): a stage only on evidence stated as happened.

Sentences are written for these tests (not taken from the evaluation sets).  A missing
stage is harmless; a wrong one moves a real deal, so many cases assert `None`.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from extraction.extractor import extract
from extraction.stage import find_stage

REF = datetime.fromisoformat("2026-06-10T10:00:00+08:00")  # a Wednesday


def _stage(text: str) -> str | None:
    return extract(text, ref_time=REF).stage


@pytest.mark.parametrize("text, stage", [
    # each stage, stated as happened
    ("展会上拿了名片的新客户，还没联系过，先记一下", "lead"),
    ("第一次拜访万达物业的刘经理，介绍了我们的产品", "contacted"),
    ("和明珠医院的王科长通了电话，他对我们的消毒柜很感兴趣", "contacted"),
    ("宏达的刘工说他们车间要装十二台风机，预算大概六十万", "needs"),
    ("顺丰的王经理问我们的系统能不能对接他们的ERP", "needs"),
    ("昨天把报价单发给了李总，总价八十六万", "quote"),
    ("赵经理觉得我们的价格太高，比施耐德贵了一成", "quote"),
    ("样机放在孙总车间试了一个礼拜，反馈还不错", "trial"),
    ("周总说测试结果出来了，各项指标都达标", "trial"),
    ("今天给钱总做了产品演示，他很满意", "trial"),
    ("合同细节还在谈，黄总卡在付款方式上，要月结60天", "negotiation"),
    ("法务在审我们的合同，提了几条修改意见，陈总说本周给答复", "negotiation"),
    ("鼎盛化工的合同昨天盖章寄回来了，一共三十二万", "won"),
    ("宏发物流的订单下来了，二十台冷藏车", "won"),
    ("金石建设的项目我们中标了，中标价两百万", "won"),
    ("今天收到了恒益的首付款三十万", "won"),
    # lost, and a competitor winning is lost for us
    ("顺达那个项目最后被海尔拿走了", "lost"),
    ("这单输了，客户选了另一家便宜的", "lost"),
    ("嘉华最后还是跟别家签了合同", "lost"),
    ("长兴的项目取消了，老板说今年不投了", "lost"),
    ("华美超市那边不考虑我们了，已经和别家合作了", "lost"),
    # the customer signing with us is won, whoever else is named
    ("王总今天跟我们签了合同，一共四十万", "won"),
    # the customer sends its PO; a contract stamped and sent back; we did not get it
    ("远航物流的采购今天发了PO，一共六台叉车", "won"),
    ("申达纺织的合同下午盖章回传了，总价五十二万", "won"),
    ("这个项目我们最后没拿到，老板说价格差太多", "lost"),
    # samples arrived and tried; field trials; a test run with our product
    ("样品上周三寄到，孙工今天上机跑了两百件", "trial"),
    ("去看了合作社用我们肥料的试验地，出苗挺齐", "trial"),
    # the customer read our proposal; the quote sent to them; our price with a figure
    ("周总看了我们那套厂区照明加储能的整体改造方案，说思路可以", "quote"),
    ("上周发给长丰物业的保洁外包报价，对方说还要内部比一下", "quote"),
    # our price with a figure (a relative clause, not a to-do)
    ("我们给的每吨四千二，钱经理说有点高", "quote"),
    # approximate counts are requirements too
    ("孙经理说他们三个园区一共两百多台空调要换", "needs"),
    # a recap of the lost deal after the loss is no new deal (跟到现在, 我们新机)
    ("顺达那个项目丢了，不过老板说下次有机会再合作", "lost"),
    ("凯达那台折弯机的单子丢了，从去年第一次拜访跟到现在，最后上了别家的二手机，价钱只有我们新机的一半", "lost"),
])
def test_stage_on_evidence(text: str, stage: str) -> None:
    assert _stage(text) == stage


@pytest.mark.parametrize("text", [
    # negation
    "还没签合同，王总说要等董事会",
    "刘总说还没试用，样机放在仓库里",
    # future and plans
    "我争取下个月把合同签下来",
    "明天去华远送样品，让他们试用",
    "打算下个月签",
    # hypotheticals and fears
    "如果下个月能签下来就好了",
    "我怕这单会丢",
    "要是价格能降到八十万，他们才肯下单",
    # wishes and questions
    "他们想试用一下我们的新款",
    "客户问能不能先试用一个月再决定",
    # hearsay and other organisations' deals
    "听说隔壁的东方机械跟西门子签了",
    # the customer won its own tender: a project for us later, not our award
    "华盛建工中标了一个学校项目，说过阵子找我们聊空调",
    # an unpaid balance of an earlier order is no signing of this deal
    "上批货的尾款还没结清",
    # a loss told as background, then the customer asks for something new: not this loss
    "华盛那单丢了，不过他们上海分公司年底前要招两百个客服，想走灵活用工",
    # after-sales and internal notes
    "设备又出故障了，客户很不满，明天派售后过去",
    "这周要把报销单交了，顺便整理客户名单",
])
def test_no_stage_without_evidence(text: str) -> None:
    assert _stage(text) is None


@pytest.mark.parametrize("lost_text, won_text", [
    ("中原那个单子最后还是跟别家签了", "中原那个单子最后跟我们签了"),
    ("百草园的标最后是澳利中的标", "百草园的标我们中了标"),
    ("东华项目丢了，最后选了别家", "东华项目的合同签了"),
])
def test_lost_never_reads_as_won(lost_text: str, won_text: str) -> None:
    assert _stage(lost_text) == "lost"
    assert _stage(won_text) == "won"


def test_contradicting_won_and_lost_gives_no_stage() -> None:
    text = "一期合同签了，二期项目丢了"
    stage, _ = find_stage(text, [])
    assert stage is None


def test_evidence_inside_our_todo_is_not_a_stage() -> None:
    d = extract("胡总今天见了，需要二十台空压机，我下周三前把报价发过去", ref_time=REF)
    assert d.stage == "needs"


def test_planned_trial_keeps_the_reached_stage() -> None:
    assert _stage("报价收到了，邓总说下周安排试用") == "quote"


def test_a_sample_merely_mentioned_is_not_trial() -> None:
    assert _stage("刘工说下周四带人来厂里看一下样机") != "trial"
    assert _stage("样品已经寄到了，韩工这周在做检测") == "trial"


def test_loss_talk_without_a_known_cue_blocks_a_guess() -> None:
    # 搁置 is no loss by itself, but it must not let an earlier stage through
    assert _stage("严总说需要十台设备，不过项目先搁置了") is None


def test_future_dated_cue_is_a_plan() -> None:
    text = "鲁总说6月20号签合同"
    assert _stage(text) != "won"


def test_evidence_span_points_at_the_cue() -> None:
    d = extract("宏发物流的订单下来了，二十台冷藏车", ref_time=REF)
    assert d.stage_span is not None
    assert "订单" in d.text[d.stage_span.start:d.stage_span.end]


@pytest.mark.parametrize("text, stage", [
    # no conversation yet: what is known came second hand, whatever it says about needs
    ("老同学推荐了一家连锁药房，说他们想换掉收银系统，预算二十万左右，我还没跟对方联系过", "lead"),
    ("行业沙龙上跟万豪食品的吴总只打了个招呼，听说他们要建新仓库", "lead"),
    ("朋友给了个电话，华光纺织的采购，电话还没打", "lead"),
    # requirements said to be open: a conversation, not gathered needs
    ("今天拜访了东辰模具的孙经理，他们想换掉老的注塑机，不过型号和台数都还没定", "contacted"),
    ("跟鸿运酒店前厅部的李经理电话聊了二十分钟，对我们的自助入住机有兴趣，还没说具体需求", "contacted"),
    # firm requirements stay needs even on a first visit
    ("第一次去瑞祥冷链，王经理说今年要新建冷库，首批需要八台制冷机组", "needs"),
    ("鼎立电子的刘工说年用量大约二十万片，要求通过车规认证", "needs"),
    # a loss told as background, then a new deal with firm requirements
    ("上次那个标被别家拿走了，不过今天陈总说他们新开了一个分厂，需要六台空压机", "needs"),
    # a demo given is trial; a PO placed is won
    ("下午给凯旋物流的刘总演示了调度系统，他说界面很直观", "trial"),
    ("佳美服饰已下PO，面料五千米，下周安排生产", "won"),
    # a topic word that is not that topic: 数据丢失 is no loss, a test rig is no trial
    ("合同在走法务，刘总要求加一条数据丢失的赔偿条款", "negotiation"),
])
def test_stage_caps_and_constructions(text: str, stage: str) -> None:
    assert _stage(text) == stage


@pytest.mark.parametrize("text", [
    # a rival's proposal is not our quote
    "第一次见振华机械的吴总，他们之前看过西门子的方案",
    # a deadline demanded in a complaint states no need
    "天宇化工投诉上批货桶身漏液，要求三天内给书面说明",
])
def test_no_stage_from_rival_proposals_or_complaints(text: str) -> None:
    assert _stage(text) in (None, "contacted")


@pytest.mark.parametrize("text, stage", [
    # Traditional characters read like Simplified ones
    ("鼎華酒樓試點我們的點餐系統兩週了，李經理說效果不錯", "trial"),
    # a quote received by the customer, told from their side
    ("凯信的刘经理收到了我们的整体报价，说比预算多了一些", "quote"),
    # a loss told as background, then a new conversation
    ("上次那单输给了别家，这次孙总主动问起我们的巡检系统，有意向", "contacted"),
    # no conversation yet with anyone of theirs
    ("听说海川物业要换门禁，还没跟他们物业部的人聊过", "lead"),
    # payment still owed on a delivered order is a won deal
    ("博雅家居的货都交完了，还剩尾款三万没回", "won"),
])
def test_more_constructions(text: str, stage: str) -> None:
    assert _stage(text) == stage


@pytest.mark.parametrize("text, stage", [
    # a rival's proposal on the table says nothing of ours: the stated requirement decides
    ("云岭储能的马经理要求电池循环寿命6000次以上，他们手上已经有一份华宏科技的方案", "needs"),
    # a target price is a requirement, not a quote
    ("宝信纸业的采购经理孔敏说月用量约三十万张，目标单价不超过两毛", "needs"),
    # the customer won its own tender: a project for us, not a won deal of ours
    ("锦程园林的龙工说他们中标了一个市政绿化项目，苗木预算控制在一百二十万以内", "needs"),
    # a space inside Latin text does not end the clause of a demand
    ("安德医疗的严工要求样机必须通过IEC 60601的电磁兼容测试，年用量约两百台", "needs"),
    # a loss told as background; the furthest cue of the new request follows a new-deal word
    ("去年那个项目输给了别家，这事翻篇了。今天周总主动找我，说新厂要上两条线，需要十二台注塑机", "needs"),
])
def test_topic_words_of_others_do_not_veto(text: str, stage: str) -> None:
    assert _stage(text) == stage


@pytest.mark.parametrize("text, stage", [
    # what our offer includes is its content, not a contract talk
    ("海鸥农机的采购部钱经理说我们报的是每台六万三，含三年质保，比预期高", "quote"),
    # our price stated right after 报
    ("安康诊所的采购主管吕敏回微信说：留置针我们报2.1元一支，别家给的是1.9元", "quote"),
    # a quote received, with a long object in between
    ("金桥广场的物业经理Tony收到了我们6台扶梯加10台直梯的年度维保报价", "quote"),
    # an order placed with its goods named
    ("北岭农场的刘场长今天下了玉米种子的订单，一共两万斤", "won"),
    # a trial under way, counted
    ("鑫旺禽业的兽医主管小隋说饲料添加剂的试验做到第四周了，成活率还可以", "trial"),
    # a contract stuck on terms is negotiation, whatever came before
    ("彩虹油墨的试机通过了，合同现在卡在付款方式上，黄总说月底给意见", "negotiation"),
    # a contract signed with a named other party: lost
    ("精锐焊材的包经理说他们集团发了通知，跟安达气体签了全国框架", "lost"),
])
def test_offer_order_trial_and_contract_forms(text: str, stage: str) -> None:
    assert _stage(text) == stage


@pytest.mark.parametrize("text", [
    # a signing told as history in an after-sales note
    "宏达纺织的屋顶电站2025年5月签的合同，早就并网了。今天设备科的缪科长说车间屋面漏水",
    "云岭物业的维保合同去年就签下来了，今天三号楼电梯又困人了，业主投诉到物业，蒋经理很恼火",
    # a failure of goods already delivered
    "康牧养殖的场长老聂打电话来说上周到的那批预混料拌料的时候结块",
    # displeasure with a delivery
    "德宇电子的韦工早上来电话，说液氮晚到了一天，很不满意",
])
def test_after_sales_notes_have_no_stage(text: str) -> None:
    assert _stage(text) is None
