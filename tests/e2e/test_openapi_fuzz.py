"""schemathesis against the gateway's own OpenAPI document, as an applicant and as an officer:
no answer is a server error, every answer has a documented status and content type and matches
its schema. Bounded in examples so that it ends in minutes."""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings

from tests.e2e.test_http import ADMIN, applicant_account, system, mailbox  # noqa: F401  (fixtures)
from tests.support.http import Browser

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def api_schema(system):  # noqa: F811
    return schemathesis.openapi.from_url(system["url"] + "/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def parties(system):  # noqa: F811
    applicant, _, _ = applicant_account(system)
    officer = Browser(system["url"]).open()
    officer.sign_in(*ADMIN)
    return {"applicant": applicant, "officer": officer}


@schema.parametrize()
@hypothesis_settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("party", ["applicant", "officer"])
def test_no_request_the_schema_allows_gets_a_server_error_or_an_undocumented_answer(case, party, parties):
    browser = parties[party]
    case.call_and_validate(session=browser.http, headers={"X-CSRF-Token": browser.csrf})
