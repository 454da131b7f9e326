"""Pain points (README §2 pain_points).

Pain detection works on cue CLASSES that describe how Chinese states a problem, not on the
phrases of one data set:

- competitor: a named or referenced competitor that is in place, chosen, preferred, compared
  with us or reported on (现在用的是X, 最后给了X, 倾向于X, 比X贵, X给的价低);
- table: explicit category regexes an admin can extend (lexicon/pain_cues.txt);
- demand: a demand for contract terms or a technical condition (要求质保五年, 要求数据留在本地);
- wait: waiting and blockage (要等…批, 还在犹豫, 没批下来, 卡在…上, 等了三天才到, 一拖再拖);
- unmet: unmet specs and thresholds (达不到, 只做到, 只有92%, 容量不够, 覆盖不到);
- defect: failure verbs and states (坏, 跳闸, 掉线, 开胶 …; lexicon/pain_defects.txt);
- eval: negative evaluation and comparison (太X, 偏X, X了点, 不够X, 比…X; pain_adjectives.txt);
- concern: worries and complaints (担心…, 嫌…, 心有余悸).

The clause holding the construction that made a brand a competitor (competitors.py: X给的是6100,
指定要用X) is a competitor pain too, and so is a later clause with that brand as its topic.  A
comparison in the attribute's good direction (噪音比原来的小; pain_polarity.txt) is no pain, nor
is a failure word inside a longer word (卡纸 in 白卡纸).

The category comes from the class and the object nearest to the cue (pain_objects.txt):
"交期太长" is delivery, "预算还没定" budget, "备件等了一周才到" service.  A pain about a named or
referenced competitor is `competitor` (it takes precedence).  Negations and hedges next to the cue
(价格倒不是问题, 不算贵, 还行; pain_negations.txt) cancel it.  The span starts at the predicate,
extended left over a few content words of the clause (its topic, not its subject or linking
words), and ends with the predicate and its complement.

What this module finds is the input of a learned second look (pain_model.py), which weighs these
spans against the clause around them and the clauses no cue class touched.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from .clauses import Clause
from .lexload import _lines, load_list, load_table
from .regexgate import CueIndex, Leads, behind, gate_groups, gates, lead_checked, leads_of
from .types import PainPoint, Span, TextItem

_CJK = r"\u4e00-\u9fff"
# a brand-like slot: 2-6 CJK chars without function characters, or a Latin word
_FUNC = "的了和是给比在也都就还说要跟与及对把被让向这那们我你他她它个些很太更最又再已呢吧啊吗没不有"
_SLOT = rf"(?:[A-Za-z][A-Za-z0-9&\-]{{1,20}}|[^\W\d_{_FUNC}a-zA-Z]{{2,6}})"
_NUM = r"[0-9一二两三四五六七八九十百千万几多半来.]+"
_UNIT = r"(?:个点|个月|小时|分钟|块钱|块|元|万|千|百|成|%|天|周|个|台|箱|双|卷|次|倍|项|家|吨|件|套|转|毛|分)"
# complement after a predicate: 了点, 不少, 一截, 了三天, 20万, 一个月 …
_TAIL = re.compile(
    rf"(?:了|得)?(?:(?:一)?点儿?|一些|些|不少|很多|好多|太多|许多|一截|一大截|严重|厉害|得厉害|得多|多了"
    rf"|差不多{_NUM}{_UNIT}?|大概{_NUM}{_UNIT}?|{_NUM}{_UNIT}多?)?(?:了)?"
)
_PARTICLE_END = re.compile(r"(?:了吗|吗|呢|吧|啊|哈|嘛|的话)+$")

# linking words, fillers and speech verbs that open a clause but are not part of a problem (also
# trimmed from pain_model's clause candidates)
LEAD = re.compile(
    r"(?:他们|她们|我们|他|她|客户|对方|说是|说|觉得|认为|反馈|反映|表示|提到|但是|但|而且|并且|"
    r"就是|不过|可是|只是|还有|另外|所以|因为|那边|这边|这个|那个|的|又说|还说|主要是|关键是|问题是|"
    r"然后|嗯|呃|那个|也挺|很不满意|不满意|投诉说|投诉|抱怨说|问)+"
)
# tokens that stop the leftward extension of a cue (subject, linking and function words)
_LEFT_STOP = frozenset(
    ["了", "是", "用的", "说", "觉得", "认为", "反馈", "反映", "表示", "就", "剩", "就剩", "而且", "但是", "但",
     "就是", "不过", "他们", "我们", "他", "她", "她们", "以后", "之后", "以前", "问", "嫌",
     "和", "跟", "又说", "也说", "还说", "因为", "所以", "不然", "其实", "那边", "这边", "然后", "嗯", "担心",
     "主要", "对方", "客户", "投诉", "要求", "希望", "想", "想要", "打算", "都", "说是", "提了", "提到"]
)
_RIGHT_STOP = re.compile(
    r"(?:想|希望|要求(?!的|$)|让|问|说|然后|不然|否则|我们?(?=[会要得先再去来把给])"
    r"|(?:老板|领导|院长|董事长|总经理|他们|她们)(?=那边|还|也|说|在|觉得|要|想|又))"
)
INCUMBENT_REACH = 30  # characters after an incumbent statement whose quality trouble is its trouble
_OURS_RE = re.compile(r"我们|咱们|我司|我方")
MAX_LEFT_TOKENS = 3
MAX_LEFT_CHARS = 8


class _Cue(NamedTuple):
    """One cue match inside a clause (offsets relative to the clause); a tuple is cheap to make."""

    kind: str  # cue class
    cat: str  # category hint ("" = decide from the object)
    start: int
    end: int
    tight: bool  # the span ends with the predicate, not at the clause end


@dataclass(frozen=True, slots=True)
class _Res:
    table: tuple[tuple[str, re.Pattern[str], bool], ...]  # (category, cue, tight)
    cues: tuple[tuple[str, str, re.Pattern[str], bool], ...]  # (class, category, regex, tight): every cue, in order
    cue_index: CueIndex  # which of `cues` may match a note
    negation: re.Pattern[str]
    objects: dict[str, str]  # lower-cased word -> category
    objects_re: re.Pattern[str]
    defect: re.Pattern[str]
    eval_: re.Pattern[str]
    refs: tuple[str, ...]
    slot_stop: frozenset[str]
    product_heads: tuple[str, ...]


def _alt(words: Iterable[str]) -> str:
    ws = sorted(set(words), key=len, reverse=True)
    return "|".join(map(re.escape, ws)) or "(?!)"


@lru_cache(maxsize=1)
def _res() -> _Res:
    """Compile the cue classes once; lexicon words fill their open slots."""
    # `category!` marks a cue that is the whole predicate (the span ends with its complement)
    table = tuple((cat.rstrip("!"), re.compile(rx, re.IGNORECASE), cat.endswith("!"))
                  for cat, rx in load_table("pain_cues.txt"))
    neg = re.compile(_alt(load_list("pain_negations.txt")), re.IGNORECASE)
    objs: list[tuple[str, str]] = []
    for line in _lines("pain_objects.txt"):
        cat, *words = line.split()
        objs.extend((w, cat) for w in words)
    objs.sort(key=lambda x: len(x[0]), reverse=True)
    objects_re = re.compile(_alt(w for w, _ in objs), re.IGNORECASE)
    adj: dict[str, list[str]] = {"neg": [], "dir": [], "pos": []}
    for line in _lines("pain_adjectives.txt"):
        kind, *words = line.split()
        adj.setdefault(kind, []).extend(words)
    neg_adj, dir_adj, pos_adj = _alt(adj["neg"]), _alt(adj["dir"] + adj["neg"]), _alt(adj["pos"])
    up, down = _polarity()
    very = r"(?:也|还|都|很|比较|偏|太|过|有点|非常|特别|相当)?"
    # degree words that turn a directional adjective negative; 不(算|太) cancels (不太贵, 不算高)
    degree = r"(?:太|偏|过于|过|有点儿?|有些|稍微|略|不够|还是|本来就|越来越|也太|实在)"
    not_before = r"(?<!不)(?<!不算)(?<!不太)(?<!没那么)(?<!没有)"
    compound_after = r"(?![兴端效档级概家型批量峰度层楼速温压铁]|[于些]?[我你他她]们?满意|兴趣)"
    eval_ = re.compile(
        rf"{not_before}(?:{degree}(?:{dir_adj}){compound_after}|不够"
        rf"|(?:很|非常|特别|比较|挺|相当|超级|巨|贼)(?:{neg_adj})(?![兴端效档级概家型批量峰度层楼速温压铁])"
        rf"|(?<!出)(?:{neg_adj})(?:了|得)(?!解|不)|(?:{dir_adj})了(?:点|一点|些|不少|很多|一截|{_NUM}{_UNIT})"
        rf"|(?:比|超出|超过)(?!较|如|方)[^，。；]{{0,12}}?(?:{dir_adj})(?:了|得|出|一截|一点|{_NUM})"
        rf"|(?:比|超出|超过)(?!较|如|方)[^，。；]{{0,12}}?(?:{neg_adj})"
        rf"|差(?:一截|一大截|一点|一些|得远|不少|很多)|还差"
        # 太X / 有点X with any predicate (太折腾, 有点犹豫), V得ADJ (卖得慢, 做得差)
        rf"|(?<!不)太(?![好棒阳原太空平极感])[{_CJK}]|有[点些](?!兴趣|意思|想法|需求|关系|印象|了解)[{_CJK}]"
        rf"|[{_CJK}]得{very}(?:{neg_adj})"
        # negated positive quality: 不稳定, 不太好用, 不够专业
        rf"|(?:不太|不够|不是很|不怎么|没那么|不|没有|没)(?:{pos_adj})(?!意思|说|看|多|少|了解)"
        # an attribute noun (附着力, 稳定性, 灵敏度, 手感) that is poor
        rf"|(?<=[{_CJK}][力性度感]){very}(?:差|低|不够|不足|一般|不行)"
        # attribute + its bad direction without a degree word: 交期长, 良率低
        rf"|(?:{_alt(up)}){very}(?:高|长|大|多|久|贵|慢|重)(?![端档级效兴家概量])"
        rf"|(?:{_alt(down)}){very}(?:低|少|小|短|差|慢|不够|不足|下降|一般|不好|不行|不理想|不明显))",
        re.IGNORECASE,
    )
    defect = re.compile(
        rf"(?<![没不未无零遗])(?<!没有)(?<!不会)(?:{_alt(load_list('pain_defects.txt'))})(?![斗掉])"
        # 发 + a bad state (手感发硬, 表面发黑); N items affected (有两块模组黑了, 有三台经常卡)
        r"|(?<![出开引])发[硬黑粘软霉脆臭涩糊]"
        r"|(?<![没])有(?:[0-9]+|[一二两三四五六七八九十几百千]+)多?(?:个|只|台|条|块|张|批|箱|件|套|瓶|袋|处|片|根|颗|路|户|间|卷)"
        r"[^，。；]{0,10}?(?:坏|漏|掉|黑|裂|断|卡|串|滑|锈|破|松|歪|脱|烂|烧|错|丢|停|鼓|变形|不亮|不转|不响|失灵|死机)"
        # a failure counted: 停了三次, 跳闸两回
        r"|(?:停|坏|卡|断|跳闸|跳|掉线|掉|报警|死机|宕机|误报)了?(?:[0-9]+|[一二两三四五六七八九十几好]+)(?:次|回|趟)",
        re.IGNORECASE,
    )
    # slowness: a span of time before 才 (半个小时才有人接, 三天才到)
    delay = re.compile(rf"(?<![没不未无])(?:{_alt(load_list('pain_delays.txt'))})"
                       r"|(?:半个|[0-9一二两三四五六七八九十几]+个?)(?:小时|天|周|礼拜|星期|分钟|月)才(?:有人|到|回|发|来|接|修|给)"
                       r"|拖到[^，。；]{1,8}?才(?:到|来|发|交|送|回)")
    wait = re.compile(
        r"(?:要等|得等|还得等|还要等|需要等)[^，。；]{0,14}?(?:拍板|批准?|定|签字?|点头|评估|通过|审批|同意|开会|回来|决定|研究)"
        r"|还在犹豫|在犹豫|犹豫不决|拿不定主意|定不下来|下不了决心|迟迟|一直拖|一拖再拖|拖着|拖了"
        r"|(?:还没|没|未)(?:有)?(?:批下来|批|定下来|定|给全|给|到账|到位|落实|下来|通过(?!电话|微信|邮件)|走完)"
        r"|批不下来|还是没到|还没到|卡在|卡到|卡住|压在|等了[^，。；]{1,6}?才|等了[0-9一二两三四五六七八九十几半]+(?:天|周|个月|个星期|个礼拜|小时)"
        r"|(?:还得|最后还得|还要)[^，。；]{0,8}?(?:签字|拍板|批|点头|同意)|要等|得等|还得等"
        r"|一直没|迟迟没|至今没|到现在都没|到现在还没"
        # someone else must be consulted or pass it: 要跟老板商量一下, 得过技术部那一关
        r"|(?:要|得|需要|还要|还得)(?:先)?(?:跟|和|找|向)[^，。；]{1,6}?(?:商量|请示|汇报|碰一下|确认一下)"
        r"|过[^，。；]{0,8}?(?:那一关|这一关|那关|这关)|(?:还要|还得|要|得|需要)过[^，。；]{1,8}?(?:委会|委员会|董事会|常委会|办公会|党委会|评审会|审批)"
        # objections: the customer refuses or only partly accepts
        r"|不愿意|不肯|只肯|只愿意|不接受|接受不了|不能接受|没法接受|难以接受|不认可|不买账|不考虑",
    )
    unmet = re.compile(
        r"达不到|满足不了|不满足|做不到|做不了|不支持|支持不了|不兼容|兼容不了|对接不了|接不上|只能到|最多只能|最多只"
        r"|最[快高低长远大小]也?只能|只能做到"
        r"|只做到|只能做到|只达到|只到|也就到|只有[0-9一二三四五六七八九]+(?:\.[0-9]+)?(?:%|成)|起步"
        r"|走不开|采不上来|上不来|不够用|覆盖不到|进不去|装不下|放不下|带不动|跑不动|扛不住|顶不住|跟不上|供不上"
        # money limited by a focus adverb or eaten by something else: 预算只有六十万, 预算被…挤掉了
        r"|(?<=预算|经费|资金)(?:也|都)?(?:只有|就|才|只能批|只批了?|只够|不到|最多)(?=[^，。；]{0,4}[0-9一二两三四五六七八九十百千万几半])"
        r"|(?<=预算|经费|资金)[^，。；]{0,10}?被[^，。；]{0,12}?(?:挤掉|砍|压缩|削减|占用|挪)"
        r"|只能[\u4e00-\u9fff]{0,3}?(?:[0-9]+|[一二两三四五六七八九十几半]+)(?:个|分钟|小时|天|次|米|公斤|吨|台|%)"
        r"|(?<=[高度长宽深量率速命距])只有(?:[0-9]+|[一二两三四五六七八九十几半]+)"
        r"|没有[^，。；]{0,6}?(?:预算|经费|资金)(?!问题)"
        r"|扣分|没有独立|缺少|缺乏|不具备|没有资质|没资质|不过关|没通过|过不了|没达到|未达到|没能达到"
        # the negative potential complement V不C: 打不通, 找不到, 谈不拢, 装不下, 卖不动
        rf"|(?<![要花少免怪禁了差说顾忍来离大想看舍])(?<!对不)[{_CJK}]不(?:了|到|动|上|下|来|去|通|完|住|开|惯|拢|出|过|进)(?![的得])",
    )
    demand = re.compile(
        r"(?:要求|还要|(?<![主需只重])要|想|希望|坚持|非要|必须|前提是|条件是)[^，。；]{0,14}?"
        r"(?:付款|尾款|月结|先货后款|先款后货|款到发货|货到付款|季度付|月付|按季度|按月付|分期付|账期|质保|保证金|违约|扣费|扣租金|赔付|罚款|专票|发票|保函|验收标准|附件|保养|返点|返利|换新|包换|退换"
        r"|源码|源代码|托管|所有权|写进合同|写明|私有化|本地部署|本地机房|数据(?:必须)?(?:存|放|留)|校准报告|检测报告|认证|资质|降到|降价|降[0-9一二三四五六七八九十两]+"
        r"|跟到|压[0-9一二两三四五六七八九十几半]+个点|往[^，。；]{1,6}?靠|(?:块|元|毛|万)(?:钱)?以内|不另收|不收钱|白送|承担|由我们|让利|打折|折扣|优惠|便宜|免费|赠送|包邮|包安装|包运费)",
    )
    concern = re.compile(r"担心|顾虑|害怕|(?<![恐哪])怕(?!是)|嫌|不放心|不太放心")
    concern_back = re.compile(r"心有余悸|吃不消|受不了|头疼|头痛")
    refs = load_list("pain_competitor_refs.txt")
    stop = frozenset(load_list("competitor_stop.txt")) | frozenset(
        ["我们", "自己", "手工", "人工", "二手", "老设备", "老的", "旧的", "国产的"])
    defect, delay, eval_, wait, unmet, demand, concern = map(lead_checked, (defect, delay, eval_, wait, unmet, demand, concern))
    # table rows first, then the generic classes in priority order (unmet's tightness is per match)
    cues = tuple(("table", cat, rx, tight) for cat, rx, tight in table) + (
        ("demand", "", demand, False), ("wait", "", wait, False), ("unmet", "", unmet, True),
        ("defect", "", defect, True), ("delay", "", delay, True), ("eval", "", eval_, True),
        ("concern", "", concern, False), ("back", "", concern_back, False))
    # table rows keep the gates they always had; every cue adds the exact ones of its parsed pattern
    gate_lists = [(gates(rx.pattern) if kind == "table" else ()) + _caseless_gates(rx) for kind, _, rx, _ in cues]
    return _Res(table, cues, CueIndex(gate_lists=gate_lists), neg, {w.lower(): c for w, c in reversed(objs)}, objects_re, defect, eval_,
                refs, stop, load_list("pain_product_heads.txt"))


def _caseless_gates(rx: re.Pattern[str]) -> tuple[tuple[str, ...], ...]:
    """The word groups every match of `rx` holds (read from its parsed pattern, capturing groups
    included), keeping only groups of caseless words (汉字, digits): such a word matches only
    itself, whatever the regex's flags, so a note without it cannot match."""
    return tuple(g for g in gate_groups(re.compile(rx.pattern))
                 if all(c.lower() == c == c.upper() for w in g for c in w))


