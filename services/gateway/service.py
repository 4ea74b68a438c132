"""The gateway's nameko service: the JSON API and the portal's pages on one HTTP port.

It runs like every other service (`nameko run`), any number of instances on one
port (the socket is opened with SO_REUSEPORT) or behind a proxy.
"""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from nameko.rpc import rpc

from services.gateway.api.handler import ApiRoutes
from services.gateway.portal.routes import PortalRoutes
from services.gateway.edge import AccountChanges
from services.gateway import settings


class GatewayService(PortalRoutes, ApiRoutes):
    name = "gateway"

    @AccountChanges.decorator()
    def on_account_change(self, body):
        """Accounts' events drop this instance's cached sessions and tokens (handled in the consumer)."""

    @rpc
    def health(self):
        """Liveness for ops probes: the port it serves on."""
        return {"service": "gateway", "status": "ok", "http_port": settings.get().port}
