"""A service's dead-letter queue, `<service>.dead`: what a parked message carries (its body byte
for byte, its content type and encoding, the headers ops read) and the confirmed publish that
parks it. The event consumer (`shared.consumer`) parks events, the RPC entrypoint
(`shared.rpc_requests`) requests; `innobase deadletters` (`shared.deadletters`) reads them.
"""
from __future__ import annotations

from datetime import datetime, timezone

from kombu import Connection, Exchange, Queue

from shared import settings

ATTEMPT_HEADER = "x-innobase-attempt"
ERROR_HEADER = "x-innobase-error"
ERROR_TYPE_HEADER = "x-innobase-error-type"
ROUTING_KEY_HEADER = "x-innobase-routing-key"
FAILED_AT_HEADER = "x-innobase-failed-at"
ORIGIN_HEADER = "x-innobase-origin"  # "rpc" for a parked RPC request; events carry none
DEFAULT_EXCHANGE = Exchange("", type="direct")
UNDECODABLE = "UndecodableMessage"


def queue_names(service: str) -> dict:
    delays = settings.get().retry_delays_ms
    return {
        "events": f"{service}.events",
        "dead": f"{service}.dead",
        "retry": [f"{service}.events.retry.{n}" for n in range(1, len(delays) + 1)],
    }


def undecodable_reason(message, exc: Exception) -> str:
    """Why kombu could not decode the body: the decoder's error, the content type and encoding
    the message declared, its size."""
    return (f"the body cannot be decoded: {type(exc).__name__}: {exc}"[:1000]
            + f" (content type {message.content_type!r}, encoding {message.content_encoding!r},"
            f" {len(message.body or b'')} bytes)")


def republish(amqp_uri: str, message, queue: str, attempt: int, error_type: str, error: str,
              declare: bool = False, **headers) -> None:
    """Publish `message` as it came (body, content type and encoding, message id) to `queue`,
    with the error headers, confirmed by the broker before the caller acks the original.
    `declare` declares the queue first (a service that consumes no events has no dead-letter
    queue yet, and the broker drops what no queue takes)."""
    all_headers = dict(message.headers or {})
    all_headers.update({
        ATTEMPT_HEADER: attempt,
        ERROR_TYPE_HEADER: error_type,
        ERROR_HEADER: error[:2000],
        ROUTING_KEY_HEADER: all_headers.get(ROUTING_KEY_HEADER) or message.delivery_info.get("routing_key"),
        FAILED_AT_HEADER: datetime.now(timezone.utc).isoformat(),
        **headers,
    })
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        if declare:
            Queue(queue, durable=True).bind(conn.default_channel).declare()
        conn.Producer().publish(
            message.body,
            exchange=DEFAULT_EXCHANGE,
            routing_key=queue,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            headers=all_headers,
            delivery_mode=2,
            message_id=message.properties.get("message_id"),
            retry=True,
            retry_policy={"max_retries": 5, "interval_start": 0.2, "interval_step": 0.5},
        )
