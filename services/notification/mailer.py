"""E-mail over SMTP: each prepared e-mail leaves once the server accepts it.

`SmtpTransport` turns a prepared notification into a MIME message (plain text
and HTML, UTF-8, its stable Message-ID) and hands it to the SMTP server. A
refusal that concerns the message (a 4xx or 5xx answer to it) raises
`MailRefused`; anything else (the server is unreachable or hangs up) raises as
it is, and the sender backs off as a whole without blaming any message.

`MailSender` runs in the background of every instance; the one holding a
PostgreSQL advisory lock sends, the others stand by (as the outbox does). A
commit of a new notification wakes it through the log's NOTIFY; a poll covers
retries falling due.

Delivery is once, across crashes: the SMTP server accepting a message and
`Delivered` being recorded cannot be one transaction, so the sender records
`HandedOver` in between, at the last moment it can: once the server has taken
the envelope and every byte of the message but the dot that ends it. A sender
that finds a message handed over and not yet recorded (it was killed, or the
database went away, after the hand-over) records it as delivered without
sending it again. If recording `HandedOver` fails, the session is cut before
the dot and the server discards the message: it is sent later, once. What is
left is the moment between `HandedOver` committing and the server's answer to
the dot (docs/reliability.md, item 5, measures it): a sender killed in it has
the message counted as delivered, whatever the server then answered.
"""
from __future__ import annotations

import logging
import re
import smtplib
import socket
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

import eventlet

from shared.background import BackgroundLoop
from shared.database import connect
from shared.eventstore import application
from shared.notices import wait_for_news, wake_on_notices
from services.notification import accounts_mail, settings
from services.notification.templates import PRODUCT

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


class MailRefused(Exception):
    """The SMTP server refused this message: for now (4xx) or for good (5xx)."""

    def __init__(self, error: str, permanent: bool):
        super().__init__(error)
        self.error = error
        self.permanent = permanent


def sender_address(mail_from: str) -> str:
    return parseaddr(mail_from)[1] or mail_from


def mail_domain(mail_from: str) -> str:
    address = sender_address(mail_from)
    return address.rsplit("@", 1)[1] if "@" in address else "innobase.local"


def compose(notification, to: list[str], mail_from: str) -> EmailMessage:
    """The MIME message; every header comes from the prepared notification, so a resend is identical."""
    message = EmailMessage()
    message["Subject"] = notification.subject
    message["From"] = mail_from if "<" in mail_from else formataddr((PRODUCT, mail_from))
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(notification.created_on)
    message["Message-ID"] = notification.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    message["X-Innobase-Notification"] = str(notification.id)
    message["X-Innobase-Event"] = notification.event_type
    # base64 keeps the Chinese text 7-bit clean for any server, 8BITMIME or not
    message.set_content(accounts_mail.with_links(notification.text), charset="utf-8", cte="base64")
    message.add_alternative(accounts_mail.with_links(notification.html), subtype="html", charset="utf-8", cte="base64")
    message.set_boundary(f"=_innobase_{notification.id.hex}")  # a resend is byte for byte the same
    return message


