"""The development mail box keeps each mail it is sent as an .eml file and reads it back decoded."""
import smtplib
from email.message import EmailMessage

import pytest

from innobase.supervisor import start_dev_mailbox
from services.gateway.portal import devmail
from tests.support.mail import free_port

pytestmark = pytest.mark.unit


def test_a_mail_sent_to_the_development_mail_box_reads_back_with_its_chinese_subject_and_link(tmp_path):
    port = free_port()
    controller = devmail.start(tmp_path, "127.0.0.1", port)
    try:
        message = EmailMessage()
        message["Subject"] = "请确认您的电子邮箱"
        message["From"] = "noreply@innobase.local"
        message["To"] = "lianxi@example.cn"
        message.set_content("请打开 http://127.0.0.1:8080/confirm?token=abc 完成确认。", charset="utf-8", cte="base64")
        message.add_alternative("<p>请打开<a href=\"http://127.0.0.1:8080/confirm?token=abc\">确认链接</a></p>",
                                subtype="html", charset="utf-8", cte="base64")
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.send_message(message)
    finally:
        controller.stop()

    [captured] = devmail.mails(tmp_path, to="lianxi@example.cn")
    assert captured.subject == "请确认您的电子邮箱"
    assert "confirm?token=abc" in captured.text
    assert devmail.mail(tmp_path, captured.id) == captured
    assert devmail.mails(tmp_path, to="other@example.cn") == []


def test_an_unsafe_mail_id_finds_nothing(tmp_path):
    (tmp_path / "secret.eml").write_text("Subject: x\n\nx")
    assert devmail.mail(tmp_path, "../secret") is None
    assert devmail.mail(tmp_path, "secret") is None


def test_the_mail_box_starts_only_in_development():
    assert start_dev_mailbox({"INNOBASE_DEV": "0"}) is None
    assert start_dev_mailbox({}) is None
