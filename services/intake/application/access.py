"""How intake finds its aggregates and the registers, and who may read or change an
application: what the commands, queries and reactions share."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from shared.auth import Caller
from shared.errors import ApplicationNotFound, ConcurrencyConflict, NotYourApplication
from services.intake import plan as plans
from services.intake.domain import Application, Unit, applicant_id_of, name_reads_as_a_base, unit_aggregate_id

READERS_OF_ALL = ("officer", "auditor")
UNIT_ROLES_OF_CALLERS = {"organizing_unit": "organizing", "recommending_unit": "recommending"}


class Access:
    """Mixed into `Intake`: its aggregates by id, the registers an application names, and the
    application as far as the caller may see it."""

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

    def _unit(self, role: str, unit_id: str | None) -> Unit | None:
        return self._get_or_none(unit_aggregate_id(role, unit_id)) if unit_id else None

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

    def _frozen(self, application: Application, registers: dict | None = None) -> dict:
        return plans.freeze(application_id=str(application.id), base_type=application.base_type,
                            sections=application.sections, files=application.files,
                            **(registers or self._registers(application)))


# --- values as they cross the wire ------------------------------------------------------

def _iso(value):
    return value.isoformat() if isinstance(value, datetime) else value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return _iso(value)
