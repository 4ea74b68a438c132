"""Leaning on the eventsourcing libraries' private parts is fenced (shared/eventstore/library.py):
an upgrade of either library is a deliberate act, and no other module reaches past the fence."""
import ast
import pathlib
from importlib import metadata

import pytest

from shared.eventstore import library

pytestmark = pytest.mark.unit

ROOT = pathlib.Path(__file__).resolve().parents[2]
FENCE = ROOT / "shared" / "eventstore" / "library.py"


@pytest.mark.parametrize("distribution", sorted(library.CHECKED))
def test_the_installed_library_is_the_version_the_fence_was_checked_against(distribution):
    installed = metadata.version(distribution)
    assert installed == library.CHECKED[distribution], (
        f"{distribution} {installed} is installed; shared/eventstore/library.py was checked against "
        f"{library.CHECKED[distribution]}: read the library's changes to the privates listed there, "
        "then move CHECKED")


def _our_modules():
    for package in ("shared", "services", "innobase", "benchmarks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != FENCE:
                yield path


def _reaches_past_the_fence(tree: ast.AST) -> list[str]:
    private_names = {name for name in library.PRIVATES if "." not in name}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private_names:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.FunctionDef) and node.name in private_names:
            found.append(f"line {node.lineno}: def {node.name}")
        elif isinstance(node, ast.ImportFrom) and node.module == "eventsourcing_sqlalchemy.datastore" and any(
                alias.name == "transactions" for alias in node.names):
            found.append(f"line {node.lineno}: import of the datastore's transactions")
    return found


def test_no_module_but_the_fence_names_a_private_of_the_libraries():
    offenders = {str(path.relative_to(ROOT)): found for path in _our_modules()
                 if (found := _reaches_past_the_fence(ast.parse(path.read_text(encoding="utf-8"))))}
    assert offenders == {}


def test_the_check_finds_a_private_when_one_is_used():
    tree = ast.parse("class R(SQLAlchemyApplicationRecorder):\n"
                     "    def _insert_stored_events(self, session, events):\n"
                     "        return super()._insert_stored_events(session, events)\n")
    assert _reaches_past_the_fence(tree) == ["line 2: def _insert_stored_events", "line 3: ._insert_stored_events"]