# a referenced, unnamed competitor: 现在的代运营, 原来那家供应商
_REF_RE = re.compile(r"(?:现在|目前|原来|之前|以前|原有|原先)(?:合作|用|找|做|拿货)?(?:的)?(?:那|这)?(?:家|的)[^，。；]{0,4}?"
                     r"(?:供应商|服务商|代理商|代理|经销商|代运营|配送商|物流商|三方物流|合作方|厂家|品牌)")
# a brand-like slot that may contain any CJK (比亚迪, 汉和, 美的), bounded by what follows it
_SLOT_ANY = r"(?:[A-Za-z][A-Za-z0-9&\-]{1,20}|[^\W\d_的]{2,6}?)"


_BRAND = "\ue000"  # a private-use character: stands for the first character of a brand


@lru_cache(maxsize=256)
def _competitor_srcs(names: tuple[str, ...], refs: tuple[str, ...]) -> list[str]:
    """The competitor cue regexes for this note's brands, each behind the look-ahead on how its
    matches start (cached: the same brands recur)."""
    # the leads are read once with _BRAND for the brands (parsing every brand set's patterns
    # again would add a third to their compile time); an empty name would make a brand optional
    leads = _competitor_leads(refs) if all(names) else None
    firsts = {n[0] for n in names}
    out = []
    for i, src in enumerate(_competitor_sources(names, refs)):
        lead = leads[i] if leads is not None else None
        out.append(src if lead is None else behind(lead.replace(_BRAND, firsts), src))
    return out


