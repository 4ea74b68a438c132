"""Accounts through the real services: the accounts and notification processes on the real
broker and database, the e-mails caught by a real SMTP server on loopback, each link read
from the mail that arrived, as a person would follow it."""
from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta

import pytest

from shared.reference.credit_code import make_credit_code
from shared.errors import AuthenticationFailed, InvalidInput, NotAuthorized, RuleViolation
from services.accounts.errors import (
    AccountDeactivated, AccountLocked, AccountNotConfirmed, EmailTaken, LinkInvalid, WeakPassword,
)
from tests.conftest import TEST_START
from tests.integration.test_notification_delivery import notification_env
from tests.support.clock import set_time
from tests.support.cluster import Cluster, eventually, purge, rpc, sql, token

pytestmark = pytest.mark.integration
PORTAL = "https://portal.test"
# Every secret the tests handle: none of them may be in a stored event (the last test looks).
SECRETS: list[str] = []


@pytest.fixture(scope="module")
def services(mailbox):  # noqa: F811
    set_time(TEST_START)
    purge("notification")
    cluster = Cluster()
    cluster.start("accounts")
    cluster.start("notification", **notification_env(mailbox), INNOBASE_PORTAL_URL=PORTAL)
    yield cluster
    cluster.stop_all()
    set_time(TEST_START)


@pytest.fixture(scope="module")
def gateway(services):
    with rpc(token("gateway", "gateway-1", "gateway"), timeout=30) as cluster:
        yield cluster.accounts


def as_account(view: dict):
    """The proxy the gateway would use for this account: a token minted for its party, role and org."""
    return rpc(token(view["role"], view["party_id"], view["organization"]), timeout=30)


def tag() -> str:
    return uuid.uuid4().hex[:8].upper()


def password() -> str:
    secret = f"Pw-{uuid.uuid4().hex[:16]}"  # ASCII: JSON may escape other characters, and hide them from a search
    SECRETS.append(secret)
    return secret


def link_in_mail(mailbox, address: str, path: str, count: int = 1) -> str:  # noqa: F811
    """The link token of the `count`-th e-mail to `address` whose link leads to `path`."""
    pattern = re.compile(re.escape(f"{PORTAL}{path}?token=") + r"([A-Za-z0-9_.-]+)")

    def links():
        return [m for mail in mailbox.to(address) for m in pattern.findall(mail.text)]

    found = eventually(lambda: len(links()) >= count and links(), timeout=30)
    SECRETS.append(found[count - 1])
    return found[count - 1]


def event_types(aggregate_id: str) -> list[str]:
    rows = sql("accounts", "SELECT topic FROM accounts_events WHERE originator_id = %s ORDER BY originator_version",
               aggregate_id)
    return [topic.rsplit(".", 1)[-1] for (topic,) in rows]


def register(gateway, **overrides) -> tuple[dict, str]:
    t = tag()
    secret = password()
    data = {"credit_code": make_credit_code(org_body=t), "unit_name": f"江苏省标准化研究院{t}",
            "contact_name": "张联系", "email": f"zhang-{t.lower()}@applicant.test", "password": secret,
            "phone": "025-12345678", **overrides}
    return gateway.register(**data), data["password"]


def registered_and_confirmed(gateway, mailbox) -> tuple[dict, str]:  # noqa: F811
    view, secret = register(gateway)
    gateway.confirm_email(token=link_in_mail(mailbox, view["email"], "/confirm"))
    return view, secret


def sign_in(gateway, email: str, secret: str) -> dict:
    session = gateway.sign_in(email=email, password=secret)
    SECRETS.append(session["session_id"])
    return session


@pytest.fixture(scope="module")
def admin(gateway):
    """An SAC administrator, created as `innobase accounts create-admin` does (an ops token)."""
    t = tag().lower()
    secret = password()
    with rpc(token("ops", "ops-cli", "ops")) as ops:
        view = ops.accounts.create_admin(email=f"admin-{t}@sac.test", name="管理员", password=secret)
        with pytest.raises(EmailTaken):
            ops.accounts.create_admin(email=f"Admin-{t}@SAC.test", name="又一个", password=secret)
    with as_account(view) as cluster:
        yield view, cluster.accounts


# --- registration, confirmation, sign-in, sessions -------------------------------------------

