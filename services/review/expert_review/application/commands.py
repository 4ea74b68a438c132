"""The panel's work and SAC's decisions: an expert declines an assignment, gives an
opinion, the chair concludes and asks for revisions; the officer schedules and records
site visits, extends deadlines, approves (批准筹建) or declines; the organizing unit
submits the construction plan (建设方案)."""
from __future__ import annotations

import uuid

from shared import blobs, clock
from shared.auth import Caller
from shared.contracts.review import DIMENSIONS
from shared.errors import RuleViolation
from services.review.common import retrying
from services.review.deadlines import Deadline
from services.review.expert_review.application.access import CONSTRUCTION_PLAN, REVISION
from services.review.expert_review.application.queries import _opinion_view
from services.review.expert_review.domain import (
    APPROVED,
    MAX_DOMAIN_BASES,
    PASS_WITH_REVISIONS,
    Appraisal,
    BaseSlot,
    Opinion,
    next_ordinal,
    scope_of,
)


class Commands:
    """Mixed into `ExpertReview`: each command retries on a concurrent change and answers
    with the review as the caller sees it."""

    # --- the experts' work ------------------------------------------------------------------

    def decline_assignment(self, caller: Caller, data: dict) -> dict:
        caller.require_role("expert")

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.decline_assignment(caller.party_id, data["reason_kind"], data["reason"], caller.as_actor())
            self.save(appraisal)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def submit_opinion(self, caller: Caller, data: dict) -> dict:
        caller.require_role("expert")
        scores = {d: data[d] for d in DIMENSIONS}

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.check_can_give_opinion(caller.party_id)
            opinion = Opinion.submit(application_id=appraisal.application_id, panel_id=appraisal.panel_id,
                                     expert_id=caller.party_id, scores=scores,
                                     recommendation=data["recommendation"], summary=data["summary"],
                                     actor=caller.as_actor())
            appraisal.record_opinion(caller.party_id, caller.as_actor())
            self.save(opinion, appraisal)
            return opinion

        return _opinion_view(retrying(attempt))

    def schedule_site_visit(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        if data["visit_date"] <= clock.now():
            raise RuleViolation.of("visit_in_future", "the visit date must lie in the future", field="visit_date")
        return self._change(caller, data["application_id"],
                            lambda a: a.schedule_site_visit(data["visit_date"], data["place"], caller.as_actor()))

    def record_site_visit(self, caller: Caller, data: dict) -> dict:
        """The officer, or the panel's chair, records what the site visit found."""
        caller.require_role("officer", "expert")

        def record(appraisal):
            if caller.role == "expert":
                appraisal.require_chair(caller.party_id)
            appraisal.record_site_visit(data["findings"], caller.as_actor())

        return self._change(caller, data["application_id"], record)

    def conclude(self, caller: Caller, data: dict) -> dict:
        caller.require_role("expert")
        actor = caller.as_actor()

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.conclude(caller.party_id, data["conclusion"], data["text"], actor)
            changed = [appraisal]
            if data["conclusion"] == PASS_WITH_REVISIONS:
                changed.append(self._request_revision(appraisal, data["revision"], actor))
            self.save(*changed)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def request_revision(self, caller: Caller, data: dict) -> dict:
        """The chair asks for another round after looking at a revised version."""
        caller.require_role("expert")

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.require_chair(caller.party_id)
            deadline = self._request_revision(appraisal, data, caller.as_actor())
            self.save(appraisal, deadline)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def _request_revision(self, appraisal: Appraisal, revision: dict, actor: dict) -> Deadline:
        request_id = appraisal.next_request_id()
        deadline = Deadline.set(application_id=appraisal.application_id, kind=REVISION, request_id=request_id,
                                due=revision["deadline"], now=clock.now(), actor=actor)
        appraisal.request_revision(request_id, revision["sections"], revision["reason"], revision["deadline"],
                                   actor)
        return deadline

    def confirm_revision(self, caller: Caller, data: dict) -> dict:
        caller.require_role("expert")

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.confirm_revision(caller.party_id, data["note"], caller.as_actor())
            self.save(appraisal)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    # --- the officer's deadlines and decisions --------------------------------------------------

    def extend_deadline(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        actor = caller.as_actor()

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            if data["kind"] == REVISION:
                request_id = data["request_id"] or (appraisal.current_revision or {}).get("request_id", "")
                appraisal.extend_revision(request_id, data["new_deadline"], data["reason"], actor)
            else:
                if appraisal.state != APPROVED:
                    raise RuleViolation.of("stage", "only an approved application has a construction plan due",
                                           state=appraisal.state)
                request_id = _construction_plan_request(appraisal)
                appraisal.extend_construction_plan(data["new_deadline"], data["reason"], actor)
            deadline = self.deadline(appraisal.application_id, data["kind"], request_id)
            deadline.extend(data["new_deadline"], data["reason"], clock.now(), actor)
            self.save(appraisal, deadline)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def approve(self, caller: Caller, data: dict) -> dict:
        """批准筹建, within the guide's limits; the construction plan falls due three months later."""
        caller.require_role("officer")
        actor = caller.as_actor()

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            appraisal.check_approvable()
            scope = scope_of(appraisal.base_type, appraisal.region, appraisal.domain)
            changed, slot, second_reason = [appraisal], None, None
            if scope is not None:
                ordinals = range(1, (MAX_DOMAIN_BASES if appraisal.base_type == "domain" else 1) + 1)
                existing = [s for s in (self._slot_or_none(appraisal.base_type, scope, n) for n in ordinals) if s]
                ordinal = next_ordinal(appraisal.base_type, scope, existing, data["second_base_reason"])
                second_reason = data["second_base_reason"] if ordinal > 1 else None
                slot = BaseSlot.take(base_type=appraisal.base_type, scope=scope, ordinal=ordinal,
                                     application_id=appraisal.application_id, number=appraisal.number,
                                     name=appraisal.name, reason=second_reason, actor=actor)
                changed.append(slot)
            now = clock.now()
            due = appraisal.approve(data["reasons"], now, slot.describe() if slot else None, second_reason, actor)
            changed.append(Deadline.set(application_id=appraisal.application_id, kind=CONSTRUCTION_PLAN,
                                        request_id=_construction_plan_request(appraisal), due=due, now=now,
                                        actor=actor))
            self.save(*changed)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def decline(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        actor = caller.as_actor()

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            revision = appraisal.current_revision
            appraisal.decline_approval(data["reasons"], actor)
            changed = [appraisal]
            if revision is not None:
                deadline = self.deadline(appraisal.application_id, REVISION, revision["request_id"])
                if deadline is not None and deadline.state in ("open", "missed"):
                    deadline.cancel("SAC declined to approve", actor=actor)
                    changed.append(deadline)
            self.save(*changed)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    # --- the construction plan (建设方案) ------------------------------------------------------

    def submit_construction_plan(self, caller: Caller, data: dict) -> dict:
        caller.require_role("organizing_unit")
        content = blobs.decode(data["content"])
        attachment = blobs.check(data["file_name"], content, caller.party_id)

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            self._require_own(caller, appraisal)
            now = clock.now()
            deadline = self.deadline(appraisal.application_id, CONSTRUCTION_PLAN,
                                     _construction_plan_request(appraisal))
            appraisal.check_construction_plan_open()
            if deadline is not None:
                deadline.meet(now, actor=caller.as_actor())
            appraisal.submit_construction_plan(attachment.as_contract(), now, caller.as_actor())
            with self.transaction() as session:
                blobs.store(session, attachment, content)
                self.save(appraisal, *([deadline] if deadline is not None else []))
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def _change(self, caller: Caller, application_id, change) -> dict:
        def attempt():
            appraisal = self._appraisal(application_id)
            change(appraisal)
            self.save(appraisal)
            return appraisal

        return self.review_view(retrying(attempt), caller)


def _construction_plan_request(appraisal: Appraisal) -> str:
    return str(uuid.uuid5(appraisal.id, "construction-plan"))
