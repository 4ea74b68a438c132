"""The panel's work beyond the opinions, on a fake edge: SAC schedules and records a site visit and
adds a member; the chair records the visit's findings, confirms a revised plan or asks again. Each
refusal stands beside its field, what was typed kept."""
import uuid

import pytest

from tests.support.portal import CSRF, Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit
APP_ID = str(uuid.uuid4())
PANEL_ID = str(uuid.uuid4())
OFFICER = Account(role="officer", organization="SAC", party_id="sac-1", name="刘处长")
CHAIR = Account(role="expert", organization="91110000000000000X", party_id="e1", name="张伟")
APPLICATION = {"application_id": APP_ID, "name": "国家技术标准创新基地（江苏）", "base_type": "regional",
               "plan_version": 2, "number": "CXJD-2026-QY-001", "sections": {}, "files": {}}
REVIEW = {"application_id": APP_ID, "number": "CXJD-2026-QY-001", "name": "国家技术标准创新基地（江苏）",
          "base_type": "regional", "state": "under_review", "panel_id": PANEL_ID, "chair": "e1",
          "assignments": {"e1": {"is_chair": True, "state": "assigned"},
                          "e2": {"is_chair": False, "state": "declined", "reason": "出差"}},
          "opinions_submitted": ["e1"], "site_visit": None, "exclusions": {}}
EXPERTS = [{"expert_id": f"e{n}", "name": name, "organization": "X", "organization_name": f"机构{n}"}
           for n, name in enumerate(["张伟", "王芳", "李娜"], 1)]


def text(response) -> str:
    return response.get_data(as_text=True)


def edge_for(account, review=REVIEW) -> FakeEdge:
    edge = FakeEdge(account).answer("expert_review", "get_review", review)
    edge.answer("expert_review", "opinions", {"assigned": 2, "submitted": 1, "hidden": False, "opinions": []})
    edge.answer("expert_review", "experts", EXPERTS)
    return edge.answer("intake", "get_application", APPLICATION)


def test_the_review_page_shows_the_panel_and_offers_only_experts_not_on_it():
    page = text(client(edge_for(OFFICER)).get(f"/sac/reviews/{APP_ID}"))
    assert "已拒绝：出差" in page and "组长" in page
    assert '<option value="e3">李娜（e3，机构3）</option>' in page
    assert '<option value="e2">' not in page and '<option value="e1">' not in page
    assert "安排现场审核" in page


def test_sac_adds_a_member_to_the_panel_of_this_application():
    edge = edge_for(OFFICER).answer("expert_review", "add_panel_member", {})
    done = client(edge).post(f"/sac/reviews/{APP_ID}/members", data={"expert_id": "e3", "csrf_token": CSRF})
    assert done.status_code == 303 and "notice=member_added" in done.headers["Location"]
    assert edge.called("expert_review", "add_panel_member") == [
        {"panel_id": PANEL_ID, "expert_id": "e3", "application_ids": [APP_ID], "as_chair": False}]


def test_a_member_with_a_conflict_is_refused_beside_the_choice():
    edge = edge_for(OFFICER).answer("expert_review", "add_panel_member", EdgeError(
        "ConflictOfInterest", "conflict", {"rule": "no_conflict"}))
    response = client(edge).post(f"/sac/reviews/{APP_ID}/members",
                                 data={"expert_id": "e3", "as_chair": "yes", "csrf_token": CSRF})
    page = text(response)
    assert response.status_code == 409
    assert 'id="f-expert_id-error"' in page and "存在利益冲突" in page
    assert '<option value="e3" selected>' in page and 'name="as_chair" value="yes" checked' in page


