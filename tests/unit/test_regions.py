"""GB/T 2260 administrative divisions: the table intake checks regions against."""
from pathlib import Path

import pytest

from shared.reference import regions
from shared.reference.credit_code import make_credit_code, region_of
from shared.reference.regions import (
    enclosing_region,
    is_known_region,
    is_well_formed_region,
    prefecture_of,
    province_of,
    provinces,
    region,
    region_name,
    regions_in,
)

pytestmark = pytest.mark.unit

PROVINCES = {
    "110000": "北京市", "120000": "天津市", "130000": "河北省", "140000": "山西省",
    "150000": "内蒙古自治区", "210000": "辽宁省", "220000": "吉林省", "230000": "黑龙江省",
    "310000": "上海市", "320000": "江苏省", "330000": "浙江省", "340000": "安徽省",
    "350000": "福建省", "360000": "江西省", "370000": "山东省", "410000": "河南省",
    "420000": "湖北省", "430000": "湖南省", "440000": "广东省", "450000": "广西壮族自治区",
    "460000": "海南省", "500000": "重庆市", "510000": "四川省", "520000": "贵州省",
    "530000": "云南省", "540000": "西藏自治区", "610000": "陕西省", "620000": "甘肃省",
    "630000": "青海省", "640000": "宁夏回族自治区", "650000": "新疆维吾尔自治区",
    "710000": "台湾省", "810000": "香港特别行政区", "820000": "澳门特别行政区",
}

CAPITALS = {
    "130100": "石家庄市", "140100": "太原市", "150100": "呼和浩特市", "210100": "沈阳市",
    "220100": "长春市", "230100": "哈尔滨市", "320100": "南京市", "330100": "杭州市",
    "340100": "合肥市", "350100": "福州市", "360100": "南昌市", "370100": "济南市",
    "410100": "郑州市", "420100": "武汉市", "430100": "长沙市", "440100": "广州市",
    "450100": "南宁市", "460100": "海口市", "510100": "成都市", "520100": "贵阳市",
    "530100": "昆明市", "540100": "拉萨市", "610100": "西安市", "620100": "兰州市",
    "630100": "西宁市", "640100": "银川市", "650100": "乌鲁木齐市",
}

MUNICIPALITIES_AND_SARS = {"110000", "120000", "310000", "500000", "710000", "810000", "820000"}


def table_rows():
    lines = Path(regions.DATA).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line and not line.startswith(("#", "code\t"))]


def test_all_34_province_level_divisions_are_known_by_their_names():
    assert {r.code: r.name for r in provinces()} == PROVINCES


@pytest.mark.parametrize("code,name", sorted(CAPITALS.items()))
def test_every_provincial_capital_is_known(code, name):
    assert region_name(code) == name
    assert region(code).level == "prefecture"


def test_all_333_prefecture_level_divisions_are_listed():
    assert sum(1 for row in table_rows() if row[2] == "prefecture") == 333


def test_every_province_except_municipalities_and_the_sars_has_prefectures():
    for code in set(PROVINCES) - MUNICIPALITIES_AND_SARS:
        assert any(r.level == "prefecture" for r in regions_in(code)), code


def test_the_table_has_no_duplicate_and_no_malformed_code():
    codes = [row[0] for row in table_rows()]
    assert len(codes) == len(set(codes))
    assert all(is_well_formed_region(code) for code in codes)
    assert all(len(row) == 3 and row[1] and row[2] in {"province", "prefecture", "county"}
               for row in table_rows())


def test_every_listed_region_lies_in_a_listed_province():
    for code, _name, level in table_rows():
        assert is_known_region(province_of(code)), code
        if level == "prefecture":
            assert code.endswith("00") and not code.endswith("0000"), code


def test_county_level_cities_under_a_province_directly_are_known():
    assert region_name("419001") == "济源市"
    assert region_name("429004") == "仙桃市"
    assert region_name("469002") == "琼海市"
    assert region_name("659001") == "石河子市"


def test_an_unlisted_or_malformed_code_has_no_name():
    assert region_name("990000") is None
    assert region_name("110108") is None  # a district: below what the table lists
    assert region_name("32000") is None
    assert not is_known_region("320000 ")


@pytest.mark.parametrize("code,well_formed", [
    ("320000", True), ("000000", True), ("32000", False), ("3200000", False),
    ("32000A", False), ("３２００００", False), ("", False), (320000, False),
])
def test_a_well_formed_region_is_six_ascii_digits(code, well_formed):
    assert is_well_formed_region(code) is well_formed


def test_province_of_keeps_the_first_two_digits():
    assert province_of("320506") == "320000"
    assert province_of("110000") == "110000"


def test_province_of_refuses_a_malformed_code():
    with pytest.raises(ValueError, match="6 digits"):
        province_of("3205")


def test_prefecture_of_keeps_the_first_four_digits():
    assert prefecture_of("320506") == "320500"


@pytest.mark.parametrize("code,expected", [
    ("320506", "苏州市"),    # a district of Suzhou
    ("110108", "北京市"),    # Haidian: municipalities have no listed prefecture
    ("429004", "仙桃市"),    # listed itself
    ("460000", "海南省"),
])
def test_enclosing_region_finds_the_nearest_listed_division(code, expected):
    assert enclosing_region(code).name == expected


def test_enclosing_region_of_an_unknown_province_is_none():
    assert enclosing_region("990101") is None
    assert enclosing_region("abc") is None


def test_the_region_of_a_generated_credit_code_is_known():
    assert is_known_region(region_of(make_credit_code(region="330100")))


def test_the_table_is_read_once():
    assert regions._table() is regions._table()
