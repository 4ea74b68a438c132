"""What every printed document shares (shared/printable.py): A4 pages from HTML with the CJK
TrueType font embedded, Chinese dates as official documents write them, the draft watermark on
every page, a QR code that decodes, attachments appended for a double-sided print."""
import io
import shutil
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from innobase.samples import tiny_pdf
from shared import printable
from shared.printable import (
    WATERMARK,
    FontNotFound,
    appended,
    chinese_date,
    qr_png,
    render,
    resource_url,
    templates,
    texts,
)

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils is not installed"),
]
AT = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
TEMPLATES = templates(Path(__file__).parent)  # only the shared print_base.html is found


def page(body: str, draft: bool = False) -> str:
    return TEMPLATES.from_string('{% extends "print_base.html" %}{% block body %}' + body + "{% endblock %}").render(
        title="t", draft=draft)


def pages_of(content: bytes) -> list[str]:
    return texts(PdfReader(io.BytesIO(content)).pages)


def test_dates_print_in_chinese_without_zero_padding():
    assert chinese_date(date(2027, 7, 30)) == "2027年7月30日"
    assert chinese_date("2026-05-02") == "2026年5月2日"
    assert chinese_date(datetime(2027, 1, 9, 23, 0)) == "2027年1月9日"
    assert chinese_date(None) == "　　年　　月　　日"


def test_a_document_renders_to_a4_with_the_cjk_font_embedded_as_truetype(tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(render(page("<p>国家技术标准创新基地 ABC 123</p>"), title="t", created_at=AT))
    reader = PdfReader(path)
    assert (round(float(reader.pages[0].mediabox.width)), round(float(reader.pages[0].mediabox.height))) == (595, 842)
    rows = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert rows and all("CID TrueType" in row and ("WenQuanYi" in row or "UMing" in row) for row in rows), rows
    assert pages_of(path.read_bytes()) == ["国家技术标准创新基地ABC123"]


def test_the_same_document_renders_to_the_same_bytes():
    html = page("<p>同一文本</p>")
    assert render(html, title="t", created_at=AT) == render(html, title="t", created_at=AT)


def test_a_draft_carries_the_watermark_on_every_page_blank_ones_included():
    html = page('<p>一</p><div style="break-before: right">二</div><div style="break-before: page">三</div>', draft=True)
    found = pages_of(render(html, title="t", created_at=AT))
    assert len(found) == 4 and all("".join(WATERMARK.split()) in text for text in found), found


def test_the_qr_code_decodes_to_its_text(tmp_path):
    import zxingcpp
    from PIL import Image

    url = "http://127.0.0.1:8080/verify?digest=" + "ab" * 32
    (tmp_path / "qr.pdf").write_bytes(render(page(f'<img src="{resource_url("qr")}" style="width: 40mm">'),
                                             title="t", created_at=AT, resources={"qr": (qr_png(url), "image/png")}))
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(tmp_path / "qr.pdf"), str(tmp_path / "qr")], check=True)
    image = Image.open(next(tmp_path.glob("qr*.png")))
    assert [code.text for code in zxingcpp.read_barcodes(image)] == [url]


def test_appended_attachments_start_on_a_recto_scaled_to_a4_and_the_total_is_even():
    # one page of text, and the page to lay over the attachments' pages
    document = render(page('<p>正文</p><p style="break-before: page">页脚</p>'), title="t", created_at=AT)
    letter_size = tiny_pdf("letter").replace(b"[0 0 595 842]", b"[0 0 612 792]")
    out = PdfReader(io.BytesIO(appended(document, [letter_size, tiny_pdf("a4")], overlay_last=True)))
    # 1 body, 2 blank verso, 3 the first attachment, 4 blank verso, 5 the second, 6 blank: even
    assert len(out.pages) == 6
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in out.pages} == {(595, 842)}
    assert all("页脚" in text for text in texts(out.pages[1:]))


def test_a_document_fetches_nothing_but_the_resources_it_was_given(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(qr_png("not to be printed"))
    content = render(page(f'<img src="{secret.as_uri()}"><img src="{resource_url("other")}">'), title="t",
                     created_at=AT, resources={})
    assert not PdfReader(io.BytesIO(content)).pages[0].images


def test_a_document_without_attachments_and_an_even_count_is_left_as_it_is():
    document = render(page('<p>一</p><p style="break-before: page">二</p>'), title="t", created_at=AT)
    assert appended(document, []) == document


def test_a_missing_font_names_the_debian_package_to_install(monkeypatch):
    monkeypatch.delenv(printable.FONT_ENV, raising=False)
    monkeypatch.setattr(printable, "FONT_CANDIDATES", (("/nonexistent/wqy-zenhei.ttc", 0),))
    with pytest.raises(FontNotFound, match="fonts-wqy-zenhei"):
        render("<p>字</p>", title="t", created_at=AT)


def test_the_font_is_found_among_the_debian_candidates(monkeypatch):
    monkeypatch.delenv(printable.FONT_ENV, raising=False)
    path, _index = printable.find_font()
    assert path in {p for p, _ in printable.FONT_CANDIDATES}
