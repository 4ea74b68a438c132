"""The CJK font is parsed once per process: every rendering still gives the bytes fpdf2 gives
when it parses the font itself, whatever was printed before it."""
import shutil
from datetime import datetime

import pytest

from shared import printable
from shared.printable import Document, Heading, Paragraph, Table, render

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed"),
]

AT = datetime(2025, 6, 1, 9, 30)


def plan() -> Document:
    return Document("国家技术标准创新基地（长三角智能制造）", subtitle="申报方案", header_left="编号：CXJD-2025-0007",
                    header_right="版本 1", created_at=AT, blocks=[
                        Heading("一、基本信息", 1),
                        Paragraph("创新基地将围绕智能制造领域的关键共性技术开展标准研制、试验验证和推广应用。" * 3),
                        Table(["类别", "指标"], [["数量指标", f"主导制定国家标准第{i}项"] for i in range(1, 30)]),
                    ])


def other() -> Document:
    """Other characters, a missing glyph among them: what one rendering picks must not reach the next."""
    return Document("龘靐齉 ☃", created_at=AT, blocks=[Paragraph("繁體字與標點「」『』…… ABC xyz 0123")])


def parsing_each_time(monkeypatch, document: Document) -> bytes:
    with monkeypatch.context() as patched:
        patched.setattr(printable, "_add_cjk_font", lambda pdf, path, index: pdf.add_font(
            printable.FAMILY, "", path, collection_font_number=index))
        return render(document)


def test_a_rendering_from_the_parsed_font_equals_one_that_parses_it(monkeypatch):
    monkeypatch.setattr(printable, "_PARSED", {})
    first = render(plan())  # parses, and uses up the outlines it read
    again = render(plan())  # from the kept font, outlines read afresh
    assert first == again == parsing_each_time(monkeypatch, plan())


def test_what_one_rendering_prints_does_not_change_the_next(monkeypatch):
    monkeypatch.setattr(printable, "_PARSED", {})
    before = render(plan())
    render(other())
    assert render(plan()) == before
    assert render(other()) == parsing_each_time(monkeypatch, other())
