"""Every RPC of intake against random payloads (hypothesis): wrong types, missing and unknown
fields, oversized text, malformed codes, ids of things that exist and of things that do not.
Text carries NUL, lone surrogates, ANSI escapes and other control characters; credit codes come
in wrong lengths. Each is answered with a typed error that names the field or rule, shows no SQL
or stack trace, and nothing in the log changes; the few payloads that happen to be valid get an ordinary answer."""
import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from shared.auth import Caller
from shared.contracts import SECTIONS
from innobase.samples import unit_details
from services.intake.errors import InvalidCreditCode
from shared.errors import InnobaseError, InvalidInput, RuleViolation
from tests.support.applications import OFFICER, OverRpc, create_draft, new_credit_code, prepare, token_for
from tests.support.cluster import rpc, running, sql

pytestmark = pytest.mark.integration
VIA = OverRpc()

# The fields each RPC knows, plus one it does not.
FIELDS = {
    "register_applicant": ["credit_code", "name", "category", "region", "head", "contact", "postcode", "address"],
    "grant_credit_code_override": ["credit_code", "reason"],
    "register_unit": ["unit_id", "name", "role", "kind", "region", "domain", "credit_code", "contact", "address",
                      "postcode"],
    "list_units": ["role", "base_type"],
    "get_applicant": ["credit_code"],
    "create_draft": ["base_type", "name", "organizing_unit_id", "recommending_unit_id", "region", "domain",
                     "request_id"],
    "save_section": ["application_id", "section", "content"],
    "upload_attachment": ["application_id", "name", "content"],
    "get_attachment": ["application_id", "sha256"],
    "check": ["application_id"],
    "grant_late_submission": ["application_id", "reason"],
    "submit": ["application_id"],
    "withdraw": ["application_id", "reason"],
    "get_application": ["application_id", "version"],
    "versions": ["application_id"],
    "diff": ["application_id", "from_version", "to_version"],
    "plan_pdf": ["application_id", "version"],
    "my_applications": ["stage", "limit", "offset"],
    "audit_history": ["application_id"],
    "audit_state_at": ["application_id", "at"],
    "audit_verify": [],
}
READS = {"list_units", "get_applicant", "get_attachment", "check", "get_application", "versions", "diff", "plan_pdf",
         "my_applications", "audit_history", "audit_state_at", "audit_verify"}
SECTION_FIELDS = ["name", "region", "domain", "organizing_unit_id", "recommending_unit_id", "head", "contact",
                  "significance", "necessity", "items", "goal", "key_tasks", "indicators", "schedule", "opinion",
                  "date", "target_value", "milestones"]


@pytest.fixture(scope="module")
def world():
    with running("intake"):
        setup = prepare(VIA)
        with VIA.intake(setup.applicant) as intake:
            draft = create_draft(intake, setup)
        auditor = Caller("auditor-fuzz", "auditor", "SAC")
        with rpc(token_for(setup.applicant)) as applicant, rpc(token_for(OFFICER)) as officer, \
                rpc(token_for(auditor)) as reader:
            yield {"setup": setup, "application_id": draft["application_id"],
                   "proxies": {"applicant": applicant, "officer": officer, "auditor": reader}}


def log_position():
    return sql("intake", "SELECT coalesce(max(id), 0) FROM intake_events")[0][0]


# What a hostile or broken client sends in text: NUL, lone surrogates, ANSI escapes and other
# control characters, line breaks in one-line fields, a trailing newline after a valid code.
HOSTILE = ["\x00", "\ud800", "\udfff", "\x1b[31m", "\x07", "\x7f", "\x85", "\r\n", "\u2028", "\t"]


def hostile_text():
    plain = st.sampled_from(["江苏省标准化研究院", "320000", "EI.01", "a.pdf", "张华", ""])
    return st.builds(lambda a, bad, b: a + bad + b, plain, st.sampled_from(HOSTILE), plain)


def wrong_length_credit_codes():
    return st.builds(lambda code, length: (code * 3)[:length], st.just(new_credit_code()),
                     st.sampled_from([1, 17, 19, 36]))