@lru_cache(maxsize=2048)
def _competitor_re(names: tuple[str, ...], refs: tuple[str, ...], i: int) -> re.Pattern[str]:
    """The i-th competitor cue for these brands, compiled only when a note may match it: a new
    brand set would otherwise cost a compile of every cue (~10 ms) on its first note."""
    return re.compile(_competitor_srcs(names, refs)[i])


@lru_cache(maxsize=256)
def _any_competitor(names: tuple[str, ...], refs: tuple[str, ...]) -> re.Pattern[str]:
    """Any named or referenced competitor."""
    return re.compile(_alt(names + refs), re.IGNORECASE)


@lru_cache(maxsize=1)
def _competitor_leads(refs: tuple[str, ...]) -> list[Leads | None]:
    """How the matches of each competitor cue start, with _BRAND for a brand's first character:
    the patterns differ between brand sets only in the brand alternatives."""
    return [leads_of(src, 0) for src in _competitor_sources((_BRAND,), refs)]


def _competitor_sources(names: tuple[str, ...], refs: tuple[str, ...]) -> list[str]:
    """Competitor cue regexes for these brands."""
    known = _alt(names) if names else "(?!)"
    ref = _alt(refs)
    b = rf"(?:{known}|{ref})"
    bs = rf"(?:{known}|{ref}|{_SLOT_ANY})"
    adj = r"(?:贵|便宜|低|高|好|差|快|慢|多|少|强|稳定|成熟)"
    return [
        # in place: 现在用的是X, 之前装的是X的逆变器, 现在的三方物流是X, 之前买的X
        (rf"(?:现在|目前|之前|原来|原先|去年|一直|现有|手上|以前|当前)[^，。；]{{0,10}}?"
         rf"(?:用的是|装的是|代理的是|做的是|主推的是|买的是|合作的是|供货的是|是|在用)(?P<X>{bs})(?=的|$|[，。；])"),
        (rf"(?:现在|目前|之前|原来|原先|去年|一直|现有|以前)[^，。；]{{0,4}}?"
         rf"(?:用的|装的|买的|拿货的|进货的|代理的|合作的)(?P<X>{bs})(?=代理|服务|售后|网点|的|最近|经常|老是|总是|一直)"),
        # chosen: 最后给了X, 最后还是选了X, 统一换成了X, 最后跟X签了, 最后是X中的标
        r"(?:最后|最终|还是|统一|后来|已经)(?:还是|统一|都)?(?:续了|续签了|续约了|给了|选了|选择了|定了|买了|换成了|换了|用了|上了|签给了|交给了)(?!我们|咱们|咱|你们)(?=[\u4e00-\u9fffA-Za-z])",
        rf"(?:最后|最终|还是)[^，。；]{{0,4}}?(?:跟|和|与)(?P<X>{bs})(?:续签|签)",
        rf"(?:最后|最终)?是(?P<X>{bs})中(?:的)?标|中标的是",
        r"(?:还是|继续)(?:跟|和|与)(?:原来|之前|现在)的[^，。；]{1,5}?(?:续签|签|合作)",
        # preferred or compared
        r"(?:倾向于?|更认|更看好|更相信|更信任|偏向|偏好|比较认|更喜欢)(?!我们|咱们)",
        rf"比(?!较|如|方)(?:原来的|之前的|现在的|以前的)?(?P<X>{bs})(?:给的|报的|的)?[^，。；]{{0,6}}?{adj}",
        (rf"(?P<X>{b})(?:给的|报的|给他们报的|的报价|的价格|的单价|的供货价|的现货|的同类产品|的产品|的)[^，。；]{{0,10}}?"
         rf"(?:{adj}|只要|只有|没这个问题|没有这个问题)"),
        rf"(?:也在看|在看|在比|在对比|对比了?|比较了?|还看了)(?P<X>{b})",
        rf"(?:用惯了|一直用|一直在用|还在用|合作多年的|长期合作的)(?P<X>{bs})",
        rf"被(?P<X>{bs})(?:抢|拿|截|挖|撬|替)",
        rf"(?:输给了?|丢给了?)(?P<X>{bs})|(?P<Y>{b})(?:那边)?(?:中标了|拿下了|抢走了|截胡|给了|送了|承诺|答应)",
        rf"(?:也在看|还在看|在看|还看了|也看了|对比了?|比较了?)(?P<X>{bs})(?:的|家的)(?:同|型号|产品|方案|设备|报价|价格)",
        rf"(?P<X>{b})[^，。；]{{0,12}}?(?:{_alt(load_list('pain_defects.txt'))}|太[^，。；]|不行)",
        # a brand's price stated: X给的代工价是6.2
        rf"(?P<X>{b})(?:给的|报的|开的)[^，。；]{{0,6}}?(?:价|价格|报价)(?:是|才|只有|只要)?[0-9一二两三四五六七八九十]",
        # a brand's price: X报了4300, X每米报0.32元
        rf"(?P<X>{b})[^，。；]{{0,4}}?(?:报了|报的|报价|报出|报)(?:了)?(?:[0-9一二两三四五六七八九十几]|个)",
        # compared or competing with a brand: 在跟X比, 跟X PK, 和X的方案对比
        rf"(?:跟|和|与)(?P<X>{b})(?:的[^，。；]{{0,6}}?)?(?:在|一起)?(?:比|PK|pk|对比|竞争|抢|拼)",
        # a rival's offer already on the table: 手上还有X的方案
        rf"(?:手上|手里|桌上)(?:已经|还|也)?有(?:一份|一个|份|个)?(?P<X>{b})的(?:方案|报价|报价单|样品)",
        # a rival also in play: X也在找他们, 拉了X一起比价
        rf"(?P<X>{b})(?:也|还|同时)(?:在|报了|报价|来|找)",
        rf"(?:拉了|叫了|找了|请了)(?P<X>{b})(?:一起|过来|来)?(?:比价|比|竞标|投标|PK|pk)",
        # someone else's price compared with ours is a rival's price
        r"(?:价格|报价|单价|总价|价|每[吨台件个米套])[^，。；]{0,4}比(?:我们|咱们)[^，。；]{0,4}(?:低|便宜|少)",
        rf"是(?P<X>{bs})(?:的代理商|的代理|的经销商)?(?:拿下|中标|签下|拿走)的",
        # looking for a brand's channel: 在找X的代理
        rf"(?:在找|找了|联系了|接触了|也在找|还在找)(?P<X>{bs})的(?:代理|经销商|渠道|代理商|分销商)",
        # switching to a brand, done or threatened: 换回X, 改用X
        rf"(?:换回|换成|改用|转用|切换到|换到)(?P<X>{b})",
        # a named brand chosen, without a 最后/还是 lead: 拍板用了X, 选了X的方案
        rf"(?:给了|选了|选择了|定了|签了|交给了|用了|上了)(?P<X>{b})",
        # trouble at a named supplier: X断供了, X那边交付出了问题
        rf"(?P<X>{b})(?:那边|那家)?[^，。；]{{0,6}}?(?:断供|断货|交付出|出了问题|出问题|掉链子|跑路|倒闭|供不上)",
    ]


