"""Endorsement's rules without a database: the organizing and recommending units' decisions,
who may endorse which base type, and the recommending unit's quotas (guide §二, §三, §四)."""
import uuid
from datetime import date

import pytest
from hypothesis import given, settings as hsettings, strategies as st
from marshmallow import ValidationError
from nameko.exceptions import deserialize, serialize

from services.endorsement import schemas
from services.endorsement.domain import (
    APPLICANT,
    CLOSED,
    DECLINED,
    ENDORSING,
    FORWARDED,
    QUEUED,
    RECOMMENDED,
    RETURNED,
    QuotaSlot,
    RegisteredUnit,
    ReviewItem,
    check_unit_pair,
    quota_scope,
    quota_slot_id,
    review_item_id,
    unit_id_of,
)
from shared.contracts.core import SECTIONS
from shared.errors import InnobaseError, RuleViolation
from services.endorsement.errors import (
    QuotaExceeded,
    QuotaScopeUnknown,
    UnitNotRegistered,
    UnitPairMismatch,
    WrongStage,
)

pytestmark = pytest.mark.unit
CLERK = {"party_id": "clerk", "role": "organizing_unit", "organization": "OU"}
RECOMMENDER = {"party_id": "officer-r", "role": "recommending_unit", "organization": "RU"}
CAUSE = {"source": "intake", "position": 7}
TODAY = date(2026, 6, 1)
OPINION = {"text": "经审核，同意推荐。", "head": "王五", "date": "2026-06-01"}
SCAN = {"sha256": "a" * 64, "name": "plan.pdf", "size": 10, "media_type": "application/pdf", "uploaded_by": "x"}


def an_item(**overrides):
    submission = dict(application_id=str(uuid.uuid4()), applicant_id="p", applicant_organization="91320000X",
                      applicant_name="江苏省标准化研究院", name="国家技术标准创新基地（江苏）", base_type="regional",
                      region="320000", domain=None, organizing_unit_id="OU", recommending_unit_id="RU",
                      plan_version=1, digest="d" * 64, receipt_number="SB-1", submitted_at="2026-06-01T10:00:00+08:00",
                      submission_kind="initial", answers_request=None)
    submission.update(overrides)
    return ReviewItem.queue(caused_by=CAUSE, **submission)


def forwarded(**overrides):
    item = an_item(**overrides)
    item.forward(CLERK, OPINION, SCAN, TODAY)
    return item


def a_slot(unit="RU", year=2026, base_type="regional", scope="320000"):
    return QuotaSlot.open(unit, year, base_type, scope)


def recommended(**overrides):
    item = forwarded(**overrides)
    slot = a_slot()
    slot.claim(item.application_id, item.id, item.name, RECOMMENDER)
    item.recommend(RECOMMENDER, slot, 2026, SCAN, SCAN)
    return item, slot


def unit(role, kind, unit_id="U"):
    return RegisteredUnit.record(ENDORSING, unit_id, {"name": unit_id, "role": role, "kind": kind}, CAUSE)


# --- the review item ------------------------------------------------------------

def test_each_submitted_version_has_one_queue_item_identity():
    application_id = uuid.uuid4()
    assert review_item_id(application_id, 1) == review_item_id(str(application_id), 1)
    assert review_item_id(application_id, 1) != review_item_id(application_id, 2)
    assert an_item(application_id=str(application_id)).id == review_item_id(application_id, 1)


def test_the_organizing_unit_checks_and_stamps_recording_its_opinion_and_forwards():
    item = forwarded()
    assert item.state == FORWARDED
    assert item.opinion == OPINION and item.organizing_scan == SCAN


def test_an_opinion_cannot_be_dated_after_today():
    with pytest.raises(RuleViolation) as error:
        an_item().forward(CLERK, {**OPINION, "date": "2026-06-02"}, None, TODAY)
    assert error.value.rule == "opinion_date" and error.value.details["field"] == "opinion.date"


def test_an_application_is_forwarded_once():
    item = forwarded()
    with pytest.raises(WrongStage) as error:
        item.forward(CLERK, OPINION, None, TODAY)
    assert error.value.details["stage"] == FORWARDED


def test_a_return_to_the_applicant_names_each_section_once_and_a_request_to_answer():
    item = an_item()
    item.return_to_applicant(CLERK, ["goals", "significance", "goals"], "考核指标不可量化")
    assert item.state == RETURNED
    events = item.collect_events()
    assert events[-1].sections == ["goals", "significance"]
    assert events[-1].request_id == item.return_request_id


