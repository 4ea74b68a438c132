"""`innobase accounts create-admin` prompts for everything and never takes a default password."""
import pytest

from innobase import cli
from innobase.cli.accounts import create_admin
from services.accounts.errors import EmailTaken

pytestmark = pytest.mark.unit


def prompts(*answers):
    asked = iter(answers)
    return lambda prompt="": next(asked)


def test_create_admin_asks_for_the_password_twice_and_calls_accounts(capsys):
    calls = []
    code = create_admin(None, ask=prompts("Admin@SAC.test ", "管理员"),
                        ask_secret=prompts("long enough secret", "long enough secret"),
                        call=lambda **arguments: calls.append(arguments) or {"email": "admin@sac.test",
                                                                             "account_id": "a-1"})
    assert code == 0
    assert calls == [{"email": "Admin@SAC.test", "name": "管理员", "password": "long enough secret"}]
    output = capsys.readouterr()
    assert "admin@sac.test" in output.out and "long enough secret" not in output.out + output.err


def test_create_admin_creates_nothing_when_the_passwords_differ(capsys):
    calls = []
    code = create_admin(None, ask=prompts("admin@sac.test", "管理员"), ask_secret=prompts("first one!!", "second one"),
                        call=lambda **arguments: calls.append(arguments))
    assert (code, calls) == (1, [])
    assert "differ" in capsys.readouterr().err


def test_create_admin_reports_the_refusal(capsys):
    def refuse(**arguments):
        raise EmailTaken.of("email_taken", "an account with this e-mail address exists", field="email")

    assert create_admin(None, ask=prompts("admin@sac.test", "管理员"), ask_secret=prompts("x" * 12, "x" * 12),
                        call=refuse) == 1
    assert "email_taken" in capsys.readouterr().err


def test_the_command_line_knows_accounts_create_admin():
    args = cli.parser().parse_args(["accounts", "create-admin"])
    assert args.run is create_admin
