"""The officer's commands in formal review (形式审查): accept a case and give it its
number, record findings, request a supplement with a deadline and extend it, pass the
review, find the application inadmissible, and record that the applicant was told."""
from __future__ import annotations

import uuid

from shared import clock
from shared.auth import Caller
from shared.errors import InvalidInput
from services.review.common import retrying
from services.review.deadlines import Deadline
from services.review.formal_review.application.access import SUPPLEMENT
from services.review.formal_review.domain import NumberSequence


class Commands:
    """Mixed into `FormalReview`: each command retries on a concurrent change and answers with
    the case as the officer sees it."""

    def accept(self, caller: Caller, application_id: uuid.UUID) -> dict:
        """Accept the case and give it the next official number of its year and base type."""
        caller.require_role("officer")

        def attempt():
            case = self._case(application_id)
            case.check_acceptable()
            sequence = self._sequence_or_none(case.year, case.base_type) or NumberSequence.start(
                case.year, case.base_type)
            case.accept(sequence.issue(case.application_id, caller.as_actor()), caller.as_actor())
            self.save(sequence, case)
            return case

        return self.case_view(retrying(attempt), full=True)

    def record_finding(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            case.record_finding(data["item"], data["finding"], data["note"], caller.as_actor())
            self.save(case)
            return case

        return self.case_view(retrying(attempt), full=True)

    def request_supplement(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            request_id = case.next_request_id()
            case.request_supplement(request_id, data["items"], data["sections"], data["reason"],
                                    data["deadline"], caller.as_actor())
            deadline = Deadline.set(application_id=case.application_id, kind=SUPPLEMENT, request_id=request_id,
                                    due=data["deadline"], now=clock.now(), actor=caller.as_actor())
            self.save(case, deadline)
            return case

        return self.case_view(retrying(attempt), full=True)

    def extend_deadline(self, caller: Caller, data: dict) -> dict:
        """After a miss (or before one), the officer gives more time, with a reason."""
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            case.extend_supplement(data["request_id"], data["new_deadline"], data["reason"], caller.as_actor())
            deadline = self.deadline(case.application_id, SUPPLEMENT, data["request_id"])
            deadline.extend(data["new_deadline"], data["reason"], clock.now(), caller.as_actor())
            self.save(case, deadline)
            return case

        return self.case_view(retrying(attempt), full=True)

    def pass_review(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            case.pass_review(self.checklist(case), data["note"], caller.as_actor())
            self.save(case)
            return case

        return self.case_view(retrying(attempt), full=True)

    def reject(self, caller: Caller, data: dict) -> dict:
        """Find the application inadmissible, with reasons; an open supplement deadline is cancelled."""
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            request = case.open_request
            case.reject(data["reasons"], caller.as_actor())
            changed = [case]
            if request is not None:
                deadline = self.deadline(case.application_id, SUPPLEMENT, request["request_id"])
                if deadline is not None:
                    deadline.cancel("the application was found inadmissible", actor=caller.as_actor())
                    changed.append(deadline)
            self.save(*changed)
            return case

        return self.case_view(retrying(attempt), full=True)

    def record_applicant_informed(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        informed_at = data["informed_at"] or clock.now()
        if informed_at > clock.now():
            raise InvalidInput.for_fields({"informed_at": ["Must not lie in the future."]})

        def attempt():
            case = self._case(data["application_id"])
            case.record_informed(data["decision"], informed_at, data["channel"], data["note"], caller.as_actor())
            self.save(case)
            return case

        return self.case_view(retrying(attempt), full=True)
