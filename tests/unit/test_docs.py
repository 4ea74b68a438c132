"""The API reference in docs/ is the one the code generates: it cannot drift."""
import pytest

from innobase import docgen

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("path", sorted(docgen.PAGES))
def test_the_committed_reference_matches_the_code(path):
    committed = (docgen.ROOT / path).read_text(encoding="utf-8")
    assert committed == docgen.PAGES[path]() + "\n", f"{path} is stale: run `python -m innobase.docgen`"
