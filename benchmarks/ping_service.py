"""The baseline: a nameko service that does nothing, for the bare RPC round trip."""
from nameko.rpc import rpc


class PingService:
    name = "bench_ping"

    @rpc
    def ping(self):
        return "pong"
