"""The domain catalogue (领域) and the "same or similar domain" rule it supports."""
import re

import pytest

from shared.reference.catalogue import (
    CatalogueError,
    all_domains,
    are_similar,
    domain,
    first_level_of,
    is_known_domain,
    load_catalogue,
    top_level_domains,
)

pytestmark = pytest.mark.unit

EXPECTED_FIRST_LEVELS = {
    "装备制造", "电子信息", "新材料", "生物医药", "能源", "交通运输", "农业",
    "消费品", "节能环保", "现代服务业", "城乡建设", "公共安全", "数字经济",
}


def test_the_first_levels_named_in_the_design_are_all_there():
    assert EXPECTED_FIRST_LEVELS <= {d.name for d in top_level_domains()}


def test_every_first_level_has_three_to_eight_second_level_entries():
    for top in top_level_domains():
        assert 3 <= len(top.children) <= 8, top.code


def test_codes_read_as_two_letters_then_a_dot_and_two_digits():
    for d in all_domains():
        if d.level == 1:
            assert re.fullmatch(r"[A-Z]{2}", d.code)
        else:
            assert re.fullmatch(rf"{d.parent}\.[0-9]{{2}}", d.code)


def test_no_two_domains_share_a_code_or_a_name():
    everything = all_domains()
    assert len({d.code for d in everything}) == len(everything)
    assert len({d.name for d in everything}) == len(everything)


def test_a_second_level_domain_knows_its_parent_and_its_name():
    entry = domain("EQ.01")
    assert entry.name == "高档数控机床和机器人"
    assert entry.parent == "EQ" and entry.level == 2 and entry.first_level == "EQ"
    assert "EQ.01" in domain("EQ").children


def test_all_domains_lists_each_first_level_followed_by_its_children():
    codes = [d.code for d in all_domains()]
    for top in top_level_domains():
        at = codes.index(top.code)
        assert codes[at + 1: at + 1 + len(top.children)] == list(top.children)


def test_known_and_unknown_codes_are_told_apart():
    assert is_known_domain("EI") and is_known_domain("EI.01")
    assert not is_known_domain("EI.99")
    assert not is_known_domain("ei.01")
    assert not is_known_domain(None)
    assert domain("XX") is None


def test_two_entries_under_the_same_first_level_are_similar():
    assert are_similar("EQ.01", "EQ.02")


def test_a_first_level_is_similar_to_its_children_both_ways():
    assert are_similar("EQ", "EQ.03")
    assert are_similar("EQ.03", "EQ")


def test_a_domain_is_similar_to_itself():
    assert are_similar("NM.02", "NM.02")


def test_entries_under_different_first_levels_are_not_similar():
    assert not are_similar("EQ.01", "EI.01")
    assert not are_similar("EQ", "EI")


def test_an_unknown_code_is_similar_to_nothing_not_even_itself():
    assert not are_similar("EQ.99", "EQ.01")
    assert not are_similar("EQ.99", "EQ.99")


def test_first_level_of_a_child_is_its_parent():
    assert first_level_of("DE.02") == "DE"
    assert first_level_of("DE") == "DE"
    assert first_level_of("nope") is None


def write(tmp_path, text):
    path = tmp_path / "domains.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_first_level_with_too_few_children_is_refused(tmp_path):
    path = write(tmp_path, """
domains:
  - code: EQ
    name: 装备制造
    children:
      - {code: EQ.01, name: 一}
      - {code: EQ.02, name: 二}
""")
    with pytest.raises(CatalogueError, match="2 second-level entries"):
        load_catalogue(path)


def test_a_duplicate_code_is_refused(tmp_path):
    path = write(tmp_path, """
domains:
  - code: EQ
    name: 装备制造
    children:
      - {code: EQ.01, name: 一}
      - {code: EQ.01, name: 二}
      - {code: EQ.03, name: 三}
""")
    with pytest.raises(CatalogueError, match="duplicate domain code EQ.01"):
        load_catalogue(path)


def test_a_child_filed_under_the_wrong_parent_is_refused(tmp_path):
    path = write(tmp_path, """
domains:
  - code: EQ
    name: 装备制造
    children:
      - {code: EQ.01, name: 一}
      - {code: EI.02, name: 二}
      - {code: EQ.03, name: 三}
""")
    with pytest.raises(CatalogueError, match="EI.02"):
        load_catalogue(path)


def test_an_empty_catalogue_is_refused(tmp_path):
    with pytest.raises(CatalogueError):
        load_catalogue(write(tmp_path, "version: 1\n"))