def refusal(exc: smtplib.SMTPException) -> MailRefused | None:
    """What an SMTP error says about the message, or None when it says nothing about it."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in exc.recipients.items())
        return MailRefused(f"recipients refused: {detail}", permanent=all(code >= 500 for code in codes))
    if isinstance(exc, smtplib.SMTPResponseException) and not isinstance(exc, smtplib.SMTPConnectError):
        return MailRefused(f"{exc.smtp_code} {_text(exc.smtp_error)}", permanent=exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # e.g. an address the server cannot take
        return MailRefused(f"not supported by the server: {exc}", permanent=True)
    return None


def _described(refused: dict) -> dict:
    return {address: f"{code} {_text(reply)}" for address, (code, reply) in refused.items()}


def _text(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class _CommittingSmtp(smtplib.SMTP):
    """smtplib's client, with a step before the dot that ends a message's data: the server then
    holds every byte of it and its envelope, and stores it only once the dot arrives."""

    def __init__(self, *args, **kwargs):
        self.before_the_dot = None  # called with the recipients the server refused, if set
        self.refused: dict = {}
        super().__init__(*args, **kwargs)

    def connect(self, *args, **kwargs):
        answer = super().connect(*args, **kwargs)
        # The dot is three bytes sent after the body: without this, Nagle's algorithm holds it
        # until the server acknowledges the body (up to its delayed-ACK time, some 40 ms), and
        # the window between `HandedOver` and the server's answer grows by as much.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return answer

    def mail(self, sender, options=()):
        self.refused = {}
        return super().mail(sender, options)

    def rcpt(self, recip, options=()):
        code, reply = super().rcpt(recip, options)
        if code not in (250, 251):  # as `sendmail` counts a refusal
            self.refused[recip] = (code, reply)
        return code, reply

    def data(self, msg):
        if self.before_the_dot is None:
            return super().data(msg)
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        body = re.sub(rb"(?m)^\.", b"..", msg)  # a line's leading dot doubled, as RFC 5321 says
        self.send(body if body.endswith(b"\r\n") else body + b"\r\n")
        try:
            self.before_the_dot(self.refused)
        except BaseException:
            self.close()  # the session cut before the dot: the server discards what it holds
            raise
        self.send(b".\r\n")
        return self.getreply()


class SmtpTransport:
    """One SMTP session per sending pass: `with transport: transport.send(notification)`.

    `hand_over(notification, accepted, refused)`, if given, records that the server holds the
    message, before the dot that lets it store it; a notification already handed over is not
    sent again."""

    def __init__(self, config: settings.MailSettings, hand_over=None):
        self.config = config
        self.hand_over = hand_over
        self._smtp: _CommittingSmtp | None = None

    def __enter__(self) -> "SmtpTransport":
        self._smtp = _CommittingSmtp(self.config.smtp_host, self.config.smtp_port, timeout=self.config.smtp_timeout)
        return self

    def __exit__(self, *exc) -> None:
        smtp, self._smtp = self._smtp, None
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def send(self, notification, to: list[str]) -> dict:
        """Addresses refused for good (others accepted); raises `MailRefused` when none was accepted."""
        handed_over = getattr(notification, "handed_over", None)
        if handed_over is not None:
            log.info("%s was handed over before the sender stopped: recorded, not sent again",
                     notification.message_id)
            return dict(handed_over["refused"])
        try:
            message = compose(notification, to, self.config.mail_from)
        except (ValueError, TypeError, MessageError) as exc:
            # Not the server's fault and never better on a retry: refuse it for good rather
            # than let one message stop every other behind it.
            raise MailRefused(f"the message cannot be composed: {exc}", permanent=True) from None

        def before_the_dot(refused: dict) -> None:
            described = _described(refused)
            self.hand_over(notification, [address for address in to if address not in described], described)

        self._smtp.before_the_dot = before_the_dot if self.hand_over is not None else None
        try:
            refused = self._smtp.send_message(
                message, from_addr=sender_address(self.config.mail_from), to_addrs=list(to)
            )
        except smtplib.SMTPException as exc:
            verdict = refusal(exc)
            if verdict is None:
                raise
            raise verdict from None
        return _described(refused)


class MailSender(BackgroundLoop):
    """Sends the e-mails that are due, in the background; the advisory lock holder sends."""

    identifier = "mail-sender"
    max_backoff = 30.0

    def setup(self):
        self.app = application(self.app_cls)
        self.transport = SmtpTransport(settings.get(), hand_over=self._record_hand_over)

    def get_dependency(self, worker_ctx):
        return self

    def run_once(self):
        self._lead_and_send()

    def _lead_and_send(self):
        pg = connect(self.app.database_url)
        pg.autocommit = True
        try:
            with pg.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (f"mail:{self.app.service}",))
                if not cursor.fetchone()[0]:
                    eventlet.sleep(POLL_SECONDS)
                    return
            news, waiter = wake_on_notices(self.app.commit_notices)  # a commit may prepare an e-mail
            try:
                while not self.stopping:
                    if self.app.deliver_due(self.transport, on_sent=self._after_smtp_accepted):
                        continue
                    wait_for_news(news, self.app.seconds_until_mail_due(POLL_SECONDS))
                    pg.poll()  # the lock's connection: raises once the database closed it
            finally:
                self.app.commit_notices.unsubscribe(waiter)
        finally:
            pg.close()

    def _record_hand_over(self, notification, accepted: list, refused: dict) -> None:
        """`HandedOver`, committed before the dot: raises (and the message is not sent) if it is not."""
        notification.hand_over(accepted, refused)
        self.app.save(notification)

    @staticmethod
    def _after_smtp_accepted(notification) -> None:
        """The SMTP server accepted the mail; `Delivered` is recorded next (a fault test's double
        dies here, tests/support/faults.py)."""
