"""The window e-mail once leaves: from `HandedOver` committed to the dot written to the socket
(a sender killed there loses the message) and to the SMTP server's answer to it, measured over real sends to a loopback SMTP server (aiosmtpd), beside what one whole send
(hand-over recorded, the dot, `Delivered` recorded) takes in the same run.

    python -m benchmarks.mail_window [COUNT]
"""
from __future__ import annotations

import sys
import time
import uuid

from benchmarks.common import line, summary


def main(count: int = 200) -> None:
    from aiosmtpd.controller import Controller

    from services.notification import domain, mailer
    from services.notification.application import Notification
    from services.notification.settings import load
    from tests.support.mail import Mailbox, free_port

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    app = Notification()
    config = load({"INNOBASE_SMTP_HOST": "127.0.0.1", "INNOBASE_SMTP_PORT": str(controller.port)})
    windows, to_the_dot, sends = [], [], []
    handed_over_at = {}

    def record(notification, accepted, refused):
        notification.hand_over(accepted, refused)
        app.save(notification)
        handed_over_at["t"] = time.perf_counter()

    class Timed(mailer._CommittingSmtp):
        def send(self, data):
            super().send(data)
            if data == b".\r\n" and handed_over_at:
                to_the_dot.append((time.perf_counter() - handed_over_at["t"]) * 1000)

        def data(self, msg):
            handed_over_at.clear()
            answer = super().data(msg)
            if handed_over_at:
                windows.append((time.perf_counter() - handed_over_at["t"]) * 1000)
            return answer

    def send_all(hand_over, times: list) -> None:
        with mailer.SmtpTransport(config, hand_over=hand_over) as transport:
            for n in range(count):
                notification = domain.Notification.prepare(
                    occasion=str(uuid.uuid4()), recipient=domain.Recipient("applicant", f"BENCH{n}"),
                    channel=domain.EMAIL, message=domain.Message("测量", "正文" * 200, "<p>正文</p>" * 200),
                    event_type="ApplicantRegistered", to=[f"bench-{n}@applicant.test"], mail_domain="innobase.test")
                app.save(notification)
                started = time.perf_counter()
                app.deliver(notification.id, transport)
                times.append((time.perf_counter() - started) * 1000)

    mailer_smtp, mailer._CommittingSmtp = mailer._CommittingSmtp, Timed
    baseline = []
    try:
        send_all(None, baseline)  # the send as it was: no hand-over recorded
        send_all(record, sends)
    finally:
        mailer._CommittingSmtp = mailer_smtp
        controller.stop()
    print(line("HandedOver committed → the dot written to the socket", summary(to_the_dot)))
    print(line("HandedOver committed → the server's answer to the dot", summary(windows)))
    print(line("a send with the hand-over recorded (+ Delivered)", summary(sends)))
    print(line("baseline: a send without it (+ Delivered)", summary(baseline)))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