def test_an_applicant_registers_confirms_its_address_by_email_and_signs_in(gateway, mailbox):  # noqa: F811
    view, secret = register(gateway)
    assert view["status"] == "unconfirmed" and view["role"] == "applicant"
    assert view["party_id"] == view["account_id"] and view["organization"].startswith("91320000")
    assert gateway.register(credit_code=view["organization"], unit_name="x", contact_name="张联系",
                            email=view["email"].upper(), password=secret) == view  # delivered again
    with pytest.raises(EmailTaken):
        gateway.register(credit_code=view["organization"], unit_name="x", contact_name="李",
                         email=view["email"], password="another-password-1")
    with pytest.raises(AccountNotConfirmed):
        gateway.sign_in(email=view["email"], password=secret)

    link = link_in_mail(mailbox, view["email"], "/confirm")
    mail = mailbox.to(view["email"])[0]
    assert mail.subject == "【创新基地申报】请确认您的邮箱地址" and "张联系" in mail.text
    assert f'href="{PORTAL}/confirm?token={link}"' in mail.html
    assert gateway.confirm_email(token=link)["status"] == "active"
    with pytest.raises(LinkInvalid) as again:
        gateway.confirm_email(token=link)
    assert again.value.details["rule"] == "link_token_used"

    session = sign_in(gateway, view["email"], secret)
    assert session["account"] == {**view, "status": "active"}
    resolved = gateway.resolve_session(session_id=session["session_id"])
    assert resolved == {"account": session["account"], "expires_at": session["expires_at"]}
    assert datetime.fromisoformat(session["expires_at"]) - datetime.fromisoformat(TEST_START) >= timedelta(hours=7)
    assert sign_in(gateway, view["email"], secret)["session_id"] != session["session_id"]  # no fixation
    gateway.sign_out(session_id=session["session_id"])
    with pytest.raises(AuthenticationFailed) as ended:
        gateway.resolve_session(session_id=session["session_id"])
    assert ended.value.details["rule"] == "session"
    assert event_types(view["account_id"])[:3] == ["Opened", "EmailConfirmationRequested", "EmailConfirmed"]
    assert "SessionEnded" in event_types(view["account_id"])
    assert len(mailbox.to(view["email"])) == 1  # the registration delivered twice sent one e-mail


def test_a_new_confirmation_link_replaces_the_first(gateway, mailbox):  # noqa: F811
    view, secret = register(gateway)
    first = link_in_mail(mailbox, view["email"], "/confirm")
    unknown = f"nobody-{tag().lower()}@applicant.test"
    assert gateway.resend_confirmation(email=view["email"]) == gateway.resend_confirmation(email=unknown)
    second = link_in_mail(mailbox, view["email"], "/confirm", count=2)
    with pytest.raises(LinkInvalid):
        gateway.confirm_email(token=first)
    assert gateway.confirm_email(token=second)["status"] == "active"
    gateway.resend_confirmation(email=view["email"])  # confirmed: nothing more is sent
    sign_in(gateway, view["email"], secret)
    assert len(mailbox.to(view["email"])) == 2 and mailbox.to(unknown) == []


def test_a_registration_is_checked_before_anything_is_recorded(gateway):
    with pytest.raises(WeakPassword) as weak:
        register(gateway, password="123456789012")
    assert weak.value.details["rule"] == "password_all_digits"
    with pytest.raises(RuleViolation) as code:
        register(gateway, credit_code="91320000MA1XXXXX9A")
    assert code.value.details["field"] == "credit_code"
    with pytest.raises(InvalidInput) as bad:
        register(gateway, email="not an address")
    assert "email" in bad.value.fields


def test_only_the_gateway_signs_people_in(gateway):
    with rpc(token("applicant")) as cluster:
        with pytest.raises(NotAuthorized):
            cluster.accounts.sign_in(email="zhang@applicant.test", password="whatever-password")


def test_a_session_idle_too_long_is_refused(gateway, mailbox):  # noqa: F811
    view, secret = registered_and_confirmed(gateway, mailbox)
    session = sign_in(gateway, view["email"], secret)
    try:
        set_time(datetime.fromisoformat(TEST_START) + timedelta(minutes=31))
        with pytest.raises(AuthenticationFailed) as idle:
            gateway.resolve_session(session_id=session["session_id"])
        assert idle.value.details["rule"] == "session"
    finally:
        set_time(TEST_START)


