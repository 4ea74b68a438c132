"""Intake's event-sourced application: the registers, the applications and their
plans, the reactions to later stages, the queries of the portal, and the facts
intake publishes."""
from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import text

from shared import blobs, clock
from shared.auth import Caller
from shared.clock import BEIJING
from shared.contracts import SECTIONS, IntegrationEvent
from shared.errors import (
    ApplicationNotFound,
    ConcurrencyConflict,
    InvalidInput,
    NotAuthorized,
    NotFound,
    NotYourApplication,
    RuleViolation,
)
from shared.eventstore import ServiceApplication
from shared.listing import order_by
from shared.reference import credit_code as credit_codes
from shared.reference import regions
from services.intake import plan as plans
from services.intake.errors import (
    AlreadyRegistered,
    ApplicantNotRegistered,
    AttachmentNotFound,
    InvalidCreditCode,
    UnitNotFound,
    VersionNotFound,
)
from services.intake.domain import (
    ALLOWED_KINDS,
    APPROVED,
    DECLINED,
    EXPERT_REVIEW,
    FORMAL_REVIEW,
    FORWARDED,
    INADMISSIBLE,
    NOT_RECOMMENDED,
    PANEL_CONCLUDED,
    RECOMMENDED,
    REGIONAL_KINDS,
    ApplicantUnit,
    Application,
    CreditCodeOverride,
    Unit,
    applicant_id_of,
    check_unit_pair,
    draft_id,
    name_reads_as_a_base,
    override_id_of,
    unit_aggregate_id,
)
from services.intake.schemas import normalised_section

READERS_OF_ALL = ("officer", "auditor")
UNIT_ROLES_OF_CALLERS = {"organizing_unit": "organizing", "recommending_unit": "recommending"}
WORKING_COPY = 0  # version 0 names the plan as it is being written
# Guide §二(一): who applies for each base type, mainly; other categories are a warning, not an error.
USUAL_CATEGORIES = {
    "regional": ("standardization_institute",),
    "domain": ("enterprise", "research_institute", "standardization_institute"),
    "international": ("enterprise",),
}
# The later stages intake follows for "my applications": (source, type) -> the stage it means.
PROGRESS = {
    ("endorsement", "ApplicationForwarded"): FORWARDED,
    ("endorsement", "ApplicationRecommended"): RECOMMENDED,
    ("endorsement", "RecommendationDeclined"): NOT_RECOMMENDED,
    ("formal_review", "ApplicationAccepted"): FORMAL_REVIEW,
    ("formal_review", "FormalReviewPassed"): EXPERT_REVIEW,
    ("formal_review", "ApplicationFoundInadmissible"): INADMISSIBLE,
    ("expert_review", "PanelConcluded"): PANEL_CONCLUDED,
    ("expert_review", "ApplicationApproved"): APPROVED,
    ("expert_review", "ApplicationDeclined"): DECLINED,
}
REOPENING = {
    ("endorsement", "ApplicationReturned"): "returned",
    ("formal_review", "SupplementRequested"): "supplement",
    ("expert_review", "RevisionRequested"): "revision",
}


