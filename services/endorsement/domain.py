"""Endorsement's domain: what the organizing unit (申报组织单位) and the recommending
unit (推荐单位) decide about a submitted application (guide §三(一)–(三)), and the
recommending unit's quotas (guide §四).

Each submitted version becomes one review item; its identity comes from
(application, version), so a redelivered submission can never queue a twin.
A quota slot's identity comes from (recommending unit, year, base type, region
or first-level domain), so two recommendations racing for one slot write the
same aggregate and the event log lets exactly one of them in.
"""
from __future__ import annotations

import json
import uuid
from datetime import date

from eventsourcing.domain import Aggregate, event

from services.endorsement.errors import (
    QuotaExceeded,
    QuotaScopeUnknown,
    UnitNotRegistered,
    UnitPairMismatch,
    WrongStage,
)
from shared.rules import UNIT_KINDS_BY_BASE_TYPE
from shared.errors import RuleViolation
from shared.reference import catalogue

ITEM_NAMESPACE = uuid.UUID("9d3c2b9a-6f1e-4c8e-b0a7-52e4d8f1c3a6")
QUOTA_NAMESPACE = uuid.UUID("3e9a0c51-7b2d-4f68-a1c4-0d5e6f7a8b92")
UNIT_NAMESPACE = uuid.UUID("c7f41e02-5a3b-4d9c-8e16-2b0f9a7d3c58")
RETURN_NAMESPACE = uuid.UUID("1a6d8e3f-0c4b-4a27-9f5e-6b3c2d1e0f47")

# A review item's stages. `queued`: awaiting the organizing unit's check and stamp;
# `forwarded`: awaiting the recommending unit (again, after a withdrawn recommendation).
QUEUED = "queued"
FORWARDED = "forwarded"
RETURNED = "returned"  # to the applicant, for correction: the corrected version is a new item
RECOMMENDED = "recommended"
DECLINED = "declined"
CLOSED = "closed"  # the application ended (withdrawn, inadmissible, declined by SAC)
STATES = (QUEUED, FORWARDED, RETURNED, RECOMMENDED, DECLINED, CLOSED)
ENDED_BY_APPLICATION_END = (QUEUED, FORWARDED, RECOMMENDED)

# Who may organize and who may recommend, by base type (guide §二(一)): shared.rules.
UNIT_PAIRS = {base_type: (kinds["organizing"], kinds["recommending"])
              for base_type, kinds in UNIT_KINDS_BY_BASE_TYPE.items()}
ORGANIZING, RECOMMENDING = "organizing", "recommending"


def review_item_id(application_id, plan_version: int) -> uuid.UUID:
    return uuid.uuid5(ITEM_NAMESPACE, f"{application_id}:{plan_version}")


def return_request_id(item_id) -> str:
    """The id intake's reopened sections answer to: one return per submitted version."""
    return str(uuid.uuid5(RETURN_NAMESPACE, str(item_id)))


def unit_id_of(register: str, unit_id: str) -> uuid.UUID:
    """An endorsing unit and an applicant unit may share a code: they are kept apart."""
    return uuid.uuid5(UNIT_NAMESPACE, f"{register}:{unit_id}")


# --- the units, as intake registered them -----------------------------------------

ENDORSING, APPLICANT = "endorsing", "applicant"


class RegisteredUnit(Aggregate):
    """A unit as intake registered it: an organizing or recommending unit (`endorsing`,
    whose role and kind decide what it may endorse) or an applicant unit (`applicant`)."""

    class UnitRegistered(Aggregate.Created):
        register: str
        unit_id: str
        details: dict
        caused_by: dict

    def __init__(self, register: str, unit_id: str, details: dict, caused_by: dict):
        self.register = register
        self.unit_id = unit_id
        self.details = details

    @classmethod
    def record(cls, register: str, unit_id: str, details: dict, caused_by: dict) -> "RegisteredUnit":
        return cls._create(cls.UnitRegistered, id=unit_id_of(register, unit_id), register=register,
                           unit_id=unit_id, details=details, caused_by=caused_by)

    def revise(self, details: dict, caused_by: dict) -> bool:
        if details == self.details:
            return False
        self._revised(details=details, caused_by=caused_by)
        return True

    @event("UnitRevised")
    def _revised(self, details: dict, caused_by: dict) -> None:
        self.details = details

    @property
    def role(self) -> str | None:
        return self.details.get("role")

    @property
    def kind(self) -> str | None:
        return self.details.get("kind")

    @property
    def name(self) -> str:
        return self.details.get("name") or self.unit_id


