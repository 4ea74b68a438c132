"""The development mail box: an SMTP capture that keeps every mail as an .eml file, and reads them back.

`python -m services.gateway.portal.devmail` listens on INNOBASE_SMTP_PORT (the port
notification sends to) and writes each message into INNOBASE_DEV_MAILBOX_DIR; the
portal lists them at /dev/mail when INNOBASE_DEV=1, so a person trying the system
sees the confirmation and reminder e-mails without a mail server.
"""
from __future__ import annotations

import email
import email.policy
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

from services.gateway.portal import settings


class FolderHandler:
    """An aiosmtpd handler writing each accepted message to `<folder>/<received-at>-<id>.eml`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        # written aside and renamed, so a reader never sees half a message
        partial = self.folder / f".{name}.part"
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(self.folder / name)
        return "250 Message accepted for delivery"


def start(folder: Path, host: str, port: int):
    """A running capture (an aiosmtpd Controller); `.stop()` ends it."""
    from aiosmtpd.controller import Controller

    controller = Controller(FolderHandler(folder), hostname=host, port=port)
    controller.start()
    return controller


@dataclass(frozen=True)
class CapturedMail:
    id: str  # the file's stem: names the mail in /dev/mail/<id>
    received_at: datetime
    subject: str
    sender: str
    to: str
    text: str
    html: str | None


_SAFE_ID = re.compile(r"^[0-9T]+-[0-9a-f]{8}$")


def _decode(path: Path) -> CapturedMail:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    try:
        received = parsedate_to_datetime(str(message["Date"]))
    except (TypeError, ValueError):
        received = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return CapturedMail(
        id=path.stem,
        received_at=received,
        subject=str(message["Subject"] or ""),
        sender=str(message["From"] or ""),
        to=str(message["To"] or ""),
        text=plain.get_content() if plain is not None else "",
        html=html.get_content() if html is not None else None,
    )


def mails(folder: Path, to: str | None = None) -> list[CapturedMail]:
    """Every captured mail, newest first; with `to`, only those addressed to it."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [_decode(path) for path in sorted(folder.glob("*.eml"), reverse=True)]
    if to:
        found = [mail for mail in found if to.lower() in mail.to.lower()]
    return found


def mail(folder: Path, mail_id: str) -> CapturedMail | None:
    if not _SAFE_ID.match(mail_id):
        return None
    path = Path(folder) / f"{mail_id}.eml"
    return _decode(path) if path.is_file() else None


def main() -> int:
    config = settings.get()
    controller = start(config.mailbox_dir, config.smtp_host, config.smtp_port)
    print(f"innobase: development mail box on smtp://{config.smtp_host}:{config.smtp_port}, "
          f"mails in {config.mailbox_dir}", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        while not stopping.is_set():
            time.sleep(0.3)
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
