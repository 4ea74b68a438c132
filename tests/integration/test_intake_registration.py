"""The registers of intake through the real service: applicant units register themselves under
their unified social credit code (GB 32100), SAC officers register the organizing and
recommending units, and a draft names units the guide allows for its base type."""
import pytest

from shared.reference.credit_code import make_credit_code
from shared.errors import InvalidInput, NotAuthorized, RuleViolation
from services.intake.errors import (
    AlreadyRegistered,
    ApplicantNotRegistered,
    InvalidCreditCode,
    UnitNotFound,
    UnitPairNotAllowed,
)
from tests.support.applications import (
    OFFICER,
    OverRpc,
    PublishedEvents,
    applicant_caller,
    applicant_details,
    create_draft,
    new_credit_code,
    prepare,
    unit_details,
)
from tests.support.cluster import eventually, running, sql

pytestmark = pytest.mark.integration
VIA = OverRpc()


@pytest.fixture(scope="module")
def cluster():
    with running("intake") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def published(cluster):
    with PublishedEvents() as events:
        yield events


def log_position():
    return sql("intake", "SELECT coalesce(max(id), 0) FROM intake_events")[0][0]


def register(caller, **overrides):
    with VIA.intake(caller) as intake:
        return intake.register_applicant(**applicant_details(caller.organization, **overrides))


def with_wrong_final_check(code):
    return code[:17] + next(c for c in "0123456789" if c != code[17])


# --- applicant units --------------------------------------------------------------------


def test_an_applicant_unit_registers_itself_under_its_credit_code(cluster, published):
    applicant = applicant_caller()
    answer = register(applicant)
    assert answer["unit_id"] == applicant.organization and answer["warnings"] == []
    assert sql("intake", "SELECT name, region_known, credit_code_override FROM applicants WHERE credit_code = %s",
               applicant.organization) == [("江苏省标准化研究院", True, None)]
    event = eventually(lambda: published.of("ApplicantRegistered", unit_id=applicant.organization))[0]
    assert event["payload"]["credit_code"] == applicant.organization
    assert event["payload"]["head"] == {"name": "王建国", "title": "院长", "phone": None, "fax": None, "email": None}
    assert event["payload"]["registered_by"] == applicant.party_id


def test_a_code_failing_the_final_check_is_refused_with_the_reason_and_changes_nothing(cluster):
    applicant = applicant_caller(with_wrong_final_check(new_credit_code()))
    before = log_position()
    with pytest.raises(InvalidCreditCode) as error:
        register(applicant)
    assert [p["rule"] for p in error.value.details["problems"]] == ["final_check"]
    assert error.value.details["field"] == "credit_code"
    assert log_position() == before


def test_a_code_failing_the_organization_code_check_is_refused_naming_that_check(cluster):
    code = new_credit_code()
    wrong = code[:16] + next(c for c in "0123456789X" if c != code[16]) + code[17]
    with pytest.raises(InvalidCreditCode) as error:
        register(applicant_caller(wrong))
    assert "organization_code_check" in [p["rule"] for p in error.value.details["problems"]]


def test_an_officers_override_lets_a_failing_code_register_and_the_registration_records_why(cluster, published):
    applicant = applicant_caller(with_wrong_final_check(new_credit_code()))
    with VIA.intake(applicant) as intake:
        with pytest.raises(NotAuthorized):
            intake.grant_credit_code_override(credit_code=applicant.organization, reason="mine")
    with VIA.intake(OFFICER) as officer:
        override = officer.grant_credit_code_override(credit_code=applicant.organization,
                                                      reason="营业执照原件核验无误，赋码时校验位有误")
    assert [p["rule"] for p in override["problems"]] == ["final_check"]
    answer = register(applicant)
    assert answer["credit_code_override"] == "营业执照原件核验无误，赋码时校验位有误"
    event = eventually(lambda: published.of("ApplicantRegistered", unit_id=applicant.organization))[0]
    assert event["payload"]["credit_code_override"] == "营业执照原件核验无误，赋码时校验位有误"


def test_a_malformed_code_cannot_be_overridden(cluster):
    code = new_credit_code()
    with VIA.intake(OFFICER) as officer:
        with pytest.raises(InvalidCreditCode) as error:
            officer.grant_credit_code_override(credit_code=code[:5] + "I" + code[6:], reason="r")
        assert [p["rule"] for p in error.value.details["problems"]] == ["alphabet"]
        with pytest.raises(RuleViolation) as error:
            officer.grant_credit_code_override(credit_code=code, reason="r")
        assert error.value.rule == "override_not_needed"


def test_an_applicant_registers_only_under_the_code_its_token_names(cluster):
    applicant = applicant_caller()
    before = log_position()
    with VIA.intake(applicant) as intake:
        with pytest.raises(NotAuthorized) as error:
            intake.register_applicant(**applicant_details(new_credit_code()))
    assert error.value.details["rule"] == "own_credit_code"
    assert log_position() == before


def test_an_unknown_region_is_a_warning_recorded_with_the_registration(cluster):
    applicant = applicant_caller(make_credit_code("9", "1", "990101", "MA1B2C3D"))
    answer = register(applicant, region="990101")
    assert [w["warning"] for w in answer["warnings"]] == ["unknown_region"]
    assert answer["region_known"] is False
    assert sql("intake", "SELECT region_known FROM applicants WHERE credit_code = %s",
               applicant.organization) == [(False,)]


def test_a_district_under_a_known_prefecture_is_a_known_region(cluster):
    answer = register(applicant_caller(), region="320105")
    assert answer["warnings"] == [] and answer["region_known"] is True