@lru_cache(maxsize=1)
def _competitor_index(refs: tuple[str, ...]) -> CueIndex:
    """Which competitor patterns may match a note, whatever its brands: the patterns built
    without brands differ from every other build only in the brand alternatives."""
    return CueIndex(_competitor_sources((), refs))


# a bare comparison with us that continues a competitor statement: "比我们便宜了20万", "人家整体便宜"
_VS_US = re.compile(r"(?:比我们|比咱们|人家|整体)[^，。；]{0,6}?(?:便宜|低|快|好|少|强|短)")
# at a clause start (or right after a stated problem): a brand quoting or outperforming us
_AT_START = re.compile(
    rf"(?P<X>{_SLOT_ANY})(?:给的|报的|报了|给他们报的|的报价|的价格|的单价|的供货价|的现货|的同类产品|的同款|的产品)"
    r"[^，。；]{0,10}?(?:便宜|低|只要|只有|没这个问题|没有这个问题|更好|更稳|底价)")
# wishes and routine process facts are not pains
_WISH_START = re.compile(r"^(?:也|还|都)?(?:想|希望|想要|打算|准备|计划)(?!把)")


def _objects_near(text: str, lo: int, hi: int, anchor: int) -> str:
    """Category of the object word in text[lo:hi] nearest to `anchor` ('' when none)."""
    return _object_at(text, lo, hi, anchor)[0]


