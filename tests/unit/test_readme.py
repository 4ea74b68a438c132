"""The README shows the project as it is: every path it names exists, and the backbone's layers
in its architecture diagram are the ones the imports follow."""
import re
from pathlib import Path

import pytest

from tests.unit.test_architecture import import_graph

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PATH = re.compile(r"[\w.\-]+(/[\w.\-]+)*/?")


def architecture() -> str:
    return README.split("## Architecture", 1)[1].split("\n## ", 1)[0]


def named_paths() -> set[str]:
    """Every `path` in backticks: a token with a slash that is not a URL, nor in the virtualenv
    that `make setup` makes."""
    return {token for token in re.findall(r"`([^`\n]+)`", README)
            if "/" in token and "://" not in token and PATH.fullmatch(token) and not token.startswith(".venv/")}


def diagram() -> str:
    return architecture().split("```", 4)[3]  # the second block: the packages


def test_every_path_the_readme_names_exists():
    assert named_paths() >= {"shared/outbox.py", "deploy/bootstrap.sh", "tests/unit"}
    missing = sorted(path for path in named_paths() if not (ROOT / path).exists())
    assert not missing, f"README.md names paths that do not exist: {missing}"


def test_every_file_and_folder_in_the_architecture_diagram_exists():
    names = set(re.findall(r"[a-z_]+\.py|[a-z_]+/", diagram()))
    files = {path.name for package in ("innobase", "services", "shared") for path in (ROOT / package).rglob("*.py")}
    folders = {path.name + "/" for package in ("innobase", "services", "shared")
               for path in [ROOT / package, *(ROOT / package).rglob("*")] if path.is_dir()}
    assert names, "no architecture diagram found"
    assert not sorted(names - files - folders), "the diagram names what does not exist"


def test_each_backbone_module_in_the_diagram_imports_only_those_drawn_below_it():
    rows = diagram().split("shared/ ", 1)[1].split("shared/reference/", 1)[0].splitlines()[1:]
    layers = [[f"shared.{name.removesuffix('.py').removesuffix('/')}" for name in re.findall(r"[a-z_]+\.py|[a-z_]+/", row)]
              for row in rows]
    layers = [layer for layer in layers if layer]
    below = {module: {m for lower in layers[i + 1:] for m in lower} for i, layer in enumerate(layers) for module in layer}
    graph = import_graph("shared")
    for module, allowed in below.items():
        imported = {m for name in graph if name == module or name.startswith(module + ".") for m in graph[name]}
        imported = {m for m in imported if not m.startswith(("shared.reference", module)) and m != "shared"}
        assert imported <= {m for a in allowed for m in graph if m == a or m.startswith(a + ".")}, (
            f"{module} imports {sorted(imported)}, not all drawn below it")
