"""Printing the plan and checking a printed copy against the log: the PDF of a version with its
evidence appended, and the answer to "is this paper a version in the log, and which?".

A paper copy is checked by its digest (`plan.digest` of the frozen plan, logged with each
submitted version and printed in its verification block); a PDF file also by its text, which
must be what the logged version prints to, so a PDF edited by one character is not taken for
the version it claims to be.
"""
from __future__ import annotations

import base64
import io
import re
import threading
import uuid
from collections import OrderedDict

import eventlet
import eventlet.patcher
import eventlet.tpool
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from services.intake import plan as plans
from services.intake import printed_plan
from shared import blobs
from shared.auth import Caller
from shared.errors import InvalidInput
from shared.printable import texts

WORKING_COPY = 0
DRAFT_LABEL = printed_plan.DRAFT_LABEL
PRINTED_CACHE_SIZE = 32
UNNUMBERED = printed_plan.UNNUMBERED
# The verification block's line: 摘要 SHA-256：<64 hex>, read from the PDF's text.
PRINTED_DIGEST = re.compile(r"摘要SHA-256：([0-9a-f]{64})")

_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()


def version_label(version: int) -> str:
    return DRAFT_LABEL if version == WORKING_COPY else f"第 {version} 版"


def plan_pdf(app, caller: Caller, application_id: uuid.UUID, version: int | None) -> dict:
    """The printable plan (附件2) of a version, or of the working copy as a watermarked draft,
    with its PDF and image evidence appended; base64-encoded."""
    application, access = app._readable(caller, application_id)
    viewed = app._viewed_version(application, access, version)
    content, digest = printed(app, application, viewed)
    return {
        "application_id": str(application.id), "plan_version": viewed, "digest": digest,
        "number": application.number, "media_type": "application/pdf",
        "filename": f"申报方案-{application.number or str(application.id)[:8]}-v{viewed}.pdf",
        "content": base64.b64encode(content).decode("ascii"),
    }


def printed(app, application, viewed: int, *, as_before: tuple[str, ...] = ()) -> tuple[bytes, str]:
    """The PDF bytes of version `viewed` (0: the working copy) and its digest. A submitted
    version prints to the same bytes until its number or the organizing unit's opinion
    arrives, so those renderings are kept; a working copy never is. `as_before` names what to
    leave out, as it printed before it was recorded: "number", "opinion"."""
    opinion = None if "opinion" in as_before else application.organizing_opinion
    number = None if "number" in as_before else application.number
    if viewed == WORKING_COPY:
        frozen = app._frozen(application)
        digest, submitted_at = plans.digest(frozen), None
    else:
        entry = application.version_of(viewed)
        frozen, digest, submitted_at = entry["plan"], entry["digest"], entry["submitted_at"]
    key = None
    if submitted_at is not None:
        key = (frozen["application_id"], digest, viewed, number, repr(sorted((opinion or {}).items())))
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                return _cache[key], digest
    layout = dict(version_label=version_label(viewed), digest=digest, number=number,
                  submitted_at=submitted_at, organizing_opinion=opinion, evidence=_evidence(app, frozen))
    if eventlet.patcher.is_monkey_patched("socket"):
        # Rendering is CPU-bound for most of a second: in a native thread the service's other
        # green threads (saves, the outbox, the consumer) keep running meanwhile.
        content = eventlet.tpool.execute(printed_plan.pdf, frozen, **layout)
    else:
        content = printed_plan.pdf(frozen, **layout)
    if key is not None:
        with _cache_lock:
            _cache[key] = content
            while len(_cache) > PRINTED_CACHE_SIZE:
                _cache.popitem(last=False)
    return content, digest


def _evidence(app, frozen: dict) -> dict[str, bytes]:
    """The content of every file the plan names that prints as pages (PDFs and images)."""
    wanted = {a.sha256 for a in printed_plan.attachments(frozen)
              if a.media_type in printed_plan.KIND_NAMES}
    if not wanted:
        return {}
    with app.transaction() as session:
        return {sha: blobs.fetch(session, sha) for sha in sorted(wanted)}


# --- verifying a printed copy ---------------------------------------------------------------


def verify_print(app, digest: str | None, document: bytes | None) -> dict:
    """Whether a digest read from paper, or a PDF, is a submitted version in the log: which
    application and version, and whether it is the application's current submitted version.
    Open to every caller, signed in or not: it shows what the paper itself carries (name,
    number, version, date of submission) and whether it is current, never the plan's content
    (services/gateway/portal/verify_pages.py says why)."""
    if document is not None:
        pages = _pages(document)
        found = PRINTED_DIGEST.search("".join(pages))
        if found is None:
            return {"in_log": False, "digest": None, "reason": "no_digest_printed",
                    "message": "no verification block with a SHA-256 digest in this PDF"}
        if digest is not None and digest != found.group(1):
            raise InvalidInput.for_fields({"digest": ["differs from the digest printed in the document"]})
        digest = found.group(1)
    elif digest is None:
        raise InvalidInput.for_fields({"digest": ["give the digest printed on the paper, or the PDF"]})
    row = _version_with_digest(app, digest)
    if row is None:
        return {"in_log": False, "digest": digest, "reason": "digest_not_logged",
                "message": "no submitted version of any application has this digest"}
    application = app._application_or_none(row["application_id"])
    version = row["plan_version"]
    if document is not None and not _prints_as(app, application, version, pages):
        return {"in_log": False, "digest": digest, "reason": "text_differs",
                "message": f"the digest is version {version}'s, but the text differs from what it prints"}
    current = application.plan_version
    return {
        "in_log": True, "digest": digest, "application_id": str(application.id), "number": application.number,
        "name": application.version_of(version)["plan"]["sections"]["basic"].get("name"),
        "plan_version": version, "current_plan_version": current, "is_current": version == current,
        "submitted_at": row["submitted_at"].isoformat(),
        "message": (f"submitted version {version}" + ("" if version == current
                                                      else f", superseded by version {current}")),
    }


def _version_with_digest(app, digest: str) -> dict | None:
    rows = app.query("SELECT application_id, plan_version, submitted_at FROM plan_versions"
                     " WHERE digest = :d ORDER BY submitted_at DESC, plan_version DESC LIMIT 1", d=digest)
    return rows[0] if rows else None


def _pages(document: bytes) -> list[str]:
    try:
        return texts(PdfReader(io.BytesIO(document)).pages)
    except (PdfReadError, ValueError, KeyError) as error:
        raise InvalidInput.for_fields({"document": [f"not a readable PDF ({type(error).__name__})"]}) from None


def _prints_as(app, application, version: int, pages: list[str]) -> bool:
    """Whether `pages` are the text of the version as printed now, or as it printed before SAC
    numbered it (the verification block says which) or before the organizing unit's opinion."""
    unnumbered = application.number is not None and UNNUMBERED in "".join(pages)
    base = ("number",) if unnumbered else ()
    for as_before in [base] + ([base + ("opinion",)] if application.organizing_opinion else []):
        content, _ = printed(app, application, version, as_before=as_before)
        if texts(PdfReader(io.BytesIO(content)).pages) == pages:
            return True
    return False
