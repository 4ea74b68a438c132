"""The in-app inbox (站内消息): each party reads and marks only its own notifications;
bad input gets typed errors and changes nothing."""
from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from shared.errors import AuthenticationFailed, InnobaseError, InvalidInput, NotAuthorized
from services.notification.errors import NotificationNotFound, NotYourNotification
from tests.integration.test_notification_delivery import (  # noqa: F401  (fixtures)
    Case, mail_settled, service, upstream, wait_processed,
)
from tests.support.cluster import rpc, sql, token

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def told(service, upstream):
    """Two applicants, their units and an expert, each told a few things."""
    first, second = Case(upstream, "甲"), Case(upstream, "乙")
    for case in (first, second):
        case.register_all()
        for step in (case.draft, case.submit, case.queued, case.forwarded):
            wait_processed(step())
    expert = list(first.experts)[0]
    wait_processed(first.expert_assigned(expert))
    mail_settled()  # the e-mails' own events (handed over, delivered) are written by then, not during a test
    return first, second, expert


def log_position() -> int:
    return sql("notification", "SELECT coalesce(max(id), 0) FROM notification_events")[0][0]


def call(role, org, method, party=None, **arguments):
    with rpc(token(role, party=party, org=org)) as services:
        return getattr(services.notification, method)(**arguments)


def test_a_party_reads_only_its_own_inbox(told):
    first, second, expert = told
    mine = call("applicant", first.applicant, "my_notifications")
    assert [i["subject"] for i in mine["items"]] == [
        f"【创新基地申报】申报方案已审核盖章并转报推荐单位：{first.name}",
        f"【创新基地申报】申报方案已提交：{first.name}",
        "【创新基地申报】申报单位注册成功",
    ]
    assert mine["total"] == 3 and mine["unread"] == 3
    assert all(first.name in i["text"] or "注册" in i["subject"] for i in mine["items"])
    theirs = call("applicant", second.applicant, "my_notifications")
    assert {i["notification_id"] for i in theirs["items"]}.isdisjoint({i["notification_id"] for i in mine["items"]})
    assert all(second.name in i["subject"] or "注册" in i["subject"] for i in theirs["items"])
    # a unit's inbox is the unit's, whatever role the token claims for the same organization
    assert [i["subject"] for i in call("organizing_unit", first.organizing, "my_notifications")["items"]] == [
        f"【创新基地申报】待审核盖章：{first.name}", "【创新基地申报】贵单位已登记为申报组织单位"]
    assert call("recommending_unit", first.organizing, "my_notifications")["items"] == []
    assert call("applicant", first.organizing, "my_notifications")["items"] == []
    # an expert reads its personal inbox, not its organization's
    assigned = call("expert", "91110000X", "my_notifications", party=expert)
    assert [i["subject"] for i in assigned["items"]] == [
        f"【创新基地申报】论证任务：{first.name}", "【创新基地申报】您已入选创新基地评审专家库"]
    assert call("expert", "91110000X", "my_notifications", party=list(second.experts)[0])["total"] == 1


def test_the_unread_only_view_and_paging_show_the_newest_first(told):
    first, _, _ = told
    page = call("applicant", first.applicant, "my_notifications", limit=2, offset=1)
    everything = call("applicant", first.applicant, "my_notifications")["items"]
    assert [i["notification_id"] for i in page["items"]] == [i["notification_id"] for i in everything[1:3]]
    assert [i["received_at"] for i in everything] == sorted((i["received_at"] for i in everything), reverse=True)


def test_marking_read_lowers_the_unread_count_and_is_recorded_once(told):
    _, second, _ = told
    items = call("applicant", second.applicant, "my_notifications")["items"]
    before = call("applicant", second.applicant, "unread_count")["unread"]
    target = items[0]["notification_id"]
    answer = call("applicant", second.applicant, "mark_read", notification_ids=[target, target])
    assert answer == {"marked": [target], "unread": before - 1}
    position = log_position()
    again = call("applicant", second.applicant, "mark_read", notification_ids=[target])
    assert again == {"marked": [], "unread": before - 1}
    assert log_position() == position  # reading it twice recorded nothing more
    assert call("applicant", second.applicant, "unread_count") == {"unread": before - 1}
    unread = call("applicant", second.applicant, "my_notifications", unread_only=True)["items"]
    assert target not in [i["notification_id"] for i in unread]
    read = [i for i in call("applicant", second.applicant, "my_notifications")["items"] if i["notification_id"] == target]
    assert read[0]["state"] == "read" and read[0]["read_at"]
    (actor,) = sql("notification", "SELECT state FROM notification_events WHERE originator_id = %s"
                                   " AND topic LIKE %s", target, "%Read")[0]
    assert second.applicant.encode() in bytes(actor)  # the Read event names who read it