def _object_at(text: str, lo: int, hi: int, anchor: int) -> tuple[str, int]:
    """(category, start) of the object word in text[lo:hi] nearest to `anchor` (('', -1) if none)."""
    r = _res()
    best, dist, at = "", 10**9, -1
    for m in r.objects_re.finditer(text, lo, hi):
        w = m.group(0)
        cat = r.objects.get(w.lower(), "")
        d = anchor - m.end() if m.end() <= anchor else (m.start() - anchor) + 2  # prefer the left side
        if m.start() <= anchor < m.end():
            d = 0
        if d < dist:
            best, dist, at = cat, d, m.start()
    return best, at


_RELATIONAL = re.compile(r"对接|对不上|打通|打不通|兼容|接不上|连不上|联动|集成|匹配|适配|联调")
_COMITATIVE = re.compile(r"(?:跟|和|与)(?!我们|咱们)")
_ANCHOR_BARRIER = re.compile(r"[，。；,;]|但|不过|而且|然后")
MAX_ANCHOR = 8  # how far left of the predicate its topic noun may start the span


def _anchor_start(text: str, a: int, start: int, ce: int, cat: str, heads: list[tuple[int, int]]) -> int:
    """Start the span at the topic that names the problem when it sits a little further left
    than the token walk reached: the object word of its category (售后…都没人来) or a
    comitative phrase before a relational verb (跟他们的门锁系统对接不上)."""
    lo = max(a, start - 16)
    if _RELATIONAL.search(text, start, ce):
        m = next(_COMITATIVE.finditer(text, lo, start), None)
        if m is not None and not _ANCHOR_BARRIER.search(text, m.end(), start) \
                and not any(m.start() < he and hs < start for hs, he in heads):
            return m.start()
    obj, at = _object_at(text, max(a, start - MAX_ANCHOR), start, start)
    if obj == cat and at >= 0 and not _ANCHOR_BARRIER.search(text, at, start) \
            and not any(at < he and hs < start for hs, he in heads):
        return at
    return start


def _clause_cues(text: str, note_cues: list[_Cue], lo: int, hi: int) -> list[_Cue]:
    """The note's cue matches that start in [lo, hi), relative to `lo` and cut at `hi`: the
    cue classes run once over the note, not once per clause."""
    if not note_cues:
        return []
    if any(c.start < hi and c.end > hi or c.start < lo < c.end for c in note_cues):
        return _cues(text[lo:hi])  # a match crosses the clause: scan the clause on its own
    return [_Cue(c.kind, c.cat, c.start - lo, c.end - lo, c.tight) for c in note_cues if lo <= c.start < hi]


def _cues(s: str) -> list[_Cue]:
    """All non-competitor cue matches of a clause, in class priority order."""
    r = _res()
    out: list[_Cue] = []
    # cues one by one (a union of all is slower: no literal prefix), only those whose words occur
    for i in r.cue_index.candidates(s):
        kind, cat, rx, tight = r.cues[i]
        for m in rx.finditer(s):
            # a limit is stated with its figure (最多只能到一千八): the span runs to the clause end
            out.append(_Cue(kind, cat, m.start(), m.end(),
                            not _LIMIT.match(m.group(0)) if kind == "unmet" else tight))
    return out


_LIMIT = re.compile(r"达不到|只能|最[多快高低长远大小]|只做到|只达到|没达到|未达到|满足不了|不满足")
_RANK = {"table": 0, "demand": 1, "back": 2, "wait": 3, "unmet": 4, "delay": 5, "defect": 6, "eval": 7,
         "concern": 8}
_DEFAULT = {"demand": "other", "wait": "decision", "unmet": "technical", "defect": "quality", "delay": "delivery",
            "eval": "quality", "concern": "quality", "back": "quality"}
# classes whose own category the object may override
_OBJ_OVERRIDES = {
    "wait": {"budget", "delivery", "other", "service", "technical", "price"},
    "unmet": {"service", "delivery", "budget", "quality", "price", "other", "inventory"},
    "defect": {"service"},
    "delay": {"service", "other"},
    "back": set(),
    "eval": {"price", "budget", "delivery", "service", "inventory", "technical", "other"},
    "concern": {"price", "budget", "delivery", "service", "inventory", "technical", "other", "decision"},
    "demand": {"price", "technical"},
}
_OUR_LIMIT = re.compile(r"(?:我们|我方|我司|咱们)(?:这边|公司)?(?:最多|最快|最高|也|都|只|实在|确实)*$")
_OUR_DEMAND = re.compile(r"(?:我们|我方|我司|咱们)(?:这边|公司)?(?:也|还|就|则)?$")
_UNDECIDED = re.compile(r"(?:还没|没|未)(?:有)?定")
_SPEC_LEFT = re.compile(r"具体|数量|型号|几套|几台|几家|多少|规格|时间|尺寸|台数|节拍|工位|配置|方案|用量|规模")
_DELIVERY_VC = re.compile(r"[装做交赶干修完]不完|来不及|赶不上|赶不及")
_GOODS_LEFT = re.compile(r"样品|样机|样件|货|设备|物料|材料")
_AMOUNT = re.compile(r"[0-9.一二两三四五六七八九十百千]+(?:万|千|块|元|w|W)[0-9一二两三四五六七八九]?")
_PAYMENT = re.compile(r"付款|账期|月结|结算|款到|货款|尾款|押金|保证金|分期|[一二两三四五六七八九十\d]期付")
_PENALTY = re.compile(r"罚|违约|赔偿|扣款|条款")
_APPROVAL = re.compile(r"批|定预算|拨")
_MONEY_WORD = re.compile(r"预算|经费|资金|拨款|钱|费用")
_MONEY_LEFT = re.compile(r"预算|经费|资金|拨款")
_DEMAND_TECH = re.compile(r"私有化|本地部署|本地机房|数据|校准报告|检测报告|认证|资质")
_DEMAND_PRICE = re.compile(r"压[0-9一二两三四五六七八九十几半]+个点|往[^，。；]{1,6}?靠|降到|降价|降[0-9一二三四五六七八九十两]|让利|打折|折扣|优惠|便宜|跟到|以内|不另收|不收钱|白送|运费")


