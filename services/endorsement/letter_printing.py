"""The recommending unit's letter (推荐函): entering its 发文字号 (an event on the review item)
and printing it from the forwarded application and the registered units."""
from __future__ import annotations

import base64
import uuid
from datetime import date

from services.endorsement import letter
from services.endorsement.application.access import READERS_OF_ALL
from services.endorsement.domain import APPLICANT, ENDORSING, FORWARDED, RECOMMENDED
from shared import clock
from shared.auth import Caller
from shared.clock import BEIJING


def number_letter(app, caller: Caller, data: dict) -> dict:
    """Recommending unit named by the application: records the letter's 发文字号 (`LetterNumbered`)."""
    item = app._decision(caller, data, "recommending_unit")
    item.number_letter(caller.as_actor(), data["reference"], clock.now().astimezone(BEIJING).date())
    app._save(item)
    return {**app.item_summary(item), "letter_reference": item.letter_reference}


def letter_pdf(app, caller: Caller, application_id: uuid.UUID) -> dict:
    """The recommendation letter as a base64 PDF: issued (with its 发文字号 and date) once the
    unit entered one, a watermarked preview before."""
    caller.require_role("recommending_unit", *READERS_OF_ALL)
    item = app._current_item(application_id)
    if caller.role == "recommending_unit":
        app._require_named(caller, item)
    item.require_stage(FORWARDED, RECOMMENDED)
    content = letter.pdf(facts_of(app, item))
    preview = item.letter_reference is None
    return {
        "application_id": item.application_id,
        "plan_version": item.plan_version,
        "preview": preview,
        "reference": None if preview else item.letter_reference["reference"],
        "file_name": f"recommendation-letter-{item.application_id}-v{item.plan_version}"
                     f"{'-preview' if preview else ''}.pdf",
        "media_type": "application/pdf",
        "content": base64.b64encode(content).decode("ascii"),
    }


def facts_of(app, item) -> letter.LetterFacts:
    organizing = app._unit(ENDORSING, item.organizing_unit_id)
    recommending = app._unit(ENDORSING, item.recommending_unit_id)
    applicant = app._unit(APPLICANT, item.applicant_organization)
    forwarded = app.query("SELECT forwarded_at FROM review_items WHERE item_id = :i", i=item.id)
    numbered = item.letter_reference or {}
    return letter.LetterFacts(
        name=item.name, base_type=item.base_type, region=item.region, domain=item.domain,
        applicant_name=item.applicant_name,
        applicant_credit_code=applicant.details.get("credit_code") if applicant else item.applicant_organization,
        organizing_unit_name=organizing.name if organizing else item.organizing_unit_id,
        recommending_unit_name=recommending.name if recommending else item.recommending_unit_id,
        recommending_region=recommending.details.get("region") if recommending else None,
        recommending_contact=recommending.details.get("contact") if recommending else None,
        plan_version=item.plan_version, digest=item.digest, receipt_number=item.receipt_number,
        drafted_at=forwarded[0]["forwarded_at"],
        reference=numbered.get("reference"),
        issued_on=date.fromisoformat(numbered["issued_on"]) if numbered else None,
    )
