"""Settings read once from the environment, with defaults that run on this machine."""
from __future__ import annotations

import os
from dataclasses import dataclass

# Known to everyone who has read this file: a token signed with it proves nothing.
DEVELOPMENT_SECRET = "innobase-development-secret-change-me"


@dataclass(frozen=True)
class Settings:
    amqp_uri: str
    pg_url: str
    db_prefix: str
    token_secret: str
    events_exchange: str
    retry_delays_ms: tuple[int, ...]
    clock_start: str | None
    clock_file: str | None
    # INNOBASE_DEV=1: a development machine (the development secret is allowed, with a warning)
    development: bool = False
    token_max_hours: float = 24.0
    upload_max_pages: int = 500
    upload_max_pixels: int = 50_000_000
    # INNOBASE_FAST_PATH=0: the event store's plain path, every speed-up off (shared.eventstore.fast)
    fast_path: bool = True
    # The anchors' signing key and where the signed anchors are written: files, never PostgreSQL
    anchor_key_file: str = ""
    anchor_public_key_file: str = ""
    anchor_dir: str = ""

    @property
    def uses_development_secret(self) -> bool:
        return self.token_secret == DEVELOPMENT_SECRET

    def database_url(self, service: str) -> str:
        return f"{self.pg_url.rstrip('/')}/{self.database_name(service)}"

    def database_name(self, service: str) -> str:
        return f"{self.db_prefix}_{service}"


def load(environ: dict | None = None) -> Settings:
    env = os.environ if environ is None else environ
    delays = env.get("INNOBASE_RETRY_DELAYS_MS", "1000,5000,30000")
    anchor_key = env.get("INNOBASE_ANCHOR_KEY") or os.path.join(_config_home(env), "innobase", "anchor-key.pem")
    return Settings(
        amqp_uri=env.get("INNOBASE_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/innobase"),
        pg_url=env.get("INNOBASE_PG_URL", "postgresql+psycopg2://root@127.0.0.1:5432"),
        db_prefix=env.get("INNOBASE_DB_PREFIX", "innobase"),
        token_secret=env.get("INNOBASE_TOKEN_SECRET", DEVELOPMENT_SECRET),
        events_exchange=env.get("INNOBASE_EVENTS_EXCHANGE", "innobase.events"),
        retry_delays_ms=tuple(int(d) for d in delays.split(",") if d.strip()),
        clock_start=env.get("INNOBASE_CLOCK_START") or None,
        clock_file=env.get("INNOBASE_CLOCK_FILE") or None,
        development=env.get("INNOBASE_DEV", "") in ("1", "true", "yes"),
        token_max_hours=float(env.get("INNOBASE_TOKEN_MAX_HOURS", "24")),
        upload_max_pages=int(env.get("INNOBASE_UPLOAD_MAX_PAGES", "500")),
        upload_max_pixels=int(env.get("INNOBASE_UPLOAD_MAX_PIXELS", "50000000")),
        fast_path=env.get("INNOBASE_FAST_PATH", "1") != "0",
        anchor_key_file=anchor_key,
        anchor_public_key_file=env.get("INNOBASE_ANCHOR_PUBLIC_KEY") or anchor_key + ".pub",
        anchor_dir=env.get("INNOBASE_ANCHOR_DIR") or os.path.join(_state_home(env), "innobase", "anchors"),
    )


def _config_home(env) -> str:
    return env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")


def _state_home(env) -> str:
    return env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")


_settings: Settings | None = None


def get() -> Settings:
    """The process's settings, read on first use."""
    global _settings
    if _settings is None:
        _settings = load()
    return _settings
