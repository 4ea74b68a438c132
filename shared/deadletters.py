"""Ops' view of parked messages: list them with their errors, replay them.

A replayed message goes back to its service's events queue with its attempt
count reset; if it fails again it is retried and parked again, never lost.
A parked RPC request (`origin` "rpc": its body could not be decoded) is listed
but never replayed: its caller was answered, and an events queue is no place
for it.
"""
from __future__ import annotations

import base64
import json

from kombu import Connection

from shared import settings
from shared.parking import ATTEMPT_HEADER, DEFAULT_EXCHANGE, ERROR_HEADER, ERROR_TYPE_HEADER, \
    FAILED_AT_HEADER, ORIGIN_HEADER, ROUTING_KEY_HEADER, queue_names


def _drain(channel, queue: str):
    """Every message in the queue, unacked (so they return if we stop early)."""
    messages = []
    while True:
        message = channel.basic_get(queue, no_ack=False)
        if message is None:
            return messages
        messages.append(message)


def _describe(message) -> dict:
    headers = message.headers or {}
    raw = message.body if isinstance(message.body, bytes) else None
    body = raw.decode("utf-8", "replace") if raw is not None else message.body
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    return {
        "event_id": message.properties.get("message_id"),
        "routing_key": headers.get(ROUTING_KEY_HEADER),
        "error_type": headers.get(ERROR_TYPE_HEADER),
        "error": headers.get(ERROR_HEADER),
        "attempts": headers.get(ATTEMPT_HEADER),
        "failed_at": headers.get(FAILED_AT_HEADER),
        "application_id": parsed.get("application_id") if isinstance(parsed, dict) else None,
        "position": parsed.get("position") if isinstance(parsed, dict) else None,
        "body": parsed if parsed is not None else body,
        "content_type": message.content_type,
        "origin": headers.get(ORIGIN_HEADER) or "event",
        # a body parked because it could not be decoded, byte for byte
        **({"body_base64": base64.b64encode(raw).decode("ascii")} if raw is not None and parsed is None else {}),
    }


def list_dead_letters(service: str, amqp_uri: str | None = None) -> list[dict]:
    with Connection(amqp_uri or settings.get().amqp_uri) as conn:
        channel = conn.channel()
        try:
            messages = _drain(channel, queue_names(service)["dead"])
            return [_describe(m) for m in messages]
        finally:
            channel.close()  # unacked messages go back to the queue


def replay_dead_letters(service: str, event_ids: set[str] | None = None, amqp_uri: str | None = None) -> list[dict]:
    """Send parked messages (all, or those with the given event ids) back for another try."""
    names = queue_names(service)
    replayed = []
    with Connection(amqp_uri or settings.get().amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        producer = conn.Producer(channel=channel)
        try:
            for message in _drain(channel, names["dead"]):
                described = _describe(message)
                if described["origin"] == "rpc" or (event_ids and described["event_id"] not in event_ids):
                    continue
                headers = {k: v for k, v in (message.headers or {}).items() if k != ATTEMPT_HEADER}
                producer.publish(
                    message.body, exchange=DEFAULT_EXCHANGE, routing_key=names["events"],
                    content_type=message.content_type, content_encoding=message.content_encoding,
                    headers=headers, delivery_mode=2, message_id=described["event_id"],
                )
                channel.basic_ack(message.delivery_tag)
                replayed.append(described)
        finally:
            channel.close()
    return replayed
