"""The inbox and the revisions on a fake edge: every party's messages in one list, marked read;
two versions side by side, section by section; the unit's remarks beside the sections they concern."""
import uuid

import pytest

from tests.support.portal import CSRF, Account, FakeEdge, client
from tests.unit.test_portal_applicant_pages import APPLICATION, CHECK

pytestmark = pytest.mark.unit
APP_ID = APPLICATION["application_id"]
NOTE_ID = str(uuid.uuid4())
INBOX = {"items": [{"notification_id": NOTE_ID, "application_id": APP_ID, "event_type": "ApplicationReturned",
                    "subject": "申报方案被退回修改", "text": "请按意见修改第二部分。", "html": "", "state": "unread",
                    "received_at": "2026-06-02T01:30:00+00:00", "read_at": None}], "total": 1, "unread": 1}
VERSIONS = [
    {"plan_version": 1, "submission_kind": "initial", "changed_sections": ["basic", "significance"],
     "submitted_at": "2026-06-01T02:00:00+00:00", "digest": "d1"},
    {"plan_version": 2, "submission_kind": "returned", "changed_sections": ["significance"],
     "submitted_at": "2026-06-05T02:00:00+00:00", "digest": "d2"},
]
DIFF = {"application_id": APP_ID, "from_version": 1, "to_version": 2, "sections": {
    "significance": {"changed": True, "changes": [
        {"field": "significance.necessity", "from": "需求迫切。", "to": "区域产业转型升级对技术标准的需求紧迫。"}]},
    "basic": {"changed": False, "changes": []}}}


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_inbox_lists_messages_newest_first_with_the_unread_marked():
    edge = FakeEdge(Account()).answer("notification", "my_notifications", INBOX)
    page = text(client(edge).get("/inbox"))
    assert "申报方案被退回修改" in page and "请按意见修改第二部分。" in page
    assert "未读 <strong>1</strong> 条" in page and "2026年6月2日 09:30" in page
    assert f'<a href="/applicant/applications/{APP_ID}">查看该申报</a>' in page
    assert edge.called("notification", "my_notifications") == [{"unread_only": False, "limit": 20, "offset": 0}]


def test_marking_read_sends_the_chosen_ids_only():
    edge = FakeEdge(Account()).answer("notification", "mark_read", {"marked": [NOTE_ID], "unread": 0})
    response = client(edge).post("/inbox/read", data={"notification_ids": [NOTE_ID, "not-an-id"], "csrf_token": CSRF})
    assert response.status_code == 303 and "notice=marked_read" in response.headers["Location"]
    assert edge.called("notification", "mark_read") == [{"notification_ids": [NOTE_ID]}]


def test_an_auditor_has_no_inbox():
    assert client(FakeEdge(Account(role="auditor"))).get("/inbox").status_code == 404


def test_the_revisions_show_the_last_two_versions_side_by_side():
    edge = FakeEdge(Account()).answer("intake", "get_application", {**APPLICATION, "open_sections": []})
    edge.answer("intake", "versions", VERSIONS).answer("intake", "diff", DIFF)
    page = text(client(edge).get(f"/applicant/applications/{APP_ID}/revisions"))
    assert edge.called("intake", "diff") == [{"application_id": APP_ID, "from_version": 1, "to_version": 2}]
    assert "<del>需求迫切。</del>" in page and "<ins>区域产业转型升级对技术标准的需求紧迫。</ins>" in page
    assert "二、意义和必要性 · 必要性" in page and "按申报组织单位意见修改" in page
    assert page.count("有修改") == 1
    assert f'<a href="/applicant/applications/{APP_ID}">国家技术标准创新基地（江苏）</a>' in page  # where one is


def test_an_expert_reads_the_same_diff_between_chosen_versions():
    edge = FakeEdge(Account(role="expert", party_id="e1")).answer("intake", "get_application", APPLICATION)
    edge.answer("intake", "versions", VERSIONS).answer("intake", "diff", DIFF)
    client(edge).get(f"/expert/applications/{APP_ID}/revisions?from=1&to=2")
    assert edge.called("intake", "diff")[0]["to_version"] == 2


def test_the_organizing_unit_s_remark_stands_beside_the_section_it_concerns():
    request = {"kind": "returned", "request_id": "r1", "reason": "必要性论述不充分，请补充区域产业数据。",
               "sections": ["significance"], "deadline": None, "requested_by": "ou"}
    edge = FakeEdge(Account()).answer("intake", "get_application", {**APPLICATION, "stage": "returned",
                                                                     "plan_version": 1, "request": request})
    edge.answer("intake", "check", CHECK)
    overview = text(client(edge).get(f"/applicant/applications/{APP_ID}"))
    assert "申报组织单位的修改意见" in overview and "需修改" in overview
    assert overview.count("必要性论述不充分") == 2  # at the top, and in the section's row
    assert "修改前后对照" in overview
    section = text(client(edge).get(f"/applicant/applications/{APP_ID}/sections/significance"))
    assert "必要性论述不充分" in section
    other = text(client(edge).get(f"/applicant/applications/{APP_ID}/sections/goals"))
    assert "必要性论述不充分" not in other


def test_sac_reads_the_organizing_unit_s_return_beside_the_section_it_concerned():
    edge = FakeEdge(Account(role="officer", organization="SAC"))
    edge.answer("formal_review", "get_case", {"application_id": APP_ID, "state": "received", "plan_version": 2,
                                              "checklist": []})
    edge.answer("intake", "get_application", {**APPLICATION, "plan_version": 2})
    edge.answer("endorsement", "endorsement_history", {"events": [
        {"type": "ApplicationReturned", "at": "2026-06-03T02:00:00+00:00", "plan_version": 1,
         "details": {"sections": ["goals"], "reason": "产业化指标偏低，请调整。"}}]})
    page = text(client(edge).get(f"/sac/cases/{APP_ID}"))
    goals = page[page.index('id="sec-goals"'):page.index('id="sec-safeguards"')]
    assert "申报组织单位退回修改" in goals and "产业化指标偏低，请调整。" in goals and "第1版" in goals
    assert "产业化指标偏低" not in page[:page.index('id="sec-goals"')]


def test_the_expert_reads_the_panel_s_revision_request_beside_its_section():
    edge = FakeEdge(Account(role="expert", party_id="e1")).answer("intake", "get_application", APPLICATION)
    edge.answer("expert_review", "get_review", {"application_id": APP_ID, "state": "revision_requested",
                                                "chair": "e9", "my_opinion_submitted": True, "revisions": [
        {"sections": ["significance"], "reason": "请补充区域产业数据。", "deadline": "2026-09-30T15:59:59+00:00"}]})
    page = text(client(edge).get(f"/expert/applications/{APP_ID}"))
    significance = page[page.index('id="sec-significance"'):page.index('id="sec-feasibility"')]
    assert "专家组修改要求" in significance and "请补充区域产业数据。" in significance and "2026年9月30日" in significance