def test_the_return_request_id_is_the_same_for_the_same_version_and_differs_between_versions():
    application_id = str(uuid.uuid4())
    first, again, second = (an_item(application_id=application_id, plan_version=v) for v in (1, 1, 2))
    for item in (first, again, second):
        item.return_to_applicant(CLERK, ["basic"], "单位名称与公章不一致")
    assert first.return_request_id == again.return_request_id != second.return_request_id


def test_nothing_is_recommended_before_the_organizing_unit_forwarded_it():
    item = an_item()
    with pytest.raises(WrongStage):
        item.recommend(RECOMMENDER, None, 2026, SCAN, SCAN)


def test_a_recommendation_must_hold_the_slot_it_names():
    item = forwarded()
    with pytest.raises(RuleViolation) as error:
        item.recommend(RECOMMENDER, a_slot(), 2026, SCAN, SCAN)
    assert error.value.rule == "quota"


def test_a_recommendation_records_its_quota_slot_and_both_scans():
    item, slot = recommended()
    assert item.state == RECOMMENDED
    assert item.quota_slot == "RU/2026/regional/320000" and item.quota_slot_id == str(slot.id)
    assert item.stamped_plan_scan == SCAN and item.recommendation_letter == SCAN


def test_the_recommending_unit_returns_to_the_organizing_unit_for_a_new_decision():
    item = forwarded()
    item.return_to_organizing_unit(RECOMMENDER, "推荐单位名称填写有误")
    assert item.state == QUEUED and item.opinion is None
    item.forward(CLERK, {**OPINION, "text": "已更正，同意推荐。"}, None, TODAY)
    assert item.state == FORWARDED and item.opinion["text"] == "已更正，同意推荐。"


def test_a_declined_application_ends_and_cannot_be_recommended():
    item = forwarded()
    item.decline(RECOMMENDER, "不符合本地区产业布局")
    assert item.state == DECLINED
    with pytest.raises(WrongStage):
        item.recommend(RECOMMENDER, None, 2026, SCAN, SCAN)


def test_only_a_standing_recommendation_can_be_withdrawn():
    with pytest.raises(WrongStage):
        forwarded().withdraw_recommendation(RECOMMENDER, "r")
    item, slot = recommended()
    assert item.holds_quota_slot
    assert item.withdraw_recommendation(RECOMMENDER, "改为推荐另一家单位") == str(slot.id)
    assert not item.holds_quota_slot and item.quota_slot is None


def test_a_withdrawn_recommendation_leaves_the_application_awaiting_the_recommending_units_decision_again():
    item, _ = recommended()
    item.withdraw_recommendation(RECOMMENDER, "改为推荐另一家单位")
    assert item.state == FORWARDED and item.opinion == OPINION
    item.recommend(RECOMMENDER, None, 2027, SCAN, SCAN)  # e.g. within next year's quota
    assert item.state == RECOMMENDED and item.year == 2027


@pytest.mark.parametrize("stage", ["queued", "forwarded", "recommended"])
def test_the_end_of_an_application_closes_an_item_that_is_still_in_play(stage):
    item = {"queued": an_item, "forwarded": forwarded, "recommended": lambda: recommended()[0]}[stage]()
    assert item.close("the applicant withdrew the application", CAUSE)
    assert item.state == CLOSED
    assert item.collect_events()[-1].previous_state == stage


@pytest.mark.parametrize("end", ["return", "decline"])
def test_the_end_of_an_application_leaves_a_finished_item_as_it_was(end):
    if end == "decline":
        item = forwarded()
        item.decline(RECOMMENDER, "r")
    else:
        item = an_item()
        item.return_to_applicant(CLERK, ["basic"], "r")
    state = item.state
    assert not item.close("ended", CAUSE) and item.state == state


# --- who may organize and recommend (guide §二(一)) ------------------------------