def check_unit_pair(base_type: str, organizing_unit_id: str, organizing: RegisteredUnit | None,
                    recommending_unit_id: str, recommending: RegisteredUnit | None) -> None:
    """Refuse a pair of units that may not endorse this base type together (guide §二(一))."""
    for unit_id, unit, role in ((organizing_unit_id, organizing, ORGANIZING),
                                (recommending_unit_id, recommending, RECOMMENDING)):
        if unit is None:
            raise UnitNotRegistered.of(
                "unit_registered", f"the {role} unit {unit_id!r} is not registered with SAC",
                unit_id=unit_id, as_role=role)
    organizers, recommenders = UNIT_PAIRS[base_type]
    fits = (organizing.role == ORGANIZING and organizing.kind in organizers
            and recommending.role == RECOMMENDING and recommending.kind in recommenders)
    if not fits:
        raise UnitPairMismatch.of(
            "unit_pair",
            f"a {base_type} base is organized by {' / '.join(organizers)} and recommended by "
            f"{' / '.join(recommenders)}; this application names a {organizing.kind} "
            f"({organizing.role}) and a {recommending.kind} ({recommending.role})",
            base_type=base_type,
            organizing_unit_id=organizing_unit_id, organizing_unit_kind=organizing.kind,
            organizing_unit_role=organizing.role,
            recommending_unit_id=recommending_unit_id, recommending_unit_kind=recommending.kind,
            recommending_unit_role=recommending.role,
            allowed_organizing_kinds=list(organizers), allowed_recommending_kinds=list(recommenders),
        )


# --- quotas (guide §四) -------------------------------------------------------------

def quota_scope(base_type: str, region: str | None, domain: str | None) -> str | None:
    """What one slot covers: the region of a regional base, the first-level domain of a
    domain base ("same or similar domain"); None for an international base, which the
    guide gives no quota."""
    if base_type == "regional":
        if not region:
            raise QuotaScopeUnknown.of("quota_scope", "a regional application must name its region",
                                       base_type=base_type, field="region")
        return region
    if base_type == "domain":
        first_level = catalogue.first_level_of(domain) if domain else None
        if first_level is None:
            raise QuotaScopeUnknown.of("quota_scope", f"the domain {domain!r} is not in the catalogue",
                                       base_type=base_type, field="domain", domain=domain)
        return first_level
    return None


def quota_slot_key(recommending_unit_id: str, year: int, base_type: str, scope: str) -> str:
    """The slot as people read it: `<unit>/<year>/<base type>/<region or domain>`."""
    return f"{recommending_unit_id}/{year}/{base_type}/{scope}"


def quota_slot_id(recommending_unit_id: str, year: int, base_type: str, scope: str) -> uuid.UUID:
    # JSON, not the readable key: a unit id containing "/" must not alias another slot.
    return uuid.uuid5(QUOTA_NAMESPACE, json.dumps([recommending_unit_id, year, base_type, scope]))


class QuotaSlot(Aggregate):
    """One recommending unit's single recommendation of one kind, in one year."""

    class SlotOpened(Aggregate.Created):
        key: str
        recommending_unit_id: str
        year: int
        base_type: str
        scope: str

    def __init__(self, key: str, recommending_unit_id: str, year: int, base_type: str, scope: str):
        self.key = key
        self.recommending_unit_id = recommending_unit_id
        self.year = year
        self.base_type = base_type
        self.scope = scope
        self.holder: str | None = None
        self.holder_name: str | None = None

    @classmethod
    def open(cls, recommending_unit_id: str, year: int, base_type: str, scope: str) -> "QuotaSlot":
        return cls._create(
            cls.SlotOpened, id=quota_slot_id(recommending_unit_id, year, base_type, scope),
            key=quota_slot_key(recommending_unit_id, year, base_type, scope),
            recommending_unit_id=recommending_unit_id, year=year, base_type=base_type, scope=scope,
        )

    def claim(self, application_id: str, item_id: str, application_name: str, actor: dict) -> None:
        if self.holder == str(application_id):
            # Its item was read before a concurrent recommendation of it committed, the slot after.
            raise WrongStage.of("stage", "the application was recommended meanwhile",
                                application_id=str(application_id), stage="recommended", allowed=["forwarded"])
        if self.holder is not None:
            what = "region" if self.base_type == "regional" else "domain"
            raise QuotaExceeded.of(
                "quota",
                f"{self.recommending_unit_id} has already recommended a {self.base_type} application for "
                f"{what} {self.scope} in {self.year}: {self.holder_name} ({self.holder}); withdraw that "
                f"recommendation first",
                quota_slot=self.key, held_by=self.holder, held_by_name=self.holder_name,
                year=self.year, base_type=self.base_type, **{what: self.scope},
            )
        self._claimed(application_id=str(application_id), item_id=str(item_id),
                      application_name=application_name, actor=actor)

    @event("SlotClaimed")
    def _claimed(self, application_id: str, item_id: str, application_name: str, actor: dict) -> None:
        self.holder = application_id
        self.holder_name = application_name

    def release(self, application_id: str, reason: str, actor: dict | None = None,
                caused_by: dict | None = None) -> bool:
        """Free the slot, but only of the claim this application holds: a late end of an
        earlier holder must not free a later holder's claim."""
        if self.holder != str(application_id):
            return False
        self._released(application_id=str(application_id), reason=reason, actor=actor, caused_by=caused_by)
        return True

    @event("SlotReleased")
    def _released(self, application_id: str, reason: str, actor: dict | None, caused_by: dict | None) -> None:
        self.holder = None
        self.holder_name = None


