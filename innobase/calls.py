"""The tools' RPC calls (the command line, the demo): each call carries a command id, the same
on every retry, so that a retry after a lost answer (a timeout) is answered from the service's
record of the first run instead of running the command again (shared.commands)."""
from __future__ import annotations

import logging
import uuid

from nameko.exceptions import RpcTimeout
from nameko.standalone.rpc import ClusterRpcProxy

from shared import auth, settings
from shared.commands import COMMAND_ID

log = logging.getLogger(__name__)


def call(token: str, service: str, method: str, *, timeout: float = 60, tries: int = 3, **arguments):
    """`service.method(**arguments)` with the caller's token, tried up to `tries` times when no
    answer comes within `timeout` seconds."""
    context = {auth.CONTEXT_KEY: token, COMMAND_ID: str(uuid.uuid4())}
    for attempt in range(1, tries + 1):
        with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, context_data=context, timeout=timeout) as cluster:
            try:
                return getattr(getattr(cluster, service), method)(**arguments)
            except RpcTimeout:
                if attempt == tries:
                    raise
                log.warning("%s.%s: no answer in %s s, trying again with command id %s",
                            service, method, timeout, context[COMMAND_ID])