class Intake(ServiceApplication):
    name = "Intake"
    service = "intake"
    # Commands reload an application on every call; the cache fast-forwards from the log,
    # so several instances stay correct.
    env = {"AGGREGATE_CACHE_MAXSIZE": "2000"}
    snapshotting_intervals = {Application: 50}
    application_aggregates = ("Application",)  # its id is the application's: auditors find its events
    read_model_tables = ("applicants", "units", "applications", "plan_versions")
    read_model_ddl = blobs.BLOBS_DDL + """
    CREATE TABLE IF NOT EXISTS applicants (
        credit_code text PRIMARY KEY,
        name text NOT NULL,
        category text NOT NULL,
        region text NOT NULL,
        region_known boolean NOT NULL,
        credit_code_override text,
        registered_by text NOT NULL,
        registered_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS units (
        role text NOT NULL,
        unit_id text NOT NULL,
        name text NOT NULL,
        kind text NOT NULL,
        region text,
        domain text,
        registered_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (role, unit_id)
    );
    CREATE TABLE IF NOT EXISTS applications (
        application_id uuid PRIMARY KEY,
        applicant_id text NOT NULL,
        applicant_organization text NOT NULL,
        base_type text NOT NULL,
        name text NOT NULL,
        organizing_unit_id text NOT NULL,
        recommending_unit_id text NOT NULL,
        region text,
        domain text,
        stage text NOT NULL,
        plan_version int NOT NULL,
        number text,
        open_sections text[] NOT NULL,
        next_deadline timestamptz,
        deadline_kind text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,  -- the last event changing a column here (not every section saved)
        position bigint NOT NULL          -- and its position
    );
    CREATE INDEX IF NOT EXISTS applications_by_applicant ON applications (applicant_organization, created_at);
    CREATE INDEX IF NOT EXISTS applications_by_organizing_unit ON applications (organizing_unit_id, created_at);
    CREATE INDEX IF NOT EXISTS applications_by_recommending_unit ON applications (recommending_unit_id, created_at);
    CREATE TABLE IF NOT EXISTS plan_versions (
        application_id uuid NOT NULL,
        plan_version int NOT NULL,
        digest text NOT NULL,
        receipt_number text NOT NULL UNIQUE,
        submission_kind text NOT NULL,
        answers_request text,
        changed_sections text[] NOT NULL,
        submitted_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (application_id, plan_version)
    );
    CREATE SEQUENCE IF NOT EXISTS receipt_numbers;
    """
    projections = {
        "ApplicantRegistered": "_project_applicant",
        "UnitRegistered": "_project_unit",
        "Drafted": "_project_drafted",
        "SectionSaved": "_project_section_saved",
        "Submitted": "_project_submitted",
        "SectionsReopened": "_project_reopened",
        "ProgressRecorded": "_project_progress",
        "DeadlineExtended": "_project_deadline_extended",
        "Withdrawn": "_project_withdrawn",
    }
    reactions = {
        **{key: "on_sections_requested" for key in REOPENING},
        **{key: "on_progress" for key in PROGRESS},
        ("formal_review", "DeadlineExtended"): "on_deadline_extended",
        ("expert_review", "DeadlineExtended"): "on_deadline_extended",
        ("expert_review", "ExpertAssigned"): "on_expert_assigned",
        ("expert_review", "ExpertDeclined"): "on_expert_declined",
    }

    def __init__(self, database_url: str | None = None):
        super().__init__(database_url)

    # --- the registers ------------------------------------------------------------------

    def register_applicant(self, caller: Caller, data: dict) -> dict:
        """An applicant unit registers itself under its own credit code."""
        caller.require_role("applicant")
        code = data["credit_code"]
        if code != caller.organization:
            raise NotAuthorized("an applicant unit registers under its own credit code, the one its token names",
                                {"rule": "own_credit_code", "field": "credit_code"})
        override = None
        problems = credit_codes.check_credit_code(code)
        if problems:
            granted = self._get_or_none(override_id_of(code))
            if granted is None:
                raise _invalid_credit_code(code, problems)
            override = granted.reason
        if self._get_or_none(applicant_id_of(code)) is not None:
            raise AlreadyRegistered.of("already_registered", f"the applicant unit {code} is registered already",
                                       field="credit_code")
        region_known = regions.enclosing_region(data["region"]) is not None
        unit = ApplicantUnit.register(
            credit_code=code, name=data["name"], category=data["category"], region=data["region"],
            region_known=region_known, head=_person(data["head"]), contact=_person(data["contact"]),
            postcode=data["postcode"], address=data["address"], credit_code_override=override,
            actor=caller.as_actor(),
        )
        self._save_new(unit, f"the applicant unit {code} is registered already")
        warnings = [] if region_known else [{
            "field": "region", "warning": "unknown_region",
            "message": f"{data['region']} is not in the GB/T 2260 table (an old code stays valid); recorded as is",
        }]
        return {**unit.as_dict(), "warnings": warnings}

    def grant_credit_code_override(self, caller: Caller, data: dict) -> dict:
        """An SAC officer accepts a credit code failing its check characters, recording why."""
        caller.require_role("officer")
        code = data["credit_code"]
        problems = credit_codes.check_credit_code(code)
        if not problems:
            raise RuleViolation.of("override_not_needed", f"{code} passes every check; no override is needed",
                                   field="credit_code")
        if any(p.rule in ("length", "alphabet") for p in problems):
            # Only the check characters can be wrong on a real certificate; a malformed code is a typo.
            raise _invalid_credit_code(code, problems)
        if self._get_or_none(override_id_of(code)) is not None:
            raise AlreadyRegistered.of("already_registered", f"an override for {code} is recorded already",
                                       field="credit_code")
        override = CreditCodeOverride.grant(credit_code=code, reason=data["reason"],
                                            problems=[_problem(p) for p in problems], actor=caller.as_actor())
        self._save_new(override, f"an override for {code} is recorded already")
        return {"credit_code": code, "reason": override.reason, "problems": override.problems,
                "granted_by": override.granted_by}

    def register_unit(self, caller: Caller, data: dict) -> dict:
        """An SAC officer registers an organizing or recommending unit."""
        caller.require_role("officer")
        if data["credit_code"]:
            problems = credit_codes.check_credit_code(data["credit_code"])
            if problems:
                raise _invalid_credit_code(data["credit_code"], problems)
        if data["kind"] in REGIONAL_KINDS and data["region"] and regions.enclosing_region(data["region"]) is None:
            raise RuleViolation.of("unknown_region", f"{data['region']} is not in the GB/T 2260 table",
                                   field="region")
        if self._get_or_none(unit_aggregate_id(data["role"], data["unit_id"])) is not None:
            raise AlreadyRegistered.of("already_registered",
                                       f"the {data['role']} unit {data['unit_id']} is registered already",
                                       field="unit_id")
        unit = Unit.register(
            unit_id=data["unit_id"], name=data["name"], role=data["role"], kind=data["kind"],
            region=data["region"], domain=data["domain"], credit_code=data["credit_code"],
            contact=_person(data["contact"]) if data["contact"] else None, address=data["address"],
            postcode=data["postcode"], actor=caller.as_actor(),
        )
        self._save_new(unit, f"the {data['role']} unit {data['unit_id']} is registered already")
        return unit.as_dict()

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

    # --- drafting and writing the plan -----------------------------------------------------

    def create_draft(self, caller: Caller, data: dict) -> dict:
        caller.require_role("applicant")
        with self.transaction():  # the registers, then the new draft
            applicant = self._registered_applicant(caller)
            application_id = draft_id(caller.organization, data["request_id"] or str(uuid.uuid4()))
            existing = self._get_or_none(application_id)
            if existing is not None:  # the same request again: answer as the first time
                return self.summary(existing)
            basic = normalised_section("basic", {
                "name": data["name"], "region": data["region"], "domain": data["domain"],
                "organizing_unit_id": data["organizing_unit_id"], "recommending_unit_id": data["recommending_unit_id"],
                "head": applicant.head, "contact": applicant.contact, "postcode": applicant.postcode,
                "address": applicant.address,
            })
            self._check_basic(data["base_type"], basic, field_prefix=())
            application = Application.draft(
                application_id=application_id, applicant_id=caller.party_id,
                applicant_organization=caller.organization, base_type=data["base_type"], basic=basic,
                actor=caller.as_actor(),
            )
            self._save_new(application, "this draft exists already")
        return self.summary(application)

    def save_section(self, caller: Caller, application_id: uuid.UUID, section: str, content: dict,
                     expected_version: int | None = None) -> dict:
        # No transaction around it: the read is one round trip, and the save of a section other
        # than `basic` (which changes no read model) one more; the version check on insert refuses
        # a save based on a state that changed meanwhile.
        application = self._own(caller, application_id, expected_version)
        if section == "basic":
            self._check_basic(application.base_type, content, field_prefix=("content",))
        elif section == "qualifications":
            self._check_qualifications(application, content)
        elif section == "attachments":
            self._check_files_exist(application, {
                ("content", "items", i, "sha256"): item["sha256"] for i, item in enumerate(content["items"])})
        application.save_section(section, content, caller.as_actor())
        self.save(application)
        return {"application_id": str(application.id), "section": section, "version": application.version,
                "open_sections": list(application.open_sections)}

    def upload_attachment(self, caller: Caller, application_id: uuid.UUID, name: str, content_base64: str,
                          expected_version: int | None = None) -> dict:
        application = self._own(caller, application_id, expected_version)
        content = blobs.decode(content_base64, field="content")
        attachment = blobs.check(name, content, caller.party_id)
        with self.transaction() as session:
            if application.attach(attachment.as_dict(), caller.as_actor()):
                blobs.store(session, attachment, content)
                self.save(application)
        return {**application.files[attachment.sha256], "application_id": str(application.id)}

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

    # --- submission and after -------------------------------------------------------------

    def grant_late_submission(self, caller: Caller, application_id: uuid.UUID, reason: str) -> dict:
        caller.require_role("officer")
        with self.transaction():
            application = self._get(application_id)
            application.grant_late_submission(reason, caller.as_actor())
            self.save(application)
        return self.summary(application)

    def submit(self, caller: Caller, application_id: uuid.UUID, expected_version: int | None = None) -> dict:
        with self.transaction():  # the application, the registers and the new version: one round of reads
            application = self._own(caller, application_id, expected_version)
            registers = self._registers(application)
            application.submit(
                at=clock.now(), frozen=self._frozen(application, registers),
                found=self._problems(application, registers), receipt_number=self._next_receipt_number,
                actor=caller.as_actor(),
            )
            self.save(application)
        return self.summary(application)

    def withdraw(self, caller: Caller, application_id: uuid.UUID, reason: str,
                 expected_version: int | None = None) -> dict:
        with self.transaction():
            application = self._own(caller, application_id, expected_version)
            application.withdraw(reason, caller.as_actor())
            self.save(application)
        return self.summary(application)

    # --- reactions to later stages ----------------------------------------------------------

    def on_sections_requested(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:  # not one of ours (or not yet): nothing to change
            return []
        p = event.payload
        reopened = application.reopen(
            kind=REOPENING[(event.source, event.type)], sections=p["sections"], reason=p["reason"],
            request_id=p["request_id"], requested_by=event.source, deadline=_instant(p.get("deadline")),
            caused_by=_cause(event),
        )
        return [application] if reopened else []

    def on_progress(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:  # not one of ours (or not yet): nothing to change
            return []
        p = event.payload
        approved = event.type == "ApplicationApproved"
        recorded = application.record_progress(
            reported=event.type, stage=PROGRESS[(event.source, event.type)], caused_by=_cause(event),
            number=p.get("number"), deadline=_instant(p["construction_plan_due"]) if approved else None,
            deadline_kind="construction_plan" if approved else None,
            opinion=_plain(p["opinion"]) if event.type == "ApplicationForwarded" else None,
            conclusion=p.get("conclusion"),
        )
        return [application] if recorded else []

    def on_deadline_extended(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:  # not one of ours (or not yet): nothing to change
            return []
        extended = application.extend_deadline(request_id=event.payload["request_id"],
                                               deadline=_instant(event.payload["new_deadline"]),
                                               caused_by=_cause(event))
        return [application] if extended else []

    def on_expert_assigned(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:
            return []
        granted = application.grant_expert_access(event.payload["expert_id"], caused_by=_cause(event))
        return [application] if granted else []

    def on_expert_declined(self, event: IntegrationEvent) -> list:
        application = self._application_or_none(event.payload["application_id"])
        if application is None:
            return []
        revoked = application.revoke_expert_access(event.payload["expert_id"], caused_by=_cause(event))
        return [application] if revoked else []

    # --- queries ----------------------------------------------------------------------------

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

    # --- published facts ----------------------------------------------------------------

    def integration_event(self, domain_event):
        name = type(domain_event).__name__
        if name == "ApplicantRegistered":
            e = domain_event
            return "ApplicantRegistered", 1, {
                "unit_id": e.credit_code, "name": e.name, "credit_code": e.credit_code,
                "credit_code_override": e.credit_code_override, "category": e.category, "region": e.region,
                "region_known": e.region_known, "head": e.head, "contact": e.contact, "postcode": e.postcode,
                "address": e.address, "registered_by": e.actor["party_id"],
            }
        if name == "UnitRegistered":
            e = domain_event
            return "UnitRegistered", 1, {
                "unit_id": e.unit_id, "name": e.name, "role": e.role, "kind": e.kind, "credit_code": e.credit_code,
                "region": e.region, "domain": e.domain, "contact": e.contact, "address": e.address,
                "postcode": e.postcode,
            }
        if name == "Drafted":
            e = domain_event
            return "ApplicationDrafted", 1, {
                "application_id": e.originator_id, "applicant_id": e.applicant_id,
                "applicant_organization": e.applicant_organization, "base_type": e.base_type, "name": e.name,
                "organizing_unit_id": e.organizing_unit_id, "recommending_unit_id": e.recommending_unit_id,
            }
        if name == "Submitted":
            return "ApplicationSubmitted", 1, _submitted_payload(domain_event)
        if name == "SectionsReopened":
            e = domain_event
            return "SectionsReopened", 1, {
                "application_id": e.originator_id, "sections": e.sections, "reason": e.reason,
                "requested_by": e.requested_by, "request_id": e.request_id, "deadline": e.deadline,
            }
        if name == "Withdrawn":
            return "ApplicationWithdrawn", 1, {
                "application_id": domain_event.originator_id, "reason": domain_event.reason,
                "withdrawn_at": domain_event.timestamp,
            }
        return None

    # --- read models ----------------------------------------------------------------------

    def _project_applicant(self, session, e, position: int) -> None:
        session.execute(text(
            "INSERT INTO applicants (credit_code, name, category, region, region_known, credit_code_override,"
            " registered_by, registered_at, position) VALUES (:code, :name, :category, :region, :known,"
            " :override, :by, :at, :position)"),
            {"code": e.credit_code, "name": e.name, "category": e.category, "region": e.region,
             "known": e.region_known, "override": e.credit_code_override, "by": e.actor["party_id"],
             "at": e.timestamp, "position": position})

    def _project_unit(self, session, e, position: int) -> None:
        session.execute(text(
            "INSERT INTO units (role, unit_id, name, kind, region, domain, registered_at, position)"
            " VALUES (:role, :unit_id, :name, :kind, :region, :domain, :at, :position)"),
            {"role": e.role, "unit_id": e.unit_id, "name": e.name, "kind": e.kind, "region": e.region,
             "domain": e.domain, "at": e.timestamp, "position": position})

    def _project_drafted(self, session, e, position: int) -> None:
        session.execute(text(
            "INSERT INTO applications (application_id, applicant_id, applicant_organization, base_type, name,"
            " organizing_unit_id, recommending_unit_id, region, domain, stage, plan_version, open_sections,"
            " created_at, updated_at, position) VALUES (:id, :applicant, :org, :base_type, :name, :ou, :ru,"
            " :region, :domain, 'draft', 0, :open, :at, :at, :position)"),
            {"id": e.originator_id, "applicant": e.applicant_id, "org": e.applicant_organization,
             "base_type": e.base_type, "name": e.name, "ou": e.organizing_unit_id, "ru": e.recommending_unit_id,
             "region": e.basic.get("region"), "domain": e.basic.get("domain"), "open": list(SECTIONS),
             "at": e.timestamp, "position": position})

    def needs_projection(self, domain_event) -> bool:
        if type(domain_event).__name__ == "SectionSaved":
            return domain_event.section == "basic"  # the only section with columns in `applications`
        return super().needs_projection(domain_event)

    def _project_section_saved(self, session, e, position: int) -> None:
        if e.section == "basic":
            c = e.content
            session.execute(text(
                "UPDATE applications SET name = :name, organizing_unit_id = :ou, recommending_unit_id = :ru,"
                " region = :region, domain = :domain, updated_at = :at, position = :position"
                " WHERE application_id = :id"),
                {"name": c["name"], "ou": c["organizing_unit_id"], "ru": c["recommending_unit_id"],
                 "region": c.get("region"), "domain": c.get("domain"), "at": e.timestamp, "position": position,
                 "id": e.originator_id})
        # Other sections, files and late-submission grants change no column of the read model: the
        # application's last activity is its latest event in `audit_index` (see `my_applications`).

    def _project_submitted(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET stage = :stage, plan_version = :version, open_sections = '{}',"
            " next_deadline = NULL, deadline_kind = NULL, updated_at = :at, position = :position"
            " WHERE application_id = :id"),
            {"stage": e.stage, "version": e.plan_version, "at": e.timestamp, "position": position,
             "id": e.originator_id})
        session.execute(text(
            "INSERT INTO plan_versions (application_id, plan_version, digest, receipt_number, submission_kind,"
            " answers_request, changed_sections, submitted_at, position) VALUES (:id, :version, :digest,"
            " :receipt, :kind, :answers, :changed, :at, :position)"),
            {"id": e.originator_id, "version": e.plan_version, "digest": e.digest, "receipt": e.receipt_number,
             "kind": e.submission_kind, "answers": e.answers_request, "changed": list(e.changed_sections),
             "at": e.submitted_at, "position": position})

    def _project_reopened(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET stage = :stage, open_sections = :open, next_deadline = :deadline,"
            " deadline_kind = :kind, updated_at = :at, position = :position WHERE application_id = :id"),
            {"stage": e.stage, "open": list(e.open_sections), "deadline": e.deadline,
             "kind": e.kind if e.deadline else None, "at": e.timestamp, "position": position,
             "id": e.originator_id})

    def _project_progress(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET stage = :stage, number = :number, open_sections = :open,"
            " next_deadline = :deadline, deadline_kind = :kind, updated_at = :at, position = :position"
            " WHERE application_id = :id"),
            {"stage": e.stage, "number": e.number, "open": list(e.open_sections), "deadline": e.deadline,
             "kind": e.deadline_kind, "at": e.timestamp, "position": position, "id": e.originator_id})

    def _project_deadline_extended(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET next_deadline = :deadline, updated_at = :at, position = :position"
            " WHERE application_id = :id"),
            {"deadline": e.deadline, "at": e.timestamp, "position": position, "id": e.originator_id})

    def _project_withdrawn(self, session, e, position: int) -> None:
        session.execute(text(
            "UPDATE applications SET stage = 'withdrawn', open_sections = '{}', next_deadline = NULL,"
            " deadline_kind = NULL, updated_at = :at, position = :position WHERE application_id = :id"),
            {"at": e.timestamp, "position": position, "id": e.originator_id})

    # --- rules that need the registers -------------------------------------------------------

    def _registered_applicant(self, caller: Caller) -> ApplicantUnit:
        applicant = self._get_or_none(applicant_id_of(caller.organization))
        if applicant is None:
            raise ApplicantNotRegistered.of(
                "applicant_registered", "register the applicant unit (register_applicant) before drafting",
                field="organization", credit_code=caller.organization,
            )
        return applicant

    def _unit(self, role: str, unit_id: str | None) -> Unit | None:
        return self._get_or_none(unit_aggregate_id(role, unit_id)) if unit_id else None

    def _check_basic(self, base_type: str, basic: dict, field_prefix: tuple) -> None:
        """Section 一 names units of the register that the guide allows for the base type,
        and the region (regional) or domain (domain, international) the base serves."""
        def field(name: str) -> dict:
            errors: Any = {name: [MESSAGES[name]]}
            for key in reversed(field_prefix):
                errors = {key: errors}
            return errors

        if base_type == "regional" and basic.get("domain"):
            raise InvalidInput.for_fields(field("domain"))
        if base_type != "regional" and basic.get("region"):
            raise InvalidInput.for_fields(field("region"))
        units = {}
        for role in ("organizing", "recommending"):
            unit = self._unit(role, basic[f"{role}_unit_id"])
            if unit is None:
                raise UnitNotFound(f"no {role} unit {basic[f'{role}_unit_id']!r} in the register",
                                   {"field": f"{role}_unit_id", "unit_id": basic[f"{role}_unit_id"]})
            units[role] = unit
        check_unit_pair(base_type, units["organizing"].kind, units["recommending"].kind)

    def _check_qualifications(self, application: Application, content: dict) -> None:
        size = len(plans.QUALIFICATION_CHECKLISTS[application.base_type])
        beyond = {i: {"item": [f"The {application.base_type} checklist has {size} items."]}
                  for i, item in enumerate(content["items"]) if item["item"] > size}
        if beyond:
            raise InvalidInput.for_fields({"content": {"items": beyond}})
        self._check_files_exist(application, {
            ("content", "items", i, "evidence", j): sha
            for i, item in enumerate(content["items"]) for j, sha in enumerate(item["evidence"])})

    @staticmethod
    def _check_files_exist(application: Application, references: dict[tuple, str]) -> None:
        errors: dict = {}
        for path, sha in references.items():
            if sha not in application.files:
                node = errors
                for key in path[:-1]:
                    node = node.setdefault(key, {})
                node[path[-1]] = ["No file with this SHA-256 was uploaded to this application."]
        if errors:
            raise InvalidInput.for_fields(errors)

    def _registers(self, application: Application) -> dict:
        applicant = self._get_or_none(applicant_id_of(application.applicant_organization))
        organizing = self._unit("organizing", application.organizing_unit_id)
        recommending = self._unit("recommending", application.recommending_unit_id)
        return {"applicant": applicant.as_dict() if applicant else None,
                "organizing_unit": organizing.as_dict() if organizing else None,
                "recommending_unit": recommending.as_dict() if recommending else None}

    def _problems(self, application: Application, registers: dict | None = None) -> list:
        return plans.problems(application.base_type, application.sections, set(application.files),
                              name_is_valid=name_reads_as_a_base, **(registers or self._registers(application)))

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

    def _frozen(self, application: Application, registers: dict | None = None) -> dict:
        return plans.freeze(application_id=str(application.id), base_type=application.base_type,
                            sections=application.sections, files=application.files,
                            **(registers or self._registers(application)))

    def _plan_at(self, application: Application, version: int) -> dict:
        return self._frozen(application) if version == WORKING_COPY else application.version_of(version)["plan"]

    def _next_receipt_number(self) -> str:
        """Readable and unique: the Beijing date and a number no other submission gets."""
        serial = self.query("SELECT nextval('receipt_numbers') AS n")[0]["n"]
        return f"SB{clock.now().astimezone(BEIJING):%Y%m%d}-{serial:06d}"

    # --- access -------------------------------------------------------------------------

    def _get_or_none(self, aggregate_id):
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _application_or_none(self, application_id) -> Application | None:
        found = self._get_or_none(uuid.UUID(str(application_id)))
        return found if isinstance(found, Application) else None

    def _get(self, application_id) -> Application:
        application = self._get_or_none(application_id)
        if not isinstance(application, Application):
            raise ApplicationNotFound("no such application", {"application_id": str(application_id)})
        return application

    def _readable(self, caller: Caller, application_id) -> tuple[Application, str]:
        """The application and how much of it the caller sees: "all", "owner" or "unit"
        (a named organizing or recommending unit sees the submitted versions)."""
        application = self._get(application_id)
        if caller.role in READERS_OF_ALL:
            return application, "all"
        if caller.role == "applicant" and caller.organization == application.applicant_organization:
            return application, "owner"
        role = UNIT_ROLES_OF_CALLERS.get(caller.role)
        if role and application.versions and caller.organization == getattr(application, f"{role}_unit_id"):
            return application, "unit"
        if caller.role == "expert" and application.versions and caller.party_id in application.assigned_experts:
            return application, "unit"  # an assigned expert reads the submitted versions, like a unit
        raise NotYourApplication("this application is not yours", {"application_id": str(application_id)})

    def _own(self, caller: Caller, application_id, expected_version: int | None = None) -> Application:
        caller.require_role("applicant")
        application, _ = self._readable(caller, application_id)
        if expected_version is not None and application.version != expected_version:
            raise ConcurrencyConflict(
                f"the application is at version {application.version}, not {expected_version}: reload it",
                {"rule": "expected_version", "expected_version": expected_version, "version": application.version})
        return application

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

    def _save_new(self, aggregate, message: str) -> None:
        """A new aggregate whose id is its business key: a racing twin is a registration conflict."""
        try:
            self.save(aggregate)
        except ConcurrencyConflict:
            raise AlreadyRegistered.of("already_registered", message) from None