def _category(text: str, cue: _Cue, base: int, a: int, b: int) -> str:
    """Category of a cue: the class's own, or the object nearest to it."""
    if cue.cat:
        return cue.cat
    kind = cue.kind
    cs, ce = base + cue.start, base + cue.end
    if kind == "demand":
        body = text[cs:ce]
        if _PAYMENT.search(body) or _PENALTY.search(body):
            return "other"  # 坚持货到后90天付款, 加一条延误罚款: a contract term, whatever goods it mentions
        obj = _objects_near(text, cs, ce, cs)
        if obj in ("other", "technical", "delivery"):  # 要求起订量从五千降到两千 is a term, not a price
            return obj
        if _DEMAND_PRICE.search(body):
            return "price"
        return "technical" if _DEMAND_TECH.search(body) else "other"
    if kind == "eval" and "贵" in text[cs:ce]:
        return "price"
    if kind == "unmet" and _DELIVERY_VC.search(text, cs, ce):
        return "delivery"  # 装不完, 赶不上: the work will not be done in time
    if kind == "unmet" and "接受" in text[cs:b] and _AMOUNT.search(text, ce, b):
        return "price"  # 最多只能接受五万八: a ceiling on the price
    if kind == "eval" and _AMOUNT.search(text, max(a, cs - 8), cs):
        return "price"  # 一台一万八有点高: the amount is the topic
    if kind == "wait" and re.search(r"到(?!账|位)", text[cs:min(b, ce + 3)]) and _GOODS_LEFT.search(text, max(a, cs - 8), cs):
        return "delivery"  # 样品迟迟没到: goods that have not arrived
    if kind == "wait" and re.search(r"付|结算|打款", text[cs:b]):
        return "other"  # 要等验收报告出来才付: a payment condition
    if kind == "unmet" and not _LIMIT.match(text, cs) and _res().defect.search(text, ce, b):
        return "quality"  # 用不到一个月就堵: the failure verb decides
    if kind == "wait" and "批" in text[cs:ce] and _MONEY_LEFT.search(text, max(a, cs - 16), cs):
        return "budget"  # money waiting for approval (预算…还没批下来) is budget
    if kind == "concern":
        inner = [c for c in _cues(text[ce:b]) if c.kind not in ("concern", "back")]
        if inner:  # 担心精度达不到: the worry's object problem decides
            first = min(inner, key=lambda c: c.start)
            return _category(text, first, ce, ce, b)
        if re.search(r"贵|价", text[ce:b]):
            obj = _objects_near(text, ce, b, ce)
            return obj if obj in ("other", "technical") else "price"
    if kind == "concern":
        obj = _objects_near(text, ce, b, ce)
    elif kind in ("wait", "unmet", "delay"):
        obj = _objects_near(text, a, b, ce)
    else:
        obj = _objects_near(text, a, ce, ce)
    if obj == "quality" and kind == "unmet" and _LIMIT.match(text, cs):
        return "technical"  # a spec limit (精度达不到) is technical, a poor rate (良品率只有92%) quality
    if obj and obj in _OBJ_OVERRIDES.get(kind, set()):
        return obj
    return _DEFAULT[kind]


_TOPIC_STOP = frozenset(["一大半", "大半", "一半", "一部分", "现在", "目前", "最近", "一直", "当时", "这次", "那次",
                         "那台", "这台", "那个", "这个", "那批", "这批", "每年", "每月", "那", "这"])


_TOPIC_TOKEN = re.compile(rf"[{_CJK}0-9%.]+")


def _left_extend(text: str, lo: int, cue_start: int, stops: list[tuple[int, int]]) -> int:
    """Move left from the cue over the topic: a few content tokens of the same clause."""
    if cue_start <= lo:
        return lo
    # the note's one segmentation, shared with contacts and competitors
    from .contacts import fold
    from .segment import token_spans
    toks = [(text[max(ta, lo):min(tb, cue_start)], max(ta, lo)) for _, ta, tb in token_spans(fold(text))
            if ta < cue_start and tb > lo]
    start = cue_start
    n = 0
    for tok, a in reversed(toks):
        if tok in _LEFT_STOP or tok in _TOPIC_STOP or not _TOPIC_TOKEN.fullmatch(tok):
            break
        if any(s <= a < e for s, e in stops):
            break
        if cue_start - a > MAX_LEFT_CHARS or n >= MAX_LEFT_TOKENS:
            break
        start, n = a, n + 1
    # never start on 的 or a particle
    while start < cue_start and (text[start] in "的了得嗯"
                                 or (text[start] == "批" and start > 0 and text[start - 1] in "上这那该每本同")):
        start += 1
    return start


def _right_end(text: str, cue_end: int, hi: int, stops: list[tuple[int, int]], tight: bool,
               min_le: int = 0) -> int:
    """End of the predicate: its complement for tight cues, else the clause end, cut after
    the first 了 with more text after it and before a new speech/request verb or person."""
    end = hi
    if tight:
        m = _TAIL.match(text, cue_end, hi)
        end = m.end() if m else cue_end
        rest = text[end:hi]
        if len(rest) <= 2 or _PARTICLE_END.fullmatch(rest):
            end = hi
    else:
        seg = text[cue_end:hi]
        i = seg.find("了", min_le)
        if 0 <= i < len(seg) - 1:
            end = cue_end + i + 1
    seg = text[cue_end:end]
    m2 = _RIGHT_STOP.search(seg)
    if m2 and m2.start() > 0:
        end = cue_end + m2.start()
    for s, _e in stops:
        if cue_end <= s < end:
            end = s
    return end


def _trim_lead(text: str, a: int, b: int, heads: list[tuple[int, int]]) -> int:
    """Skip names (contacts, customer) and linking words at the clause start."""
    changed = True
    while changed and a < b:
        changed = False
        for hs, he in heads:
            if hs <= a < he:
                a, changed = he, True
        lm = LEAD.match(text, a, b)
        if lm and lm.end() > a:
            a, changed = lm.end(), True
    return a


_NEG_BEFORE = re.compile(r"(?:没|不|未|无|零|从没|从来没|并没)[^了但，。；]{0,2}$")
_BARRIER = re.compile(r"[了，。；]|但|就是|不过")


def _negated(text: str, a: int, b: int, cs: int, ce: int, kind: str) -> bool:
    """A negation or hedge on the cue: in the same phrase (no 了/但 between), just before or after."""
    lo = max(a, cs - 6)
    for m in _BARRIER.finditer(text, lo, cs):
        lo = m.end()
    hi = min(b, ce + 4)
    mb = _BARRIER.search(text, ce, hi)
    if mb:
        hi = mb.start()
    for m in _res().negation.finditer(text, lo, hi):
        if m.start() == 0 or text[m.start() - 1] != "只":  # 只能做到 limits, 能做 reassures
            return True
    return kind in ("defect", "delay", "eval", "back") and _NEG_BEFORE.search(text[lo:cs]) is not None