def no_internals_in(error):
    text = str(error).upper()
    assert not any(word in text for word in ("SELECT ", "INSERT ", "PSYCOPG", "SQLALCHEMY", "TRACEBACK")), error


def scalars(known):
    return st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-2**63, max_value=2**63), st.floats(allow_nan=True),
        st.text(max_size=40), st.text(min_size=18, max_size=18, alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        st.just("長" * 20_001), st.just("x" * 100_000),
        hostile_text(), wrong_length_credit_codes(),
        st.sampled_from(["regional", "domain", "international", "organizing", "recommending", "officer",
                         "local_government", "industry_association", "EI.01", "320000", "990101", "210029",
                         "国家技术标准创新基地（江苏）", "2027-01-01", "2030-02-30", "a" * 64, "JVBERi0xLjQ=", "%PDF-",
                         "contact@example.cn", "2026-06-01T10:00:00+08:00", *SECTIONS, str(uuid.uuid4()), new_credit_code(), known["credit_code"],
                         known["application_id"], known["organizing_unit_id"]]),
    )


def values(known):
    leaf = scalars(known)
    nested = st.recursive(
        leaf,
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(st.sampled_from(SECTION_FIELDS + ["zzz"]), children, max_size=5)),
        max_leaves=12,
    )
    return nested


def payloads(method, known):
    return st.dictionaries(st.sampled_from(FIELDS[method] + ["unexpected"]), values(known), max_size=7)


@pytest.mark.parametrize("role", ["applicant", "officer", "auditor"])
@pytest.mark.parametrize("method", sorted(FIELDS))
def test_random_payloads_get_typed_errors_naming_the_field_and_change_nothing(world, method, role):
    setup = world["setup"]
    known = {"credit_code": setup.credit_code, "application_id": world["application_id"],
             "organizing_unit_id": setup.organizing_unit_id}
    intake = getattr(world["proxies"][role], "intake")

    @hsettings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(payload=payloads(method, known))
    def one(payload):
        before = log_position()
        try:
            getattr(intake, method)(**payload)
        except InvalidInput as error:
            assert error.fields, error
            no_internals_in(error)
            assert log_position() == before, payload
        except RuleViolation as error:
            assert error.rule, error
            no_internals_in(error)
            assert log_position() == before, payload
        except InnobaseError as error:
            no_internals_in(error)
            assert log_position() == before, payload
        else:
            # only a payload that is valid in every respect gets through; reads change nothing
            if method in READS:
                assert log_position() == before, payload

    one()


ONE_LINE_FIELDS = ["name", "address", "postcode", "region"]


def test_hostile_text_in_any_one_line_field_of_a_valid_registration_is_invalid_input_naming_it(world):
    officer = world["proxies"]["officer"].intake

    @hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(field=st.sampled_from(ONE_LINE_FIELDS), bad=st.sampled_from(HOSTILE), at=st.integers(0, 3))
    def one(field, bad, at):
        details = unit_details("regional", "recommending", f"U-{uuid.uuid4().hex[:8]}")
        details[field] = details[field][:at] + bad + details[field][at:]
        before = log_position()
        with pytest.raises(InvalidInput) as error:
            officer.register_unit(**details)
        assert list(error.value.fields) == [field], error.value
        assert log_position() == before

    one()


def test_a_credit_code_of_any_wrong_length_is_an_invalid_credit_code(world):
    officer = world["proxies"]["officer"].intake

    @hsettings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(code=wrong_length_credit_codes())
    def one(code):
        before = log_position()
        with pytest.raises(InvalidCreditCode) as error:
            officer.register_unit(**unit_details("regional", "recommending", f"U-{uuid.uuid4().hex[:8]}"),
                                  credit_code=code)
        assert "length" in [p["rule"] for p in error.value.details["problems"]]
        with pytest.raises(InvalidCreditCode):
            officer.grant_credit_code_override(credit_code=code, reason="原件核验")
        assert log_position() == before

    one()