def test_malformed_details_are_refused_naming_each_field(cluster):
    applicant = applicant_caller()
    before = log_position()
    with VIA.intake(applicant) as intake:
        with pytest.raises(InvalidInput) as error:
            intake.register_applicant(**applicant_details(
                applicant.organization, region="32010", postcode="2100", category="castle",
                contact={"name": "李明", "title": "主任", "phone": "call me", "email": "not-an-email"}))
    assert set(error.value.fields) == {"region", "postcode", "category", "contact"}
    assert set(error.value.fields["contact"]) == {"phone", "email"}
    assert log_position() == before


def test_a_unit_registers_once(cluster):
    applicant = applicant_caller()
    register(applicant)
    with pytest.raises(AlreadyRegistered):
        register(applicant)


# --- organizing and recommending units -------------------------------------------------------


def test_an_officer_registers_organizing_and_recommending_units(cluster, published):
    with VIA.intake(OFFICER) as officer:
        organizing = officer.register_unit(**unit_details("domain", "organizing", "csia-reg"))
        recommending = officer.register_unit(**unit_details("regional", "recommending", "js-gov-reg"))
        units = officer.list_units()
    assert (organizing["kind"], organizing["domain"], organizing["region"]) == ("industry_association", "EI.01", None)
    assert (recommending["kind"], recommending["region"]) == ("local_government", "320000")
    assert {("organizing", "csia-reg"), ("recommending", "js-gov-reg")} <= {(u["role"], u["unit_id"]) for u in units}
    event = eventually(lambda: published.of("UnitRegistered", unit_id="csia-reg"))[0]
    assert event["payload"]["role"] == "organizing" and event["payload"]["domain"] == "EI.01"


def test_only_an_officer_registers_units(cluster):
    with VIA.intake(applicant_caller()) as intake:
        with pytest.raises(NotAuthorized):
            intake.register_unit(**unit_details("regional", "organizing", "self-made"))


def test_a_unit_of_a_kind_foreign_to_its_role_is_refused(cluster):
    details = unit_details("regional", "recommending", "gov-as-organizer")
    details["role"] = "organizing"
    with VIA.intake(OFFICER) as officer:
        with pytest.raises(RuleViolation) as error:
            officer.register_unit(**details)
    assert error.value.rule == "unit_kind"


def test_an_industry_body_names_a_domain_of_the_catalogue(cluster):
    details = unit_details("domain", "organizing", "no-such-domain")
    details["domain"] = "ZZ.99"
    with VIA.intake(OFFICER) as officer:
        with pytest.raises(InvalidInput) as error:
            officer.register_unit(**details)
    assert set(error.value.fields) == {"domain"}


def test_the_register_offers_the_units_the_guide_allows_for_a_base_type(cluster):
    prepare(VIA, "regional")
    prepare(VIA, "domain")
    with VIA.intake(applicant_caller()) as intake:
        regional = intake.list_units(base_type="regional")
        domain = intake.list_units(base_type="domain", role="recommending")
    assert {(u["role"], u["kind"]) for u in regional} == {("organizing", "local_standardization_authority"),
                                                         ("recommending", "local_government")}
    assert {u["kind"] for u in domain} == {"industry_department", "local_government"}


# --- drafting ---------------------------------------------------------------------------


def test_a_draft_needs_a_registered_applicant_unit(cluster):
    setup = prepare(VIA)
    with VIA.intake(applicant_caller()) as intake:
        with pytest.raises(ApplicantNotRegistered):
            create_draft(intake, setup)


def test_a_draft_names_units_of_the_register(cluster):
    setup = prepare(VIA)
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(UnitNotFound) as error:
            create_draft(intake, setup, recommending_unit_id="nobody")
    assert error.value.details["field"] == "recommending_unit_id"


def test_a_regional_base_cannot_be_organized_by_an_industry_association(cluster):
    regional = prepare(VIA, "regional")
    industry = prepare(VIA, "domain")
    before = log_position()
    with VIA.intake(regional.applicant) as intake:
        with pytest.raises(UnitPairNotAllowed) as error:
            create_draft(intake, regional, organizing_unit_id=industry.organizing_unit_id)
    assert error.value.rule == "organizing_unit_kind"
    assert error.value.details["allowed"] == ["local_standardization_authority"]
    assert log_position() == before


def test_a_regional_base_names_a_region_and_a_domain_base_a_domain(cluster):
    regional = prepare(VIA, "regional")
    with VIA.intake(regional.applicant) as intake:
        with pytest.raises(InvalidInput) as error:
            create_draft(intake, regional, domain="EI.01")
    assert set(error.value.fields) == {"domain"}


def test_a_draft_is_prefilled_from_the_registration_and_announced(cluster, published):
    setup = prepare(VIA, "domain")
    with VIA.intake(setup.applicant) as intake:
        draft = create_draft(intake, setup)
        application = intake.get_application(application_id=draft["application_id"])
    basic = application["sections"]["basic"]
    assert basic["head"]["name"] == "王建国" and basic["contact"]["email"] == "liming@example.cn"
    assert (basic["domain"], basic["region"]) == ("EI.01", None)
    assert application["stage"] == "draft" and application["open_sections"][0] == "basic"
    event = eventually(lambda: published.of("ApplicationDrafted", application_id=draft["application_id"]))[0]
    assert event["payload"]["applicant_organization"] == setup.credit_code
    assert event["payload"]["organizing_unit_id"] == setup.organizing_unit_id