def test_marking_another_partys_notification_is_refused_and_marks_nothing(told):
    first, second, _ = told
    own = call("applicant", first.applicant, "my_notifications", unread_only=True)["items"][0]["notification_id"]
    foreign = call("applicant", second.applicant, "my_notifications")["items"][-1]["notification_id"]
    position = log_position()
    with pytest.raises(NotYourNotification) as error:
        call("applicant", first.applicant, "mark_read", notification_ids=[own, foreign])
    assert error.value.code == "not_your_notification" and error.value.details["notification_id"] == foreign
    with pytest.raises(NotAuthorized):  # the same organization, another role: another inbox
        call("organizing_unit", first.applicant, "mark_read", notification_ids=[own])
    with pytest.raises(NotificationNotFound) as error:
        call("applicant", first.applicant, "mark_read", notification_ids=[own, str(uuid.uuid4())])
    assert error.value.code == "notification_not_found"
    assert log_position() == position
    assert own in [i["notification_id"] for i in
                   call("applicant", first.applicant, "my_notifications", unread_only=True)["items"]]


def test_an_email_is_not_an_inbox_notification(told):
    first, _, _ = told
    (email_id,) = sql("notification", "SELECT notification_id::text FROM notifications WHERE channel = 'email'"
                                      " AND audience = 'applicant' AND owner = %s LIMIT 1", first.applicant)[0]
    with pytest.raises(NotificationNotFound):
        call("applicant", first.applicant, "mark_read", notification_ids=[email_id])


def test_auditors_and_ops_have_no_inbox_and_a_token_is_required(told):
    for role in ("auditor", "ops"):
        with pytest.raises(NotAuthorized) as error:
            call(role, "audit", "my_notifications")
        assert error.value.details["rule"] == "role"
        with pytest.raises(NotAuthorized):
            call(role, "audit", "unread_count")
    with rpc() as services:
        with pytest.raises(AuthenticationFailed):
            services.notification.unread_count()
    with rpc(token("applicant", ttl=-1)) as services:
        with pytest.raises(AuthenticationFailed):
            services.notification.my_notifications()


def test_only_auditors_and_officers_see_who_was_told_what_about_an_application(told):
    first, _, _ = told
    record = call("officer", "SAC", "notifications_of", application_id=first.application_id)
    assert {(r["audience"], r["channel"]) for r in record} >= {
        ("applicant", "inbox"), ("applicant", "email"), ("organizing_unit", "email"),
        ("recommending_unit", "inbox"), ("expert", "email")}
    with pytest.raises(NotAuthorized):
        call("applicant", first.applicant, "notifications_of", application_id=first.application_id)
    with pytest.raises(InnobaseError) as error:
        call("auditor", "audit", "notifications_of", application_id=str(uuid.uuid4()))
    assert error.value.code == "application_not_found"


def test_bad_input_gets_a_typed_error_naming_each_field_and_changes_nothing(told):
    first, _, _ = told
    position = log_position()
    with pytest.raises(InvalidInput) as error:
        call("applicant", first.applicant, "my_notifications", unread_only="perhaps", limit=0, offset=-1)
    assert set(error.value.fields) == {"unread_only", "limit", "offset"}
    with pytest.raises(InvalidInput) as error:
        call("applicant", first.applicant, "mark_read", notification_ids=["not-a-uuid"])
    assert set(error.value.fields) == {"notification_ids"}
    with pytest.raises(InvalidInput) as error:
        call("applicant", first.applicant, "mark_read", notification_ids=[])
    with pytest.raises(InvalidInput) as error:
        call("applicant", first.applicant, "unread_count", everything=True)
    assert set(error.value.fields) == {"everything"}
    assert log_position() == position


ROLES = ("applicant", "organizing_unit", "recommending_unit", "officer", "expert", "auditor", "ops")
values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**12, max_value=10**12), st.text(max_size=80),
    st.lists(st.one_of(st.uuids().map(str), st.text(max_size=10), st.integers()), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
payloads = st.dictionaries(
    st.sampled_from(["unread_only", "limit", "offset", "notification_ids", "application_id", "zzz"]),
    values, max_size=4,
)


@hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(["my_notifications", "unread_count", "mark_read", "notifications_of"]),
       role=st.sampled_from(ROLES), payload=payloads)
def test_random_payloads_get_typed_errors_and_change_nothing(told, method, role, payload):
    position = log_position()
    try:
        answer = call(role, f"org-{uuid.uuid4().hex[:6]}", method, **payload)
    except InnobaseError:
        pass  # typed: the only acceptable failure
    else:
        # accepted only as a harmless read of the caller's own inbox: empty for a new organization
        # (an officer reads SAC's, shared by every officer)
        assert method in ("my_notifications", "unread_count"), (method, role, payload)
        assert answer["unread"] == 0 or role == "officer"
    assert log_position() == position
