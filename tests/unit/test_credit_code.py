"""GB 32100 unified social credit code: what intake accepts and what it refuses, and why."""
import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.reference.credit_code import (
    ALPHABET,
    FINAL_WEIGHTS,
    Problem,
    check_credit_code,
    final_check_character,
    is_valid_credit_code,
    make_credit_code,
    organization_code_check_character,
    region_of,
    with_check_characters,
)

pytestmark = pytest.mark.unit

PUBLISHED = "91350100M000100Y43"  # a real enterprise code registered in Fuzhou (350100)


def rules(code):
    return [p.rule for p in check_credit_code(code)]


def test_the_published_code_91350100M000100Y43_is_valid():
    assert check_credit_code(PUBLISHED) == []
    assert is_valid_credit_code(PUBLISHED)


def test_the_published_code_checks_out_by_hand_with_the_standards_weights():
    # Organization code M000100Y: M=22, Y=34 in GB 11714's A=10 … Z=35 numbering.
    assert 22 * 3 + 1 * 5 + 34 * 2 == 139 and 11 - 139 % 11 == 4
    assert PUBLISHED[16] == "4"
    # Final check: values are indices in the 31-character alphabet.
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(PUBLISHED[:17], FINAL_WEIGHTS))
    assert ALPHABET[(31 - total % 31) % 31] == PUBLISHED[17] == "3"


def test_the_final_weights_are_the_powers_of_three_modulo_31():
    assert FINAL_WEIGHTS == tuple(pow(3, i, 31) for i in range(17))


@pytest.mark.parametrize("code", [
    "91320000MA1XXXXX9L",  # enterprise, Jiangsu
    "91110108MA01ABCD5T",  # enterprise, Haidian, Beijing
    "12440300455760882N",  # public institution (机构编制 1, 事业单位 2), Shenzhen
    "513100005000031797",  # social organization (民政 5, 社会团体 1), Shanghai
])
def test_real_looking_codes_from_the_generator_are_valid(code):
    assert check_credit_code(code) == []


def test_make_credit_code_builds_the_examples_above_from_their_parts():
    assert make_credit_code() == "91320000MA1XXXXX9L"
    assert make_credit_code(region="110108", org_body="MA01ABCD") == "91110108MA01ABCD5T"
    assert make_credit_code("1", "2", "440300", "45576088") == "12440300455760882N"


def test_with_check_characters_completes_the_sixteen_characters_around_the_checks():
    assert with_check_characters(PUBLISHED[:16]) == PUBLISHED


def test_make_credit_code_puts_the_region_in_positions_3_to_8():
    code = make_credit_code(region="420100")
    assert region_of(code) == "420100"
    assert region_of(PUBLISHED) == "350100"


def test_make_credit_code_refuses_a_region_that_is_not_six_digits():
    with pytest.raises(ValueError, match="6-digit"):
        make_credit_code(region="32000A")


def test_make_credit_code_refuses_an_organization_body_with_letters_outside_the_alphabet():
    with pytest.raises(ValueError):
        make_credit_code(org_body="MA1OOOOO")


def test_region_of_refuses_something_too_short_to_carry_a_region():
    with pytest.raises(ValueError):
        region_of("9132")


def test_a_credit_code_with_a_wrong_final_check_character_is_refused():
    problems = check_credit_code(PUBLISHED[:17] + "4")
    assert problems == [Problem(
        "final_check",
        "position 18 (final check character) is '4', expected '3' for positions 1-17 as written",
    )]


def test_a_credit_code_with_a_wrong_organization_code_check_character_is_refused():
    code = PUBLISHED[:16] + "5" + PUBLISHED[17]
    problems = check_credit_code(code)
    assert problems[0].rule == "organization_code_check"
    assert "position 17" in problems[0].message and "expected '4'" in problems[0].message


def test_a_wrong_organization_check_with_a_matching_final_check_is_still_refused():
    # Someone who recomputes only the final character must not slip a bad org code through.
    first16 = PUBLISHED[:16]
    first17 = first16 + "5"
    code = first17 + final_check_character(first17)
    assert rules(code) == ["organization_code_check"]


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y433"])
def test_a_code_of_the_wrong_length_is_refused_for_its_length_alone(code):
    problems = check_credit_code(code)
    assert [p.rule for p in problems] == ["length"]
    assert f"got {len(code)}" in problems[0].message


def test_something_that_is_not_a_string_is_refused_for_its_length():
    assert rules(None) == ["length"]


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_letters_that_read_like_digits_are_refused_with_their_position(letter):
    code = PUBLISHED[:9] + letter + PUBLISHED[10:]
    problems = check_credit_code(code)
    assert [p.rule for p in problems] == ["alphabet"]
    assert problems[0].message.startswith(f"position 10: '{letter}' is not allowed")


def test_a_lower_case_letter_is_refused_with_a_hint_to_use_upper_case():
    problems = check_credit_code(PUBLISHED.lower())
    assert {p.rule for p in problems} == {"alphabet"}
    assert "use upper case 'M'" in problems[0].message


def test_every_bad_character_is_reported_not_only_the_first():
    code = "9I350100M0O0100Y43"
    assert [p.message.split(":")[0] for p in check_credit_code(code)] == ["position 2", "position 11"]


def test_a_letter_in_the_administrative_division_code_is_refused():
    code = with_check_characters("9132A000MA1XXXXX")
    problems = check_credit_code(code)
    assert [p.rule for p in problems] == ["alphabet"]
    assert "position 5" in problems[0].message and "must be digits" in problems[0].message


def test_the_organization_check_uses_x_for_ten_and_zero_for_eleven():
    assert organization_code_check_character("40000000") == "X"  # 4*3 = 12 ≡ 1 → 10
    assert organization_code_check_character("00000000") == "0"  # 0 → 11


def test_the_final_check_maps_thirty_one_to_zero():
    assert final_check_character("0" * 17) == "0"


def test_a_problem_cannot_be_changed_after_it_is_made():
    with pytest.raises(dataclasses.FrozenInstanceError):
        check_credit_code("X")[0].rule = "alphabet"


bodies = st.text(alphabet=ALPHABET, min_size=8, max_size=8)
regions = st.text(alphabet="0123456789", min_size=6, max_size=6)


@given(region=regions, body=bodies, position=st.integers(0, 16), replacement=st.sampled_from(ALPHABET))
def test_any_single_mistyped_character_is_caught(region, body, position, replacement):
    code = make_credit_code("9", "1", region, body)
    if code[position] == replacement or (2 <= position <= 7 and not replacement.isdigit()):
        return
    mistyped = code[:position] + replacement + code[position + 1:]
    assert not is_valid_credit_code(mistyped)


@given(region=regions, body=bodies)
def test_every_generated_code_is_valid(region, body):
    assert check_credit_code(make_credit_code("9", "1", region, body)) == []
