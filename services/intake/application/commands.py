"""Intake's commands: an applicant unit registers and writes its plan, submits it or
withdraws it; an SAC officer keeps the register of units, accepts a credit code
failing its check characters and grants a late submission."""
from __future__ import annotations

import uuid
from typing import Any

from shared import blobs, clock
from shared.auth import Caller
from shared.clock import BEIJING
from shared.errors import ConcurrencyConflict, InvalidInput, NotAuthorized, RuleViolation
from shared.reference import credit_code as credit_codes
from shared.reference import regions
from services.intake import plan as plans
from services.intake.domain import (
    REGIONAL_KINDS,
    ApplicantUnit,
    Application,
    CreditCodeOverride,
    Unit,
    applicant_id_of,
    check_unit_pair,
    draft_id,
    override_id_of,
    unit_aggregate_id,
)
from services.intake.errors import AlreadyRegistered, ApplicantNotRegistered, InvalidCreditCode, UnitNotFound
from services.intake.schemas import normalised_section


class Commands:
    """Mixed into `Intake`: each command checks its caller and its input, then saves the
    events of one aggregate; the rules that need the registers follow them."""

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

    # --- rules that need the registers -------------------------------------------------------

    def _registered_applicant(self, caller: Caller) -> ApplicantUnit:
        applicant = self._get_or_none(applicant_id_of(caller.organization))
        if applicant is None:
            raise ApplicantNotRegistered.of(
                "applicant_registered", "register the applicant unit (register_applicant) before drafting",
                field="organization", credit_code=caller.organization,
            )
        return applicant

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

    def _next_receipt_number(self) -> str:
        """Readable and unique: the Beijing date and a number no other submission gets."""
        serial = self.query("SELECT nextval('receipt_numbers') AS n")[0]["n"]
        return f"SB{clock.now().astimezone(BEIJING):%Y%m%d}-{serial:06d}"

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
