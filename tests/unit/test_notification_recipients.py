"""Each party hears only what concerns it: the applicant, its organizing and recommending
units, the assigned experts, SAC officers."""
import uuid

import pytest

from services.notification import templates
from services.notification.domain import FORWARDED, RECOMMENDED, Dossier, Recipient
from services.notification.recipients import recipients
from shared.contracts import CONTRACTS
from innobase.docgen import example_of

pytestmark = pytest.mark.unit
APPLICANT = Recipient("applicant", "91320000MA1XXXXX9L")
ORGANIZING = Recipient("organizing_unit", "OU-1")
RECOMMENDING = Recipient("recommending_unit", "RU-1")
SAC = Recipient("officer", "SAC")


def dossier(*experts, reached=()):
    application = Dossier.open(application_id=uuid.uuid4(), applicant_organization=APPLICANT.owner,
                               name="国家技术标准创新基地（江苏）", base_type="regional", organizing_unit_id="OU-1",
                               recommending_unit_id="RU-1", status="submitted", caused_by={})
    for status in reached:
        application.move(status, {})
    for expert in experts:
        application.assign_expert(expert, expert.endswith("1"), {})
    return application


def told(source, event_type, application, **payload):
    schema = CONTRACTS[(source, event_type, 1)]
    values = {**example_of(schema), "application_id": str(application.application_id),
              "organizing_unit_id": "OU-1", "recommending_unit_id": "RU-1", **payload}
    template = templates.template_for(event_type, values)
    return [recipient for _, recipient in recipients(template, event_type, values, application)]


def test_a_first_submission_is_acknowledged_to_the_applicant_only():
    assert told("intake", "ApplicationSubmitted", dossier(), submission_kind="initial") == [APPLICANT]


def test_a_revised_plan_goes_to_the_applicant_the_assigned_experts_and_sac():
    application = dossier("E-1", "E-2")
    assert told("intake", "ApplicationSubmitted", application, submission_kind="revision") == [
        APPLICANT, Recipient("expert", "E-1"), Recipient("expert", "E-2"), SAC]


def test_the_organizing_unit_hears_its_queue_and_the_recommending_unit_the_forwarded_plan():
    assert told("endorsement", "ReviewItemQueued", dossier()) == [ORGANIZING]
    assert told("endorsement", "ApplicationForwarded", dossier()) == [APPLICANT, RECOMMENDING]


def test_an_assignment_tells_only_the_expert_assigned():
    application = dossier("E-1")
    assert told("expert_review", "ExpertAssigned", application, expert_id="E-2") == [Recipient("expert", "E-2")]


def test_sac_hears_what_it_must_act_on():
    assert told("formal_review", "FormalReviewOpened", dossier()) == [SAC]
    assert told("expert_review", "ExpertDeclined", dossier("E-1")) == [SAC]
    assert told("expert_review", "PanelConcluded", dossier()) == [SAC]


def test_the_construction_plan_deadline_concerns_the_organizing_unit_and_the_applicant():
    assert told("expert_review", "DeadlineApproaching", dossier(), deadline_kind="construction_plan") == [
        ORGANIZING, APPLICANT]
    assert told("formal_review", "DeadlineApproaching", dossier(), deadline_kind="supplement") == [APPLICANT]
    assert told("formal_review", "DeadlineMissed", dossier(), deadline_kind="supplement") == [APPLICANT, SAC]


def test_a_withdrawal_tells_only_the_parties_the_application_has_reached():
    assert told("intake", "ApplicationWithdrawn", dossier()) == [APPLICANT, ORGANIZING]
    assert told("intake", "ApplicationWithdrawn", dossier(reached=[FORWARDED])) == [
        APPLICANT, ORGANIZING, RECOMMENDING]
    assert told("intake", "ApplicationWithdrawn", dossier("E-1", reached=[FORWARDED, RECOMMENDED])) == [
        APPLICANT, ORGANIZING, RECOMMENDING, SAC, Recipient("expert", "E-1")]
    drafted = Dossier.open(application_id=uuid.uuid4(), applicant_organization=APPLICANT.owner, name="n",
                           base_type="regional", organizing_unit_id="OU-1", recommending_unit_id="RU-1",
                           status="draft", caused_by={})
    assert told("intake", "ApplicationWithdrawn", drafted) == [APPLICANT]


def test_the_units_named_by_the_event_are_told_not_those_of_an_earlier_version():
    assert told("endorsement", "ReviewItemQueued", dossier(), organizing_unit_id="OU-2") == [
        Recipient("organizing_unit", "OU-2")]
