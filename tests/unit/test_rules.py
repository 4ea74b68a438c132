"""The guide's rules that several services apply, each in one place (shared/rules.py)."""
from datetime import datetime

import pytest

from shared import rules
from shared.clock import BEIJING

pytestmark = pytest.mark.unit


def test_a_regional_base_is_organized_by_the_provincial_authority_and_recommended_by_the_government():
    assert rules.unit_kinds_allowed("regional", "organizing") == ("local_standardization_authority",)
    assert rules.unit_kinds_allowed("regional", "recommending") == ("local_government",)
    assert "industry_association" in rules.unit_kinds_allowed("domain", "recommending")
    assert rules.unit_kinds_allowed("international", "organizing") == rules.unit_kinds_allowed("domain", "organizing")


def test_every_service_applies_the_same_unit_pairing_and_window():
    from services.endorsement.domain import UNIT_PAIRS
    from services.intake.domain import ALLOWED_KINDS
    from services.notification.domain import submission_window_closes

    for base_type, kinds in rules.UNIT_KINDS_BY_BASE_TYPE.items():
        assert ALLOWED_KINDS[base_type] == kinds
        assert UNIT_PAIRS[base_type] == (kinds["organizing"], kinds["recommending"])
    assert submission_window_closes is rules.submission_window_closes


@pytest.mark.parametrize("day, inside", [((5, 4), False), ((5, 5), True), ((7, 30), True), ((7, 31), False)])
def test_submissions_are_accepted_from_5_may_to_30_july_beijing_time(day, inside):
    assert rules.in_submission_window(datetime(2026, *day, 12, tzinfo=BEIJING)) is inside


def test_the_window_closes_at_the_end_of_30_july_beijing_time():
    closes = rules.submission_window_closes(2026)
    assert closes == datetime(2026, 7, 31, tzinfo=BEIJING)
    assert rules.in_submission_window(closes.replace(microsecond=0) - (closes - closes.replace(hour=0)) ) is False


@pytest.mark.parametrize("size, allowed", [(3, False), (4, False), (5, True), (6, False), (7, True)])
def test_a_panel_has_at_least_five_experts_and_an_odd_number(size, allowed):
    assert rules.panel_size_allowed(size) is allowed


def test_the_construction_plan_is_due_three_months_after_approval():
    assert rules.construction_plan_due(datetime(2026, 11, 30, 9, tzinfo=BEIJING)) == \
        datetime(2027, 2, 28, 9, tzinfo=BEIJING)


def test_reminder_days_are_read_once_the_same_for_every_service():
    assert rules.reminder_days({"INNOBASE_REMINDER_DAYS": "1,7,3"}) == (7, 3, 1)
    with pytest.raises(ValueError):
        rules.reminder_days({"INNOBASE_REMINDER_DAYS": "7,x"})
    from services.notification.settings import load
    from services.review import deadlines

    assert load({"INNOBASE_REMINDER_DAYS": "5,2"}).reminder_days == deadlines.reminder_days({"INNOBASE_REMINDER_DAYS": "5,2"})
