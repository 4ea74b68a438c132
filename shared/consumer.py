"""Consuming integration events: retried with backoff, then parked, never dropped.

`integration_events("intake")` decorates a service method as the handler of
every event another service publishes. Each service has one durable queue,
`<service>.events`, bound to the whole stream of each source it follows (so
the per-application chain of `previous_position` is complete), shared by all
its instances.

What happens to a message:
- kombu cannot decode its body (not JSON, not UTF-8, an unknown content type): parked at
  once in `<service>.dead`, the raw body and its content type kept, with the reason;
- it does not match its contract: parked at once in `<service>.dead`, with the reason;
- the handler succeeds (or finds it a duplicate): acked;
- the handler fails: republished to `<service>.events.retry.<n>`, a queue whose
  TTL dead-letters it back to `<service>.events` after the n-th delay;
- it failed after the last delay: parked in `<service>.dead` with its error.
Nameko's own `event_handler` acks a failed message and drops it, and its queue consumer acks
and drops a body it cannot decode (kombu's `on_decode_error`); this does neither.
"""
from __future__ import annotations

import logging
import traceback

from kombu import Connection, Queue, binding
from nameko.exceptions import ContainerBeingKilled
from nameko.messaging import Consumer, QueueConsumer

from shared import contracts, settings
from shared.eventstore import Duplicate, OutOfOrder
from shared.outbox import events_exchange
from shared.parking import ATTEMPT_HEADER, ROUTING_KEY_HEADER, UNDECODABLE, queue_names, republish, \
    undecodable_reason

log = logging.getLogger(__name__)
__all__ = ["UNDECODABLE", "declare_topology", "integration_events", "queue_names"]


def declare_topology(channel, service: str, sources: tuple[str, ...]) -> Queue:
    """Declare the events queue, its retry queues and its dead-letter queue."""
    names = queue_names(service)
    exchange = events_exchange()
    exchange.bind(channel).declare()
    events = Queue(
        names["events"],
        bindings=[binding(exchange, routing_key=f"{source}.#") for source in sources],
        durable=True,
    )
    events.bind(channel).declare()
    for name, delay in zip(names["retry"], settings.get().retry_delays_ms):
        Queue(
            name,
            durable=True,
            queue_arguments={
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": names["events"],
            },
        ).bind(channel).declare()
    Queue(names["dead"], durable=True).bind(channel).declare()
    return events


class DeadLetteringQueueConsumer(QueueConsumer):
    """nameko's queue consumer for our event queues (a shared extension of its own type, so RPC
    keeps nameko's): a message kombu cannot decode is parked by its handler, not acked and lost."""

    def on_decode_error(self, message, exc):
        handler = next(iter(self._providers), None)
        if handler is None:  # no handler yet: leave it for one
            message.requeue()
            return
        handler.park_undecodable(message, exc)


class IntegrationEventHandler(Consumer):
    queue_consumer = DeadLetteringQueueConsumer()

    def __init__(self, *sources: str, **kwargs):
        self.sources = sources
        kwargs.setdefault("expected_exceptions", (OutOfOrder,))
        super().__init__(queue=None, **kwargs)

    def setup(self):
        self.service = self.container.service_name
        self.amqp_uri = self.container.config["AMQP_URI"]
        with Connection(self.amqp_uri) as conn:
            self.queue = declare_topology(conn.default_channel, self.service, self.sources)
        self.names = queue_names(self.service)
        super().setup()

    def handle_message(self, body, message):
        try:
            event = contracts.parse(body)
        except contracts.ContractViolation as exc:
            self._park(message, body, "ContractViolation", exc.reason)
            return
        context_data = self.unpack_message_headers(message)
        handle_result = lambda worker_ctx, result=None, exc_info=None: self._handle_result(  # noqa: E731
            message, body, result, exc_info
        )
        try:
            self.container.spawn_worker(
                self, (event,), {}, context_data=context_data, handle_result=handle_result
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def _handle_result(self, message, body, result, exc_info):
        if exc_info is None or exc_info[0] is Duplicate:
            self.queue_consumer.ack_message(message)
            return None, None
        exc = exc_info[1]
        if isinstance(exc, contracts.ContractViolation):
            self._park(message, body, "ContractViolation", exc.reason)
            return None, None
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0)) + 1
        error = "".join(traceback.format_exception_only(exc_info[0], exc)).strip()
        if attempt <= len(self.names["retry"]):
            self._republish(message, body, self.names["retry"][attempt - 1], attempt, exc_info[0].__name__, error)
        else:
            self._park(message, body, exc_info[0].__name__, error, attempt=attempt - 1)
        return None, None

    def park_undecodable(self, message, exc: Exception) -> None:
        """Park a message whose body could not be decoded, exactly as it came: if parking fails
        (the broker went away) the exception leaves it unacked, and the broker redelivers it."""
        self._park(message, message.body, UNDECODABLE, undecodable_reason(message, exc))

    def _park(self, message, body, error_type: str, error: str, attempt: int | None = None):
        routing_key = (message.headers or {}).get(ROUTING_KEY_HEADER) or message.delivery_info.get("routing_key")
        log.error("%s parks %s in %s: %s", self.service, routing_key, self.names["dead"], error)
        attempt = attempt if attempt is not None else int((message.headers or {}).get(ATTEMPT_HEADER, 0))
        self._republish(message, body, self.names["dead"], attempt, error_type, error)

    def _republish(self, message, body, queue: str, attempt: int, error_type: str, error: str):
        # Confirmed before the ack: a crash in between redelivers, and the duplicate is dropped later.
        republish(self.amqp_uri, message, queue, attempt, error_type, error)
        self.queue_consumer.ack_message(message)


integration_events = IntegrationEventHandler.decorator
