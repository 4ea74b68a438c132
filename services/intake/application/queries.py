"""What intake answers the portal: the register of units, an applicant's registration,
an application with its plan (as written or as submitted), its versions and their
differences, the printed plan, and the list of the caller's applications."""
from __future__ import annotations

import base64
import uuid

from shared import blobs
from shared.auth import Caller
from shared.contracts import SECTIONS
from shared.errors import InvalidInput, NotAuthorized, NotFound, NotYourApplication
from shared.listing import order_by
from services.intake import plan as plans
from services.intake.application.access import READERS_OF_ALL, UNIT_ROLES_OF_CALLERS, _iso, _plain
from services.intake.domain import ALLOWED_KINDS, Application, applicant_id_of
from services.intake.errors import AttachmentNotFound, VersionNotFound

WORKING_COPY = 0  # version 0 names the plan as it is being written
# Guide §二(一): who applies for each base type, mainly; other categories are a warning, not an error.
USUAL_CATEGORIES = {
    "regional": ("standardization_institute",),
    "domain": ("enterprise", "research_institute", "standardization_institute"),
    "international": ("enterprise",),
}


class Queries:
    """Mixed into `Intake`: reads of the aggregates (as the caller may see them) and of the
    read model; none changes anything."""

    # --- the registers ------------------------------------------------------------------

    def units(self, caller: Caller, role: str | None, base_type: str | None) -> list[dict]:
        """The register, for choosing units: with `base_type`, only the kinds the guide allows for it."""
        rows = self.query(
            "SELECT unit_id, name, role, kind, region, domain FROM units"
            " WHERE (CAST(:role AS text) IS NULL OR role = :role) ORDER BY role, unit_id",
            role=role,
        )
        if base_type:
            rows = [row for row in rows if row["kind"] in ALLOWED_KINDS[base_type][row["role"]]]
        return rows

    def applicant(self, caller: Caller, credit_code: str | None) -> dict:
        if caller.role == "applicant":
            if credit_code not in (None, caller.organization):
                raise NotAuthorized("an applicant unit sees only its own registration",
                                    {"rule": "own_registration", "field": "credit_code"})
            credit_code = caller.organization
        else:
            caller.require_role(*READERS_OF_ALL)
            if credit_code is None:
                raise InvalidInput.for_fields({"credit_code": ["Required for this role."]})
        unit = self._get_or_none(applicant_id_of(credit_code))
        if unit is None:
            raise NotFound("no applicant unit with this credit code", {"credit_code": credit_code})
        return unit.as_dict()

    # --- the plan being written -----------------------------------------------------------

    def attachment(self, caller: Caller, application_id: uuid.UUID, sha256: str) -> dict:
        application, access = self._readable(caller, application_id)
        files = dict(application.files) if access != "unit" else {}
        for version in application.versions:
            files.update(version["plan"]["files"])
        if sha256 not in files:
            raise AttachmentNotFound("no such file in this application", {"field": "sha256", "sha256": sha256})
        with self.transaction() as session:
            content = blobs.fetch(session, sha256)
        return {**files[sha256], "content": base64.b64encode(content).decode("ascii")}

    def check(self, caller: Caller, application_id: uuid.UUID) -> dict:
        """Every missing or invalid item of the working copy, by section, before submission."""
        application, access = self._readable(caller, application_id)
        if access == "unit":
            raise NotYourApplication("the plan being written is its applicant's",
                                     {"application_id": str(application_id)})
        found = self._problems(application)
        return {"application_id": str(application.id), "complete": not found,
                "problems": plans.by_section(found), "warnings": self._warnings(application)}

    def _warnings(self, application: Application) -> list[dict]:
        applicant = self._get_or_none(applicant_id_of(application.applicant_organization))
        warnings = []
        if applicant and applicant.category not in USUAL_CATEGORIES[application.base_type]:
            warnings.append({"field": "applicant.category", "warning": "unusual_applicant",
                             "message": f"the guide names {', '.join(USUAL_CATEGORIES[application.base_type])} "
                                        f"as the usual applicants of a {application.base_type} base"})
        if applicant and not applicant.region_known:
            warnings.append({"field": "applicant.region", "warning": "unknown_region",
                             "message": f"the applicant's region {applicant.region} is not in the GB/T 2260 table"})
        return warnings

    # --- the application and its versions ---------------------------------------------------

    def application(self, caller: Caller, application_id: uuid.UUID, version: int | None) -> dict:
        """The application with its plan: the working copy, or a submitted version."""
        application, access = self._readable(caller, application_id)
        viewed = self._viewed_version(application, access, version)
        if viewed == WORKING_COPY:
            plan, files = dict(application.sections), dict(application.files)
            meta = {"viewing": WORKING_COPY, "digest": None, "receipt_number": None, "submitted_at": None}
        else:
            frozen = application.version_of(viewed)
            plan, files = frozen["plan"]["sections"], frozen["plan"]["files"]
            meta = {"viewing": viewed, **_version_meta(frozen)}
        return {**self.summary(application), **meta, "sections": plan, "files": files,
                "versions": [_version_meta(v) for v in application.versions]}

    def versions(self, caller: Caller, application_id: uuid.UUID) -> list[dict]:
        application, _ = self._readable(caller, application_id)
        return [_version_meta(v) for v in application.versions]

    def diff(self, caller: Caller, application_id: uuid.UUID, from_version: int, to_version: int | None) -> dict:
        application, access = self._readable(caller, application_id)
        before = self._plan_at(application, self._viewed_version(application, access, from_version))
        target = self._viewed_version(application, access, WORKING_COPY if to_version is None else to_version)
        after = self._plan_at(application, target)
        return {"application_id": str(application.id), "from_version": from_version, "to_version": target,
                "sections": plans.diff(before, after)}

    def my_applications(self, caller: Caller, stage: str | None, limit: int, offset: int,
                        sort: str | None = None) -> list[dict]:
        """The caller's applications, oldest first: its own for an applicant, those naming it for a
        unit (once submitted), all for officers and auditors."""
        if caller.role == "applicant":
            scope, who = "applicant_organization = :who", caller.organization
        elif caller.role in UNIT_ROLES_OF_CALLERS:
            role = UNIT_ROLES_OF_CALLERS[caller.role]
            scope, who = f"{role}_unit_id = :who AND plan_version > 0", caller.organization
        else:
            caller.require_role(*READERS_OF_ALL)
            scope, who = "TRUE", None
        rows = self.query(
            "SELECT application_id, name, base_type, region, domain, applicant_id, applicant_organization,"
            " organizing_unit_id, recommending_unit_id, stage, plan_version, number, open_sections,"
            " next_deadline, deadline_kind, created_at, (SELECT i.occurred_at FROM audit_index i"
            "  WHERE i.application_id = applications.application_id ORDER BY i.position DESC LIMIT 1) AS updated_at"
            f" FROM applications WHERE {scope} AND (CAST(:stage AS text) IS NULL OR stage = :stage)"
            f" ORDER BY {order_by(sort, 'created_at, application_id')} LIMIT :limit OFFSET :offset",
            who=who, stage=stage, limit=limit, offset=offset,
        )
        return [_row(row) for row in rows]

    def summary(self, application: Application) -> dict:
        latest = application.latest_version or {}
        return {
            "application_id": str(application.id),
            "name": application.name,
            "base_type": application.base_type,
            "region": application.region,
            "domain": application.domain,
            "applicant_id": application.applicant_id,
            "applicant_organization": application.applicant_organization,
            "organizing_unit_id": application.organizing_unit_id,
            "recommending_unit_id": application.recommending_unit_id,
            "stage": application.stage,
            "plan_version": application.plan_version,
            "digest": latest.get("digest"),
            "receipt_number": latest.get("receipt_number"),
            "number": application.number,
            "open_sections": list(application.open_sections),
            "request": _plain(application.request),
            "next_deadline": _iso(application.deadline),
            "deadline_kind": application.deadline_kind,
            "late_exception": application.late_exception,
            "withdrawal_reason": application.withdrawal_reason,
            "version": application.version,
        }

    @staticmethod
    def _viewed_version(application: Application, access: str, version: int | None) -> int:
        """None: the plan as it stands — the working copy while the applicant may change it (a
        draft, or sections reopened), otherwise the latest submitted version; a unit always sees
        the latest submitted version."""
        if version is None:
            locked = application.versions and not application.open_sections
            version = application.plan_version if access == "unit" or locked else WORKING_COPY
        if version == WORKING_COPY and access == "unit":
            raise VersionNotFound("a unit sees the submitted versions only", {"field": "version", "version": 0})
        if version != WORKING_COPY and application.version_of(version) is None:
            raise VersionNotFound(f"the application has {application.plan_version} submitted version(s)",
                                  {"field": "version", "version": version})
        return version

    def _plan_at(self, application: Application, version: int) -> dict:
        return self._frozen(application) if version == WORKING_COPY else application.version_of(version)["plan"]

def _version_meta(version: dict) -> dict:
    return {key: _iso(value) for key, value in version.items() if key != "plan"}


def _row(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if key == "open_sections":
            out[key] = [s for s in SECTIONS if s in (value or [])]
        elif isinstance(value, uuid.UUID):
            out[key] = str(value)
        else:
            out[key] = _iso(value)
    return out
