"""Uploads are judged by their content, not their first bytes, and stored under a safe name
(issue 18, "Uploads judged by content"). Each refusal is a `RuleViolation` naming its rule."""
import dataclasses
import io
import struct
import zipfile
import zlib

import pypdf
import pytest
from PIL import Image

from innobase.samples import tiny_pdf, tiny_png
from shared import blobs, settings
from shared.errors import RuleViolation

pytestmark = pytest.mark.unit


def refused(name, content) -> str:
    with pytest.raises(RuleViolation) as caught:
        blobs.check(name, content, "applicant-1")
    return caught.value.rule


def written(writer: pypdf.PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_pages(count: int) -> bytes:
    writer = pypdf.PdfWriter()
    for _ in range(count):
        writer.add_blank_page(595, 842)
    return written(writer)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


@pytest.fixture
def limits(monkeypatch):
    def set_limits(**changes):
        monkeypatch.setattr(settings, "_settings", dataclasses.replace(settings.get(), **changes))
    return set_limits


def test_the_samples_the_tests_upload_are_accepted_as_they_are():
    assert blobs.check("evidence.pdf", tiny_pdf(), "a").media_type == "application/pdf"
    assert blobs.check("scan.png", tiny_png(3), "a").media_type == "image/png"
    assert blobs.check("many.pdf", pdf_with_pages(3), "a").name == "many.pdf"
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(jpeg, "JPEG")
    assert blobs.check("photo.jpg", jpeg.getvalue(), "a").media_type == "image/jpeg"


def test_a_well_named_file_records_no_original_name_so_its_event_keeps_its_shape():
    attachment = blobs.check("营业执照.pdf", tiny_pdf(), "a")
    assert "original_name" not in attachment.as_dict()
    assert set(attachment.as_contract()) == {"sha256", "name", "size", "media_type"}


@pytest.mark.parametrize("sent, stored", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\x\\证明.pdf", "证明.pdf"),
    ("report\r\nSet-Cookie: x.pdf", "reportSet-Cookie: x.pdf"),
    ("\x1b[31mred\x1b[0m.pdf", "red.pdf"),
    ("\x1b]0;title\x07plan.pdf", "plan.pdf"),
    ("plan\u202efdp.exe.pdf", "planfdp.exe.pdf"),
    ("nul\x00byte.pdf", "nulbyte.pdf"),
    ("e\u0301valuation.pdf", "\u00e9valuation.pdf"),
    ("  .hidden.pdf ", "hidden.pdf"),
])
def test_a_file_name_is_normalised_and_the_original_kept_escaped(sent, stored):
    attachment = blobs.check(sent, tiny_pdf(), "a")
    assert attachment.name == stored
    assert attachment.as_dict()["original_name"] == blobs.escaped(sent)
    assert not any(c in attachment.as_dict()["original_name"] for c in "\r\n\x00\x1b\u202e")


def test_a_long_name_is_cut_keeping_its_extension():
    name = blobs.check("长" * 300 + ".pdf", tiny_pdf(), "a").name
    assert len(name) == blobs.MAX_NAME_LENGTH and name.endswith(".pdf")


@pytest.mark.parametrize("name", ["..", "/", "\x1b[0m", "\r\n"])
def test_a_name_that_is_nothing_but_folders_and_controls_is_refused(name):
    assert refused(name, tiny_pdf()) == "file_name"


def test_a_pdf_that_is_only_its_signature_or_cut_short_is_refused():
    assert refused("stub.pdf", b"%PDF-") == "pdf_unreadable"
    assert refused("cut.pdf", tiny_pdf()[:-30]) == "pdf_unreadable"
    assert refused("cut.pdf", tiny_pdf()[:60] + b"\n%%EOF\n") == "pdf_unreadable"


def test_a_pdf_that_is_also_a_zip_archive_is_refused():
    assert refused("polyglot.pdf", tiny_pdf() + zip_archive()) == "file_polyglot"
    assert refused("polyglot.png", tiny_png() + zip_archive()) == "file_polyglot"


def raw_pdf(*objects: bytes, catalog: bytes = b"") -> bytes:
    return tiny_pdf("active", catalog=catalog, objects=objects)


def test_a_pdf_with_javascript_is_refused():
    assert blobs.check("plain.pdf", raw_pdf(), "a")
    opens_with_script = raw_pdf(b"<< /S /JavaScript /JS (app.alert(1)) >>", catalog=b"/OpenAction 4 0 R")
    assert refused("js.pdf", opens_with_script) == "pdf_javascript"
    named_script = raw_pdf(b"<< /Names [(a) 5 0 R] >>", b"<< /S /JavaScript /JS (app.alert(1)) >>",
                           catalog=b"/Names << /JavaScript 4 0 R >>")
    assert refused("js.pdf", named_script) == "pdf_javascript"
    # a name spelled in hex escapes (#61 = a) is the same name to a reader
    disguised = raw_pdf(b"<< /S /J#61v#61Script /JS (app.alert(1)) >>", catalog=b"/OpenAction 4 0 R")
    assert refused("js.pdf", disguised) == "pdf_javascript"


def test_a_pdf_whose_open_action_launches_a_program_is_refused():
    writer = pypdf.PdfWriter()
    writer.add_blank_page(595, 842)
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc.exe")})
    assert refused("launch.pdf", written(writer)) == "pdf_launch"


def test_a_pdf_carrying_an_embedded_file_is_refused():
    writer = pypdf.PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_attachment("payload.exe", b"MZ...")
    assert refused("carrier.pdf", written(writer)) == "pdf_embedded_file"


def test_a_pdf_with_more_pages_than_the_setting_allows_is_refused(limits):
    limits(upload_max_pages=3)
    assert blobs.check("three.pdf", pdf_with_pages(3), "a")
    with pytest.raises(RuleViolation) as caught:
        blobs.check("four.pdf", pdf_with_pages(4), "a")
    assert caught.value.rule == "pdf_too_many_pages"
    assert caught.value.details["pages"] == 4 and caught.value.details["limit"] == 3


def test_an_image_that_would_decompress_past_the_pixel_limit_is_refused(limits):
    bomb = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 90001 * 10)) + png_chunk(b"IEND", b""))
    assert refused("bomb.png", bomb) == "image_too_many_pixels"
    limits(upload_max_pixels=100)
    big = io.BytesIO()
    Image.new("RGB", (11, 10)).save(big, "PNG")
    assert refused("big.png", big.getvalue()) == "image_too_many_pixels"


def test_an_image_that_cannot_be_decoded_is_refused():
    assert refused("cut.png", tiny_png()[:-20]) == "image_unreadable"
    assert refused("fake.jpg", b"\xff\xd8\xff" + b"\x00" * 100) == "image_unreadable"


def test_every_refusal_changes_nothing_and_names_the_field():
    for name, content in [("stub.pdf", b"%PDF-"), ("..", tiny_pdf()), ("x.png", tiny_png()[:-20])]:
        with pytest.raises(RuleViolation) as caught:
            blobs.check(name, content, "a")
        assert caught.value.details["field"] in ("name", "content")
