"""The gateway's settings, read once from the environment (defaults run on this machine)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from shared.blobs import MAX_BYTES


@dataclass(frozen=True)
class GatewaySettings:
    port: int
    cookie_secure: bool          # `Secure` on the session cookie: on behind HTTPS
    rpc_timeout: float           # seconds a service may take before the caller gets 504
    identity_cache_seconds: float  # how long a resolved session or token is trusted without asking accounts
    max_upload_bytes: int
    max_json_bytes: int
    idempotency_hours: int       # how long an Idempotency-Key is remembered

    @property
    def base_url(self) -> str:
        return os.environ.get("INNOBASE_PORTAL_URL", f"http://127.0.0.1:{self.port}")


def load(environ=None) -> GatewaySettings:
    env = os.environ if environ is None else environ
    return GatewaySettings(
        port=int(env.get("INNOBASE_HTTP_PORT", "8080")),
        cookie_secure=env.get("INNOBASE_COOKIE_SECURE", "0") == "1",
        rpc_timeout=float(env.get("INNOBASE_RPC_TIMEOUT_SECONDS", "30")),
        identity_cache_seconds=float(env.get("INNOBASE_IDENTITY_CACHE_SECONDS", "30")),
        max_upload_bytes=int(env.get("INNOBASE_MAX_UPLOAD_BYTES", str(MAX_BYTES))),
        max_json_bytes=int(env.get("INNOBASE_MAX_JSON_BYTES", str(2 * 1024 * 1024))),
        idempotency_hours=int(env.get("INNOBASE_IDEMPOTENCY_HOURS", "24")),
    )


_settings: GatewaySettings | None = None


def get() -> GatewaySettings:
    global _settings
    if _settings is None:
        _settings = load()
    return _settings
