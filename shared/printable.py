"""Printed documents (the 申报方案, the 推荐函): HTML/CSS templates laid out as A4 pages by
WeasyPrint with an embedded TrueType CJK font, plus what every printed document shares —
the draft watermark, Chinese dates, the verification QR code and appended attachments.

Why WeasyPrint: page layout is CSS Paged Media (named pages, recto breaks, margin boxes),
so the templates say what the form looks like instead of placing text by coordinates; it
embeds the TrueType font as CID TrueType and needs no OS library beyond Pango, which
fonts and poppler already pull in on Debian.
"""
from __future__ import annotations

import io
import logging
import os
import zlib
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import qrcode
from markupsafe import Markup
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    RectangleObject,
    StreamObject,
)

__all__ = [
    "A4_POINTS",
    "FONT_CANDIDATES",
    "FontNotFound",
    "WATERMARK",
    "appended",
    "chinese_date",
    "find_font",
    "font_family",
    "qr_png",
    "render",
    "resource_url",
    "templates",
]

# TrueType (glyf) outlines only, embedded as CIDFontType2 ("CID TrueType"): CFF-based .otf
# CJK fonts (Noto CJK) show blank in some readers and are left out on purpose. (path, face
# index within the collection); the Debian packages are fonts-wqy-zenhei and fonts-arphic-uming.
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
# Each collection by the family name fontconfig knows it under: WeasyPrint finds a collection's
# face through fontconfig by name (an @font-face `url()` of a .ttc is silently ignored, and
# Latin text then falls back to DejaVu); another font (INNOBASE_CJK_FONT) loads by its path.
FAMILIES = {"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc": "WenQuanYi Zen Hei",
            "/usr/share/fonts/truetype/arphic/uming.ttc": "AR PL UMing CN"}
FONT_ENV = "INNOBASE_CJK_FONT"  # an explicit .ttf/.ttc path, for hosts laid out differently

WATERMARK = "草稿 · 非正式文本"
A4_POINTS = (595.276, 841.89)
SHARED_TEMPLATES = Path(__file__).resolve().parent / "print_templates"
RESOURCE_SCHEME = "innobase-resource:"


class _DropBitmapSubsetWarning(logging.Filter):
    # WenQuanYi ships embedded bitmap strikes that fontTools cannot subset and drops, warning
    # on every render; the outlines we print are unaffected.
    def filter(self, record: logging.LogRecord) -> bool:
        return "NOT subset" not in record.getMessage()


logging.getLogger("fontTools.subset").addFilter(_DropBitmapSubsetWarning())


class FontNotFound(RuntimeError):
    pass


def find_font() -> tuple[str, int]:
    """The first installed CJK TrueType font: (path, face index in the collection)."""
    override = os.environ.get(FONT_ENV)
    if override:
        if not Path(override).is_file():
            raise FontNotFound(f"{FONT_ENV}={override} does not exist")
        return override, 0
    for path, index in FONT_CANDIDATES:
        if Path(path).is_file():
            return path, index
    looked = ", ".join(path for path, _ in FONT_CANDIDATES)
    raise FontNotFound(
        f"no Chinese TrueType font found (looked for {looked}); install the Debian package "
        f"fonts-wqy-zenhei (apt-get install fonts-wqy-zenhei) or fonts-arphic-uming, "
        f"or point {FONT_ENV} at a TrueType .ttf/.ttc"
    )


def templates(directory: Path) -> Environment:
    """The Jinja environment of a service's print templates, which extend `print_base.html`."""
    environment = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(directory)), FileSystemLoader(str(SHARED_TEMPLATES))]),
        autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.globals.update(WATERMARK=WATERMARK, font_family=font_family, resource_url=resource_url)
    environment.filters["chinese_date"] = chinese_date
    environment.filters["css_string"] = css_string
    return environment


def resource_url(key: str) -> str:
    """Where a template finds a file given to `render` in `resources` (an image, the QR code)."""
    return RESOURCE_SCHEME + key


