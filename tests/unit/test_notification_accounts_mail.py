"""The e-mails accounts asks for: the link's token is in the message the SMTP server gets,
and nowhere that is stored."""
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.notification import accounts_mail, mailer
from shared import auth, contracts
from shared.clock import now

pytestmark = pytest.mark.unit


def event(event_type: str, **payload) -> contracts.IntegrationEvent:
    return contracts.build("accounts", event_type, 1, payload, event_id=str(uuid.uuid4()), position=7,
                           application_id=None, occurred_at=now().isoformat(), actor=None, previous_position=None,
                           caused_by=None)


def test_the_confirmation_mail_links_to_the_portal_with_a_token_minted_only_when_composed():
    account_id, expires_at = str(uuid.uuid4()), (now() + timedelta(hours=72)).replace(microsecond=0)
    confirmation = event("EmailConfirmationRequested", account_id=account_id, email="zhang@applicant.test",
                         name="张联系", nonce="nonce-123", expires_at=expires_at.isoformat())
    [prepared] = accounts_mail.prepare(confirmation, "https://portal.test/", "innobase.test")
    assert prepared.to == ["zhang@applicant.test"] and prepared.subject == "【创新基地申报】请确认您的邮箱地址"
    token = auth.link_token("confirm_email", account_id, "nonce-123", expires_at)
    assert token not in prepared.text + prepared.html  # what the log and the read model keep
    assert "https://portal.test/confirm?token={{innobase-link:confirm_email:" in prepared.text
    composed = mailer.compose(prepared, prepared.to, "noreply@innobase.test")
    text = composed.get_body(preferencelist=("plain",)).get_content()
    html = composed.get_body(preferencelist=("html",)).get_content()
    assert f"https://portal.test/confirm?token={token}" in text and f'href="https://portal.test/confirm?token={token}"' in html
    sent = re.search(r"confirm\?token=([A-Za-z0-9_.-]+)", text)[1]
    assert auth.verify_link_token(sent, "confirm_email") == (account_id, "nonce-123")
    assert composed.as_bytes() == mailer.compose(prepared, prepared.to, "noreply@innobase.test").as_bytes()


def test_the_invitation_names_the_role_and_an_unusable_address_gets_no_mail():
    invited = dict(invitation_id=str(uuid.uuid4()), email="li@expert.test", name="李专家", role="expert",
                   organization="某研究院", party_id="expert-1", admin=False, nonce="n",
                   expires_at=datetime(2026, 6, 4, 2, tzinfo=timezone.utc).isoformat())
    [prepared] = accounts_mail.prepare(event("Invited", **invited), "http://127.0.0.1:8080", "innobase.test")
    assert "专家" in prepared.text and "某研究院" in prepared.text and "/invitation?token=" in prepared.text
    assert "2026年6月4日 10:00" in prepared.text
    assert accounts_mail.prepare(event("Invited", **{**invited, "email": "not an address"}), "http://x", "x") == []


def test_other_mails_are_left_as_they_are():
    assert accounts_mail.with_links("无链接 {{other}}") == "无链接 {{other}}"
