"""Several instances of a service: one publishes; when it dies, another takes over,
and every event is published (a re-publication after a crash carries the same id)."""
import uuid

import pytest
from kombu import Connection, Exchange, Queue

from shared import settings
from tests.support.cluster import Cluster, eventually, purge, sql
from tests.support.messages import deliver, envelope, submitted_payload

pytestmark = pytest.mark.faults


def submissions(unit, count):
    base = 70_000_000 + uuid.uuid4().int % 10_000_000
    return [envelope("intake", "ApplicationSubmitted", base + i, submitted_payload(str(uuid.uuid4()), unit))
            for i in range(count)]


def test_when_the_publishing_instance_dies_another_publishes_everything():
    unit = f"OU-{uuid.uuid4().hex[:6]}"
    purge("endorsement")
    s = settings.get()
    observer = Queue(f"observer-{uuid.uuid4().hex[:6]}", exchange=Exchange(s.events_exchange, type="topic"),
                     routing_key="endorsement.ReviewItemQueued.#", auto_delete=False, durable=False)
    with Connection(s.amqp_uri) as conn:
        observer.bind(conn.default_channel).declare()
    cluster = Cluster()
    try:
        first = cluster.start("endorsement")
        second = cluster.start("endorsement")
        batches = [submissions(unit, 15) for _ in range(3)]
        deliver(*batches[0])
        eventually(lambda: len(queued(unit)) == 15, timeout=30)
        cluster.kill(first)
        deliver(*batches[1])
        eventually(lambda: len(queued(unit)) == 30, timeout=30)
        cluster.start("endorsement")
        cluster.kill(second)  # whichever held the lock, one of the two kills hit it
        deliver(*batches[2])
        eventually(lambda: len(queued(unit)) == 45, timeout=30)

        expected = {str(p) for (p,) in sql(
            "endorsement", "SELECT e.id FROM endorsement_events e JOIN organizing_queue q"
                           " ON q.item_id = e.originator_id AND e.originator_version = 1"
                           " WHERE q.organizing_unit_id = %s", unit)}
        seen = eventually(lambda: published_positions(observer.name, expected), timeout=30)
        assert seen == expected
    finally:
        cluster.stop_all()
        with Connection(s.amqp_uri) as conn:
            conn.default_channel.queue_delete(observer.name)


_received: dict[str, set] = {}


def published_positions(queue_name, expected):
    seen = _received.setdefault(queue_name, set())
    with Connection(settings.get().amqp_uri) as conn:
        channel = conn.channel()
        while True:
            message = channel.basic_get(queue_name, no_ack=True)
            if message is None:
                break
            import json

            seen.add(str(json.loads(message.body)["position"]))
    return seen if expected <= seen else None


def queued(unit):
    return sql("endorsement", "SELECT item_id FROM organizing_queue WHERE organizing_unit_id = %s", unit)