# a clause that ends in a dangling verb continues in the next one (…还得 | 他们总工签字)
_DANGLING = re.compile(r"(?:担心|害怕|怕|顾虑|嫌|还得|要等|得等|还要等|需要|希望|要求|想让|坚持|前提是)$")
_INCUMBENT = re.compile(r"现在|目前|之前|原来|原先|去年|一直|现有|手上|以前|当前")
_CHOICE_START = re.compile(r"最后|最终|还是|统一|后来|已经|现在|目前|之前|原来|原先|去年|一直|现有|手上|以前|当前|也在看|还在看|在看")


def _good_direction(text: str, a: int, b: int, cs: int) -> bool:
    """A comparison (…比…X) of an attribute whose good direction X names (pain_polarity.txt):
    less of an `up` attribute (噪音, 价格) or more of a `down` one (效率, 良率)."""
    m = _CMP_RE.search(text, cs, b)
    if m is None:
        return False
    up, down = _polarity()
    topic = text[max(a, cs - 8):m.start()]
    if any(w in topic for w in up):
        return m.group(1) in _LESS
    if any(w in topic for w in down):
        return m.group(1) in _MORE
    return False


_CMP_RE = re.compile(r"比[^，。；]{0,8}?([小低少短轻慢大高多长强快好])")
_LESS = frozenset("小低少短轻")
_MORE = frozenset("大高多长强快好")


@lru_cache(maxsize=1)
def _polarity() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Attributes for which more is worse (up) and less is worse (down)."""
    pol: dict[str, list[str]] = {"up": [], "down": []}
    for line in _lines("pain_polarity.txt"):
        kind, *words = line.split()
        pol.setdefault(kind, []).extend(words)
    return tuple(pol["up"]), tuple(pol["down"])


def _inside_word(text: str, start: int, end: int) -> bool:
    """A failure word that is part of a longer word (卡纸 in 白卡纸, 报警 in 报警阀): a name of a
    thing, not a failure.  Word boundaries come from the note's one segmentation."""
    from .contacts import fold
    from .segment import token_spans
    for _, a, b in token_spans(fold(text)):
        if a >= end:
            break
        if b > start and (a < start < b or a < end < b):
            return True
    return False


def _merge_dangling(text: str, clauses: list[Clause]) -> list[Clause]:
    """Join a clause that ends in a dangling verb with the next one (no punctuation between);
    a deadline cut out in between (担心|月底前|装不完) stays inside the join."""
    out: list[Clause] = []
    open_verb = False  # the last joined clause still waits for its object
    for cl in clauses:
        if out and out[-1].end == cl.start and (_DANGLING.search(out[-1].text) or open_verb):
            prev = out.pop()
            open_verb = bool(_DEADLINE_END.search(cl.text)) and len(cl.text) <= 6
            cl = Clause(text[prev.start:cl.end], prev.start, cl.end)
        else:
            open_verb = False
        out.append(cl)
    return out


_DEADLINE_END = re.compile(r"(?:前|之前|以前|以后|之后|后)$")


