"""A printed plan checked against the log through the real intake service and the `innobase`
command an operator runs: a submitted version is found by its PDF or by the digest typed from
paper; a PDF edited by one character, and a draft, are not versions in the log."""
import base64
import re
import subprocess
import sys

import pytest
from pypdf import PdfReader, PdfWriter

from innobase.supervisor import ROOT
from shared.errors import InvalidInput
from shared.printable import texts
from tests.support.applications import OverRpc, complete_draft, prepare, printed_plan, submit_complete
from tests.support.cluster import rpc, running, sql, token

pytestmark = pytest.mark.integration
VIA = OverRpc(timeout=60)


@pytest.fixture(scope="module")
def cluster():
    with running("intake") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def submitted(cluster, tmp_path_factory):
    setup = prepare(VIA)
    receipt = submit_complete(VIA, setup)
    path = tmp_path_factory.mktemp("print") / "plan.pdf"
    printed_plan(VIA, setup.applicant, receipt["application_id"], path)
    return setup, receipt, path


def verify_print(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "innobase.cli", "verify-print", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


def one_character_changed(path, out):
    """The PDF with one glyph of its cover's text replaced by another glyph of the same font."""
    writer = PdfWriter(clone_from=str(path))
    contents = writer.pages[0].get_contents()
    data = contents.get_data()
    found = next(m for m in re.finditer(rb"<([0-9a-fA-F]{8,})>", data) if m.group(1)[:4] != m.group(1)[4:8])
    glyphs = found.group(1)
    contents.set_data(data[:found.start(1)] + glyphs[4:8] + glyphs[4:] + data[found.end(1):])
    writer.pages[0].replace_contents(contents)
    with open(out, "wb") as file:
        writer.write(file)


def test_the_submitted_plans_pdf_is_found_as_its_submitted_version(submitted):
    _, receipt, path = submitted
    run = verify_print(str(path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("submitted version 1 of 国家技术标准创新基地（江苏）"), run.stdout
    assert "the current submitted version" in run.stdout and receipt["application_id"] in run.stdout


def test_a_digest_typed_from_paper_is_found_whatever_its_spacing_and_case(submitted):
    _, receipt, _ = submitted
    typed = " ".join(receipt["digest"][i:i + 8] for i in range(0, 64, 8)).upper()
    run = verify_print("--digest", typed)
    assert run.returncode == 0 and run.stdout.startswith("submitted version 1 "), run.stdout + run.stderr


def test_a_pdf_edited_by_one_character_is_not_in_the_log(submitted, tmp_path):
    _, receipt, path = submitted
    edited = tmp_path / "edited.pdf"
    one_character_changed(path, edited)
    before, after = texts(PdfReader(path).pages)[0], texts(PdfReader(edited).pages)[0]
    assert len(before) == len(after) and sum(a != b for a, b in zip(before, after)) == 1  # one character
    run = verify_print(str(edited))
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.startswith("not in the log:") and "text differs" in run.stdout, run.stdout


def test_a_drafts_print_is_not_in_the_log(cluster, tmp_path):
    setup = prepare(VIA)
    path = tmp_path / "draft.pdf"
    printed_plan(VIA, setup.applicant, complete_draft(VIA, setup)["application_id"], path)
    run = verify_print(str(path), "--json")
    assert run.returncode == 1
    assert '"reason": "digest_not_logged"' in run.stdout


def test_anyone_may_verify_but_bad_input_is_refused_naming_the_field(submitted):
    _, receipt, _ = submitted
    position = sql("intake", "SELECT coalesce(max(id), 0) FROM intake_events")[0][0]
    with rpc(token("applicant", org="someone-else")) as services:
        answer = services.intake.verify_print(digest=receipt["digest"])
        assert answer["in_log"] and answer["plan_version"] == 1 and answer["is_current"]
        assert set(answer) == {"in_log", "digest", "application_id", "number", "name", "plan_version",
                               "current_plan_version", "is_current", "submitted_at", "message"}
        for arguments, field in [({"digest": "abc"}, "digest"), ({}, "digest"),
                                 ({"document": base64.b64encode(b"not a pdf").decode()}, "document")]:
            with pytest.raises(InvalidInput) as error:
                services.intake.verify_print(**arguments)
            assert field in error.value.details["fields"], arguments
    assert sql("intake", "SELECT coalesce(max(id), 0) FROM intake_events")[0][0] == position


def test_the_printed_plan_appends_the_uploaded_evidence(submitted):
    _, _, path = submitted
    pages = texts(PdfReader(path).pages)
    after = pages[next(i for i, page in enumerate(pages) if "七、申报意见" in page) + 1:]
    assert any("附件材料：重点实验室照片（实验室照片.png）" in page for page in after)
    assert len(PdfReader(path).pages) % 2 == 0
    assert len(after) > 1 + 7  # the photo's page and the seven PDFs (six qualification proofs, the support letter)
    assert all("摘要SHA-256" in page for page in after if page)
