"""Uploaded files (attachments, scans): checked, then stored once by SHA-256.

A file's type is taken from its content (PDF, JPEG, PNG), never from its name;
a name whose extension says otherwise is refused. Files are content-addressed
and immutable, so storing the same bytes twice stores them once. The event
that mentions a file records its `Attachment` (hash, name, size, type,
uploader); the bytes live in the service's `blobs` table.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import asdict, dataclass

from sqlalchemy import text

from shared import clock
from shared.errors import InvalidInput, NotFound, RuleViolation

MAX_BYTES = 10 * 1024 * 1024
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

    def as_dict(self) -> dict:
        return asdict(self)

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
    extensions = next(ext for _, t, ext in SIGNATURES if t == media_type)
    if not name.lower().endswith(extensions):
        raise RuleViolation.of(
            "file_name_mismatch", f"the content is {media_type} but the name {name!r} says otherwise",
            field="name", media_type=media_type,
        )
    return Attachment(hashlib.sha256(content).hexdigest(), name, len(content), media_type, uploaded_by)


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
