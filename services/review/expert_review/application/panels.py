"""Forming expert panels: SAC's register of experts and their conflicts of interest, the
applicant's avoidance list, and who judges which application (checked before, recorded
when the panel is formed or a member added)."""
from __future__ import annotations

import uuid

from shared import clock
from shared.auth import Caller
from shared.errors import InnobaseError, InvalidInput, NotYourApplication, RuleViolation
from shared.reference import catalogue, regions
from shared.reference.credit_code import check_credit_code
from services.review.common import retrying
from services.review.errors import ConflictOfInterest, ExpertAlreadyRegistered
from services.review.expert_review.domain import AWAITING_PANEL, UNDER_REVIEW, Expert, Panel, conflicts_of, plan_panel

PANEL_NAMESPACE = uuid.UUID("b1e3d5f7-9a2c-4e6b-8d0f-2a4c6e8b0d79")


class Panels:
    """Mixed into `ExpertReview`: the officer's and the experts' commands before the review."""

    # --- the register ---------------------------------------------------------------------

    def register_expert(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        _check_credit_code(data["organization"], "organization")
        if not regions.is_known_region(data["region"]):
            raise RuleViolation.of("region_known", f"{data['region']!r} is not a GB/T 2260 region", field="region")
        unknown = [f for f in data["fields"] if not catalogue.is_known_domain(f)]
        if unknown:
            raise RuleViolation.of("domain_known", f"not in the domain catalogue: {unknown}", field="fields",
                                   unknown=unknown)
        for conflict in data["conflicts"]:
            _check_credit_code(conflict["organization"], "conflicts.organization")

        def attempt():
            if self._expert_or_none(data["expert_id"]) is not None:
                raise ExpertAlreadyRegistered.of("expert_once", "an expert with this id is registered",
                                                 expert_id=data["expert_id"])
            expert = Expert.register(actor=caller.as_actor(), **data)
            self.save(expert)
            return expert

        return self.expert_view(retrying(attempt))

    def declare_conflict(self, caller: Caller, data: dict) -> dict:
        """The expert (for themself) or the officer records a conflict with an organization."""
        caller.require_role("expert", "officer")
        expert_id = data["expert_id"] or (caller.party_id if caller.role == "expert" else None)
        if expert_id is None:
            raise InvalidInput.for_fields({"expert_id": ["Required when the officer declares."]})
        if caller.role == "expert" and expert_id != caller.party_id:
            raise NotYourApplication("an expert declares only their own conflicts", {"expert_id": expert_id})
        _check_credit_code(data["organization"], "organization")

        def attempt():
            expert = self._expert(expert_id)
            expert.declare_conflict(data["organization"], data["reason"], caller.as_actor())
            self.save(expert)
            return expert

        return self.expert_view(retrying(attempt))

    # --- the applicant's avoidance list -------------------------------------------------------

    def request_avoidance(self, caller: Caller, data: dict) -> dict:
        caller.require_role("applicant")

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            self._require_own(caller, appraisal)
            appraisal.request_avoidance(data["expert_id"], data["expert_name"], data["organization"],
                                        data["reason"], caller.as_actor())
            self.save(appraisal)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    # --- panels ---------------------------------------------------------------------------

    def _panel_plan(self, data: dict):
        experts = {expert_id: self._expert(expert_id) for expert_id in data["members"]}
        appraisals = [self._appraisal(a) for a in data["application_ids"]]
        units = self._unit_codes({u for a in appraisals for u in (a.organizing_unit_id, a.recommending_unit_id)})
        exclusions = {
            a.application_id: {e: reasons for e in data["members"]
                               if (reasons := conflicts_of(experts[e], a, units))}
            for a in appraisals
        }
        return experts, appraisals, exclusions

    def check_panel(self, caller: Caller, data: dict) -> dict:
        """Who would judge what, and why an expert would be excluded; changes nothing."""
        caller.require_role("officer")
        experts, appraisals, exclusions = self._panel_plan(data)
        problems = []
        try:
            plan_panel(data["members"], data["chair"], exclusions)
        except InnobaseError as error:
            problems.append(error.to_dict())
        for appraisal in appraisals:
            if appraisal.state != AWAITING_PANEL:
                problems.append({"code": "wrong_stage", "message": f"the application is {appraisal.state}",
                                 "details": {"application_id": appraisal.application_id}})
        return {"applications": [self._plan_view(a.application_id, data["members"], exclusions, experts)
                                 for a in appraisals],
                "problems": problems}

    def form_panel(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        if data["meeting_date"] <= clock.now():
            raise RuleViolation.of("meeting_in_future", "the meeting date must lie in the future",
                                   field="meeting_date")
        panel_id = uuid.uuid5(PANEL_NAMESPACE, f"{caller.party_id}:{data['request_id']}") \
            if data["request_id"] else uuid.uuid4()
        actor = caller.as_actor()

        def attempt():
            experts, appraisals, exclusions = self._panel_plan(data)
            plan = plan_panel(data["members"], data["chair"], exclusions)
            panel = Panel.form(panel_id=panel_id, meeting_date=data["meeting_date"], place=data["place"],
                               application_ids=[a.application_id for a in appraisals], members=data["members"],
                               chair=data["chair"], actor=actor)
            for appraisal in appraisals:
                appraisal.assign_panel(panel.id, data["meeting_date"], data["place"], actor)
                for expert_id in plan[appraisal.application_id]["eligible"]:
                    appraisal.assign(expert_id, expert_id == data["chair"], actor)
                for expert_id, reasons in plan[appraisal.application_id]["excluded"].items():
                    appraisal.exclude(expert_id, reasons, actor)
            self.save(panel, *appraisals)
            return panel, experts, exclusions

        panel, experts, exclusions = retrying(attempt)
        return {**panel.summary(), "applications": [
            self._plan_view(a, data["members"], exclusions, experts) for a in panel.application_ids]}

    def add_panel_member(self, caller: Caller, data: dict) -> dict:
        """A replacement after a decline: the new member judges the named applications (default:
        every application of the panel still under review), none of them with a conflict."""
        caller.require_role("officer")
        actor = caller.as_actor()

        def attempt():
            panel = self._panel(data["panel_id"])
            expert = self._expert(data["expert_id"])
            targets = [str(a) for a in data["application_ids"]] or [
                a for a in panel.application_ids if self._appraisal(a).state == UNDER_REVIEW]
            panel.add_member(expert.expert_id, targets, data["as_chair"], actor)
            appraisals = [self._appraisal(a) for a in targets]
            units = self._unit_codes({u for a in appraisals for u in (a.organizing_unit_id, a.recommending_unit_id)})
            for appraisal in appraisals:
                reasons = conflicts_of(expert, appraisal, units)
                if reasons:
                    raise ConflictOfInterest.of("no_conflict", "the expert has a conflict with this application",
                                                application_id=appraisal.application_id,
                                                expert_id=expert.expert_id, reasons=reasons)
                appraisal.assign(expert.expert_id, data["as_chair"], actor)
            self.save(panel, *appraisals)
            return panel

        return retrying(attempt).summary()

    def _plan_view(self, application_id: str, members: list[str], exclusions: dict, experts: dict) -> dict:
        excluded = exclusions.get(application_id, {})
        return {
            "application_id": application_id,
            "eligible": [m for m in members if m not in excluded],
            "excluded": [{"expert_id": e, "name": experts[e].name, "reasons": r} for e, r in excluded.items()],
        }


def _check_credit_code(code: str, field: str) -> None:
    problems = check_credit_code(code)
    if problems:
        raise RuleViolation.of("credit_code", problems[0].message, field=field,
                               problems=[{"rule": p.rule, "message": p.message} for p in problems])
