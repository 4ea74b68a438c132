"""The plan of 附件2 as intake checks it: what each section accepts, what a complete plan
holds (by section, before submission), the construction period, and the diff of versions."""
import copy
import json
from datetime import date

import pytest
from marshmallow import ValidationError

from services.intake import plan
from shared.reference import regions
from services.intake.domain import name_reads_as_a_base
from services.intake.schemas import SECTION_SCHEMAS, SaveSection, normalised_section
from tests.support.applications import Setup, applicant_caller, sections

pytestmark = pytest.mark.unit
EVIDENCE = {i: f"{i:064x}" for i in range(1, 7)}
LETTER = "f" * 64
APPLICANT = {"credit_code": "12320100MB0000000X", "name": "江苏省标准化研究院", "category": "standardization_institute",
             "region": "320100"}
ORGANIZING = {"unit_id": "OU", "name": "江苏省市场监督管理局", "kind": "local_standardization_authority",
              "region": "320000", "domain": None}
RECOMMENDING = {"unit_id": "RU", "name": "江苏省人民政府", "kind": "local_government", "region": "320000",
                "domain": None}


def setup(base_type="regional"):
    regional = base_type == "regional"
    return Setup(applicant_caller(), base_type, "OU", "RU", "320100" if regional else None,
                 None if regional else "EI.01")


def complete(base_type="regional"):
    evidence = {i: sha for i, sha in EVIDENCE.items() if i <= len(plan.QUALIFICATION_CHECKLISTS[base_type])}
    return {section: normalised_section(section, content)
            for section, content in sections(setup(base_type), evidence, [("支持函", LETTER)]).items()}


def files(content):
    return set(plan.files_referenced(content))


def problems_of(content, base_type="regional", uploaded=None, **registers):
    found = plan.problems(base_type, content, files(content) if uploaded is None else uploaded,
                          applicant=registers.get("applicant", APPLICANT),
                          organizing_unit=registers.get("organizing_unit", ORGANIZING),
                          recommending_unit=registers.get("recommending_unit", RECOMMENDING),
                          name_is_valid=name_reads_as_a_base)
    return [(p.section, p.field, p.problem) for p in found]


def load_error(section, content):
    with pytest.raises(ValidationError) as error:
        SaveSection().load({"application_id": "9f8e9c66-edee-5c58-84bd-b3bf57333f67", "section": section,
                            "content": content})
    return error.value.messages


# --- what each section accepts ---------------------------------------------------


def test_a_complete_plan_has_no_problems():
    assert problems_of(complete()) == []


def test_an_empty_plan_lists_every_missing_item_section_by_section_in_the_forms_order():
    empty = {section: None for section in plan.SECTION_TITLES}
    empty["basic"] = {"name": "国家技术标准创新基地（江苏）", "organizing_unit_id": "OU", "recommending_unit_id": "RU"}
    found = problems_of(empty)
    order = [section for section, _, _ in found]
    assert order == sorted(order, key=list(plan.SECTION_TITLES).index)
    assert set(order) == set(plan.SECTION_TITLES)
    fields = {field for _, field, _ in found}
    assert {"basic.region", "basic.head.name", "basic.contact.phone", "significance.significance",
            "feasibility.advantages", "goals.goal", "goals.key_tasks", "goals.indicators.quantity",
            "goals.indicators.technical", "goals.indicators.industrialization", "goals.schedule",
            "safeguards.funds_and_talent", "attachments.items", "applicant_opinion.date"} <= fields
    # regional: items 1-5 are required, item 6 ("other conditions") is not
    assert {f"qualifications.items[{n}]" for n in range(1, 6)} <= fields
    assert "qualifications.items[6]" not in fields


def test_partial_content_is_accepted_at_save_and_check_names_the_rest():
    content = normalised_section("goals", {"goal": "建成技术标准创新高地"})
    assert content["key_tasks"] == [] and content["schedule"] is None
    plan_ = complete()
    plan_["goals"] = content
    assert ("goals", "goals.key_tasks", "missing") in problems_of(plan_)


