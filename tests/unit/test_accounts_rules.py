"""Accounts' rules without a broker or a database: the password policy, the lockout window,
sessions' lifetime and idle timeout, e-mailed links (purpose, expiry, single use), the
invitation's 72 hours, and what a personal access token is made of."""
from datetime import datetime, timedelta, timezone

import pytest

from services.accounts.domain import (
    ACCEPT_INVITATION, CONFIRM_EMAIL, PASSWORD_RESET, REGISTRATION, Account, Invitation, Limits,
    access_token_of, account_id_of, check_password_policy, digest, party_id_for, token_id_of,
)
from services.accounts import passwords, settings
from shared import auth, clock
from shared.errors import AuthenticationFailed, RuleViolation
from services.accounts.errors import AccountLocked, AccountNotConfirmed, LinkInvalid, WeakPassword

pytestmark = pytest.mark.unit
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
LIMITS = Limits()
ADMIN = {"party_id": "admin", "role": "officer", "organization": "SAC"}


@pytest.fixture
def fake_clock():
    before = clock._clock
    fake = clock.FakeClock(T0)
    clock.install(fake)
    yield fake
    clock.install(before)


def account(email="zhang@unit.test", confirmed=True) -> Account:
    return Account.open(email=email, name="张联系", role="applicant", organization="91320000MA1XXXXX9L",
                        party_id=None, admin=False, confirmed=confirmed, password_hash="$argon2id$dummy",
                        origin=REGISTRATION)


def events(aggregate) -> list[str]:
    return [type(e).__name__ for e in aggregate.collect_events()]


# --- the password policy ------------------------------------------------------------------

@pytest.mark.parametrize("password, rule", [
    ("short-9ch", "password_length"),
    ("1234567890123", "password_all_digits"),
    ("Zhang@Unit.test", "password_is_email"),
])
def test_a_weak_password_is_refused_naming_the_rule(password, rule):
    with pytest.raises(WeakPassword) as refused:
        check_password_policy(password, "zhang@unit.test")
    assert refused.value.rule == rule
    assert refused.value.details["field"] == "password"
    assert password not in str(refused.value)


def test_a_password_of_ten_characters_with_a_letter_is_good():
    check_password_policy("标准创新基地申报2026", "zhang@unit.test")
    check_password_policy("123456789a", "zhang@unit.test")


def test_passwords_are_hashed_with_argon2id_and_verified():
    password_hash = passwords.hash_password("correct horse battery")
    assert password_hash.startswith("$argon2id$")
    assert "correct horse" not in password_hash
    assert passwords.verify_password(password_hash, "correct horse battery")
    assert not passwords.verify_password(password_hash, "wrong horse battery")
    assert not passwords.needs_rehash(password_hash)
    assert passwords.needs_rehash("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")


# --- sign-in lockout ------------------------------------------------------------------------

def test_five_failures_within_fifteen_minutes_lock_the_account_for_fifteen_minutes():
    a = account()
    for minute in range(4):
        assert not a.fail_sign_in(T0 + timedelta(minutes=minute), LIMITS)
    a.refuse_if_locked(T0 + timedelta(minutes=4))
    assert a.fail_sign_in(T0 + timedelta(minutes=4), LIMITS)
    with pytest.raises(AccountLocked) as locked:
        a.refuse_if_locked(T0 + timedelta(minutes=5))
    assert locked.value.details["until"] == (T0 + timedelta(minutes=19)).isoformat()
    a.refuse_if_locked(T0 + timedelta(minutes=19))  # the period is over
    assert events(a)[-2:] == ["SignInFailed", "Locked"]


def test_failures_older_than_the_window_do_not_count():
    a = account()
    for minute in (0, 1, 2, 3):
        a.fail_sign_in(T0 + timedelta(minutes=minute), LIMITS)
    assert not a.fail_sign_in(T0 + timedelta(minutes=16), LIMITS)  # the first two fell out of the window
    assert a.recent_failures(T0 + timedelta(minutes=16), LIMITS) == 3


def test_a_successful_sign_in_clears_the_failures():
    a = account()
    for minute in range(4):
        a.fail_sign_in(T0 + timedelta(minutes=minute), LIMITS)
    a.sign_in(digest("session"), T0 + timedelta(minutes=5), LIMITS)
    assert not a.fail_sign_in(T0 + timedelta(minutes=6), LIMITS)
    assert a.recent_failures(T0 + timedelta(minutes=6), LIMITS) == 1


def test_the_limits_come_from_the_settings_with_documented_defaults():
    assert settings.load({}) == Limits()
    limits = settings.load({"INNOBASE_LOGIN_MAX_FAILURES": "3", "INNOBASE_LOCKOUT_MINUTES": "1",
                            "INNOBASE_SESSION_HOURS": "2", "INNOBASE_SESSION_IDLE_MINUTES": "10",
                            "INNOBASE_LOGIN_WINDOW_MINUTES": "5"})
    assert (limits.max_failures, limits.lockout, limits.session_lifetime, limits.session_idle,
            limits.failure_window) == (3, timedelta(minutes=1), timedelta(hours=2), timedelta(minutes=10),
                                       timedelta(minutes=5))