def render(html: str, *, title: str, created_at: datetime | None,
           resources: Mapping[str, tuple[bytes, str]] | None = None) -> bytes:
    """The HTML as A4 PDF bytes; the same inputs give the same bytes (the creation date is
    `created_at`, never the time of rendering). `resources` (key → content, media type) are
    what the HTML names by `resource_url(key)`: handed over as bytes, not inlined as base64
    (parsing a data URI character by character cost more than laying out its page); nothing
    else is fetched, from the network or the disk."""
    from weasyprint import CSS, HTML  # imported on first use: it costs about a second

    font_path, _ = find_font()
    stylesheets = [] if font_path in FAMILIES else [
        CSS(string=f'@font-face {{ font-family: "cjk"; src: url("{Path(font_path).as_uri()}"); }}')]
    document = HTML(string=html, url_fetcher=_fetcher(resources or {})).render(stylesheets=stylesheets)
    document.metadata.title = title
    document.metadata.authors = []
    document.metadata.generator = "innobase"
    when = (created_at or datetime(2000, 1, 1, tzinfo=timezone.utc))
    stamp = (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    document.metadata.created = document.metadata.modified = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return document.write_pdf(pdf_identifier=b"innobase", uncompressed_pdf=False)


def css_string(text: str) -> Markup:
    """`text` as the inside of a CSS string literal (`content`, `string-set`)."""
    return Markup("".join(f"\\{ord(c):x} " if c in '"\\<>\n' or ord(c) < 32 else c for c in str(text)))


def font_family() -> Markup:
    """The CSS font-family of the installed CJK font (templates: `{{ font_family() }}`)."""
    path, _ = find_font()
    return Markup(f'"{FAMILIES[path]}"' if path in FAMILIES else '"cjk"')


def _fetcher(resources: Mapping[str, tuple[bytes, str]]):
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class Resources(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith(RESOURCE_SCHEME) or url[len(RESOURCE_SCHEME):] not in resources:
                raise ValueError(f"a printed document fetches nothing but its own resources, not {url[:80]}")
            content, media_type = resources[url[len(RESOURCE_SCHEME):]]
            return URLFetcherResponse(url, content, {"Content-Type": media_type})

    return Resources()


def chinese_date(value: date | datetime | str | None, blank: str = "　　年　　月　　日") -> str:
    """A date as official documents write it: 2027年7月30日, no zero padding (GB/T 9704)."""
    if value is None or value == "":
        return blank
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.year}年{value.month}月{value.day}日"


def qr_png(text: str) -> bytes:
    """A QR code of `text` as a 1-bit PNG, 10 pixels a module: about 400 dpi at 30 mm, drawn
    without smoothing (`image-rendering: crisp-edges`). An SVG of it took WeasyPrint longer to
    parse than the rest of the page to lay out."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=10)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()


def appended(document: bytes, attachments: Sequence[bytes], overlay_last: bool = False) -> bytes:
    """`document` followed by the pages of each PDF in `attachments`, each scaled to fit A4
    and starting on a recto (a blank verso before it where needed); the total is made even with
    a blank last page, so that the double-sided print binds right. `overlay_last`: the last
    page of `document` is not printed but laid over every added page (the footer line, the
    draft watermark), so that no page goes without them; it is rendered with the document,
    which costs less than rendering it apart."""
    reader = PdfReader(io.BytesIO(document))
    if not attachments and not overlay_last and len(reader.pages) % 2 == 0:
        return document
    writer = PdfWriter(clone_from=reader)
    cover = None
    if overlay_last:
        cover = writer._add_object(_form(writer.pages[-1], writer))
        writer.remove_page(len(writer.pages) - 1)
    width, height = A4_POINTS

    def page_of(drawn: list[tuple[IndirectObject, tuple[float, ...]]]) -> None:
        """A new A4 page drawing each form XObject under its matrix (the overlay last, on top)."""
        page = writer.add_blank_page(width, height)
        forms = [*drawn, *([(cover, (1, 0, 0, 1, 0, 0))] if cover is not None else [])]
        names = DictionaryObject({NameObject(f"/F{i}"): form for i, (form, _) in enumerate(forms)})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/XObject"): names})
        drawing = DecodedStreamObject()
        drawing.set_data(b"".join(b"q %s cm /F%d Do Q\n" % (" ".join(f"{v:.4f}" for v in matrix).encode(), i)
                                  for i, (_, matrix) in enumerate(forms)))
        page[NameObject("/Contents")] = writer._add_object(drawing)

    for attachment in attachments:
        if len(writer.pages) % 2:
            page_of([])
        for source in PdfReader(io.BytesIO(attachment)).pages:
            box = source.mediabox
            scale = min(width / float(box.width), height / float(box.height))
            dx = (width - float(box.width) * scale) / 2 - float(box.left) * scale
            dy = (height - float(box.height) * scale) / 2 - float(box.bottom) * scale
            page_of([(writer._add_object(_form(source, writer)), (scale, 0, 0, scale, dx, dy))])
    if len(writer.pages) % 2:
        page_of([])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _form(page, writer: PdfWriter) -> StreamObject:
    """A page as a form XObject of `writer`: drawn whole by one operator, its content never
    parsed (pypdf's `merge_page` parses both pages' content, most of the cost of appending)."""
    contents = page.get("/Contents")
    contents = contents.get_object() if contents is not None else None
    if contents is None:
        data = b""
    elif isinstance(contents, ArrayObject):
        data = b"\n".join(part.get_object().get_data() for part in contents)
    else:
        data = contents.get_data()
    form = StreamObject()
    form._data = zlib.compress(data)
    resources = page.get("/Resources")
    form.update({
        NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
        NameObject("/BBox"): RectangleObject(page.mediabox),
        NameObject("/Resources"): resources.get_object().clone(writer) if resources is not None else DictionaryObject(),
        NameObject("/Filter"): NameObject("/FlateDecode"),
    })
    return form


def texts(pages: Iterable) -> list[str]:
    """The text of each page of a PDF read with pypdf, whitespace removed (lines wrap anywhere)."""
    return ["".join((page.extract_text() or "").split()) for page in pages]