def find_pains(
    text: str,
    clauses: list[Clause],
    competitors: list[TextItem],
    skip_prefixes: Iterable[Span] = (),
) -> list[PainPoint]:
    """Pain points per clause; `skip_prefixes` (contacts, customer) bound the spans."""
    r = _res()
    # a "brand" that contains a problem word is a mis-read predicate (用的输液泵故障), not a brand
    names = [c.text for c in competitors if not (r.defect.search(c.text) or r.eval_.search(c.text))]
    brands = tuple(names)
    comp_pats = [_competitor_re(brands, r.refs, i) for i in _competitor_index(r.refs).candidates(text)]
    ref_re = _any_competitor(brands, r.refs)
    heads = sorted((s.start, s.end) for s in skip_prefixes)
    out: list[PainPoint] = []
    inc_ends: list[int] = []  # where statements of an incumbent competitor end
    note_cues = [c for c in _cues(text) if c.kind != "defect" or not _inside_word(text, c.start, c.end)]
    prev_comp: int | None = None  # index in `out` of a competitor pain in the last clause
    prev_end = -1  # end of the last clause that had a pain
    prev_last: int | None = None  # index of the last pain of the previous clause
    prev_incumbent = False  # that competitor pain says the competitor is in place (its problems follow)
    for cl in _merge_dangling(text, clauses):
        a = _trim_lead(text, cl.start, cl.end, heads)
        b = cl.end
        last_comp, last_pain, last_end, last_incumbent = prev_comp, prev_last, prev_end, prev_incumbent
        prev_comp, prev_last, prev_incumbent = None, None, False
        if b - a < 2:
            continue
        s = text[cl.start:b]  # cues see the whole clause ("还有八百箱没动"); spans start at `a`
        base = cl.start
        # a bare comparison with us after a competitor statement continues or repeats it
        vs = _VS_US.search(text, a, b)
        if vs is not None and (last_comp is not None or any(p.category == "competitor" for p in out)):
            end = _right_end(text, vs.end(), b, heads, True)
            if last_comp is not None and cl.start - out[last_comp].span.end <= 1 and not ref_re.search(text, a, b):
                old = out[last_comp]
                out[last_comp] = PainPoint(old.category, text[old.span.start:end], Span(old.span.start, end))
            else:
                start = _left_extend(text, a, vs.start(), heads)
                out.append(PainPoint("competitor", text[start:end], Span(start, end)))
            prev_end = b
            continue
        cues = _ordered_cues(text, _clause_cues(text, note_cues, base, b), a, b)
        taken: list[tuple[int, int, int]] = []  # (start, end, index in out)

        def add(cat: str, start: int, end: int, taken: list[tuple[int, int, int]] = taken) -> None:
            """Record a pain; one per category and clause (`taken`: this clause's), merged with a
            touching one."""
            nonlocal prev_comp
            for i, (ts, te, oi) in enumerate(taken):
                if out[oi].category == cat:
                    if start < te and end > ts:
                        ns, ne = min(ts, start), max(te, end)
                        out[oi] = PainPoint(cat, text[ns:ne], Span(ns, ne))
                        taken[i] = (ns, ne, oi)
                    return
                if start < te and ts < end:
                    return
            out.append(PainPoint(cat, text[start:end], Span(start, end)))
            taken.append((start, end, len(out) - 1))
            if cat == "competitor":
                prev_comp = len(out) - 1

        # 1. competitor cues: in the clause, and brand-first statements at its start
        comp_found: list[tuple[int, int, bool]] = []
        for p in comp_pats:
            for m in p.finditer(s):
                x = m.groupdict().get("X")
                if x is not None and (x in r.slot_stop or x.startswith(("我们", "咱", "你们", "自己"))
                                      or (x not in names and x.endswith(r.product_heads))):
                    continue
                if base + m.end() > a:
                    comp_found.append((max(a, base + m.start()), base + m.end(), bool(_CHOICE_START.match(m.group(0)))))
        anchors = [a] + [base + c.end for c in cues if c.tight or c.kind == "table"]
        for pos in anchors:
            am = _AT_START.match(text, pos, b)
            if am and am.group("X") not in r.slot_stop and not am.group("X").startswith(("我们", "咱", "他们")):
                comp_found.append((am.start(), am.end(), True))
        if not comp_found and not cues:
            # the construction that made a brand a competitor (X给的是6100, 指定要用X) states
            # something about it: the clause is a competitor pain
            comp_found = [(a, c.span.end, True) for c in competitors if a <= c.span.start < b]
            if not comp_found:  # a later mention as the clause's topic: 艺康有驻厂工程师, X是0.29
                mt = ref_re.match(text, a, b)
                if mt is not None and b - mt.end() >= 2:
                    comp_found = [(a, mt.end(), True)]
        if comp_found:
            cs = min(st for st, _, _ in comp_found)
            ce = max(e for _, e, _ in comp_found)
            at_cue = any(st == cs and f for st, _, f in comp_found)
            incumbent = any(st == cs and _INCUMBENT.match(text, st) for st, _, _ in comp_found)
            if not _negated(text, a, b, cs, ce, "competitor"):
                start = cs if at_cue else _left_extend(text, a, cs, heads)
                end = _right_end(text, max(ce, start), b, heads, False, 3)
                if end - start >= 2:
                    add("competitor", start, end)
                    prev_incumbent = incumbent
                    if incumbent:
                        inc_ends.append(end)
        # 2. other cue classes, left to right
        for cue in cues:
            cs, ce = max(a, base + cue.start), base + cue.end
            if ce - cs < 1:
                continue
            # the subject may sit before the span start (a leading 我们 is trimmed from spans)
            if cue.kind == "demand" and _OUR_DEMAND.search(text, max(base, cs - 6), cs):
                continue  # 我们要求预付40%: our own position in a negotiation
            if cue.kind == "unmet" and _OUR_LIMIT.search(text, max(base, cs - 8), cs):
                continue  # 我们最多只能接受70%: our own position in a negotiation, not their problem
            if cue.kind == "wait" and _UNDECIDED.match(text, cs) and _SPEC_LEFT.search(text, max(a, cs - 6), cs):
                continue  # 具体要几套还没定: requirements still open, not a problem
            if any(ts <= cs < te for ts, te, _ in taken) and not any(
                    out[oi].category == _DEFAULT.get(cue.kind) for _, _, oi in taken):
                continue
            if _negated(text, a, b, cs, ce, cue.kind):
                continue
            if cue.kind in ("eval", "table") and _good_direction(text, a, b, cs):
                continue  # 噪音比原来的小, 效率比他们高: better, not worse
            if cue.kind in ("demand", "concern"):
                start = cs
            elif cue.kind == "back":
                start = a
            else:
                start = _left_extend(text, a, cs, heads + [(ts, te) for ts, te, _ in taken])
            end = _right_end(text, ce, b, heads, cue.tight)
            tm = _PARTICLE_END.search(text[start:end])
            if tm:
                end = start + tm.start()
            if end - start < 2:
                continue
            if cue.kind == "concern":
                cat = _category(text, cue, base, ce, b)
            else:
                cat = _category(text, cue, base, a, end)
            if cat in ("decision", "service", "other") and _APPROVAL.search(text, start, end) \
                    and _MONEY_WORD.search(text, start, end):
                cat = "budget"  # 改造的钱集团不批, 还要等集团定预算: money waiting for approval is budget
            if cue.kind not in ("demand", "concern", "back"):
                start = _anchor_start(text, a, start, ce, cat, heads + [(ts, te) for ts, te, _ in taken])
            ref = ref_re.search(text, a, end) or _REF_RE.search(text, a, end)
            if ref is not None or (last_comp is not None and last_incumbent and last_end == cl.start - 1
                                   and cat in ("quality", "service") and "我们" not in text[a:end]):
                cat = "competitor"
            elif cat in ("quality", "service") and any(
                    0 <= start - e <= INCUMBENT_REACH and not _OURS_RE.search(text, e, end) for e in inc_ends):
                cat = "competitor"  # 现在用的是X的设备，然后说误报太多: the incumbent's trouble
            # the same problem continued after a comma: "交期一拖再拖，他们等不了"
            if (last_pain is not None and last_end == cl.start - 1 and out[last_pain].category == cat
                    and not taken and cue.kind in ("delay", "wait") and start - a <= 2 and end - out[last_pain].span.start <= 24):
                old = out[last_pain]
                out[last_pain] = PainPoint(cat, text[old.span.start:end], Span(old.span.start, end))
                taken.append((start, end, last_pain))
                continue
            add(cat, start, end)
        if taken:
            prev_last = taken[-1][2]
            prev_end = b
    # 超预算 … 他们预算只有15万: the figure explains the same budget problem, not a second one
    if any(p.category == "budget" and _OVER_BUDGET.search(p.text) for p in out):
        out = [p for p in out if not (p.category == "budget" and _BUDGET_FIGURE.search(p.text))]
    return out


def _ordered_cues(text: str, cues: list[_Cue], a: int, b: int) -> list[_Cue]:
    """A clause's cues left to right, without the generic cues a table cue overrides (and in a
    wish, only table cues and demands)."""
    if not cues:
        return cues  # most clauses: nothing to order or drop
    cues = sorted(cues, key=lambda c: (c.start, _RANK[c.kind], -(c.end - c.start)))
    # an admin's explicit cue wins over a generic one it overlaps ("有点超预算" is budget)
    tab = [(c.start, c.end) for c in cues if c.kind == "table"]
    # … over the same span: a generic cue holding the table cue lends it its start (要等集团新派来的CEO拍板)
    wide = [c for c in cues if c.kind in ("wait", "demand", "concern") and any(c.start < ts and te <= c.end for ts, te in tab)]
    cues = [_Cue(c.kind, c.cat, min([c.start] + [w.start for w in wide if w.start < c.start < w.end]), c.end, c.tight)
            if c.kind == "table" else c for c in cues]
    cues = [c for c in cues if c.kind in ("table", "demand") or not any(ts < c.end and c.start < te for ts, te in tab)]
    if _WISH_START.match(text, a, b):  # a wish states a need, unless it demands a concession
        cues = [c for c in cues if c.kind in ("table", "demand")]
    return cues


_OVER_BUDGET = re.compile(r"超(?:出|过|了)?预算|预算(?:不够|超了|超支)")
_BUDGET_FIGURE = re.compile(r"(?:预算|经费|资金)(?:也|都)?(?:只有|就|才|只够|不到|最多)")