def test_an_unconfirmed_account_does_not_sign_in():
    with pytest.raises(AccountNotConfirmed):
        account(confirmed=False).require_usable()


# --- sessions ---------------------------------------------------------------------------------

def test_a_session_ends_after_its_lifetime_even_when_used():
    a, session = account(), digest("s1")
    a.sign_in(session, T0, LIMITS)
    for minutes in range(0, 8 * 60, 10):
        a.live_session(session, T0 + timedelta(minutes=minutes), LIMITS)
        a.touch(session, T0 + timedelta(minutes=minutes), LIMITS)
    with pytest.raises(AuthenticationFailed) as refused:
        a.live_session(session, T0 + timedelta(hours=8), LIMITS)
    assert refused.value.details == {"rule": "session", "reason": "expired"}


def test_a_session_idle_for_thirty_minutes_is_refused():
    a, session = account(), digest("s1")
    a.sign_in(session, T0, LIMITS)
    a.live_session(session, T0 + timedelta(minutes=29), LIMITS)
    with pytest.raises(AuthenticationFailed) as refused:
        a.live_session(session, T0 + timedelta(minutes=30), LIMITS)
    assert refused.value.details["reason"] == "idle"


def test_activity_is_recorded_at_most_once_per_five_minutes():
    a, session = account(), digest("s1")
    a.sign_in(session, T0, LIMITS)
    a.collect_events()
    touched = [a.touch(session, T0 + timedelta(minutes=m), LIMITS) for m in range(0, 21)]
    assert touched.count(True) == 4  # at 5, 10, 15, 20 minutes
    assert events(a) == ["SessionTouched"] * 4
    a.live_session(session, T0 + timedelta(minutes=49), LIMITS)  # idle counts from the last touch


def test_signing_out_ends_only_that_session_and_a_password_change_ends_all():
    a = account()
    a.sign_in(digest("s1"), T0, LIMITS)
    a.sign_in(digest("s2"), T0, LIMITS)
    assert a.end_session(digest("s1"), "signed_out")
    with pytest.raises(AuthenticationFailed):
        a.live_session(digest("s1"), T0, LIMITS)
    a.live_session(digest("s2"), T0, LIMITS)
    a.collect_events()
    a.change_password("$argon2id$new", ADMIN)
    assert events(a) == ["PasswordChanged", "SessionEnded"]
    with pytest.raises(AuthenticationFailed):
        a.live_session(digest("s2"), T0, LIMITS)


def test_deactivation_ends_every_session():
    a = account()
    a.sign_in(digest("s1"), T0, LIMITS)
    a.collect_events()
    assert a.deactivate("left the unit", ADMIN)
    assert events(a) == ["Deactivated", "SessionEnded"]
    assert not a.deactivate("again", ADMIN)
    with pytest.raises(AuthenticationFailed):
        a.live_session(digest("s1"), T0, LIMITS)


# --- e-mailed links ----------------------------------------------------------------------------

def test_a_link_token_names_its_purpose_subject_and_nonce(fake_clock):
    token = auth.link_token(CONFIRM_EMAIL, "account-1", "nonce-1", T0 + timedelta(hours=1))
    assert token == auth.link_token(CONFIRM_EMAIL, "account-1", "nonce-1", T0 + timedelta(hours=1))
    assert auth.verify_link_token(token, CONFIRM_EMAIL) == ("account-1", "nonce-1")
    with pytest.raises(AuthenticationFailed) as wrong_purpose:
        auth.verify_link_token(token, PASSWORD_RESET)
    assert wrong_purpose.value.details["rule"] == "link_token_purpose"
    with pytest.raises(AuthenticationFailed) as forged:
        auth.verify_link_token(auth.link_token(CONFIRM_EMAIL, "account-1", "nonce-1", T0 + timedelta(hours=1),
                                               secret="another secret"), CONFIRM_EMAIL)
    assert forged.value.details["rule"] == "link_token_invalid"
    fake_clock.advance(hours=1)
    with pytest.raises(AuthenticationFailed) as expired:
        auth.verify_link_token(token, CONFIRM_EMAIL)
    assert expired.value.details["rule"] == "link_token_expired"


def test_a_link_token_is_no_caller_token_and_a_caller_token_no_link():
    caller_token = auth.mint("party", "applicant", "org")
    with pytest.raises(AuthenticationFailed):
        auth.verify_link_token(caller_token, CONFIRM_EMAIL)
    with pytest.raises(AuthenticationFailed):
        auth.verify(auth.link_token(CONFIRM_EMAIL, "a", "n", clock.now() + timedelta(hours=1)))


