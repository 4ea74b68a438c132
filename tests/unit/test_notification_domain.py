"""Notification's rules without a database: identities that make a notification unique,
inboxes, delivery attempts, and the submission-window reminders."""
import smtplib
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.notification import mailer, settings
from services.notification.domain import (
    DELIVERED, EMAIL, INBOX, PENDING, READ, UNDELIVERABLE, Dossier, Message, Notification, Party, Recipient,
    due_window_reminder, inbox_of, mail_addresses, message_id, notification_id, retry_delay,
    submission_window_closes,
)
from shared.auth import Caller
from shared.clock import BEIJING
from shared.errors import NotAuthorized
from services.notification.errors import NotYourNotification

pytestmark = pytest.mark.unit
APPLICANT = Recipient("applicant", "91320000MA1XXXXX9L")
MESSAGE = Message(subject="【创新基地申报】主题", text="正文", html="<p>正文</p>")


def prepare(channel=INBOX, recipient=APPLICANT, occasion="event-1", to=None):
    return Notification.prepare(occasion=occasion, recipient=recipient, channel=channel, message=MESSAGE,
                                event_type="ApplicationSubmitted", source="intake",
                                to=to if to is not None else (["a@x.test"] if channel == EMAIL else None),
                                mail_domain="innobase.test")


def test_one_notification_per_event_recipient_and_channel():
    assert prepare().id == prepare().id
    assert len({prepare().id, prepare(EMAIL).id, prepare(occasion="event-2").id,
                prepare(recipient=Recipient("organizing_unit", APPLICANT.owner)).id}) == 4
    assert prepare().id == notification_id("event-1", APPLICANT, INBOX)


def test_an_email_keeps_one_message_id_on_every_attempt():
    mail = prepare(EMAIL)
    assert mail.message_id == message_id(mail.id, "innobase.test")
    assert mail.message_id.startswith("<") and mail.message_id.endswith("@innobase.test>")
    mail.fail_delivery("451 later", permanent=False, retry_at=datetime.now(timezone.utc))
    mail.deliver(["a@x.test"], {})
    assert mail.state == DELIVERED and mail.attempts == 2
    mail.deliver(["a@x.test"], {})  # a second report of delivery records nothing
    assert [type(e).__name__ for e in mail.collect_events()] == ["Prepared", "DeliveryFailed", "Delivered"]


def test_a_permanent_refusal_ends_the_attempts_and_a_transient_one_keeps_it_pending():
    transient, permanent = prepare(EMAIL), prepare(EMAIL, occasion="event-2")
    transient.fail_delivery("451", permanent=False, retry_at=datetime.now(timezone.utc))
    permanent.fail_delivery("550", permanent=True, retry_at=datetime.now(timezone.utc))
    assert transient.state == PENDING and transient.awaits_delivery
    assert permanent.state == UNDELIVERABLE and not permanent.awaits_delivery


@pytest.mark.parametrize("role, party, org, inbox", [
    ("applicant", "user-1", "91320000MA1XXXXX9L", Recipient("applicant", "91320000MA1XXXXX9L")),
    ("organizing_unit", "clerk", "OU-1", Recipient("organizing_unit", "OU-1")),
    ("recommending_unit", "clerk", "RU-1", Recipient("recommending_unit", "RU-1")),
    ("officer", "wang", "anything", Recipient("officer", "SAC")),
    ("expert", "E-1", "91110000X", Recipient("expert", "E-1")),
])
def test_each_party_has_one_inbox(role, party, org, inbox):
    assert inbox_of(Caller(party, role, org)) == inbox


@pytest.mark.parametrize("role", ["auditor", "ops"])
def test_auditors_and_ops_have_no_inbox(role):
    with pytest.raises(NotAuthorized):
        inbox_of(Caller("p", role, "o"))


def test_only_its_recipient_reads_a_notification_and_reading_twice_changes_nothing():
    notification = prepare()
    with pytest.raises(NotYourNotification):
        notification.read(Recipient("applicant", "someone-else"), {})
    assert notification.read(APPLICANT, {"party_id": "user-1"}) is True
    assert notification.read(APPLICANT, {"party_id": "user-1"}) is False
    assert notification.state == READ
    with pytest.raises(NotYourNotification):
        prepare(EMAIL).read(APPLICANT, {})  # an e-mail is in nobody's inbox


@pytest.mark.parametrize("now, due", [
    ("2026-06-01T10:00:00+08:00", None),
    ("2026-07-23T23:59:00+08:00", None),
    ("2026-07-24T00:00:00+08:00", (2026, 7)),
    ("2026-07-29T23:59:00+08:00", (2026, 7)),
    ("2026-07-30T00:00:00+08:00", (2026, 1)),
    ("2026-07-30T23:59:00+08:00", (2026, 1)),
    ("2026-07-31T00:00:00+08:00", None),
])
def test_reminders_fall_due_7_and_1_days_before_the_window_closes_on_30_july(now, due):
    assert due_window_reminder(datetime.fromisoformat(now), (7, 1)) == due


def test_the_window_closes_at_the_end_of_30_july_beijing_time():
    assert submission_window_closes(2026) == datetime(2026, 7, 31, tzinfo=BEIJING)


