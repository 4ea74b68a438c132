"""Experts' duties on a fake edge: a conflict declared with a checked credit code and a reason; the
chair's conclusion, with the revision it asks for, refused in Chinese while opinions are outstanding."""
import uuid

import pytest

from tests.support.portal import CSRF, Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit
APP_ID = str(uuid.uuid4())
CHAIR = Account(role="expert", organization="91110000000000000X", party_id="expert-1", name="张伟")
APPLICATION = {"application_id": APP_ID, "name": "国家技术标准创新基地（江苏）", "base_type": "regional",
               "plan_version": 1, "number": "CXJD-2026-QY-001", "sections": {}, "files": {}}
REVIEW = {"application_id": APP_ID, "number": "CXJD-2026-QY-001", "state": "under_review", "chair": "expert-1",
          "conclusion": None, "my_opinion_submitted": True}


def text(response) -> str:
    return response.get_data(as_text=True)


def chair_edge(review=REVIEW) -> FakeEdge:
    edge = FakeEdge(CHAIR).answer("expert_review", "get_review", review)
    return edge.answer("intake", "get_application", APPLICATION)


def test_an_expert_declares_a_conflict_with_an_organization():
    edge = FakeEdge(CHAIR).answer("expert_review", "declare_conflict", lambda **kw: {
        "expert_id": "expert-1", "conflicts": [{"organization": kw["organization"], "reason": kw["reason"]}]})
    page = text(client(edge).post("/expert/conflicts", data={
        "organization": "91320100ma1xxxxx0x", "reason": "在该单位兼职", "csrf_token": CSRF}))
    assert edge.called("expert_review", "declare_conflict") == [
        {"expert_id": None, "organization": "91320100MA1XXXXX0X", "reason": "在该单位兼职"}]
    assert "利益冲突已声明" in page and "在该单位兼职" in page


def test_a_conflict_without_a_reason_or_a_whole_credit_code_is_refused_beside_the_fields():
    edge = FakeEdge(CHAIR)
    response = client(edge).post("/expert/conflicts", data={"organization": "9132", "csrf_token": CSRF})
    page = text(response)
    assert response.status_code == 422
    assert 'id="f-organization-error"' in page and 'id="f-reason-error"' in page
    assert edge.called("expert_review", "declare_conflict") == []


def test_only_the_chair_sees_the_conclusion_form():
    assert "提交论证结论" in text(client(chair_edge()).get(f"/expert/applications/{APP_ID}"))
    member = chair_edge({**REVIEW, "chair": "expert-2"})
    assert "提交论证结论" not in text(client(member).get(f"/expert/applications/{APP_ID}"))


def test_a_pass_with_revisions_sends_the_sections_reason_and_deadline():
    edge = chair_edge().answer("expert_review", "conclude", {})
    response = client(edge).post(f"/expert/applications/{APP_ID}/conclusion", data={
        "conclusion": "pass_with_revisions", "conclusion_text": "原则通过，考核指标需调整。",
        "revision_sections": ["goals"], "revision_reason": "产业化指标偏低", "revision_deadline": "2026-09-30",
        "csrf_token": CSRF})
    assert response.status_code == 303 and "notice=concluded" in response.headers["Location"]
    assert edge.called("expert_review", "conclude") == [{
        "application_id": APP_ID, "conclusion": "pass_with_revisions", "text": "原则通过，考核指标需调整。",
        "revision": {"sections": ["goals"], "reason": "产业化指标偏低", "deadline": "2026-09-30T23:59:59+08:00"}}]


def test_a_pass_with_revisions_without_sections_is_refused_before_asking():
    edge = chair_edge()
    page = text(client(edge).post(f"/expert/applications/{APP_ID}/conclusion", data={
        "conclusion": "pass_with_revisions", "conclusion_text": "原则通过", "csrf_token": CSRF}))
    assert "请选择需要修改的部分" in page and "原则通过" in page
    assert edge.called("expert_review", "conclude") == []


def test_outstanding_opinions_are_said_in_chinese():
    edge = chair_edge().answer("expert_review", "conclude", EdgeError(
        "OpinionsOutstanding", "2 opinion(s) outstanding", {"rule": "all_opinions_in", "outstanding": 2}))
    response = client(edge).post(f"/expert/applications/{APP_ID}/conclusion", data={
        "conclusion": "pass", "conclusion_text": "同意通过", "csrf_token": CSRF})
    assert response.status_code == 409 and "尚有专家未提交评审意见" in text(response)
