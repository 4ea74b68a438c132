"""The one deadline mechanism: reminders before, the miss after, each recorded once; extensions."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.review.deadlines import (
    CANCELLED,
    MET,
    MISSED,
    OPEN,
    REMINDED,
    Deadline,
    DeadlineKeeper,
    deadline_id,
    reminder_days,
    scan_interval,
)
from services.review.errors import DeadlineClosed, DeadlineInPast

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
APPLICATION = uuid.UUID("9f8e9c66-edee-5c58-84bd-b3bf57333f67")


def new_deadline(days=10, reminders=(7, 1), now=NOW):
    return Deadline.set(application_id=APPLICATION, kind="supplement", request_id="r-1",
                        due=now + timedelta(days=days), now=now, days=reminders)


def facts(deadline):
    return [type(e).__name__ for e in deadline.collect_events()]


def test_a_deadline_has_one_identity_per_application_kind_and_request():
    assert new_deadline().id == deadline_id(APPLICATION, "supplement", "r-1")
    assert deadline_id(APPLICATION, "supplement", "r-1") != deadline_id(APPLICATION, "revision", "r-1")


def test_a_deadline_in_the_past_is_refused():
    with pytest.raises(DeadlineInPast) as error:
        new_deadline(days=-1)
    assert error.value.details["field"] == "deadline"


def test_reminders_fall_seven_and_one_day_before_and_then_the_miss_each_once():
    deadline = new_deadline(days=10)
    facts(deadline)
    assert deadline.check(NOW + timedelta(days=2)) is None
    assert deadline.check(NOW + timedelta(days=3, minutes=1)) == REMINDED
    assert deadline.check(NOW + timedelta(days=3, minutes=2)) is None
    assert deadline.check(NOW + timedelta(days=9, minutes=1)) == REMINDED
    assert deadline.check(NOW + timedelta(days=10)) == MISSED
    assert deadline.check(NOW + timedelta(days=11)) is None
    events = deadline.collect_events()
    assert [type(e).__name__ for e in events] == ["DeadlineReminded", "DeadlineReminded", "DeadlineMissed"]
    assert [e.days_before for e in events[:2]] == [7, 1]
    assert deadline.state == MISSED


def test_after_a_pause_only_the_nearest_reminder_is_sent():
    deadline = new_deadline(days=10)
    facts(deadline)
    assert deadline.check(NOW + timedelta(days=9, hours=12)) == REMINDED
    assert deadline.check(NOW + timedelta(days=9, hours=13)) is None
    (reminded,) = deadline.collect_events()
    assert reminded.days_before == 1


def test_a_jump_past_the_deadline_records_only_the_miss():
    deadline = new_deadline(days=10)
    facts(deadline)
    assert deadline.check(NOW + timedelta(days=30)) == MISSED
    assert facts(deadline) == ["DeadlineMissed"]


def test_reminders_already_due_when_the_deadline_is_set_are_not_sent():
    deadline = new_deadline(days=3)
    assert deadline.next_check == NOW + timedelta(days=2)
    facts(deadline)
    assert deadline.check(NOW + timedelta(minutes=1)) is None
    assert deadline.check(NOW + timedelta(days=2, minutes=1)) == REMINDED


def test_an_extension_after_a_miss_reopens_the_deadline_and_a_new_miss_is_recorded_again():
    deadline = new_deadline(days=10)
    deadline.check(NOW + timedelta(days=11))
    facts(deadline)
    later = NOW + timedelta(days=11)
    deadline.extend(later + timedelta(days=5), "the applicant's archive burned down", later)
    assert deadline.state == OPEN and deadline.due == later + timedelta(days=5)
    assert deadline.check(later + timedelta(days=4, minutes=1)) == REMINDED
    assert deadline.check(later + timedelta(days=5)) == MISSED
    assert facts(deadline) == ["DeadlineExtended", "DeadlineReminded", "DeadlineMissed"]
    assert deadline.extensions[0]["reason"] == "the applicant's archive burned down"


def test_an_extension_must_lie_in_the_future_and_needs_an_open_or_missed_deadline():
    deadline = new_deadline(days=10)
    with pytest.raises(DeadlineInPast):
        deadline.extend(NOW - timedelta(days=1), "x", NOW)
    deadline.meet(NOW + timedelta(days=1))
    with pytest.raises(DeadlineClosed):
        deadline.extend(NOW + timedelta(days=20), "x", NOW)


def test_an_answer_in_time_meets_the_deadline_and_stops_its_reminders():
    deadline = new_deadline(days=10)
    assert deadline.meet(NOW + timedelta(days=1)) is True
    assert deadline.state == MET
    assert deadline.check(NOW + timedelta(days=30)) is None


def test_an_answer_after_the_miss_is_late():
    deadline = new_deadline(days=10)
    deadline.check(NOW + timedelta(days=10, seconds=1))
    assert deadline.meet(NOW + timedelta(days=11)) is False
    assert deadline.meet(NOW + timedelta(days=12)) is None  # met once


def test_a_cancelled_deadline_is_never_missed():
    deadline = new_deadline(days=10)
    deadline.cancel("the application was withdrawn")
    assert deadline.state == CANCELLED
    assert deadline.check(NOW + timedelta(days=30)) is None


def test_reminder_days_and_scan_interval_come_from_the_environment():
    assert reminder_days({}) == (7, 1)
    assert reminder_days({"INNOBASE_REMINDER_DAYS": "1, 14,3"}) == (14, 3, 1)
    assert scan_interval({}) == 30
    assert scan_interval({"INNOBASE_DEADLINE_SCAN_SECONDS": "0.5"}) == 0.5
    with pytest.raises(ValueError):
        reminder_days({"INNOBASE_REMINDER_DAYS": "7,0"})


def test_the_reminder_days_are_fixed_when_the_deadline_is_set(monkeypatch):
    monkeypatch.setenv("INNOBASE_REMINDER_DAYS", "3")
    deadline = Deadline.set(application_id=APPLICATION, kind="revision", request_id="r-2",
                            due=NOW + timedelta(days=10), now=NOW)
    monkeypatch.setenv("INNOBASE_REMINDER_DAYS", "7,1")
    assert deadline.reminder_days == [3]


def test_reminders_and_misses_are_published_as_deadline_events_and_extensions_with_the_reason():
    keeper = DeadlineKeeper()
    deadline = new_deadline(days=10)
    deadline.check(NOW + timedelta(days=4))
    deadline.check(NOW + timedelta(days=10))
    deadline.extend(NOW + timedelta(days=20), "more time", NOW + timedelta(days=10))
    published = [keeper.deadline_integration_event(e) for e in deadline.collect_events()]
    assert published[0] is None  # setting a deadline is published by the request that set it
    assert [(p[0], p[2]["deadline_kind"]) for p in published[1:]] == [
        ("DeadlineApproaching", "supplement"), ("DeadlineMissed", "supplement"), ("DeadlineExtended", "supplement")]
    assert published[1][2]["days_before"] == 7
    assert published[3][2]["reason"] == "more time"
    assert published[3][2]["new_deadline"] == NOW + timedelta(days=20)


def test_an_answer_given_in_time_that_arrives_after_the_miss_still_counts_as_in_time():
    deadline = new_deadline(days=10)
    deadline.check(NOW + timedelta(days=10, minutes=5))  # the miss, recorded before the answer arrived
    assert deadline.meet(NOW + timedelta(days=9, hours=23)) is True


def test_a_deadline_stored_while_its_module_was_shared_deadlines_still_loads():
    from eventsourcing.application import Application
    from eventsourcing.persistence import StoredEvent
    from eventsourcing.utils import resolve_topic

    from services.review.deadlines import OLD_TOPIC

    assert resolve_topic(OLD_TOPIC) is Deadline
    assert resolve_topic(f"{OLD_TOPIC}.DeadlineSet") is Deadline.DeadlineSet
    assert resolve_topic(f"{OLD_TOPIC}.DeadlineReminded") is Deadline.DeadlineReminded

    deadline = new_deadline(days=10)
    deadline.check(NOW + timedelta(days=3, minutes=1))
    app = Application()
    app.save(deadline)
    new_topic = "services.review.deadlines:Deadline"
    as_stored_before = [
        StoredEvent(originator_id=e.originator_id, originator_version=e.originator_version,
                    topic=e.topic.replace(new_topic, OLD_TOPIC), state=e.state.replace(new_topic.encode(), OLD_TOPIC.encode()))
        for e in app.recorder.select_events(deadline.id)]
    assert [e.topic for e in as_stored_before] == [f"{OLD_TOPIC}.DeadlineSet", f"{OLD_TOPIC}.DeadlineReminded"]
    assert OLD_TOPIC.encode() in as_stored_before[0].state  # the created event names its aggregate's topic

    loaded = None
    for stored in as_stored_before:
        loaded = app.mapper.to_domain_event(stored).mutate(loaded)
    assert type(loaded) is Deadline
    assert (loaded.due, loaded.settled, loaded.version) == (deadline.due, deadline.settled, deadline.version)
