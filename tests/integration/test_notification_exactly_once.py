"""Exactly once under faults: two notification instances, a service killed midway,
a crash after the SMTP server accepted, the database refusing the record of a hand-over.
One message per (event, recipient, channel), and an SMTP reader sees each once: a message
the server had when its sender died is recorded as delivered after the restart, not sent
again (services/notification/mailer.py)."""
from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict

import psycopg2
import pytest

from tests.integration.test_notification_delivery import (  # noqa: F401  (fixtures)
    Case, history, mail_settled, notification_env, prepared, processed_count, upstream,
    wait_processed,
)
from tests.support.cluster import Cluster, eventually, purge, sql

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster():
    purge("notification")
    cluster = Cluster()
    yield cluster
    cluster.stop_all()


def told_by_email(messages) -> dict:
    """For each published event: the e-mail notifications prepared for it (recipients, Message-ID)."""
    rows = sql("notification", "SELECT occasion, recipients, message_id, state, notification_id::text"
                               " FROM notifications WHERE channel = 'email' AND occasion = ANY(%s)",
               [m["event_id"] for m in messages])
    return {row[0]: row for row in rows}


def test_two_instances_tell_each_party_exactly_once(cluster, mailbox, upstream):
    env = notification_env(mailbox)
    first = cluster.start("notification", faults="slow_reactions", **env)
    second = cluster.start("notification", faults="slow_reactions", **env)
    cases = [Case(upstream, "双实例") for _ in range(15)]
    messages = []
    for case in cases:
        messages.append(case.register_applicant())
        messages.append(case.submit())
    wait_processed(*messages, timeout=60)
    mail_settled(timeout=60)
    time.sleep(1)

    by_occasion = told_by_email(messages)
    assert len(by_occasion) == len(messages)  # one e-mail per (event, recipient)
    for message in messages:
        assert len(prepared(message["event_id"], "inbox")) == 1
    for case in cases:
        mails = mailbox.to(case.applicant_mail)
        assert len(mails) == 2, [m.subject for m in mails]
        assert len({m.message_id for m in mails}) == 2
    assert {m.message_id for c in cases for m in mailbox.to(c.applicant_mail)} == {
        row[2] for row in by_occasion.values()}
    # both instances took events from the shared queue
    by = sql("notification", "SELECT DISTINCT processed_by FROM processed_messages WHERE event_id::text = ANY(%s)",
             [m["event_id"] for m in messages])
    assert {row[0].split(":")[1] for row in by} == {str(first.pid), str(second.pid)}


def test_a_service_killed_midway_resumes_and_tells_each_party_once(cluster, mailbox, upstream):
    env = notification_env(mailbox)
    doomed = cluster.start("notification", faults="slow_reactions", **env)
    cases = [Case(upstream, "重启") for _ in range(40)]
    messages = []
    for case in cases:
        messages.append(case.register_applicant())
        messages.append(case.submit())
    eventually(lambda: processed_count(messages) >= 8, timeout=30, interval=0.02)
    cluster.kill(doomed)  # kill -9, mid-way through the stream
    assert processed_count(messages) < len(messages), "everything was done before the kill: test proves nothing"
    cluster.start("notification", **env)
    wait_processed(*messages, timeout=60)
    mail_settled(timeout=60)
    time.sleep(1)

    by_occasion = told_by_email(messages)
    assert len(by_occasion) == len(messages)
    assert all(row[3] == "delivered" for row in by_occasion.values())
    for row in by_occasion.values():
        assert history(row[4]).count("Delivered") == 1
    received = [m for c in cases for m in mailbox.to(c.applicant_mail)]
    copies = defaultdict(set)
    for mail in received:
        copies[mail.message_id].add((mail.subject, mail.text, str(mail.message["Date"])))
    # every message arrived; a copy resent after the kill is the same message, under the same id
    assert set(copies) == {row[2] for row in by_occasion.values()}
    assert all(len(variants) == 1 for variants in copies.values())
    assert max(Counter(m.message_id for m in received).values()) == 1  # none sent twice


def test_a_crash_after_the_smtp_server_accepted_does_not_send_the_message_again(cluster, mailbox, upstream):
    env = notification_env(mailbox)
    doomed = cluster.start("notification", faults="crash_after_mail_sent", **env)
    case = Case(upstream, "崩溃")
    registered = case.register_applicant()
    assert doomed.wait(30) == -9  # killed right after the server accepted the message
    first = eventually(lambda: mailbox.to(case.applicant_mail))
    (notification_id,) = [row[4] for row in told_by_email([registered]).values()]
    assert history(notification_id) == ["Prepared", "HandedOver"]  # accepted by the server, not recorded

    cluster.start("notification", **env)
    eventually(lambda: history(notification_id) == ["Prepared", "HandedOver", "Delivered"])
    mail_settled(timeout=30)
    time.sleep(1)
    copies = mailbox.to(case.applicant_mail)
    assert [m.message_id for m in copies] == [first[0].message_id]  # once
    (state,) = sql("notification", "SELECT state FROM notifications WHERE notification_id = %s", notification_id)[0]
    assert state == "delivered"


def test_a_hand_over_the_database_does_not_record_is_cut_before_the_dot_and_sent_later_once(mailbox):
    """What a PostgreSQL restart does at the worst moment: the record of the hand-over fails.
    The session ends before the dot, the server drops what it held, and the next pass sends it."""
    from services.notification import domain
    from services.notification.application import Notification
    from services.notification.mailer import SmtpTransport
    from services.notification.settings import load

    app = Notification()
    address = f"pg-restart-{uuid.uuid4().hex[:8]}@applicant.test"
    notification = domain.Notification.prepare(
        occasion=str(uuid.uuid4()), recipient=domain.Recipient("applicant", "9132PGRESTART"),
        channel=domain.EMAIL, message=domain.Message("数据库重启", "正文", "<p>正文</p>"),
        event_type="ApplicantRegistered", to=[address], mail_domain="innobase.test")
    app.save(notification)
    config = load({"INNOBASE_SMTP_HOST": "127.0.0.1", "INNOBASE_SMTP_PORT": str(mailbox.port)})

    def database_gone(notification, accepted, refused):
        raise psycopg2.OperationalError("server closed the connection unexpectedly")

    with pytest.raises(psycopg2.OperationalError):
        with SmtpTransport(config, hand_over=database_gone) as transport:
            app.deliver(notification.id, transport)
    time.sleep(0.5)
    assert mailbox.to(address) == []  # the server held it without its dot, and dropped it
    assert history(str(notification.id)) == ["Prepared"]

    def recorded(notification, accepted, refused):
        notification.hand_over(accepted, refused)
        app.save(notification)

    with SmtpTransport(config, hand_over=recorded) as transport:
        app.deliver(notification.id, transport)
    assert history(str(notification.id)) == ["Prepared", "HandedOver", "Delivered"]
    assert len(eventually(lambda: mailbox.to(address))) == 1
