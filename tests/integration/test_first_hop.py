"""The first hop through the real services: an applicant submits in intake, the
organizing unit finds the review item in its queue in endorsement."""
import concurrent.futures
import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from shared.errors import AuthenticationFailed, ConcurrencyConflict, InnobaseError, InvalidInput, \
    NotAuthorized, RuleViolation
from tests.support.applications import OverRpc, complete_draft, create_draft, prepare, submit_complete, token_for
from tests.support.cluster import eventually, rpc, running, sql, token

pytestmark = pytest.mark.integration
NAME = "国家技术标准创新基地（江苏）"
VIA = OverRpc()


@pytest.fixture(scope="module")
def cluster():
    with running("intake", "endorsement", "formal_review", "expert_review", "notification") as cluster:
        yield cluster


def new_draft(setup, **overrides):
    with VIA.intake(setup.applicant) as intake:
        return create_draft(intake, setup, **overrides)


def queue_of(unit_token):
    with rpc(unit_token) as services:
        return services.endorsement.organizing_queue()


def intake_log_position():
    return sql("intake", "SELECT coalesce(max(id), 0) FROM intake_events")[0][0]


def test_every_service_answers_health_with_its_name_status_and_log_position(cluster):
    with rpc() as services:
        for name in ("intake", "endorsement", "formal_review", "expert_review", "notification"):
            health = getattr(services, name).health()
            assert health["service"] == name and health["status"] == "ok"
            assert isinstance(health["log_position"], int)


def test_a_submitted_application_appears_once_in_its_organizing_units_queue(cluster):
    setup = prepare(VIA)
    receipt = submit_complete(VIA, setup)
    assert receipt["stage"] == "submitted" and receipt["plan_version"] == 1

    clerk = token("organizing_unit", org=setup.organizing_unit_id)
    queue = eventually(lambda: queue_of(clerk)["items"])
    assert [(i["application_id"], i["plan_version"], i["digest"]) for i in queue] == [
        (receipt["application_id"], 1, receipt["digest"])]
    assert queue_of(clerk)["counts"] == {"queued": 1}
    # the effect is tied to the upstream event that caused it
    positions = sql("endorsement", "SELECT position FROM processed_messages WHERE application_id = %s"
                                   " ORDER BY position", receipt["application_id"])
    published = sql("intake", "SELECT id FROM intake_events WHERE originator_id = %s"
                              " AND (topic LIKE %s OR topic LIKE %s) ORDER BY id",
                    receipt["application_id"], "%Drafted", "%Submitted")
    assert len(published) == 2 and positions == published


def test_another_units_queue_does_not_show_the_item(cluster):
    setup = prepare(VIA)
    submit_complete(VIA, setup)
    eventually(lambda: queue_of(token("organizing_unit", org=setup.organizing_unit_id))["items"])
    assert queue_of(token("organizing_unit", org="OU-someone-else"))["items"] == []


def test_an_applicant_acts_only_on_its_own_application(cluster):
    draft = complete_draft(VIA, prepare(VIA))
    before = intake_log_position()
    with rpc(token("applicant")) as services:
        with pytest.raises(NotAuthorized) as error:
            services.intake.submit(application_id=draft["application_id"])
    assert error.value.code == "not_your_application"
    assert intake_log_position() == before


def test_a_missing_or_expired_token_is_refused_and_changes_nothing(cluster):
    before = intake_log_position()
    with rpc() as services:
        with pytest.raises(AuthenticationFailed):
            services.intake.create_draft(base_type="regional", name=NAME, organizing_unit_id="o",
                                         recommending_unit_id="r")
    with rpc(token("applicant", ttl=-1)) as services:
        with pytest.raises(AuthenticationFailed) as error:
            services.intake.my_applications()
    assert error.value.details["rule"] == "token_expired"
    assert intake_log_position() == before


def test_an_organizing_unit_cannot_draft_an_application(cluster):
    with rpc(token("organizing_unit")) as services:
        with pytest.raises(NotAuthorized):
            services.intake.create_draft(base_type="regional", name=NAME, organizing_unit_id="o",
                                         recommending_unit_id="r")


def test_bad_input_gets_a_typed_error_naming_each_field_and_changes_nothing(cluster):
    setup = prepare(VIA)
    before = intake_log_position()
    with rpc(token_for(setup.applicant)) as services:
        with pytest.raises(InvalidInput) as error:
            services.intake.create_draft(base_type="castle", name=7, recommending_unit_id="")
    assert set(error.value.fields) == {"base_type", "name", "organizing_unit_id", "recommending_unit_id"}
    with pytest.raises(RuleViolation) as error:
        new_draft(setup, name="江苏省标准化基地")
    assert error.value.rule == "base_name"
    assert intake_log_position() == before


payloads = st.dictionaries(
    st.sampled_from(["base_type", "name", "organizing_unit_id", "recommending_unit_id", "request_id",
                     "application_id", "reason", "zzz"]),
    st.one_of(st.none(), st.integers(), st.text(max_size=300), st.lists(st.integers(), max_size=3),
              st.sampled_from(["regional", "domain", NAME, str(uuid.uuid4())])),
    max_size=6,
)


@hsettings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["create_draft", "submit", "withdraw", "get_application"]), payload=payloads)
def test_random_payloads_get_typed_errors_and_change_nothing(cluster, method, payload):
    applicant = token("applicant")
    before = intake_log_position()
    with rpc(applicant) as services:
        try:
            getattr(services.intake, method)(**payload)
        except InnobaseError:
            pass  # typed: the only acceptable failure
        else:
            raise AssertionError(f"{method} accepted {payload!r}")
    assert intake_log_position() == before


def test_concurrent_submissions_of_one_draft_submit_it_once(cluster):
    setup = prepare(VIA)
    draft = complete_draft(VIA, setup)

    def submit(_):
        with rpc(token_for(setup.applicant)) as services:
            try:
                return services.intake.submit(application_id=draft["application_id"])["plan_version"]
            except (ConcurrencyConflict, RuleViolation) as error:
                return type(error).__name__

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(submit, range(6)))
    assert outcomes.count(1) == 1, outcomes
    assert sql("intake", "SELECT count(*) FROM intake_events WHERE originator_id = %s AND topic LIKE %s",
               draft["application_id"], "%Submitted") == [(1,)]


def test_the_same_create_request_twice_creates_one_draft(cluster):
    setup = prepare(VIA)
    first = new_draft(setup, request_id="portal-request-1")
    second = new_draft(setup, request_id="portal-request-1")
    assert first["application_id"] == second["application_id"]
    with VIA.intake(setup.applicant) as intake:
        assert len(intake.my_applications()) == 1


def test_a_withdrawn_application_leaves_the_queue(cluster):
    setup = prepare(VIA)
    receipt = submit_complete(VIA, setup)
    with VIA.intake(setup.applicant) as intake:
        intake.withdraw(application_id=receipt["application_id"], reason="merged with a partner's application")
    clerk = token("organizing_unit", org=setup.organizing_unit_id)
    eventually(lambda: queue_of(clerk)["counts"] == {"closed": 1})
