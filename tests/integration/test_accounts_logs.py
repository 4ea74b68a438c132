"""Passwords, session ids and tokens are never in accounts' log output, even at INFO level and
when calls are refused (the test reads everything the service process wrote)."""
from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from innobase import supervisor
from shared.errors import AuthenticationFailed, InvalidInput
from services.accounts.errors import AccountLocked, WeakPassword
from shared.reference.credit_code import make_credit_code
from tests.support.cluster import eventually, consumers, rpc, token

pytestmark = pytest.mark.integration


@pytest.fixture
def logged_accounts(tmp_path):
    output = tmp_path / "accounts.log"
    environ = {**os.environ, "INNOBASE_LOG_LEVEL": "INFO", "INNOBASE_TEST_FAULTS": ""}
    with open(output, "wb") as sink:
        spec = supervisor.BY_NAME["accounts"]
        proc = subprocess.Popen(spec.command(), cwd=supervisor.ROOT, env=environ, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            supervisor.wait_healthy(["accounts"], os.environ["INNOBASE_AMQP_URI"], processes=[proc])
            eventually(lambda: consumers("rpc-accounts") == 1, timeout=60)  # no other instance answers
            yield output
        finally:
            supervisor.stop([proc])


def test_no_secret_reaches_the_log_output(logged_accounts):
    tag = uuid.uuid4().hex[:8].upper()
    secret, address = f"Pw-{uuid.uuid4().hex}", f"log-{tag.lower()}@sac.test"
    secrets = [secret]
    with rpc(token("ops", "ops-cli", "ops"), timeout=30) as ops:
        admin = ops.accounts.create_admin(email=address, name="管理员", password=secret)
    with rpc(token("gateway", "gateway-1", "gateway"), timeout=30) as gateway:
        weak = f"{uuid.uuid4().int % 10**12:012d}"
        secrets.append(weak)
        with pytest.raises(WeakPassword):
            gateway.accounts.register(credit_code=make_credit_code(org_body=tag), unit_name="单位", contact_name="张",
                                      email=f"z-{tag.lower()}@applicant.test", password=weak)
        with pytest.raises(InvalidInput):
            gateway.accounts.sign_in(email=address, password="x" * 2000)
        session = gateway.accounts.sign_in(email=address, password=secret)
        secrets.append(session["session_id"])
        gateway.accounts.resolve_session(session_id=session["session_id"])
        for attempt in range(5):  # the fifth locks the account
            wrong = f"Wrong-{uuid.uuid4().hex}"
            secrets.append(wrong)
            with pytest.raises(AuthenticationFailed):
                gateway.accounts.sign_in(email=address, password=wrong)
        with pytest.raises(AccountLocked):
            gateway.accounts.sign_in(email=address, password=secret)
    with rpc(token("officer", admin["party_id"], "SAC"), timeout=30) as own:
        created = own.accounts.create_token(name="ci", scope="write")
        secrets.append(created["token"])
    with rpc(token("gateway", "gateway-1", "gateway"), timeout=30) as gateway:
        gateway.accounts.resolve_token(token=created["token"])
        gateway.accounts.sign_out(session_id=session["session_id"])

    written = logged_accounts.read_bytes().decode("utf-8", "replace")
    assert " accounts INFO " in written  # the process did log, at INFO
    for value in secrets:
        assert value not in written
