"""Uploaded files (attachments, scans): checked, then stored once by SHA-256.

A file's type is taken from its content (PDF, JPEG, PNG), never from its name;
a name whose extension says otherwise is refused. The content is then judged
whole: a PDF is parsed (pypdf) and refused if it is truncated, carries
JavaScript, launch actions or embedded files, or has too many pages; an image
is decoded (Pillow) under a pixel limit; a file that is also a zip archive (a
polyglot) is refused. The name is normalised (NFC, no folders, no control
characters or ANSI escapes, capped in length); when that changes it, the
original is kept, escaped, as `original_name`. Files are content-addressed
and immutable, so storing the same bytes twice stores them once. The event
that mentions a file records its `Attachment` (hash, name, size, type,
uploader); the bytes live in the service's `blobs` table.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import re
import unicodedata
import warnings
import zipfile
from dataclasses import asdict, dataclass

import pypdf
from PIL import Image
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject
from sqlalchemy import text

from shared import clock, settings
from shared.errors import InvalidInput, NotFound, RuleViolation

MAX_BYTES = 10 * 1024 * 1024
MAX_NAME_LENGTH = 120  # characters of a stored name, its extension kept
SHA256_PATTERN = r"^[0-9a-f]{64}$"  # how an RPC names a stored file
SHA256_ERROR = "A file reference is the file's SHA-256 (64 hex digits)."
SIGNATURES = (
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
)
BLOBS_DDL = """
CREATE TABLE IF NOT EXISTS blobs (
    sha256 text PRIMARY KEY,
    media_type text NOT NULL,
    size bigint NOT NULL,
    content bytea NOT NULL,
    first_stored_at timestamptz NOT NULL
);
"""


@dataclass(frozen=True)
class Attachment:
    sha256: str
    name: str
    size: int
    media_type: str
    uploaded_by: str
    original_name: str | None = None  # as sent, escaped; only when normalising changed it

    def as_dict(self) -> dict:
        recorded = asdict(self)
        if self.original_name is None:
            del recorded["original_name"]  # the events of a well-named file keep their old shape
        return recorded

    def as_contract(self) -> dict:
        """The shape of `shared.contracts.Attachment` (without the uploader)."""
        return {"sha256": self.sha256, "name": self.name, "size": self.size, "media_type": self.media_type}


def decode(content_base64: str, field: str = "content") -> bytes:
    try:
        return base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise InvalidInput.for_fields({field: ["Not valid base64."]}) from None


def media_type_of(content: bytes) -> str | None:
    for signature, media_type, _ in SIGNATURES:
        if content.startswith(signature):
            return media_type
    return None


def check(name: str, content: bytes, uploaded_by: str, max_bytes: int = MAX_BYTES) -> Attachment:
    """The attachment a file would be, or a typed error naming the rule it breaks."""
    if not content:
        raise RuleViolation.of("file_empty", "the file is empty", field="content")
    if len(content) > max_bytes:
        raise RuleViolation.of("file_too_large", f"the file is {len(content)} bytes; at most {max_bytes}",
                               field="content", size=len(content), limit=max_bytes)
    media_type = media_type_of(content)
    if media_type is None:
        raise RuleViolation.of("file_type", "only PDF, JPEG and PNG files are accepted", field="content")
    stored_name = normalised_name(name)
    extensions = next(ext for _, t, ext in SIGNATURES if t == media_type)
    if not stored_name.lower().endswith(extensions):
        raise RuleViolation.of(
            "file_name_mismatch", f"the content is {media_type} but the name {stored_name!r} says otherwise",
            field="name", media_type=media_type,
        )
    if _is_zip(content):
        raise RuleViolation.of("file_polyglot", f"the file is {media_type} and a zip archive at once",
                               field="content", media_type=media_type)
    if media_type == "application/pdf":
        _check_pdf(content)
    else:
        _check_image(content, media_type)
    original = None if stored_name == name else escaped(name)
    return Attachment(hashlib.sha256(content).hexdigest(), stored_name, len(content), media_type, uploaded_by,
                      original)


# --- names -------------------------------------------------------------------------

_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def _is_control(character: str) -> bool:
    # Cc: C0/C1 controls (NUL, CR, LF, ESC, DEL …); Cf: format characters such as the
    # right-to-left override that makes "gpj.exe" read as "exe.jpg"; Cs: lone surrogates.
    return unicodedata.category(character) in ("Cc", "Cf", "Cs")


def normalised_name(name: str) -> str:
    """The name a file is stored and shown under: NFC, its last path component only, without
    control characters or ANSI escape sequences, trimmed, at most MAX_NAME_LENGTH characters
    (the extension kept). A name that normalises to nothing is refused (`file_name`)."""
    cleaned = _ANSI_ESCAPE.sub("", unicodedata.normalize("NFC", name))
    cleaned = "".join(c for c in cleaned if not _is_control(c))
    cleaned = re.split(r"[/\\]", cleaned)[-1].strip().lstrip(".").strip()
    if not cleaned:
        raise RuleViolation.of("file_name", "the file name is empty once folders and control characters are "
                               "removed", field="name")
    if len(cleaned) > MAX_NAME_LENGTH:
        stem, dot, extension = cleaned.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            cleaned = stem[:MAX_NAME_LENGTH - len(extension) - 1].rstrip() + "." + extension
        else:
            cleaned = cleaned[:MAX_NAME_LENGTH]
    return cleaned


def escaped(name: str) -> str:
    """The name as sent, safe to show: every control character written as its escape (\\r, \\x1b)."""
    return "".join(c.encode("unicode_escape").decode("ascii") if _is_control(c) or c == "\\" else c
                   for c in name)


# --- contents ----------------------------------------------------------------------

def _is_zip(content: bytes) -> bool:
    try:
        return zipfile.is_zipfile(io.BytesIO(content))
    except Exception:  # a malformed end record: not a zip anyone can open
        return False


# A name that runs something or carries a file, wherever it appears in the document.
_ACTIVE_KEYS = {"/JS": "pdf_javascript", "/JavaScript": "pdf_javascript", "/EmbeddedFiles": "pdf_embedded_file",
                "/EmbeddedFile": "pdf_embedded_file", "/RichMedia": "pdf_embedded_file"}
_ACTIVE_VALUES = {"/JavaScript": "pdf_javascript", "/Launch": "pdf_launch", "/ImportData": "pdf_launch",
                  "/EmbeddedFile": "pdf_embedded_file", "/FileAttachment": "pdf_embedded_file",
                  "/RichMedia": "pdf_embedded_file"}
_WHY = {"pdf_javascript": "the PDF contains JavaScript",
        "pdf_launch": "the PDF contains an action that launches a program or imports data",
        "pdf_embedded_file": "the PDF carries an embedded file"}
MAX_PDF_OBJECTS = 200_000  # a walk over more is itself a refusal: no plan needs that many


def _check_pdf(content: bytes) -> None:
    if not content.rstrip(b"\r\n\t \x00").endswith(b"%%EOF"):
        raise RuleViolation.of("pdf_unreadable", "the PDF is truncated or has data after its end (%%EOF)",
                               field="content")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = pypdf.PdfReader(io.BytesIO(content), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise RuleViolation.of("pdf_encrypted", "the PDF is encrypted with a password", field="content")
            pages = len(reader.pages)
            root = reader.trailer["/Root"].get_object()
    except RuleViolation:
        raise
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        raise RuleViolation.of("pdf_unreadable", "the PDF cannot be read: " + type(exc).__name__,
                               field="content") from None
    limit = settings.get().upload_max_pages
    if pages < 1:
        raise RuleViolation.of("pdf_unreadable", "the PDF has no page", field="content")
    if pages > limit:
        raise RuleViolation.of("pdf_too_many_pages", f"the PDF has {pages} pages; at most {limit}",
                               field="content", pages=pages, limit=limit)
    seen: set = set()
    pending = [reader.trailer, root]
    try:
        while pending:
            node = pending.pop()
            if isinstance(node, IndirectObject):
                key = (node.idnum, node.generation)
                if key in seen:
                    continue
                seen.add(key)
                if len(seen) > MAX_PDF_OBJECTS:
                    raise RuleViolation.of("pdf_unreadable", "the PDF has too many objects", field="content")
                node = node.get_object()
            if isinstance(node, DictionaryObject):
                for name, value in node.items():
                    rule = _ACTIVE_KEYS.get(name) or (_ACTIVE_VALUES.get(value) if isinstance(value, NameObject) else None)
                    if rule:
                        raise RuleViolation.of(rule, _WHY[rule], field="content")
                    pending.append(value)
            elif isinstance(node, ArrayObject):
                pending.extend(node)
    except RuleViolation:
        raise
    except Exception as exc:
        raise RuleViolation.of("pdf_unreadable", "the PDF cannot be read: " + type(exc).__name__,
                               field="content") from None


def _check_image(content: bytes, media_type: str) -> None:
    limit = settings.get().upload_max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            formats = ["PNG" if media_type == "image/png" else "JPEG"]
            with Image.open(io.BytesIO(content), formats=formats) as image:
                width, height = image.size
                if width * height > limit:
                    raise RuleViolation.of("image_too_many_pixels",
                                           f"the image is {width}×{height} pixels; at most {limit} in all",
                                           field="content", width=width, height=height, limit=limit)
                image.verify()  # a PNG's chunks, checksums and end (IEND); nothing for a JPEG
            with Image.open(io.BytesIO(content), formats=formats) as image:
                image.load()  # every pixel decoded: a truncated or corrupt image fails here
    except RuleViolation:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise RuleViolation.of("image_too_many_pixels", "the image decompresses to too many pixels",
                               field="content", limit=limit) from None
    except Exception as exc:
        raise RuleViolation.of("image_unreadable", "the image cannot be decoded: " + type(exc).__name__,
                               field="content") from None


logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged upload is refused, not logged line by line


def store(session, attachment: Attachment, content: bytes) -> None:
    """Keep the bytes (once) in the same transaction as the event that mentions them."""
    session.execute(
        text("INSERT INTO blobs (sha256, media_type, size, content, first_stored_at)"
             " VALUES (:sha, :type, :size, :content, :at) ON CONFLICT (sha256) DO NOTHING"),
        {"sha": attachment.sha256, "type": attachment.media_type, "size": attachment.size,
         "content": content, "at": clock.now()},
    )


def fetch(session, sha256: str) -> bytes:
    row = session.execute(text("SELECT content FROM blobs WHERE sha256 = :sha"), {"sha": sha256}).first()
    if row is None:
        raise NotFound("no such file", {"sha256": sha256})
    return bytes(row[0])