MESSAGES = {
    "domain": "A regional base serves a region: give `region`, not `domain`.",
    "region": "A domain or international base serves a domain: give `domain`, not `region`.",
}


def _invalid_credit_code(code: str, problems) -> InvalidCreditCode:
    return InvalidCreditCode.of(
        "credit_code", "the unified social credit code fails GB 32100: "
                       + "; ".join(p.message for p in problems),
        field="credit_code", credit_code=code, problems=[_problem(p) for p in problems],
    )


def _problem(problem) -> dict:
    return {"rule": problem.rule, "message": problem.message}


def _person(person: dict) -> dict:
    """Contract `Person`: every field present."""
    return {key: person.get(key) for key in ("name", "title", "phone", "fax", "email")}


def _cause(event: IntegrationEvent) -> dict:
    return {"source": event.source, "position": event.position}


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return _iso(value)


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


def _submitted_payload(e) -> dict:
    frozen = e.plan
    basic = frozen["sections"]["basic"]
    files = frozen["files"]
    contract = lambda sha: {key: files[sha][key] for key in ("sha256", "name", "size", "media_type")}  # noqa: E731
    return {
        "application_id": e.originator_id,
        "applicant_id": e.actor["party_id"],
        "applicant_organization": e.actor["organization"],
        "applicant_name": (basic.get("applicant") or {}).get("name") or e.actor["organization"],
        "base_type": frozen["base_type"],
        "name": basic["name"],
        "region": basic.get("region"),
        "domain": basic.get("domain"),
        "organizing_unit_id": basic["organizing_unit_id"],
        "recommending_unit_id": basic["recommending_unit_id"],
        "plan_version": e.plan_version,
        "digest": e.digest,
        "receipt_number": e.receipt_number,
        "submitted_at": e.submitted_at,
        "submission_kind": e.submission_kind,
        "answers_request": e.answers_request,
        "changed_sections": e.changed_sections,
        "qualification_items": [
            {"item": item["item"], "requirement": plans.QUALIFICATION_CHECKLISTS[frozen["base_type"]][item["item"] - 1],
             "declared": item["declared"], "statement": item.get("statement"),
             "evidence": [contract(sha) for sha in item.get("evidence") or [] if sha in files]}
            for item in (frozen["sections"].get("qualifications") or {}).get("items") or []
        ],
        "attachments": [contract(sha) for sha in files],
        "late_exception": e.late_exception,
    }