def test_sac_schedules_a_site_visit_at_nine_beijing_time_and_a_past_date_is_refused_beside_it():
    edge = edge_for(OFFICER).answer("expert_review", "schedule_site_visit", {})
    done = client(edge).post(f"/sac/reviews/{APP_ID}/site-visit",
                             data={"visit_date": "2026-07-01", "visit_place": "南京市", "csrf_token": CSRF})
    assert "notice=site_visit_scheduled" in done.headers["Location"]
    assert edge.called("expert_review", "schedule_site_visit") == [
        {"application_id": APP_ID, "visit_date": "2026-07-01T09:00:00+08:00", "place": "南京市"}]
    edge.answer("expert_review", "schedule_site_visit", EdgeError(
        "RuleViolation", "past", {"rule": "visit_in_future", "field": "visit_date"}, status=422))
    page = text(client(edge).post(f"/sac/reviews/{APP_ID}/site-visit",
                                  data={"visit_date": "2020-01-01", "visit_place": "南京市", "csrf_token": CSRF}))
    assert 'id="f-visit_date-error"' in page and "现场审核日期应在今天之后" in page and 'value="南京市"' in page
    missing = client(edge).post(f"/sac/reviews/{APP_ID}/site-visit", data={"csrf_token": CSRF})
    assert missing.status_code == 422 and "请填写现场审核地点" in text(missing)


def test_the_chair_records_the_site_visit_findings_on_the_expert_page():
    review = {**REVIEW, "site_visit": {"visit_date": "2026-07-01T01:00:00+00:00", "place": "南京市", "findings": None}}
    edge = edge_for(CHAIR, review).answer("expert_review", "record_site_visit", {})
    page = text(client(edge).get(f"/expert/applications/{APP_ID}"))
    assert "2026年7月1日" in page and "记录现场审核情况" in page
    refused = client(edge).post(f"/expert/applications/{APP_ID}/site-visit/findings", data={"csrf_token": CSRF})
    assert refused.status_code == 422 and "请填写现场审核情况" in text(refused)
    done = client(edge).post(f"/expert/applications/{APP_ID}/site-visit/findings",
                             data={"findings": "实验室条件符合要求", "csrf_token": CSRF})
    assert "notice=site_visit_recorded" in done.headers["Location"]
    assert edge.called("expert_review", "record_site_visit") == [
        {"application_id": APP_ID, "findings": "实验室条件符合要求"}]


def test_the_chair_confirms_a_revised_plan_or_asks_for_another_round():
    review = {**REVIEW, "state": "revision_received"}
    edge = edge_for(CHAIR, review).answer("expert_review", "confirm_revision", {})
    edge.answer("expert_review", "request_revision", {})
    page = text(client(edge).get(f"/expert/applications/{APP_ID}"))
    assert "修改稿确认（组长）" in page and "第 2 版" in page
    client(edge).post(f"/expert/applications/{APP_ID}/revision/confirm", data={"note": "已按要求修改", "csrf_token": CSRF})
    assert edge.called("expert_review", "confirm_revision") == [{"application_id": APP_ID, "note": "已按要求修改"}]
    refused = client(edge).post(f"/expert/applications/{APP_ID}/revision/request",
                                data={"again_reason": "指标仍偏低", "csrf_token": CSRF})
    assert refused.status_code == 422 and "请选择需要修改的部分" in text(refused) and "指标仍偏低" in text(refused)
    client(edge).post(f"/expert/applications/{APP_ID}/revision/request", data={
        "again_sections": "goals", "again_reason": "指标仍偏低", "again_deadline": "2026-08-01", "csrf_token": CSRF})
    assert edge.called("expert_review", "request_revision") == [
        {"application_id": APP_ID, "sections": ["goals"], "reason": "指标仍偏低",
         "deadline": "2026-08-01T23:59:59+08:00"}]


def test_an_expert_who_is_not_the_chair_sees_no_revision_forms():
    review = {**REVIEW, "state": "revision_received", "chair": "someone-else"}
    page = text(client(edge_for(CHAIR, review)).get(f"/expert/applications/{APP_ID}"))
    assert "修改稿确认" not in page
