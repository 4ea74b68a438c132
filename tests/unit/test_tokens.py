"""Tokens live no longer than the setting allows, are not issued in the future nor used before
their `nbf`, and the services refuse the development secret outside development (issue 18,
"Tokens"). The command line mints by the clock the services read."""
import dataclasses
import logging
import os
import subprocess
import sys
from datetime import datetime, timezone

import jwt
import pytest

from innobase.cli import demo as demo_command
from shared import auth, clock, settings
from shared.errors import AuthenticationFailed

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)


@pytest.fixture
def fixed_clock(monkeypatch):
    fake = clock.FakeClock(NOW)
    monkeypatch.setattr(clock, "_clock", fake)
    return fake


def signed(**claims) -> str:
    base = {"sub": "p-1", "role": "applicant", "org": "org-1", "iat": int(NOW.timestamp()),
            "exp": int(NOW.timestamp()) + 3600}
    return jwt.encode({**base, **claims}, settings.get().token_secret, algorithm="HS256")


def refusal(token) -> str:
    with pytest.raises(AuthenticationFailed) as caught:
        auth.verify(token)
    return caught.value.details["rule"]


def test_a_token_living_longer_than_the_maximum_is_refused(fixed_clock):
    assert auth.verify(auth.mint("p-1", "applicant", "org-1", ttl_seconds=24 * 3600)).party_id == "p-1"
    assert refusal(auth.mint("p-1", "applicant", "org-1", ttl_seconds=24 * 3600 + 1)) == "token_lifetime"
    assert refusal(signed(exp=int(NOW.timestamp()) + 400 * 86400)) == "token_lifetime"


def test_the_maximum_lifetime_is_a_setting(fixed_clock, monkeypatch):
    monkeypatch.setattr(settings, "_settings", dataclasses.replace(settings.get(), token_max_hours=1))
    assert refusal(signed(exp=int(NOW.timestamp()) + 3601, jti="a")) == "token_lifetime"
    assert auth.verify(signed(exp=int(NOW.timestamp()) + 3600, jti="b"))
    assert settings.load({"INNOBASE_TOKEN_MAX_HOURS": "8"}).token_max_hours == 8


def test_a_token_issued_in_the_future_beyond_a_minute_of_skew_is_refused(fixed_clock):
    now = int(NOW.timestamp())
    assert auth.verify(signed(iat=now + 60, exp=now + 3600))
    assert refusal(signed(iat=now + 61, exp=now + 3600)) == "token_issued_in_future"


def test_a_token_without_an_issue_time_or_with_times_that_are_not_numbers_is_refused(fixed_clock):
    no_iat = jwt.encode({"sub": "p", "role": "applicant", "org": "o", "exp": int(NOW.timestamp()) + 60},
                        settings.get().token_secret, algorithm="HS256")
    assert refusal(no_iat) == "token_invalid"
    assert refusal(signed(nbf="soon")) == "token_invalid"
    assert refusal(signed(iat=True)) == "token_invalid"


def test_a_token_is_not_valid_before_its_nbf(fixed_clock):
    now = int(NOW.timestamp())
    early = signed(nbf=now + 600)
    assert refusal(early) == "token_not_yet_valid"
    fixed_clock.advance(seconds=600)
    assert auth.verify(early).party_id == "p-1"


def development(**changes) -> settings.Settings:
    return dataclasses.replace(settings.get(), token_secret=settings.DEVELOPMENT_SECRET, **changes)


def test_a_service_refuses_to_start_with_the_development_secret_outside_development():
    with pytest.raises(auth.DevelopmentSecretRefused, match="INNOBASE_TOKEN_SECRET"):
        auth.refuse_development_secret("intake", development(development=False))
    auth.refuse_development_secret("intake", dataclasses.replace(settings.get(), development=False))


def test_in_development_the_development_secret_is_allowed_with_one_loud_warning(monkeypatch, caplog):
    monkeypatch.setattr(auth, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="shared.auth"):
        auth.refuse_development_secret("intake", development(development=True))
        auth.refuse_development_secret("review", development(development=True))
    warnings = [r for r in caplog.records if "DEVELOPMENT token secret" in r.getMessage()]
    assert len(warnings) == 1
    assert settings.load({"INNOBASE_DEV": "1"}).development and not settings.load({}).development
    assert settings.load({}).uses_development_secret


def cli(*args, **env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("INNOBASE_CLOCK_")}
    return subprocess.run([sys.executable, "-m", "innobase.cli", *args], env={**environ, **env},
                          capture_output=True, text=True, timeout=60)


def test_token_mint_issues_by_the_clock_the_services_read(tmp_path):
    minted = cli("token", "mint", "--party", "p", "--role", "officer", "--org", "SAC",
                 INNOBASE_CLOCK_START="2030-05-05T08:00:00+08:00")
    assert minted.returncode == 0, minted.stderr
    claims = jwt.decode(minted.stdout.strip(), options={"verify_signature": False})
    assert abs(claims["iat"] - datetime(2030, 5, 5, 0, 0, tzinfo=timezone.utc).timestamp()) < 120
    clock_file = tmp_path / "clock"
    clock_file.write_text("2031-01-01T00:00:00+00:00")
    minted = cli("token", "mint", "--party", "p", "--role", "officer", "--org", "SAC",
                 INNOBASE_CLOCK_FILE=str(clock_file))
    claims = jwt.decode(minted.stdout.strip(), options={"verify_signature": False})
    assert abs(claims["iat"] - datetime(2031, 1, 1, tzinfo=timezone.utc).timestamp()) < 120


def test_token_mint_refuses_a_lifetime_the_services_would_refuse():
    minted = cli("token", "mint", "--party", "p", "--role", "officer", "--org", "SAC", "--ttl", str(25 * 3600))
    assert minted.returncode == 2 and "INNOBASE_TOKEN_MAX_HOURS" in minted.stderr


def test_the_demo_runs_by_the_clock_the_services_read(monkeypatch):
    monkeypatch.setattr(settings, "_settings", dataclasses.replace(
        settings.get(), clock_start="2030-05-05T08:00:00+08:00", clock_file=None))
    saved = clock._clock
    seen = []
    monkeypatch.setattr("innobase.demo.main", lambda: seen.append(clock.now()) or 0)
    try:
        assert demo_command._demo(None) == 0
    finally:
        clock.install(saved)
    assert abs((seen[0] - datetime(2030, 5, 5, 0, 0, tzinfo=timezone.utc)).total_seconds()) < 120
