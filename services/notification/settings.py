"""Notification's own settings, read once from the environment, with defaults that run on this machine."""
from __future__ import annotations

import os
from dataclasses import dataclass

from shared import rules


@dataclass(frozen=True)
class MailSettings:
    smtp_host: str
    smtp_port: int
    smtp_timeout: float
    mail_from: str
    sac_officer_emails: tuple[str, ...]
    reminder_days: tuple[int, ...]
    retry_delays_ms: tuple[int, ...]
    scan_seconds: float
    address_wait_seconds: float
    portal_url: str


def _numbers(value: str, kind=int) -> tuple:
    return tuple(kind(part) for part in value.split(",") if part.strip())


def load(environ: dict | None = None) -> MailSettings:
    env = os.environ if environ is None else environ
    return MailSettings(
        smtp_host=env.get("INNOBASE_SMTP_HOST", "127.0.0.1"),
        smtp_port=int(env.get("INNOBASE_SMTP_PORT", "8025")),
        smtp_timeout=float(env.get("INNOBASE_SMTP_TIMEOUT_S", "10")),
        mail_from=env.get("INNOBASE_MAIL_FROM", "noreply@innobase.local"),
        sac_officer_emails=tuple(
            address.strip() for address in env.get("INNOBASE_SAC_OFFICER_EMAILS", "").split(",") if address.strip()
        ),
        # Reminders before the submission window closes, in days; the largest first.
        reminder_days=rules.reminder_days(env),
        # Backoff of a message the SMTP server refused for now; the last delay repeats.
        retry_delays_ms=_numbers(env.get("INNOBASE_SMTP_RETRY_DELAYS_MS", "5000,30000,120000,600000,1800000,3600000")),
        scan_seconds=float(env.get("INNOBASE_REMINDER_SCAN_S", "60")),
        # How long an e-mail to a party not registered yet waits for its registration (and address).
        address_wait_seconds=float(env.get("INNOBASE_ADDRESS_WAIT_S", "86400")),
        # Where the links of accounts' e-mails lead (confirm, invitation, reset-password).
        portal_url=env.get("INNOBASE_PORTAL_URL", "http://127.0.0.1:8080"),
    )


_settings: MailSettings | None = None


def get() -> MailSettings:
    """The process's settings, read on first use."""
    global _settings
    if _settings is None:
        _settings = load()
    return _settings