def test_a_password_hashed_with_older_parameters_is_rehashed_at_sign_in(gateway):
    """As after an upgrade of argon2-cffi's recommended parameters: the next sign-in rehashes."""
    from argon2 import PasswordHasher

    from services.accounts.application import Accounts
    from services.accounts.domain import BOOTSTRAP, Account

    secret, address = password(), f"old-{tag().lower()}@sac.test"
    old_hash = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(secret)
    app = Accounts()
    app.save(Account.open(email=address, name="旧账户", role="auditor", organization="AUD", party_id=None,
                          admin=False, confirmed=True, password_hash=old_hash, origin=BOOTSTRAP))
    view = sign_in(gateway, address, secret)["account"]
    assert event_types(view["account_id"])[-2:] == ["SignedIn", "PasswordRehashed"]
    assert app.repository.get(uuid.UUID(view["account_id"])).password_hash.startswith("$argon2id$v=19$m=65536")
    sign_in(gateway, address, secret)  # the new hash verifies
    assert event_types(view["account_id"]).count("PasswordRehashed") == 1


# --- lockout ---------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_account_until_the_period_is_over(gateway, mailbox):  # noqa: F811
    view, secret = registered_and_confirmed(gateway, mailbox)
    for _ in range(5):
        with pytest.raises(AuthenticationFailed) as wrong:
            gateway.sign_in(email=view["email"], password="not-the-password")
        assert type(wrong.value) is AuthenticationFailed and wrong.value.details == {"rule": "credentials"}
    with pytest.raises(AuthenticationFailed) as unknown:
        gateway.sign_in(email=f"nobody-{tag().lower()}@applicant.test", password="not-the-password")
    assert (type(unknown.value), unknown.value.message, unknown.value.details) == (
        type(wrong.value), wrong.value.message, wrong.value.details)  # no existence oracle
    with pytest.raises(AccountLocked) as locked:
        gateway.sign_in(email=view["email"], password=secret)  # even the right password, for now
    until = datetime.fromisoformat(locked.value.details["until"])
    assert timedelta(minutes=14) < until - datetime.fromisoformat(TEST_START) <= timedelta(minutes=16)
    with pytest.raises(AccountLocked):
        gateway.sign_in(email=view["email"], password="not-the-password")
    assert event_types(view["account_id"]).count("SignInFailed") == 5  # attempts while locked are not counted
    assert "Locked" in event_types(view["account_id"])
    try:
        set_time(until + timedelta(seconds=5))
        assert sign_in(gateway, view["email"], secret)["account"]["account_id"] == view["account_id"]
    finally:
        set_time(TEST_START)


def test_an_unknown_address_takes_as_long_to_refuse_as_a_wrong_password(gateway, mailbox):  # noqa: F811
    """No timing oracle either: an unknown address costs a hash too (loosely: not a near-instant answer)."""
    view, _ = registered_and_confirmed(gateway, mailbox)

    def refusal_seconds(email: str) -> float:
        started = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            gateway.sign_in(email=email, password="not-the-password")
        return time.perf_counter() - started

    wrong = sorted(refusal_seconds(view["email"]) for _ in range(3))[1]
    unknown = sorted(refusal_seconds(f"nobody-{tag().lower()}@applicant.test") for _ in range(3))[1]
    assert unknown > 0.3 * wrong, (unknown, wrong)


# --- what SAC administrators do ----------------------------------------------------------------

def test_a_deactivated_accounts_live_session_is_refused_on_its_next_request(gateway, mailbox, admin):  # noqa: F811
    admin_view, administrator = admin
    view, secret = registered_and_confirmed(gateway, mailbox)
    session = sign_in(gateway, view["email"], secret)
    gateway.resolve_session(session_id=session["session_id"])
    assert administrator.deactivate(account_id=view["account_id"], reason="联系人离职")["status"] == "deactivated"
    with pytest.raises(AuthenticationFailed) as refused:
        gateway.resolve_session(session_id=session["session_id"])
    assert refused.value.details["rule"] == "session"
    with pytest.raises(AccountDeactivated):
        gateway.sign_in(email=view["email"], password=secret)
    with as_account(view) as own:
        with pytest.raises(AccountDeactivated):
            own.accounts.me()
    assert administrator.reactivate(account_id=view["account_id"])["status"] == "active"
    sign_in(gateway, view["email"], secret)
    with pytest.raises(AuthenticationFailed):
        gateway.resolve_session(session_id=session["session_id"])  # the old session stays ended
    with pytest.raises(RuleViolation) as yourself:
        administrator.deactivate(account_id=admin_view["account_id"], reason="试试")
    assert yourself.value.details["rule"] == "not_yourself"