def test_a_target_without_a_number_is_refused_naming_the_field():
    goals = complete()["goals"]
    goals["indicators"][1]["target_value"] = "约15%"
    messages = load_error("goals", goals)
    assert "target_value" in messages["content"]["indicators"][1]
    goals["indicators"][1]["target_value"] = "15"
    assert "target_value" in load_error("goals", goals)["content"]["indicators"][1]
    goals["indicators"][1]["target_value"] = True
    assert "target_value" in load_error("goals", goals)["content"]["indicators"][1]


@pytest.mark.parametrize("missing", ["kind", "metric", "target_value", "unit"])
def test_an_indicator_is_specific_each_part_is_required(missing):
    goals = complete()["goals"]
    del goals["indicators"][0][missing]
    assert missing in load_error("goals", goals)["content"]["indicators"][0]


def test_a_milestone_outside_the_two_year_construction_period_is_refused():
    goals = complete()["goals"]
    goals["schedule"]["milestones"].append({"date": "2029-01-01", "description": "超出建设期"})
    messages = load_error("goals", goals)
    assert messages["content"]["schedule"]["milestones"] == {2: {"date": [
        "Outside the construction period 2027-01-01 to 2028-12-31."]}}


def test_the_construction_period_is_two_years_from_its_declared_start():
    assert plan.construction_period(date(2027, 1, 1)) == (date(2027, 1, 1), date(2028, 12, 31))
    assert plan.construction_period(date(2028, 2, 29)) == (date(2028, 2, 29), date(2030, 2, 28))


def test_the_schedule_has_both_yearly_nodes_and_a_mid_term_goal():
    content = complete()
    content["goals"]["schedule"]["yearly_nodes"] = content["goals"]["schedule"]["yearly_nodes"][:1]
    content["goals"]["schedule"]["mid_term_goal"] = None
    found = problems_of(content)
    assert ("goals", "goals.schedule.yearly_nodes.2", "missing") in found
    assert ("goals", "goals.schedule.mid_term_goal", "missing") in found


def test_a_text_longer_than_its_limit_is_refused_naming_the_field():
    messages = load_error("significance", {"significance": "长" * 20001})
    assert "significance" in messages["content"]


def test_an_unknown_field_in_a_section_is_refused():
    assert "colour" in load_error("safeguards", {"colour": "blue"})["content"]


def test_a_qualification_item_is_declared_once():
    items = complete()["qualifications"]["items"]
    messages = load_error("qualifications", {"items": items + [items[0]]})
    assert "items" in messages["content"]


def test_a_file_reference_is_a_sha256():
    messages = load_error("attachments", {"items": [{"title": "支持函", "sha256": "letter.pdf"}]})
    assert "sha256" in messages["content"]["items"][0]


def test_dates_and_numbers_are_stored_as_json_values():
    goals = complete()["goals"]
    assert goals["schedule"]["start_date"] == "2027-01-01"
    assert goals["schedule"]["milestones"][0]["date"] == "2027-06-30"
    assert goals["indicators"][0]["target_value"] == 10


def test_every_section_is_stored_as_plain_json_with_every_field_of_its_schema():
    for section, content in complete().items():
        assert json.loads(json.dumps(content)) == content, section
        assert list(content) == list(SECTION_SCHEMAS[section]().fields), section


def test_a_date_that_is_not_one_is_refused_naming_the_field():
    goals = complete()["goals"]
    goals["schedule"]["milestones"][0]["date"] = "2027-02-30"
    assert load_error("goals", goals)["content"]["schedule"]["milestones"] == {0: {"date": ["Not a valid date."]}}


# --- what a complete plan holds ----------------------------------------------------


@pytest.mark.parametrize("base_type, size", [("regional", 6), ("domain", 5), ("international", 5)])
def test_the_checklist_of_each_base_type_has_the_guides_items(base_type, size):
    assert len(plan.QUALIFICATION_CHECKLISTS[base_type]) == size
    assert plan.QUALIFICATION_CHECKLISTS[base_type][-1] == "其他有利于创新基地建设和发展的条件"


def test_each_required_qualification_is_declared_met_with_evidence():
    content = complete()
    items = content["qualifications"]["items"]
    items[0]["declared"] = False
    items[1]["evidence"] = []
    items[2]["statement"] = None
    found = problems_of(content)
    assert ("qualifications", "qualifications.items[1]", "invalid") in found
    assert ("qualifications", "qualifications.items[2].evidence", "missing") in found
    assert ("qualifications", "qualifications.items[3].statement", "missing") in found


