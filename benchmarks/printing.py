"""Rendering the printed plan (附件2) and the recommendation letter with WeasyPrint: the first
render of a plan in a fresh process (what a service instance's first `plan_pdf` costs once its
modules are imported), the same plan rendered again, and, as the baseline of the same run, the
one-page letter's first render in its own fresh process. The plan is sample A's
(`innobase.print_samples`): every section filled, four evidence files (three PDFs appended as
pages, one image), 26 pages; the same plan without its evidence files is timed too.
Target: the plan's first render under a second.

Each figure is the median of `--runs` fresh processes (default 5), so the font lookup, the
template compilation and WeasyPrint's first layout are inside "first"; the imports are timed
apart (a service pays them at start-up: `shared.printable` imports WeasyPrint on first use).

Run: `python -m benchmarks.printing [--runs 5]`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from benchmarks import common

TARGET_SECONDS = 1.0

CHILD = r"""
import json, os, time
t0 = time.perf_counter()
import weasyprint  # noqa: F401
from innobase import print_samples
imported = time.perf_counter() - t0
from services.endorsement import letter
from services.intake import printed_plan
document = {document!r}
if document.startswith("plan"):  # the inputs are built first: only the rendering is timed
    frozen, layout = print_samples.plan_layout()
    if document == "plan-without-evidence":
        layout["evidence"] = {{}}
    render = lambda: printed_plan.pdf(frozen, **layout)
else:
    facts = print_samples.letter_facts()
    render = lambda: letter.pdf(facts)
c1 = time.process_time(); t1 = time.perf_counter(); first = render(); t2 = time.perf_counter(); c2 = time.process_time()
again = render(); t3 = time.perf_counter(); c3 = time.process_time()
from pypdf import PdfReader
import io
print(json.dumps({{"imported": imported, "first": t2 - t1, "again": t3 - t2,
                  "first_cpu": c2 - c1, "again_cpu": c3 - c2, "load": os.getloadavg()[0],
                  "pages": len(PdfReader(io.BytesIO(first)).pages), "same": first == again}}))
"""


def measure(document: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(document=document)], cwd=common.ROOT,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    plans, bare, letters = [], [], []
    for _ in range(args.runs):  # alternate, so a busy moment of the machine falls on each
        plans.append(measure("plan"))
        bare.append(measure("plan-without-evidence"))
        letters.append(measure("letter"))

    def median(rows: list[dict], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    first = median(plans, "first")
    print(f"printing: {args.runs} fresh processes each; sample plan {plans[0]['pages']} pages "
          f"({bare[0]['pages']} without its evidence), "
          f"letter {letters[0]['pages']} page(s); same bytes twice: {all(r['same'] for r in plans + letters)}; "
          f"load average {median(plans, 'load'):.1f} on {os.cpu_count()} cores")
    print("                                    wall ms   CPU ms")
    print(f"  imports (WeasyPrint, templates)  {median(plans, 'imported') * 1000:7.0f}")
    for label, rows, key in (("letter, first render (baseline)", letters, "first"),
                             ("plan, first render", plans, "first"), ("plan, rendered again", plans, "again"),
                             ("plan without evidence, first", bare, "first")):
        print(f"  {label:<32} {median(rows, key) * 1000:7.0f}  {median(rows, key + '_cpu') * 1000:7.0f}")
    print(f"  the plan's first render: {first / median(letters, 'first'):.1f}× the letter's; "
          f"target < {TARGET_SECONDS * 1000:.0f} ms: {'met' if first < TARGET_SECONDS else 'NOT met'} (wall), "
          f"{'met' if median(plans, 'first_cpu') < TARGET_SECONDS else 'NOT met'} (CPU)")


if __name__ == "__main__":
    main()