@pytest.mark.parametrize("base_type, organizing_kind, recommending_kind, fits", [
    ("regional", "local_standardization_authority", "local_government", True),
    ("regional", "industry_association", "local_government", False),
    ("regional", "local_standardization_authority", "industry_department", False),
    ("domain", "industry_department_standardization_body", "industry_department", True),
    ("domain", "industry_association", "industry_association", True),
    ("domain", "local_standardization_authority", "local_government", True),
    ("domain", "local_government", "local_government", False),
    ("international", "industry_association", "industry_department", True),
    ("international", "industry_department", "industry_department", False),
])
def test_the_units_must_fit_the_base_type(base_type, organizing_kind, recommending_kind, fits):
    organizing, recommending = unit("organizing", organizing_kind), unit("recommending", recommending_kind)
    if fits:
        check_unit_pair(base_type, "OU", organizing, "RU", recommending)
    else:
        with pytest.raises(UnitPairMismatch) as error:
            check_unit_pair(base_type, "OU", organizing, "RU", recommending)
        assert error.value.rule == "unit_pair"
        assert error.value.details["organizing_unit_kind"] == organizing_kind
        assert error.value.details["recommending_unit_kind"] == recommending_kind


def test_a_unit_registered_as_organizing_cannot_recommend():
    both_organizing = unit("organizing", "local_standardization_authority")
    with pytest.raises(UnitPairMismatch) as error:
        check_unit_pair("domain", "OU", both_organizing, "RU", unit("organizing", "industry_association"))
    assert error.value.details["recommending_unit_role"] == "organizing"


def test_an_unregistered_unit_can_neither_organize_nor_recommend():
    with pytest.raises(UnitNotRegistered) as error:
        check_unit_pair("regional", "OU", unit("organizing", "local_standardization_authority"), "RU-x", None)
    assert error.value.details == {"rule": "unit_registered", "unit_id": "RU-x", "as_role": "recommending"}


def test_an_endorsing_unit_and_an_applicant_unit_with_the_same_code_are_kept_apart():
    assert unit_id_of(ENDORSING, "91320000X") != unit_id_of(APPLICANT, "91320000X")


def test_a_unit_registered_again_with_other_details_is_revised_and_with_the_same_is_not():
    registered = unit("recommending", "local_government")
    assert not registered.revise(dict(registered.details), CAUSE)
    assert registered.revise({**registered.details, "kind": "industry_department"}, CAUSE)
    assert registered.kind == "industry_department"


# --- quotas (guide §四) --------------------------------------------------------------

def test_a_regional_slot_covers_a_region_and_a_domain_slot_a_first_level_domain():
    assert quota_scope("regional", "320000", None) == "320000"
    assert quota_scope("domain", None, "EQ.07") == "EQ"
    assert quota_scope("domain", None, "EQ") == "EQ"
    assert quota_scope("international", None, "EI.01") is None


@pytest.mark.parametrize("base_type, region, domain", [
    ("regional", None, None), ("domain", None, None), ("domain", None, "ZZ.99")])
def test_a_quota_that_cannot_be_placed_is_refused(base_type, region, domain):
    with pytest.raises(QuotaScopeUnknown):
        quota_scope(base_type, region, domain)


def test_similar_domains_share_one_slot_and_different_ones_do_not():
    def slot_for(domain):
        return quota_slot_id("RU", 2026, "domain", quota_scope("domain", None, domain))

    assert slot_for("EQ.01") == slot_for("EQ.07")
    assert slot_for("EQ.01") != slot_for("EI.01")


def test_the_slot_identity_is_per_unit_year_type_and_scope():
    base = quota_slot_id("RU", 2026, "regional", "320000")
    assert base == quota_slot_id("RU", 2026, "regional", "320000")
    others = [quota_slot_id("RU2", 2026, "regional", "320000"), quota_slot_id("RU", 2027, "regional", "320000"),
              quota_slot_id("RU", 2026, "domain", "320000"), quota_slot_id("RU", 2026, "regional", "330000")]
    assert base not in others and len(set(others)) == 4
    # a unit id with the separator of the readable key does not alias another slot
    assert quota_slot_id("A/2026", 2026, "regional", "x") != quota_slot_id("A", 2026, "2026/regional", "x")


def test_a_recommending_unit_recommends_one_regional_application_per_region():
    slot = a_slot()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    slot.claim(first, uuid.uuid4(), "国家技术标准创新基地（江苏）", RECOMMENDER)
    with pytest.raises(QuotaExceeded) as error:
        slot.claim(second, uuid.uuid4(), "国家技术标准创新基地（苏南）", RECOMMENDER)
    assert error.value.details["held_by"] == first
    assert error.value.details["held_by_name"] == "国家技术标准创新基地（江苏）"
    assert error.value.details["region"] == "320000" and error.value.details["year"] == 2026


