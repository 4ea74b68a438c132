"""A real SMTP server on loopback for tests: it keeps every message it accepts,
and can refuse an address for now (451) or for good (550)."""
from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass

@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts; it can refuse an address
    for now (451) a number of times, or for good (550)."""

    def __init__(self):
        self.received: list[Mail] = []
        self.refusals: list[tuple[str, int]] = []
        self._refuse_for_now: dict[str, int] = {}
        self._refuse_for_good: set[str] = set()
        self._lock = threading.Lock()

    def refuse_for_now(self, address: str, times: int) -> None:
        with self._lock:
            self._refuse_for_now[address] = times

    def refuse_for_good(self, address: str) -> None:
        with self._lock:
            self._refuse_for_good.add(address)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            if address in self._refuse_for_good:
                self.refusals.append((address, 550))
                return "550 5.1.1 mailbox unavailable"
            if self._refuse_for_now.get(address, 0) > 0:
                self._refuse_for_now[address] -= 1
                self.refusals.append((address, 451))
                return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.received.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [mail for mail in self.received if address in mail.rcpt_tos]

    def subjects_to(self, address: str) -> list[str]:
        return [mail.subject for mail in self.to(address)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
