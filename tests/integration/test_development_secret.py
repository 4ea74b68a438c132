"""A service will not start with the development token secret, which anyone can read in our
source, unless INNOBASE_DEV=1 says this is a development machine; then it says so loudly
(issue 18, "Tokens")."""
import os
import subprocess

import pytest

from innobase import supervisor
from shared import settings

pytestmark = pytest.mark.integration


def start_intake(**env) -> subprocess.Popen:
    environ = {**os.environ, "INNOBASE_TOKEN_SECRET": settings.DEVELOPMENT_SECRET, **env}
    return subprocess.Popen(supervisor.BY_NAME["intake"].command(), cwd=supervisor.ROOT, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_a_service_started_with_the_development_secret_outside_development_stops_saying_why():
    proc = start_intake(INNOBASE_DEV="0")
    try:
        output, _ = proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode != 0
    assert "development token secret" in output and "INNOBASE_TOKEN_SECRET" in output


def test_in_development_it_starts_and_warns_that_anyone_can_mint_its_tokens():
    proc = start_intake(INNOBASE_DEV="1")
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if "DEVELOPMENT token secret" in line:
                break
        assert proc.poll() is None, "".join(lines)
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
    assert any("DEVELOPMENT token secret" in line for line in lines), "".join(lines)