def test_an_invited_expert_sets_a_password_and_signs_in_as_the_expert_id(gateway, mailbox, admin):  # noqa: F811
    _, administrator = admin
    expert_id, address = f"expert-{tag()}", f"li-{tag().lower()}@expert.test"
    invitation = administrator.invite(email=address, name="李专家", role="expert", organization="91110000X",
                                      party_id=expert_id)
    assert administrator.invite(email=address, name="李专家", role="expert", organization="91110000X",
                                party_id=expert_id) == invitation  # delivered again: the same invitation
    expires = datetime.fromisoformat(invitation["expires_at"]) - datetime.fromisoformat(TEST_START)
    assert timedelta(hours=71) < expires <= timedelta(hours=73)
    link = link_in_mail(mailbox, address, "/invitation")
    assert mailbox.to(address)[0].subject == "【创新基地申报】邀请您开通账户"
    assert "专家" in mailbox.to(address)[0].text
    secret = password()
    view = gateway.accept_invitation(token=link, password=secret)
    assert (view["role"], view["party_id"], view["organization"], view["status"]) == (
        "expert", expert_id, "91110000X", "active")
    with pytest.raises(LinkInvalid):
        gateway.accept_invitation(token=link, password=password())
    session = sign_in(gateway, address, secret)
    assert session["account"]["party_id"] == expert_id
    with as_account(session["account"]) as own:
        assert own.accounts.me()["account_id"] == view["account_id"]
    states = {i["email"]: i["state"] for i in administrator.list_invitations()["items"]}
    assert states[address] == "accepted"
    with pytest.raises(EmailTaken):
        administrator.invite(email=address, name="李专家", role="expert", organization="X", party_id=expert_id)


def test_a_role_change_is_recorded_with_who_made_it(gateway, mailbox, admin):  # noqa: F811
    admin_view, administrator = admin
    view, _ = registered_and_confirmed(gateway, mailbox)
    changed = administrator.set_role(account_id=view["account_id"], role="organizing_unit", organization="OU-江苏")
    assert (changed["role"], changed["organization"]) == ("organizing_unit", "OU-江苏")
    history = administrator.account_history(account_id=view["account_id"])["events"]
    role_changed = [e for e in history if e["type"] == "RoleChanged"][-1]
    assert role_changed["actor"] == {"party_id": admin_view["party_id"], "role": "officer", "organization": "SAC"}
    assert role_changed["payload"]["previous"]["role"] == "applicant"
    assert all("password_hash" not in e["payload"] and "nonce" not in e["payload"] for e in history)
    with rpc(token("auditor")) as auditor:
        assert auditor.accounts.account_history(account_id=view["account_id"])["events"] == history
    page = administrator.list_accounts(role="organizing_unit", organization="OU-江苏", limit=500)
    assert view["account_id"] in [a["account_id"] for a in page["items"]]
    with as_account(view) as old_identity:  # a token minted for what it was no longer names it
        with pytest.raises(NotAuthorized):
            old_identity.accounts.me()
    with as_account(changed) as officer_token, pytest.raises(NotAuthorized):
        officer_token.accounts.list_accounts()
    with rpc(token("officer", org="SAC")) as stranger, pytest.raises(NotAuthorized):
        stranger.accounts.invite(email="x@y.test", name="x", role="auditor", organization="AUD")


def test_an_administrators_list_of_accounts_pages_with_a_cursor(gateway, mailbox, admin):  # noqa: F811
    _, administrator = admin
    first = administrator.list_accounts(limit=1)
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = administrator.list_accounts(limit=1, cursor=first["next_cursor"])
    assert second["items"][0]["email"] > first["items"][0]["email"]
    with pytest.raises(InvalidInput):
        administrator.list_accounts(cursor="!!")


def test_an_officer_without_the_admin_flag_administers_nothing(gateway, mailbox, admin):  # noqa: F811
    _, administrator = admin
    address = f"officer-{tag().lower()}@sac.test"
    administrator.invite(email=address, name="赵处长", role="officer", organization="SAC")
    officer = gateway.accept_invitation(token=link_in_mail(mailbox, address, "/invitation"), password=password())
    assert (officer["role"], officer["admin"]) == ("officer", False)
    with as_account(officer) as own:
        for refused in (lambda: own.accounts.list_accounts(),
                        lambda: own.accounts.invite(email="x@y.test", name="x", role="auditor", organization="AUD")):
            with pytest.raises(NotAuthorized) as not_admin:
                refused()
            assert not_admin.value.details["rule"] == "admin"


