"""axe-core (installed by npm ci) run inside the page: no serious or critical violation of WCAG 2.1 AA."""
from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def violations(page) -> list[dict]:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => await axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
        resultTypes: ['violations']})""")
    return [v for v in result["violations"] if v.get("impact") in SERIOUS]


def assert_accessible(page, what: str) -> None:
    found = violations(page)
    described = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] if node.get("target") else "?" for node in v["nodes"][:5])
        for v in found)
    assert not found, f"axe found serious violations on {what}:\n{described}"