def test_a_confirmation_link_works_once():
    a = account(confirmed=False)
    a.request_confirmation("nonce-1", T0, LIMITS)
    a.confirm_email("nonce-1", T0 + timedelta(hours=1))
    assert a.status == "active"
    with pytest.raises(LinkInvalid) as again:
        a.confirm_email("nonce-1", T0 + timedelta(hours=1))
    assert again.value.details["rule"] == "link_token_used"


def test_a_newer_reset_link_replaces_the_older_and_expires_after_an_hour():
    a = account()
    a.request_password_reset("old", T0, LIMITS)
    a.request_password_reset("new", T0, LIMITS)
    with pytest.raises(LinkInvalid):
        a.reset_password("old", "$argon2id$x", T0)
    with pytest.raises(LinkInvalid) as expired:
        a.reset_password("new", "$argon2id$x", T0 + timedelta(hours=1))
    assert expired.value.details["rule"] == "link_token_expired"
    a.reset_password("new", "$argon2id$x", T0 + timedelta(minutes=59))
    assert a.password_hash == "$argon2id$x"


def invitation(**terms) -> Invitation:
    defaults = dict(email="Clerk@Unit.test", name="王处长", role="organizing_unit", organization="OU-1",
                    party_id=None, admin=False)
    return Invitation.issue(**{**defaults, **terms}, nonce="n1", now=T0, limits=LIMITS, actor=ADMIN)


def test_an_invitation_is_valid_for_72_hours_and_accepted_once():
    late = invitation()
    with pytest.raises(LinkInvalid) as expired:
        late.accept("n1", T0 + timedelta(hours=72), account_id_of("clerk@unit.test"))
    assert expired.value.details["rule"] == "link_token_expired"
    on_time = invitation()
    on_time.accept("n1", T0 + timedelta(hours=71, minutes=59), account_id_of("clerk@unit.test"))
    assert on_time.view(T0)["state"] == "accepted"
    with pytest.raises(LinkInvalid):
        on_time.accept("n1", T0 + timedelta(hours=1), account_id_of("clerk@unit.test"))


def test_inviting_again_sends_a_new_link_and_the_old_one_no_longer_works():
    i = invitation()
    i.reissue(name="王处长", role="recommending_unit", organization="RU-1", party_id=None, admin=False,
              nonce="n2", now=T0 + timedelta(hours=100), limits=LIMITS, actor=ADMIN)
    with pytest.raises(LinkInvalid):
        i.accept("n1", T0 + timedelta(hours=101), account_id_of("clerk@unit.test"))
    i.accept("n2", T0 + timedelta(hours=101), account_id_of("clerk@unit.test"))
    assert i.email == "clerk@unit.test"


def test_only_an_officer_is_an_administrator_and_an_expert_names_the_expert_id():
    with pytest.raises(RuleViolation) as refused:
        invitation(admin=True)
    assert refused.value.rule == "admin_is_officer"
    with pytest.raises(RuleViolation) as no_expert_id:
        party_id_for("expert", None, account_id_of("e@x.test"))
    assert no_expert_id.value.rule == "expert_party_id"
    assert party_id_for("expert", "expert-7", account_id_of("e@x.test")) == "expert-7"
    assert party_id_for("auditor", None, account_id_of("e@x.test")) == str(account_id_of("e@x.test"))


# --- identities and tokens ------------------------------------------------------------------------

def test_one_account_per_address_whatever_its_case():
    assert account_id_of(" Zhang@Unit.TEST ") == account_id_of("zhang@unit.test")
    assert account("Zhang@Unit.TEST").email == "zhang@unit.test"


def test_a_personal_access_token_is_derived_from_its_id_and_stored_as_a_digest():
    token_id = token_id_of("account-1", "request-1")
    assert token_id == token_id_of("account-1", "request-1") != token_id_of("account-1", "request-2")
    assert token_id_of("account-1", None) != token_id_of("account-1", None)
    token = access_token_of(token_id, "secret")
    assert token.startswith("inb_") and len(token) > 40
    assert token == access_token_of(token_id, "secret") != access_token_of(token_id, "another secret")
    a = account()
    a.create_token(token_id, digest(token), "nightly export", "read", None, ADMIN)
    assert token not in repr(a.collect_events())
    assert a.live_token(token_id, T0)["scope"] == "read"
    a.revoke_token(token_id, ADMIN)
    with pytest.raises(AuthenticationFailed):
        a.live_token(token_id, T0)


def test_an_expired_token_is_refused():
    a = account()
    a.create_token("t1", digest("inb_x"), "ci", "write", T0 + timedelta(days=1), ADMIN)
    a.live_token("t1", T0 + timedelta(hours=23))
    with pytest.raises(AuthenticationFailed):
        a.live_token("t1", T0 + timedelta(days=1))


def test_the_link_purposes_are_distinct():
    assert len({CONFIRM_EMAIL, ACCEPT_INVITATION, PASSWORD_RESET}) == 3
