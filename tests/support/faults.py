"""The faults that fault tests inject into real service processes: the one test-only seam.

A test starts a service with `INNOBASE_TEST_FAULTS=name[,name…]` (`Cluster.start(name,
faults=...)`, tests/support/cluster.py). `shared.process`, which every service imports first,
then imports this module and calls `install`: each named fault replaces one production method
by a double that misbehaves as the test needs. Production code holds no fault branch.
"""
from __future__ import annotations

import os
import random
import signal
import time
from typing import Callable

FAULTS: dict[str, Callable[[], None]] = {}


def fault(name: str):
    def register(installer: Callable[[], None]) -> Callable[[], None]:
        FAULTS[name] = installer
        return installer
    return register


def install(names: str) -> None:
    for name in filter(None, (n.strip() for n in names.split(","))):
        if name not in FAULTS:
            raise SystemExit(f"INNOBASE_TEST_FAULTS: no fault named {name!r} (known: {', '.join(sorted(FAULTS))})")
        FAULTS[name]()


def _die() -> None:
    """As `kill -9` would: no clean-up, no reply, nothing flushed."""
    os.kill(os.getpid(), signal.SIGKILL)


@fault("crash_before_publish")
def _crash_before_publish() -> None:
    """The outbox dies with an event committed and not yet published."""
    from shared.outbox import Outbox

    publish_pending = Outbox.publish_pending

    class DyingProducer:
        def __init__(self, producer):
            self.producer = producer

        def publish(self, *args, **kwargs):
            _die()

        def __getattr__(self, name):
            return getattr(self.producer, name)

    Outbox.publish_pending = lambda self, producer: publish_pending(self, DyingProducer(producer))


@fault("slow_reactions")
def _slow_reactions() -> None:
    """Each reaction to an upstream event waits up to 50 ms first: instances finish out of order."""
    from shared.eventstore import ServiceApplication

    process_once = ServiceApplication._process_once

    def slow(self, event):
        time.sleep(random.uniform(0, 0.05))
        return process_once(self, event)

    ServiceApplication._process_once = slow


@fault("fail_reactions")
def _fail_reactions() -> None:
    """Every reaction to an upstream event raises (the message goes to the retry queues)."""
    from shared.eventstore import ServiceApplication

    def fail(self, event):
        raise RuntimeError("reactions fail (INNOBASE_TEST_FAULTS=fail_reactions)")

    ServiceApplication._process_once = fail


@fault("deaf_freshness")
def _deaf_freshness() -> None:
    """The cache hears no commit notice, as if every one came late (the conflicts then met are run
    again)."""
    from shared.freshness import Freshness

    Freshness.heard = lambda self, payload, instance: None


@fault("crash_after_mail_sent")
def _crash_after_mail_sent() -> None:
    """The mailer dies after the SMTP server accepted a mail, before `Delivered` is recorded."""
    from services.notification.mailer import MailSender

    MailSender._after_smtp_accepted = staticmethod(lambda notification: _die())


@fault("lose_replies")
def _lose_replies() -> None:
    """The connection drops after a command committed and before its reply left (as after
    `rabbitmqctl close_all_connections`): the request, never acknowledged, comes again, and its
    second delivery is answered."""
    import logging
    import socket

    from shared import commands
    from shared.rpc import CommandRpc

    handle_result = CommandRpc.handle_result

    def losing(self, message, worker_ctx, result, exc_info):
        if (not message.delivery_info.get("redelivered")
                and getattr(getattr(self.container.service_cls, self.method_name), "records", False)):
            logging.getLogger(__name__).warning(
                "fault lose_replies: the reply of %s.%s (command %s) lost", self.container.service_name,
                self.method_name, worker_ctx.context_data.get(commands.COMMAND_ID))
            message.channel.connection.transport.sock.shutdown(socket.SHUT_RDWR)
            return result, exc_info
        return handle_result(self, message, worker_ctx, result, exc_info)

    CommandRpc.handle_result = losing
