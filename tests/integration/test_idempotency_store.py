"""The gateway's memory of Idempotency-Keys, on the real PostgreSQL: every attempt and answer
is a row written once; a key answers its first answer, refuses another body, waits while its
first request runs, and goes ahead again after a failure inside."""
import uuid

import pytest

from services.gateway.idempotency import Conflict, IdempotencyStore, request_digest
from tests.support.cluster import sql

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def store():
    return IdempotencyStore()


def test_a_key_answers_its_first_answer_and_refuses_another_body(store):
    key, digest = uuid.uuid4().hex, request_digest("POST", "/api/v1/applications", b'{"a": 1}')
    attempt, remembered = store.begin("account-1", key, digest)
    assert (attempt, remembered) == (1, None)
    with pytest.raises(Conflict) as running:
        store.begin("account-1", key, digest)
    assert running.value.reason == "in_flight"
    store.finish("account-1", key, attempt, 201, {"Content-Type": "application/json"}, b'{"id": 7}')
    again, remembered = store.begin("account-1", key, digest)
    assert again == 1 and (remembered.status, remembered.body) == (201, b'{"id": 7}')
    with pytest.raises(Conflict) as other:
        store.begin("account-1", key, request_digest("POST", "/api/v1/applications", b'{"a": 2}'))
    assert other.value.reason == "other_body"
    assert store.begin("account-2", key, digest)[1] is None  # keys are per account


def test_after_a_failure_inside_the_same_key_goes_ahead_as_a_new_attempt_and_nothing_is_rewritten(store):
    key, digest = uuid.uuid4().hex, request_digest("POST", "/api/v1/panels", b"{}")
    attempt, _ = store.begin("account-1", key, digest)
    store.abandon("account-1", key, attempt)
    retry, remembered = store.begin("account-1", key, digest)
    assert (retry, remembered) == (2, None)
    store.finish("account-1", key, retry, 201, {}, b"{}")
    rows = sql("gateway", "SELECT attempt, status FROM idempotency_answers WHERE key = %s ORDER BY attempt", key)
    assert rows == [(1, None), (2, 201)]
