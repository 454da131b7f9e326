"""Name normalization: the parts a company name is split into, and the keys compared."""
from __future__ import annotations

import pytest

from extraction.normalize import (
    clean,
    fuzzy_key,
    normalize_chars,
    parse_name,
    pinyin_key,
    region_info,
    regions_compatible,
    to_simplified,
)


def test_clean_width_case_space_punct():
    assert clean("苏州ＢＫＴ传动") == "苏州bkt传动"
    assert clean("北京　固邦") == "北京固邦"
    assert clean(" 宁波 锦泰 液压 ") == "宁波锦泰液压"
    assert clean("华信·建材（上海）") == "华信建材上海"


def test_traditional_to_simplified():
    assert to_simplified("蘇州恆達精密機械有限公司") == "苏州恒达精密机械有限公司"
    assert clean("雲嶺乳業") == "云岭乳业"


def test_normalize_chars_keeps_offsets():
    text = "刚从蘇州ＢＫＴ出来"
    norm = normalize_chars(text)
    assert len(norm) == len(text)
    assert norm == "刚从苏州bkt出来"


def test_pinyin_key_is_toneless_and_keeps_latin_runs():
    assert pinyin_key("横达") == pinyin_key("恒达") == ("heng", "da")
    assert pinyin_key("BKT传动") == ("bkt", "chuan", "dong")


def test_fuzzy_key_merges_accent_pairs():
    assert fuzzy_key(("zhi", "xing")) == fuzzy_key(("zi", "xin"))
    assert fuzzy_key(("lan", "wan")) == fuzzy_key(("nan", "wan"))


@pytest.mark.parametrize(
    "name,regions,brand,industry,legal",
    [
        ("苏州恒达精密机械有限公司", ["苏州"], "恒达", ("精密", "机械"), "有限公司"),
        ("天津北辰重工机械股份有限公司", ["天津"], "北辰", ("重工", "机械"), "股份有限公司"),
        ("康博生物医疗科技(上海)有限公司", ["上海"], "康博", ("生物", "医疗科技"), "有限公司"),
        ("康博生物医疗科技（上海）有限公司", ["上海"], "康博", ("生物", "医疗科技"), "有限公司"),
        ("沈阳金鼎机床集团有限公司", ["沈阳"], "金鼎", ("机床",), "集团有限公司"),
        ("金鼎集团", [], "金鼎", (), "集团"),
        ("上海市华信建材有限公司", ["上海"], "华信", ("建材",), "有限公司"),
        ("沪上优鲜汇", ["上海"], "优鲜汇", (), None),
        ("苏州BKT传动科技有限公司", ["苏州"], "bkt", ("传动", "科技"), "有限公司"),
        ("合肥美齿口腔连锁有限公司", ["合肥"], "美齿", ("口腔", "连锁"), "有限公司"),
        ("华信", [], "华信", (), None),
    ],
)
def test_parse_name_parts(name, regions, brand, industry, legal):
    p = parse_name(name)
    assert [r.name for r in p.regions] == regions
    assert p.brand == brand
    assert p.industry == industry
    assert p.legal_form == legal


def test_region_column_is_added_and_province_kept():
    p = parse_name("四川蜀星新型建材有限公司", "成都")
    assert [r.name for r in p.regions] == ["四川", "成都"]
    assert p.brand == "蜀星"


def test_latin_renderings():
    p = parse_name("Beijing Hengtong Medical")
    assert p.latin and p.brand == "hengtong"
    assert [r.name for r in p.regions] == ["北京"]
    assert p.industry == ("医疗",)
    assert parse_name("YunFan Tech").brand == "yunfan"
    assert parse_name("WeikeCloud").brand == "weikeyun"
    assert parse_name("Yunfan Technology Co., Ltd.").brand == "yunfan"


def test_region_info_forms():
    assert region_info("江苏省").name == "江苏"
    assert region_info("苏州市").province == "江苏"
    assert region_info("沪").name == "上海"
    assert region_info("火星") is None


def test_regions_compatible():
    def r(*names):
        return tuple(region_info(n) for n in names)

    assert regions_compatible(r("成都"), r("四川", "成都")) is True
    assert regions_compatible(r("四川"), r("四川", "成都")) is True
    assert regions_compatible(r("绵阳"), r("四川", "成都")) is False
    assert regions_compatible(r("荆州"), r("武汉")) is False  # same province, other city
    assert regions_compatible(r("昆山"), r("苏州")) is True  # county-level city in its prefecture
    assert regions_compatible((), r("苏州")) is None


def test_city_name_used_as_brand():
    p = parse_name("安康医疗器械有限公司")
    assert p.regions == () and p.brand == "安康" and p.industry == ("医疗器械",)


def test_branch_region_and_district_are_regions():
    p = parse_name("苏州恒达上海分公司")
    assert [r.name for r in p.regions] == ["苏州", "上海"] and p.brand == "恒达"
    assert p.legal_form == "分公司"
    d = parse_name("上海浦东恒达科技")
    assert [r.name for r in d.regions] == ["上海", "浦东"] and d.brand == "恒达"
    assert regions_compatible(d.regions, (region_info("上海"),)) is True


def test_org_class_from_legal_form():
    assert parse_name("华信信息技术服务中心").org_class == "institution"
    assert parse_name("北京华信科技股份有限公司").org_class == "company"
    assert parse_name("华信").org_class is None


def test_core_readings():
    from extraction.normalize import core_readings, tail_words

    assert [r.brand for r in core_readings(parse_name("广州蓝鲸智能换电设备有限公司"))] == ["蓝鲸"]
    assert [r.brand for r in core_readings(parse_name("Zentra光谱检测(苏州)有限公司"))] == ["zentra"]
    assert [r.brand for r in core_readings(parse_name("北京中科微澜仪器有限公司"))] == ["微澜"]
    assert core_readings(parse_name("苏州恒达精密机械有限公司")) == ()
    r = core_readings(parse_name("广州蓝鲸智能换电设备有限公司"))[0]
    assert r.industry == ("智能", "换电", "设备") and [x.name for x in r.regions] == ["广州"]
    assert tail_words("智能换电设备") == ("智能", "换电", "设备")
    assert tail_words("") == ()
