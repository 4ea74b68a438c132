"""A broker outage for one group of processes, without touching the shared broker.

`BrokerLink` is a loopback TCP relay in front of RabbitMQ. Services started with
`link.amqp_uri` reach the broker only through it; `cut()` closes every relayed
connection and refuses new ones (what a client sees when the broker goes down),
`restore()` listens again on the same port. Stopping the real broker instead
(`rabbitmqctl stop_app`) would take every other user of this machine's broker
down with the test, and a broker that fails to come back breaks what runs next.
"""
from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit, urlunsplit


class BrokerLink:
    def __init__(self, amqp_uri: str):
        parts = urlsplit(amqp_uri)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5672)
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        credentials = amqp_uri.split("://", 1)[1].split("@", 1)[0] + "@" if "@" in amqp_uri else ""
        self.amqp_uri = urlunsplit((parts.scheme, f"{credentials}127.0.0.1:{self.port}",
                                    parts.path, parts.query, parts.fragment))
        self.restore()

    # -- the outage ----------------------------------------------------------
    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            doomed, self._sockets = self._sockets, set()
        if listener is not None:
            _close(listener)  # shutdown wakes the thread blocked in accept()
        for sock in doomed:
            _close(sock)

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        self.cut()

    @property
    def connections(self) -> int:
        """Client connections relayed right now."""
        with self._lock:
            return len(self._sockets) // 2

    # -- relaying ------------------------------------------------------------
    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                if self._listener is not listener:  # cut while connecting
                    _close(client), _close(upstream)
                    return
                self._sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        with self._lock:
            self._sockets.discard(source)
            self._sockets.discard(sink)
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
