"""Endorsement's domain: what the organizing unit (申报组织单位) and the recommending
unit (推荐单位) decide about a submitted application.

The first hop: each submitted version becomes one review item in its
organizing unit's queue. Its identity comes from (application, version), so a
redelivered submission can never queue a twin.
"""
from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate, event

ITEM_NAMESPACE = uuid.UUID("9d3c2b9a-6f1e-4c8e-b0a7-52e4d8f1c3a6")
QUEUED, CLOSED = "queued", "closed"


def review_item_id(application_id, plan_version: int) -> uuid.UUID:
    return uuid.uuid5(ITEM_NAMESPACE, f"{application_id}:{plan_version}")


class ReviewItem(Aggregate):
    """One submitted version of an application awaiting its organizing unit's check (审核盖章)."""

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

    def __init__(self, application_id, applicant_id, name, base_type, organizing_unit_id,
                 recommending_unit_id, plan_version, digest, receipt_number, submitted_at, caused_by):
        self.application_id = application_id
        self.applicant_id = applicant_id
        self.name = name
        self.base_type = base_type
        self.organizing_unit_id = organizing_unit_id
        self.recommending_unit_id = recommending_unit_id
        self.plan_version = plan_version
        self.digest = digest
        self.receipt_number = receipt_number
        self.submitted_at = submitted_at
        self.state = QUEUED
        self.closed_reason = None

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
        return self.state == QUEUED

    def close(self, reason: str, caused_by: dict) -> None:
        if self.is_open:
            self._closed(reason=reason, caused_by=caused_by)

    @event("Closed")
    def _closed(self, reason: str, caused_by: dict) -> None:
        self.state = CLOSED
        self.closed_reason = reason