def test_a_freed_slot_can_be_claimed_again():
    slot = a_slot()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    slot.claim(first, uuid.uuid4(), "A", RECOMMENDER)
    assert slot.release(first, "recommendation withdrawn", actor=RECOMMENDER)
    slot.claim(second, uuid.uuid4(), "B", RECOMMENDER)
    assert slot.holder == second


def test_the_late_end_of_an_earlier_holder_does_not_free_a_later_holders_claim():
    slot = a_slot()
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    slot.claim(first, uuid.uuid4(), "A", RECOMMENDER)
    slot.release(first, "withdrawn", actor=RECOMMENDER)
    slot.claim(second, uuid.uuid4(), "B", RECOMMENDER)
    assert not slot.release(first, "the applicant withdrew the application", caused_by=CAUSE)
    assert slot.holder == second


@pytest.mark.parametrize("error", [
    QuotaExceeded.of("quota", "taken", held_by="x", quota_slot="RU/2026/regional/320000"),
    UnitPairMismatch.of("unit_pair", "no", base_type="regional"),
    WrongStage.of("stage", "no", stage="queued", allowed=["forwarded"]),
])
def test_errors_reach_the_caller_as_their_own_class_with_their_details(error):
    received = deserialize(serialize(error))
    assert type(received) is type(error) and isinstance(received, InnobaseError)
    assert received.details == error.details and received.code == error.code


# --- what the RPCs accept ------------------------------------------------------------

anything = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30), st.sampled_from(
        ["2026-06-01", "JVBERi0x", "plan.pdf", str(uuid.uuid4()), "goals", "\x00", "\ud800"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(
        st.sampled_from(["name", "content", "text", "head", "date", "zzz"]), inner, max_size=4)),
    max_leaves=8,
)
SCHEMAS = [schemas.Forward, schemas.ReturnToApplicant, schemas.Recommend, schemas.Reasoned,
           schemas.QueueQuery, schemas.ApplicationRef, schemas.QuotaQuery]


@hsettings(max_examples=300, deadline=None)
@given(schema=st.sampled_from(SCHEMAS), payload=st.dictionaries(
    st.sampled_from(["application_id", "plan_version", "opinion", "stamped_plan", "recommendation_letter",
                     "sections", "reason", "state", "limit", "offset", "year", "zzz"]), anything, max_size=6))
def test_any_input_either_loads_or_fails_validation_naming_fields(schema, payload):
    try:
        schema().load(payload)
    except ValidationError as error:
        assert error.messages


def test_a_file_that_is_not_base64_is_named_by_its_field():
    with pytest.raises(ValidationError) as error:
        schemas.Recommend().load({"application_id": str(uuid.uuid4()),
                                  "stamped_plan": {"name": "p.pdf", "content": "%%%"},
                                  "recommendation_letter": {"name": "l.pdf", "content": "JVBERi0x"}})
    assert error.value.messages == {"stamped_plan": {"content": ["Not valid base64."]}}


def test_text_with_a_nul_character_or_only_blanks_is_refused():
    for reason in ("a\x00b", "   "):
        with pytest.raises(ValidationError) as error:
            schemas.Reasoned().load({"application_id": str(uuid.uuid4()), "reason": reason})
        assert "reason" in error.value.messages


def test_returned_sections_are_sections_of_the_plan():
    data = schemas.ReturnToApplicant().load({"application_id": str(uuid.uuid4()), "sections": list(SECTIONS),
                                             "reason": "r"})
    assert data["sections"] == list(SECTIONS)
    with pytest.raises(ValidationError) as error:
        schemas.ReturnToApplicant().load({"application_id": str(uuid.uuid4()), "sections": [], "reason": "r"})
    assert "sections" in error.value.messages


def test_an_application_claiming_the_slot_it_already_holds_was_recommended_meanwhile():
    slot = a_slot()
    application_id = str(uuid.uuid4())
    slot.claim(application_id, uuid.uuid4(), "A", RECOMMENDER)
    with pytest.raises(WrongStage) as error:
        slot.claim(application_id, uuid.uuid4(), "A", RECOMMENDER)
    assert error.value.details["stage"] == RECOMMENDED