def test_the_open_ended_item_may_be_left_out():
    content = complete()
    content["qualifications"]["items"] = content["qualifications"]["items"][:5]
    assert problems_of(content) == []


def test_evidence_that_was_never_uploaded_is_invalid():
    content = complete()
    found = problems_of(content, uploaded=files(content) - {EVIDENCE[4]})
    assert found == [("qualifications", "qualifications.items[4].evidence", "invalid")]


def test_a_plan_needs_every_kind_of_assessment_indicator():
    content = complete()
    content["goals"]["indicators"] = [i for i in content["goals"]["indicators"] if i["kind"] != "technical"]
    assert problems_of(content) == [("goals", "goals.indicators.technical", "missing")]


def test_a_regional_base_lies_in_the_area_of_its_local_units():
    assert regions.contains("320000", "320100") and regions.contains("320100", "320105")
    assert not regions.contains("320100", "320200") and not regions.contains("320000", "330100")
    content = complete()
    content["basic"]["region"] = "330100"  # 杭州市, outside 江苏省
    found = problems_of(content)
    assert ("basic", "basic.organizing_unit_id", "invalid") in found
    assert ("basic", "basic.recommending_unit_id", "invalid") in found


def test_a_district_under_a_known_prefecture_is_a_known_region():
    content = complete()
    content["basic"]["region"] = "320105"  # a district of Nanjing, not listed itself
    assert problems_of(content) == []
    content["basic"]["region"] = "990100"  # no such province
    assert ("basic", "basic.region", "invalid") in problems_of(content)


def test_an_industry_body_serves_a_domain_similar_to_the_bases():
    industry = {"unit_id": "OU", "name": "中国半导体行业协会", "kind": "industry_association", "region": None,
                "domain": "EI.03"}
    content = complete("domain")
    assert problems_of(content, "domain", organizing_unit=industry, recommending_unit=industry) == []
    far = {**industry, "domain": "EN.01"}
    found = problems_of(content, "domain", organizing_unit=far, recommending_unit=industry)
    assert found == [("basic", "basic.organizing_unit_id", "invalid")]


def test_units_missing_from_the_register_are_invalid():
    found = problems_of(complete(), organizing_unit=None, applicant=None)
    assert ("basic", "basic.organizing_unit_id", "invalid") in found
    assert ("basic", "basic.applicant", "missing") in found


# --- versions -------------------------------------------------------------------------


def frozen(content):
    return plan.freeze(application_id="a", base_type="regional", sections=content, files={},
                       applicant=APPLICANT, organizing_unit=ORGANIZING, recommending_unit=RECOMMENDING)


def test_the_diff_of_two_versions_names_each_changed_field_by_section():
    before = frozen(complete())
    changed = copy.deepcopy(complete())
    changed["goals"]["indicators"][0]["target_value"] = 12
    changed["safeguards"]["policy_support"] = "新增省级专项政策。"
    result = plan.diff(before, frozen(changed))
    assert [s for s, change in result.items() if change["changed"]] == ["goals", "safeguards"]
    assert result["goals"]["changes"] == [{"field": "goals.indicators.0.target_value", "from": 10, "to": 12}]
    assert plan.changed_sections(before, frozen(changed)) == ["goals", "safeguards"]


def test_a_section_added_or_emptied_shows_in_the_diff():
    content = complete()
    emptied = copy.deepcopy(content)
    emptied["goals"]["key_tasks"] = []
    change = plan.diff(frozen(content), frozen(emptied))["goals"]
    changes = {c["field"]: (c["from"], c["to"]) for c in change["changes"]}
    assert change["changed"]
    assert changes["goals.key_tasks.0.title"] == ("标准研制", None)
    assert changes["goals.key_tasks"] == (None, [])
    assert plan.diff(frozen(emptied), frozen(content))["goals"]["changed"]


def test_the_frozen_plan_carries_the_registers_as_they_read_at_submission():
    frozen_plan = frozen(complete())
    basic = frozen_plan["sections"]["basic"]
    assert basic["applicant"]["credit_code"] == APPLICANT["credit_code"]
    assert basic["organizing_unit"]["name"] == "江苏省市场监督管理局"
    assert basic["region_name"] == "南京市" and basic["base_type"] == "regional"