# --- passwords ------------------------------------------------------------------------------------

def test_a_forgotten_password_is_reset_by_email(gateway, mailbox):  # noqa: F811
    view, secret = registered_and_confirmed(gateway, mailbox)
    session = sign_in(gateway, view["email"], secret)
    unknown = f"nobody-{tag().lower()}@applicant.test"
    assert gateway.request_password_reset(email=unknown) == gateway.request_password_reset(email=view["email"])
    link = link_in_mail(mailbox, view["email"], "/reset-password")
    assert mailbox.to(view["email"])[-1].subject == "【创新基地申报】重置密码"
    new_secret = password()
    with pytest.raises(WeakPassword):
        gateway.reset_password(token=link, password="short")
    gateway.reset_password(token=link, password=new_secret)
    with pytest.raises(LinkInvalid):
        gateway.reset_password(token=link, password=password())
    with pytest.raises(AuthenticationFailed):
        gateway.resolve_session(session_id=session["session_id"])  # every session ended
    with pytest.raises(AuthenticationFailed):
        gateway.sign_in(email=view["email"], password=secret)
    sign_in(gateway, view["email"], new_secret)
    assert mailbox.to(unknown) == []


def test_an_account_changes_its_password_and_its_sessions_end(gateway, mailbox):  # noqa: F811
    view, secret = registered_and_confirmed(gateway, mailbox)
    session = sign_in(gateway, view["email"], secret)
    new_secret = password()
    with as_account(view) as own:
        with pytest.raises(AuthenticationFailed) as wrong:
            own.accounts.change_password(current_password="not-the-password", new_password=new_secret)
        assert wrong.value.details["field"] == "current_password"
        own.accounts.change_password(current_password=secret, new_password=new_secret)
    with pytest.raises(AuthenticationFailed):
        gateway.resolve_session(session_id=session["session_id"])
    sign_in(gateway, view["email"], new_secret)


# --- personal access tokens --------------------------------------------------------------------------

def test_personal_access_tokens_are_created_resolved_and_revoked(gateway, mailbox):  # noqa: F811
    view, _ = registered_and_confirmed(gateway, mailbox)
    with as_account(view) as own:
        created = own.accounts.create_token(name="夜间导出", scope="read", expires_days=30, request_id="r-1")
        SECRETS.append(created["token"])
        assert created["token"].startswith("inb_") and created["scope"] == "read"
        assert own.accounts.create_token(name="夜间导出", scope="read", expires_days=30,
                                         request_id="r-1") == created  # redelivered: no twin
        listed = own.accounts.list_tokens()["items"]
        assert [t["token_id"] for t in listed] == [created["token_id"]]
        assert created["token"] not in str(listed)
        resolved = gateway.resolve_token(token=created["token"])
        assert (resolved["account"]["account_id"], resolved["token_id"], resolved["scope"]) == (
            view["account_id"], created["token_id"], "read")
        own.accounts.revoke_token(token_id=created["token_id"])
    with pytest.raises(AuthenticationFailed) as revoked:
        gateway.resolve_token(token=created["token"])
    assert revoked.value.details["rule"] == "token"
    with pytest.raises(AuthenticationFailed):
        gateway.resolve_token(token="inb_" + "x" * 43)
    assert "TokenRevoked" in event_types(view["account_id"])


# --- secrets --------------------------------------------------------------------------------------

def test_no_password_session_id_or_token_is_ever_in_a_stored_event(services):
    assert len(SECRETS) > 20
    for service, table in (("accounts", "accounts_events"), ("notification", "notification_events")):
        stored = "\n".join(bytes(state).decode("utf-8", "replace")
                           for (state,) in sql(service, f"SELECT state FROM {table}"))
        assert "argon2id" in stored or service == "notification"
        for secret in SECRETS:
            assert secret not in stored, f"a secret is in {service}'s events"
    bodies = "\n".join(text for (text,) in sql("notification", "SELECT body_text || body_html FROM notifications"))
    assert "/confirm?token={{innobase-link:" in bodies
    for secret in SECRETS:
        assert secret not in bodies
