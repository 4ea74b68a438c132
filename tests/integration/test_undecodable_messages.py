"""No message dropped: a body kombu cannot decode (not JSON, not UTF-8, a content type nobody
accepts) is parked in `<service>.dead` with the reason and its raw bytes, where ops see it with
`innobase deadletters list` (issue 18, "No message dropped"). Nameko acks and drops such a body,
an event's or an RPC request's; an RPC request's caller is also answered with a typed error."""
import base64
import json
import subprocess
import sys
import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from nameko.exceptions import deserialize

from shared import settings
from shared.consumer import UNDECODABLE
from shared.deadletters import list_dead_letters, replay_dead_letters
from shared.errors import InvalidInput
from shared.outbox import events_exchange
from tests.support.cluster import eventually, rpc, running, token

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


# --- RPC requests ---------------------------------------------------------------------------

RPC_EXCHANGE = Exchange("nameko-rpc", type="topic", durable=True)


def request_raw(body: bytes, content_type: str, content_encoding: str = "utf-8", reply: bool = True,
                method: str = "health", wait: float = 10) -> tuple[str, dict | None, float]:
    """Publish an RPC request to `rpc-endorsement` as nameko's client would, but with a body of our
    choosing; (message id, the reply's body or None, seconds until it came)."""
    message_id, correlation_id, reply_key = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    replies = []
    with Connection(settings.get().amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        reply_queue = Queue(f"rpc.reply-test-{reply_key}", exchange=RPC_EXCHANGE, routing_key=reply_key,
                            exclusive=True, auto_delete=True)
        reply_queue.bind(channel).declare()
        extra = {"reply_to": reply_key, "correlation_id": correlation_id} if reply else {}
        started = time.monotonic()
        conn.Producer(channel=channel).publish(
            body, exchange=RPC_EXCHANGE, routing_key=f"endorsement.{method}", content_type=content_type,
            content_encoding=content_encoding, delivery_mode=2, message_id=message_id, **extra)
        if reply:
            with conn.Consumer(reply_queue, callbacks=[lambda body, message: (replies.append(
                    (body, message.properties.get("correlation_id"))), message.ack())], accept=["json"]):
                try:
                    conn.drain_events(timeout=wait)
                except TimeoutError:
                    pass
        seconds = time.monotonic() - started
    if not replies:
        return message_id, None, seconds
    (answer, answered_correlation_id), = replies
    assert answered_correlation_id == correlation_id
    return message_id, answer, seconds


@pytest.mark.parametrize("body, content_type, encoding", [
    (b"\xff not json", "application/json", "utf-8"),
    (b"{\"args\": [], \"kwargs\"", "application/json", "utf-8"),
    (b"\xff not json", "application/x-unknown", "binary"),
])
def test_an_rpc_request_that_cannot_be_decoded_is_parked_and_its_caller_answered_at_once(
        endorsement, body, content_type, encoding):
    message_id, answer, seconds = request_raw(body, content_type, encoding)
    assert answer is not None, "the caller was left to wait for its timeout"
    assert seconds < 5 and answer["result"] is None
    error = deserialize(answer["error"])
    assert isinstance(error, InvalidInput) and error.details["rule"] == "undecodable_request"
    assert list(error.fields) == ["body"] and content_type in error.fields["body"][0]

    letter = parked(message_id)
    assert letter["error_type"] == UNDECODABLE and letter["origin"] == "rpc"
    assert letter["routing_key"] == "endorsement.health"
    assert content_type in letter["error"]
    raw = base64.b64decode(letter["body_base64"]) if "body_base64" in letter else letter["body"].encode()
    assert raw == body


def test_an_undecodable_rpc_request_without_a_reply_address_is_parked_and_the_service_answers_the_next(endorsement):
    message_id, answer, _ = request_raw(b"\xfe", "application/json", reply=False)
    assert answer is None
    assert parked(message_id)["origin"] == "rpc"
    with rpc(token("ops")) as services:
        assert services.endorsement.health()["status"] == "ok"
    out = subprocess.run([sys.executable, "-m", "innobase.cli", "deadletters", "list", "endorsement"],
                         capture_output=True, text=True, timeout=60).stdout
    assert f"{message_id} endorsement.health" in out and "(an RPC request, never replayed)" in out
    # replaying the dead letters leaves the request where it is: its caller is long gone
    assert message_id not in {d["event_id"] for d in replay_dead_letters("endorsement")}
    assert parked(message_id)["origin"] == "rpc"
