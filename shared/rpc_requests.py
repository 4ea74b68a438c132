"""nameko's RPC entrypoint, except for a request whose body cannot be decoded (not JSON, bytes
not in the declared encoding, a content type nobody accepts): nameko's queue consumer acks and
drops it, and its caller waits for its timeout. Here it is parked in `<service>.dead` with the
reason and its raw body (`innobase deadletters list` shows it), and, when its `reply_to` and
`correlation_id` properties are there (AMQP properties, readable whatever the body is), its
caller is answered at once with a typed `InvalidInput` naming the body.

Every RPC of the services built on `shared.rpc` comes through `rpc` below: one RPC consumer per
service process, so every request to `rpc-<service>` is consumed by this one.
"""
from __future__ import annotations

import logging

from kombu import Connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import serialize
from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc, RpcConsumer, get_rpc_exchange

from shared.errors import InvalidInput
from shared.parking import ORIGIN_HEADER, UNDECODABLE, queue_names, republish, undecodable_reason

log = logging.getLogger(__name__)


class _DeadLetteringRpcQueueConsumer(QueueConsumer):
    """The queue consumer of the RPC consumer below only (a shared extension of its own type)."""

    def on_decode_error(self, message, exc):
        consumer = next(iter(self._providers), None)
        if consumer is None:  # nobody to park it yet: leave it for one
            message.requeue()
            return
        consumer.park_undecodable(message, exc)


class DeadLetteringRpcConsumer(RpcConsumer):
    queue_consumer = _DeadLetteringRpcQueueConsumer()

    def park_undecodable(self, message, exc: Exception) -> None:
        """Park the request as it came, answer its caller if it can be answered, then ack. If
        parking fails (the broker went away) the exception leaves it unacked for redelivery."""
        service = self.container.service_name
        amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]
        reason = undecodable_reason(message, exc)
        routing_key = message.delivery_info.get("routing_key")
        log.error("%s parks the RPC request %s in %s: %s", service, routing_key, queue_names(service)["dead"], reason)
        republish(amqp_uri, message, queue_names(service)["dead"], 0, UNDECODABLE, reason, declare=True,
                  **{ORIGIN_HEADER: "rpc"})
        reply_to = message.properties.get("reply_to")
        correlation_id = message.properties.get("correlation_id")
        if reply_to and correlation_id:
            try:
                self._answer(amqp_uri, reply_to, correlation_id, reason)
            except Exception as error:  # parked already: the caller times out, as it did before
                log.error("the caller of %s (%s) was not answered: %s", routing_key, correlation_id, error)
        self.queue_consumer.ack_message(message)

    def _answer(self, amqp_uri: str, reply_to: str, correlation_id: str, reason: str) -> None:
        """The reply nameko's client waits for, in JSON whatever the request declared."""
        error = InvalidInput(f"the request cannot be decoded: {reason}",
                             {"fields": {"body": [reason]}, "rule": "undecodable_request"})
        with Connection(amqp_uri) as conn:
            conn.Producer().publish(
                {"result": None, "error": serialize(error)}, serializer="json",
                exchange=get_rpc_exchange(self.container.config), routing_key=reply_to,
                correlation_id=correlation_id, retry=True,
            )


class DeadLetteringRpc(Rpc):
    rpc_consumer = DeadLetteringRpcConsumer()


rpc = DeadLetteringRpc.decorator
