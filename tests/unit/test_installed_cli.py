"""The installed `innobase` command works where an operator calls it: from any folder, quietly."""
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

INSTALLED = Path(sys.executable).parent / "innobase"


@pytest.mark.parametrize("arguments", [["--help"], ["health", "--help"]], ids=" ".join)
def test_the_installed_command_answers_from_a_folder_outside_the_project_without_a_warning(tmp_path, arguments):
    assert INSTALLED.exists(), f"{INSTALLED} is not installed: run `make setup`"
    run = subprocess.run([str(INSTALLED), *arguments], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "Warning" not in run.stderr
    assert "usage: innobase" in run.stdout


def test_a_command_group_is_one_module_of_the_cli_package():
    from innobase import cli

    names = {group.__name__.rsplit(".", 1)[1] for group in cli.command_groups()}
    assert {"token", "deadletters", "health", "audit", "rebuild", "demo"} <= names
