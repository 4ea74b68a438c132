"""The portal's settings, read once from the environment, with defaults that run on this machine."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class PortalSettings:
    development: bool  # INNOBASE_DEV=1: the development mail box runs and /dev/mail shows it
    smtp_host: str
    smtp_port: int
    mailbox_dir: Path
    node_modules: Path


def load(environ=None) -> PortalSettings:
    env = os.environ if environ is None else environ
    prefix = env.get("INNOBASE_DB_PREFIX", "innobase")
    return PortalSettings(
        development=env.get("INNOBASE_DEV", "") in ("1", "true", "yes"),
        smtp_host=env.get("INNOBASE_SMTP_HOST", "127.0.0.1"),
        smtp_port=int(env.get("INNOBASE_SMTP_PORT", "8025")),
        mailbox_dir=Path(env.get("INNOBASE_DEV_MAILBOX_DIR")
                         or os.path.join(tempfile.gettempdir(), f"{prefix}-dev-mailbox")),
        node_modules=Path(env.get("INNOBASE_NODE_MODULES") or ROOT / "node_modules"),
    )


_settings: PortalSettings | None = None


def get() -> PortalSettings:
    """The process's settings, read on first use."""
    global _settings
    if _settings is None:
        _settings = load()
    return _settings
