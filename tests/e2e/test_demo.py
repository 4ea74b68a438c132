"""The whole process across the five real services, as `innobase demo` drives it:
sample applications of all three base types through all six stages, from the
applicant's draft to the construction plan — one returned by its organizing
unit, one with a supplement, one with revisions, one missing a deadline, one
refused by a quota — and what every party and the auditor then see."""
import io
import subprocess
import sys

import pytest

from innobase.demo import Demo
from innobase.supervisor import SERVICES
from innobase import timeline
from tests.support.cluster import running

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture(scope="module")
def played(mailbox):
    env = {"INNOBASE_SMTP_HOST": "127.0.0.1", "INNOBASE_SMTP_PORT": mailbox.port,
           "INNOBASE_SAC_OFFICER_EMAILS": "officer@sac.test", "INNOBASE_DEADLINE_SCAN_SECONDS": "0.5",
           "INNOBASE_ANCHOR_SECONDS": "1"}
    with running(*(spec.name for spec in SERVICES), **env):
        out = io.StringIO()
        outcome = Demo(out=out, timeout=60).play()
        yield outcome, out.getvalue(), mailbox


def test_the_regional_application_with_revisions_is_approved_and_its_construction_plan_is_in(played):
    outcome, _, _ = played
    assert outcome["A"]["result"] == "approved, construction plan submitted"
    assert outcome["A"]["number"].startswith("CXJD-2026-QY-")


def test_the_domain_application_returned_then_supplemented_is_approved(played):
    outcome, _, _ = played
    assert outcome["B"]["result"] == "approved, construction plan submitted"
    assert outcome["B"]["number"].startswith("CXJD-2026-LY-")


def test_the_international_application_missing_its_deadline_is_found_inadmissible(played):
    outcome, _, _ = played
    assert outcome["C"]["result"].startswith("found inadmissible after a missed deadline")


def test_a_second_regional_recommendation_for_the_region_is_refused_naming_the_first(played):
    outcome, _, _ = played
    assert outcome["D"]["result"].startswith("refused")
    assert outcome["A"]["name"] in outcome["D"]["result"]


def test_the_timeline_of_an_application_spans_every_service_and_links_effects_to_causes(played):
    outcome, printed, _ = played
    events = timeline.merged(outcome["A"]["application_id"])
    assert {e["service"] for e in events} == {spec.name for spec in SERVICES} - {"accounts"}  # no application there
    linked = [e for e in events if e["cause"] and e["cause"]["type"]]
    assert linked, "no event names the upstream event that caused it"
    assert all(e["cause"]["service"] != e["service"] for e in linked)
    assert f"timeline of A ({outcome['A']['application_id']})" in printed


def test_the_applicant_heard_of_the_approval_by_email(played):
    outcome, _, mailbox = played
    address = f"a-{outcome['A']['applicant'][0].split('-')[-1]}@applicants.example.cn"
    subjects = [m.subject for m in mailbox.to(address)]
    assert any("批准" in s for s in subjects), subjects


def test_every_log_verifies_untampered(played):
    out = subprocess.run([sys.executable, "-m", "innobase.cli", "audit", "verify"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count(": ok") == len(SERVICES)