# --- the review item ----------------------------------------------------------------

class ReviewItem(Aggregate):
    """One submitted version of an application, from its organizing unit's check and
    stamp (审核盖章) to its recommending unit's recommendation (推荐) or refusal."""

    class Queued(Aggregate.Created):
        application_id: str
        applicant_id: str
        name: str
        base_type: str
        organizing_unit_id: str
        recommending_unit_id: str
        plan_version: int
        digest: str
        receipt_number: str
        submitted_at: str
        caused_by: dict
        applicant_organization: str
        applicant_name: str
        region: str | None
        domain: str | None
        submission_kind: str
        answers_request: str | None

    def __init__(self, application_id, applicant_id, name, base_type, organizing_unit_id,
                 recommending_unit_id, plan_version, digest, receipt_number, submitted_at, caused_by,
                 applicant_organization="", applicant_name="", region=None, domain=None,
                 submission_kind="initial", answers_request=None):
        # The defaults read items queued before these fields existed.
        self.application_id = str(application_id)
        self.applicant_id = applicant_id
        self.name = name
        self.base_type = base_type
        self.organizing_unit_id = organizing_unit_id
        self.recommending_unit_id = recommending_unit_id
        self.plan_version = plan_version
        self.digest = digest
        self.receipt_number = receipt_number
        self.submitted_at = submitted_at
        self.applicant_organization = applicant_organization
        self.applicant_name = applicant_name or applicant_organization
        self.region = region
        self.domain = domain
        self.submission_kind = submission_kind
        self.answers_request = answers_request
        self.state = QUEUED
        self.opinion: dict | None = None
        self.organizing_scan: dict | None = None
        self.stamped_plan_scan: dict | None = None
        self.recommendation_letter: dict | None = None
        self.letter_reference: dict | None = None  # {"reference": 发文字号, "issued_on": ISO date}
        self.quota_slot: str | None = None
        self.quota_slot_id: str | None = None
        self.year: int | None = None
        self.return_request_id: str | None = None
        self.closed_reason: str | None = None

    @classmethod
    def queue(cls, *, caused_by: dict, **submission) -> "ReviewItem":
        return cls._create(
            cls.Queued,
            id=review_item_id(submission["application_id"], submission["plan_version"]),
            caused_by=caused_by,
            **submission,
        )

    @property
    def is_open(self) -> bool:
        return self.state in (QUEUED, FORWARDED)

    def require_stage(self, *stages: str) -> None:
        if self.state not in stages:
            raise WrongStage.of(
                "stage", f"the application is {self.state}, not {' or '.join(stages)}",
                application_id=self.application_id, plan_version=self.plan_version,
                stage=self.state, allowed=list(stages),
            )

    # --- the organizing unit: check and stamp (审核盖章) ------------------------

    def forward(self, actor: dict, opinion: dict, stamped_plan_scan: dict | None, today: date) -> None:
        """Record the organizing unit's opinion (附件2 section 七) and pass the plan on."""
        self.require_stage(QUEUED)
        if date.fromisoformat(opinion["date"]) > today:
            raise RuleViolation.of("opinion_date", "the opinion cannot be dated after today",
                                   field="opinion.date", date=opinion["date"], today=today.isoformat())
        self._forwarded(opinion=opinion, stamped_plan_scan=stamped_plan_scan, actor=actor)

    @event("Forwarded")
    def _forwarded(self, opinion: dict, stamped_plan_scan: dict | None, actor: dict) -> None:
        self.state = FORWARDED
        self.opinion = opinion
        self.organizing_scan = stamped_plan_scan

    def return_to_applicant(self, actor: dict, sections: list[str], reason: str) -> None:
        """Send the plan back for correction: intake reopens exactly `sections`."""
        self.require_stage(QUEUED)
        self._returned_to_applicant(sections=list(dict.fromkeys(sections)), reason=reason,
                                    request_id=return_request_id(self.id), actor=actor)

    @event("ReturnedToApplicant")
    def _returned_to_applicant(self, sections: list[str], reason: str, request_id: str, actor: dict) -> None:
        self.state = RETURNED
        self.return_request_id = request_id
        self.closed_reason = reason

    # --- the recommending unit: recommend (推荐) or not --------------------------

    def recommend(self, actor: dict, slot: QuotaSlot | None, year: int, stamped_plan_scan: dict,
                  recommendation_letter: dict) -> None:
        """Recommend to SAC, holding `slot` (claimed by the caller; None: no quota applies)."""
        self.require_stage(FORWARDED)
        if slot is not None and slot.holder != self.application_id:
            raise RuleViolation.of("quota", "the quota slot must be claimed for this application first",
                                   quota_slot=slot.key)
        self._recommended(quota_slot=slot.key if slot else None, quota_slot_id=str(slot.id) if slot else None,
                          year=year, stamped_plan_scan=stamped_plan_scan,
                          recommendation_letter=recommendation_letter, actor=actor)

    @event("Recommended")
    def _recommended(self, quota_slot: str | None, quota_slot_id: str | None, year: int,
                     stamped_plan_scan: dict, recommendation_letter: dict, actor: dict) -> None:
        self.state = RECOMMENDED
        self.quota_slot = quota_slot
        self.quota_slot_id = quota_slot_id
        self.year = year
        self.stamped_plan_scan = stamped_plan_scan
        self.recommendation_letter = recommendation_letter

    def number_letter(self, actor: dict, reference: str, today: date) -> None:
        """The recommending unit enters the 发文字号 of its recommendation letter (推荐函): the
        letter then prints as issued that day, without the preview's watermark. A later entry
        replaces it (a letter reissued under another number)."""
        self.require_stage(FORWARDED)
        self._letter_numbered(reference=reference, issued_on=today.isoformat(), actor=actor)

    @event("LetterNumbered")
    def _letter_numbered(self, reference: str, issued_on: str, actor: dict) -> None:
        self.letter_reference = {"reference": reference, "issued_on": issued_on}

    def decline(self, actor: dict, reason: str) -> None:
        """The recommending unit will not recommend: the application ends here."""
        self.require_stage(FORWARDED)
        self._declined(reason=reason, actor=actor)

    @event("RecommendationDeclined")
    def _declined(self, reason: str, actor: dict) -> None:
        self.state = DECLINED
        self.closed_reason = reason

    def return_to_organizing_unit(self, actor: dict, reason: str) -> None:
        """Back to the organizing unit's queue, for a new decision on the same version."""
        self.require_stage(FORWARDED)
        self._returned_to_organizing_unit(reason=reason, actor=actor)

    @event("ReturnedToOrganizingUnit")
    def _returned_to_organizing_unit(self, reason: str, actor: dict) -> None:
        self.state = QUEUED
        self.opinion = None
        self.organizing_scan = None

    def withdraw_recommendation(self, actor: dict, reason: str) -> str | None:
        """Withdraw the recommendation: the application awaits the recommending unit's decision
        again (to recommend it later, in another year's quota, or to decline it). Returns the
        id of the quota slot it held, for the caller to free (None: it held none)."""
        self.require_stage(RECOMMENDED)
        slot_id = self.quota_slot_id
        self._recommendation_withdrawn(reason=reason, quota_slot=self.quota_slot, actor=actor)
        return slot_id

    @event("RecommendationWithdrawn")
    def _recommendation_withdrawn(self, reason: str, quota_slot: str | None, actor: dict) -> None:
        self.state = FORWARDED
        self.quota_slot = self.quota_slot_id = self.year = None
        self.stamped_plan_scan = self.recommendation_letter = None

    # --- the application ended upstream ---------------------------------------

    @property
    def holds_quota_slot(self) -> bool:
        return self.state == RECOMMENDED and self.quota_slot_id is not None

    def close(self, reason: str, caused_by: dict) -> bool:
        """The application ended (withdrawn, inadmissible, declined): an open item leaves its
        queue, a recommendation stops standing (the caller frees its slot). False: nothing to close."""
        if self.state not in ENDED_BY_APPLICATION_END:
            return False
        slot = self.quota_slot if self.state == RECOMMENDED else None
        self._closed(reason=reason, caused_by=caused_by, previous_state=self.state, released_quota_slot=slot)
        return True

    @event("Closed")
    def _closed(self, reason: str, caused_by: dict, previous_state: str | None = None,
                released_quota_slot: str | None = None) -> None:
        self.state = CLOSED
        self.closed_reason = reason
