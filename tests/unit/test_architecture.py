"""The layers of README's architecture hold: no import cycle among our modules, found by
reading every import (those inside functions too) as written, without importing anything."""
import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "innobase")


def module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports_of(path: Path, modules) -> set[str]:
    """Our modules `path` names in an import statement, wherever the statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if submodule in modules:
                    found.add(submodule)
                elif node.module in modules:
                    found.add(node.module)
    return found


def import_graph(prefix: str = "") -> dict[str, set[str]]:
    modules = module_files()
    return {name: {imported for imported in imports_of(path, modules) if imported.startswith(prefix)}
            for name, path in modules.items() if name.startswith(prefix)}


def a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that ends where it began, or None."""
    visiting, done = [], set()

    def visit(module):
        if module in visiting:
            return visiting[visiting.index(module):] + [module]
        if module in done:
            return None
        visiting.append(module)
        for imported in sorted(graph.get(module, ())):
            cycle = visit(imported)
            if cycle:
                return cycle
        visiting.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return None


def test_the_backbone_modules_import_each_other_without_a_cycle():
    cycle = a_cycle(import_graph("shared"))
    assert cycle is None, " -> ".join(cycle)


def test_no_module_of_ours_is_part_of_an_import_cycle():
    cycle = a_cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_a_cycle_is_found_even_through_an_import_inside_a_function():
    assert a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert a_cycle({"a": {"b"}, "b": set()}) is None
    assert "shared.database" in import_graph("shared")["shared.audit"]  # at module level
    assert "innobase.supervisor" in import_graph("innobase")["innobase.cli.health"]  # inside a function


def test_the_backbone_never_imports_a_service_or_a_tool_and_reference_data_imports_nothing_of_ours():
    graph = import_graph()
    for module, imported in graph.items():
        if module.startswith("shared"):
            assert not {m for m in imported if m.startswith(("services", "innobase"))}, module
        if module.startswith("shared.reference"):
            assert not {m for m in imported if not m.startswith("shared.reference")}, module
