"""Bad input anywhere in a payload gets a typed error naming the field, and changes nothing
(issue 18, "Typed errors for every bad input"): control characters in one-line fields, a credit
code of the wrong length, a NUL where SQL would have choked on it, a file name that tries to
climb folders or paint the terminal."""
import base64

import pytest

from innobase.samples import tiny_pdf
from services.intake.errors import InvalidCreditCode
from shared.errors import InvalidInput, RuleViolation
from tests.support.applications import (
    OFFICER,
    OverRpc,
    applicant_caller,
    applicant_details,
    create_draft,
    new_credit_code,
    prepare,
    unit_details,
)
from tests.support.cluster import rpc, running, sql, token

pytestmark = pytest.mark.integration
VIA = OverRpc()


@pytest.fixture(scope="module")
def cluster():
    with running("intake", "expert_review") as cluster:
        yield cluster


def log_position():
    return sql("intake", "SELECT coalesce(max(id), 0) FROM intake_events")[0][0]


@pytest.mark.parametrize("control", ["\x1b[31m", "\x07", "\x7f", "\x85", "\n", "\r", "\t", "\u2028"])
def test_a_control_character_in_a_one_line_field_is_invalid_input_naming_that_field(cluster, control):
    applicant = applicant_caller()
    before = log_position()
    with VIA.intake(applicant) as intake:
        with pytest.raises(InvalidInput) as error:
            intake.register_applicant(**applicant_details(
                applicant.organization, name=f"江苏{control}研究院",
                contact={"name": "李明", "title": f"主任{control}", "phone": "025-12345678",
                         "email": "li@example.cn"}))
    assert set(error.value.fields) == {"name", "contact"}
    assert set(error.value.fields["contact"]) == {"title"}
    assert log_position() == before


def test_a_trailing_newline_does_not_slip_past_a_pattern(cluster):
    applicant = applicant_caller()
    with VIA.intake(applicant) as intake:
        with pytest.raises(InvalidInput) as error:
            intake.register_applicant(**applicant_details(applicant.organization, region="320000\n",
                                                          postcode="210000\n"))
    assert set(error.value.fields) == {"region", "postcode"}


def test_a_reason_keeps_its_line_breaks_but_not_other_control_characters(cluster):
    code = new_credit_code()
    wrong = code[:17] + next(c for c in "0123456789" if c != code[17])
    with VIA.intake(OFFICER) as officer:
        with pytest.raises(InvalidInput) as error:
            officer.grant_credit_code_override(credit_code=wrong, reason="原件核验\x1b[2J无误")
        assert set(error.value.fields) == {"reason"}
        granted = officer.grant_credit_code_override(credit_code=wrong, reason="原件核验无误\r\n赋码时校验位有误")
    assert granted["reason"] == "原件核验无误\r\n赋码时校验位有误"


@pytest.mark.parametrize("length", [0, 1, 17, 19, 40])
def test_a_credit_code_of_the_wrong_length_is_an_invalid_credit_code(cluster, length):
    code = (new_credit_code() * 3)[:length]
    before = log_position()
    with VIA.intake(OFFICER) as officer:
        if length:
            with pytest.raises(InvalidCreditCode) as error:
                officer.register_unit(**unit_details("regional", "recommending", f"U-bad-{length}"), credit_code=code)
            assert "length" in [p["rule"] for p in error.value.details["problems"]]
            with pytest.raises(InvalidCreditCode):
                officer.grant_credit_code_override(credit_code=code, reason="r")
        with pytest.raises((InvalidCreditCode, InvalidInput)) as error:
            with VIA.intake(applicant_caller(code or "x")) as intake:
                intake.register_applicant(**applicant_details(code))
        if length:
            assert isinstance(error.value, InvalidCreditCode)
    assert log_position() == before


def test_a_nul_in_a_declared_conflict_is_invalid_input_and_the_error_shows_no_sql(cluster):
    with rpc(token("officer", party="officer-bad-input", org="SAC")) as services:
        with pytest.raises(InvalidInput) as error:
            services.expert_review.declare_conflict(expert_id="expert-bad-input", organization=new_credit_code(),
                                                    reason="亲属\x00任职")
    assert set(error.value.fields) == {"reason"}
    text = str(error.value).upper()
    assert not any(word in text for word in ("SELECT", "INSERT", "PSYCOPG", "SQL", "TRACEBACK"))


def test_an_uploaded_file_name_is_stored_without_folders_or_escapes_and_its_original_kept(cluster):
    setup = prepare(VIA)
    with VIA.intake(setup.applicant) as intake:
        draft = create_draft(intake, setup)
        stored = intake.upload_attachment(application_id=draft["application_id"],
                                          name="../../\x1b[31m证明\r\n材料.pdf",
                                          content=base64.b64encode(tiny_pdf("named")).decode())
        assert stored["name"] == "证明材料.pdf"
        assert stored["original_name"] == "../../\\x1b[31m证明\\r\\n材料.pdf"
        before = log_position()
        with pytest.raises(RuleViolation) as error:
            intake.upload_attachment(application_id=draft["application_id"], name="stub.pdf",
                                     content=base64.b64encode(b"%PDF-").decode())
        assert error.value.rule == "pdf_unreadable"
        assert log_position() == before