def test_reminder_days_and_retry_delays_come_from_the_environment():
    config = settings.load({"INNOBASE_REMINDER_DAYS": "1, 14,7", "INNOBASE_SMTP_RETRY_DELAYS_MS": "100,200",
                            "INNOBASE_SAC_OFFICER_EMAILS": "a@sac.test, b@sac.test,", "INNOBASE_SMTP_PORT": "2525"})
    assert config.reminder_days == (14, 7, 1)
    assert config.sac_officer_emails == ("a@sac.test", "b@sac.test")
    assert config.smtp_port == 2525 and settings.load({}).smtp_port == 8025
    assert [retry_delay(n, config.retry_delays_ms) for n in (1, 2, 3, 9)] == [
        timedelta(milliseconds=100), timedelta(milliseconds=200), timedelta(milliseconds=200),
        timedelta(milliseconds=200)]


def test_a_party_registering_again_changes_only_what_changed():
    party = Party.register(APPLICANT, "江苏省标准化研究院", ["a@x.test"], {})
    party.register_again("江苏省标准化研究院", ["a@x.test"], {})
    party.register_again("江苏省标准化研究院", ["b@x.test"], {})
    assert [type(e).__name__ for e in party.collect_events()] == ["Registered", "Updated"]
    assert party.emails == ["b@x.test"]


def test_a_dossier_follows_its_experts_number_and_milestones():
    dossier = Dossier.open(application_id=uuid.uuid4(), applicant_organization="o", name="n", base_type="regional",
                           organizing_unit_id="OU-1", recommending_unit_id="RU-1", status="draft", caused_by={})
    assert dossier.awaits_submission
    dossier.move("submitted", {})
    dossier.assign_number("GJ-1", {})
    dossier.assign_number("GJ-1", {})
    dossier.assign_expert("E-1", True, {})
    dossier.assign_expert("E-2", False, {})
    dossier.release_expert("E-2", {})
    dossier.describe({}, name="n", organizing_unit_id="OU-2")
    assert not dossier.awaits_submission and dossier.reached("draft") and dossier.reached("submitted")
    assert dossier.number == "GJ-1" and dossier.experts == {"E-1": True} and dossier.organizing_unit_id == "OU-2"
    names = [type(e).__name__ for e in dossier.collect_events()]
    assert names == ["Opened", "Moved", "Numbered", "ExpertAssigned", "ExpertAssigned", "ExpertReleased",
                     "Described"]


def test_the_email_is_plain_text_and_html_with_its_message_id_and_chinese_subject():
    mail = prepare(EMAIL)
    message = mailer.compose(mail, ["a@x.test"], "noreply@innobase.test")
    assert message["Message-ID"] == mail.message_id
    assert message["Subject"] == MESSAGE.subject and message["To"] == "a@x.test"
    assert "国家技术标准创新基地申报系统" in str(message["From"])
    assert message.get_body(("plain",)).get_content().strip() == "正文"
    assert message.get_body(("html",)).get_content().strip() == "<p>正文</p>"
    assert message.as_bytes().isascii()  # 7-bit clean for any SMTP server
    assert mailer.compose(mail, ["a@x.test"], "noreply@innobase.test").as_bytes() == message.as_bytes()


def test_the_server_refusing_for_now_is_retried_and_for_good_is_not():
    for_now = mailer.refusal(smtplib.SMTPRecipientsRefused({"a@x.test": (451, b"later")}))
    for_good = mailer.refusal(smtplib.SMTPRecipientsRefused({"a@x.test": (550, b"no such user")}))
    mixed = mailer.refusal(smtplib.SMTPRecipientsRefused({"a@x": (550, b"no"), "b@x": (452, b"full")}))
    data = mailer.refusal(smtplib.SMTPDataError(554, b"rejected"))
    assert (for_now.permanent, for_good.permanent, mixed.permanent, data.permanent) == (False, True, False, True)
    assert "550" in for_good.error and "no such user" in for_good.error
    assert mailer.refusal(smtplib.SMTPServerDisconnected("gone")) is None  # the server, not the message
    assert mailer.refusal(smtplib.SMTPConnectError(421, b"busy")) is None


def test_a_party_is_mailed_at_its_contact_else_its_head_and_never_at_an_unusable_address():
    head, contact = {"email": "head@x.test"}, {"email": "contact@x.test"}
    assert mail_addresses("ApplicantRegistered", {"head": head, "contact": contact}) == ["contact@x.test"]
    assert mail_addresses("ApplicantRegistered", {"head": head, "contact": {"email": None}}) == ["head@x.test"]
    assert mail_addresses("ApplicantRegistered", {"head": head, "contact": {"email": "x@y\nBcc: z@w"}}) == [
        "head@x.test"]
    assert mail_addresses("UnitRegistered", {"contact": None}) == []
    assert mail_addresses("UnitRegistered", {"contact": {"email": "张三@单位"}}) == []
    assert mail_addresses("ExpertRegistered", {"email": "e@x.test"}) == ["e@x.test"]


def test_a_message_that_cannot_be_composed_is_refused_for_good_not_retried_forever():
    transport = mailer.SmtpTransport(settings.load({}))
    transport._smtp = object()  # never reached
    with pytest.raises(mailer.MailRefused) as refusal:
        transport.send(prepare(EMAIL), ["a@x.test\r\nBcc: victim@x.test"])
    assert refusal.value.permanent
