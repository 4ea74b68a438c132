"""No message dropped: a body kombu cannot decode (not JSON, not UTF-8, a content type nobody
accepts) is parked in `<service>.dead` with the reason and its raw bytes, where ops see it with
`innobase deadletters list` (issue 18, "No message dropped"). Nameko acks and drops such a body."""
import base64
import json
import subprocess
import sys
import uuid

import pytest
from kombu import Connection

from shared import settings
from shared.consumer import UNDECODABLE
from shared.deadletters import list_dead_letters
from shared.outbox import events_exchange
from tests.support.cluster import eventually, running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def endorsement():
    with running("endorsement") as cluster:
        yield cluster


def publish_raw(body: bytes, content_type: str, content_encoding: str = "utf-8") -> str:
    message_id = str(uuid.uuid4())
    exchange = events_exchange()
    with Connection(settings.get().amqp_uri, transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(body, exchange=exchange, routing_key="intake.ApplicationSubmitted.v1",
                                content_type=content_type, content_encoding=content_encoding,
                                delivery_mode=2, message_id=message_id, declare=[exchange])
    return message_id


def parked(message_id: str) -> dict:
    letters = eventually(lambda: [d for d in list_dead_letters("endorsement") if d["event_id"] == message_id],
                         timeout=30)
    return letters[0]


@pytest.mark.parametrize("body, content_type, encoding", [
    (b"\xff not json", "application/json", "utf-8"),
    (b"{\"type\": \"ApplicationSubmitted\"", "application/json", "utf-8"),
    (b"\xff not json", "application/x-unknown", "binary"),
    ("{}".encode("utf-16"), "application/json", "utf-8"),  # what it says it is not
])
def test_a_body_that_cannot_be_decoded_is_parked_with_the_reason_and_its_raw_bytes(endorsement, body,
                                                                                   content_type, encoding):
    message_id = publish_raw(body, content_type, encoding)
    letter = parked(message_id)
    assert letter["error_type"] == UNDECODABLE
    assert content_type in letter["error"]
    assert letter["content_type"] == content_type
    raw = base64.b64decode(letter["body_base64"]) if "body_base64" in letter else letter["body"].encode()
    assert raw == body
    assert letter["routing_key"] == "intake.ApplicationSubmitted.v1"


def test_ops_see_it_with_deadletters_list(endorsement):
    message_id = publish_raw(b"\xff not json", "application/x-unknown", "binary")
    parked(message_id)
    out = subprocess.run([sys.executable, "-m", "innobase.cli", "deadletters", "list", "endorsement", "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    [letter] = [d for d in json.loads(out.stdout) if d["event_id"] == message_id]
    assert letter["error_type"] == UNDECODABLE
    assert base64.b64decode(letter["body_base64"]) == b"\xff not json"
    text = subprocess.run([sys.executable, "-m", "innobase.cli", "deadletters", "list", "endorsement"],
                          capture_output=True, text=True, timeout=60).stdout
    assert f"{UNDECODABLE}: the body cannot be decoded" in text


def test_the_service_goes_on_consuming_after_a_body_it_cannot_decode(endorsement):
    first = publish_raw(b"\xff", "application/json")
    parked(first)
    # the queue still flows: a second undecodable message behind it is parked too
    second = publish_raw(b"\xfe", "text/x-nonsense", "binary")
    assert parked(second)["error_type"] == UNDECODABLE
