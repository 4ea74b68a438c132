"""SAC's decisions on a fake edge: the late-submission exception with its reason, the panel checked
before it is formed (who is excluded and why), approval refused by the guide's limits in Chinese."""
import uuid

import pytest

from tests.support.portal import CSRF, Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit
APP_ID = str(uuid.uuid4())
OFFICER = Account(role="officer", organization="SAC", party_id="sac-1", name="刘处长")
APPLICATION = {"application_id": APP_ID, "name": "国家技术标准创新基地（江苏）", "base_type": "regional",
               "stage": "draft", "plan_version": 0, "applicant_organization": "91320100MA1XXXXX0X",
               "late_exception": None, "sections": {}, "files": {}}
REVIEW = {"application_id": APP_ID, "number": "JD2026001", "name": "国家技术标准创新基地（江苏）",
          "base_type": "regional", "state": "concluded", "conclusion": "pass", "conclusion_text": "同意通过",
          "applicant_name": "江苏省标准化研究院", "exclusions": {}}
EXPERTS = [{"expert_id": f"e{n}", "name": name, "organization": "X", "organization_name": f"机构{n}"}
           for n, name in enumerate(["张伟", "王芳", "李娜", "刘洋", "陈静", "赵强"], 1)]


def text(response) -> str:
    return response.get_data(as_text=True)


def officer_edge() -> FakeEdge:
    edge = FakeEdge(OFFICER).answer("intake", "get_application", APPLICATION)
    edge.answer("expert_review", "get_review", REVIEW)
    edge.answer("expert_review", "opinions", {"assigned": 5, "submitted": 5, "hidden": False, "opinions": []})
    edge.answer("expert_review", "reviews", {"items": [{**REVIEW, "state": "awaiting_panel"}], "counts": {}})
    edge.answer("expert_review", "experts", EXPERTS)
    return edge


def test_a_late_submission_exception_needs_a_reason_and_is_recorded_with_it():
    edge = officer_edge().answer("intake", "grant_late_submission", {})
    page = text(client(edge).get(f"/sac/applications/{APP_ID}"))
    assert "准予受理期外提交" in page and "5月5日至7月30日" in page
    refused = client(edge).post(f"/sac/applications/{APP_ID}/late-submission", data={"csrf_token": CSRF})
    assert refused.status_code == 422 and "请写明准予受理期外提交的理由" in text(refused)
    done = client(edge).post(f"/sac/applications/{APP_ID}/late-submission",
                             data={"reason": "因疫情无法按期盖章", "csrf_token": CSRF})
    assert done.status_code == 303 and "notice=late_granted" in done.headers["Location"]
    assert edge.called("intake", "grant_late_submission") == [{"application_id": APP_ID, "reason": "因疫情无法按期盖章"}]


def test_an_auditor_reads_the_application_but_finds_no_exception_form():
    edge = officer_edge()
    edge.account = Account(role="auditor", organization="AUDIT")
    page = text(client(edge).get(f"/sac/applications/{APP_ID}"))
    assert "国家技术标准创新基地（江苏）" in page and 'action="/sac/applications/' not in page


def test_a_second_regional_base_is_refused_in_chinese_naming_the_existing_one():
    edge = officer_edge().answer("expert_review", "approve", EdgeError(
        "RegionalBaseExists", "region 320000 already has its regional base",
        {"existing": ["国家技术标准创新基地（苏州）（JD2025003）"]}))
    response = client(edge).post(f"/sac/reviews/{APP_ID}/approve", data={"reasons": "论证通过", "csrf_token": CSRF})
    page = text(response)
    assert response.status_code == 409
    assert "该地区已设置区域（综合）创新基地：已批准 国家技术标准创新基地（苏州）（JD2025003）" in page
    assert "论证通过" in page  # what was typed stays


def test_a_second_domain_base_asks_for_its_reason_beside_the_field():
    edge = officer_edge().answer("expert_review", "get_review", {**REVIEW, "base_type": "domain"})
    edge.answer("expert_review", "approve", EdgeError("DomainBaseExists", "has a base", {"existing": ["A"]}))
    page = text(client(edge).post(f"/sac/reviews/{APP_ID}/approve", data={"reasons": "通过", "csrf_token": CSRF}))
    assert 'id="f-second_base_reason-error"' in page and "批准第二个须写明理由" in page


def test_approving_and_declining_pass_the_reasons_on():
    edge = officer_edge().answer("expert_review", "approve", {}).answer("expert_review", "decline", {})
    done = client(edge).post(f"/sac/reviews/{APP_ID}/approve", data={"reasons": "论证通过", "csrf_token": CSRF})
    assert "notice=approved" in done.headers["Location"]
    assert edge.called("expert_review", "approve") == [
        {"application_id": APP_ID, "reasons": "论证通过", "second_base_reason": None}]
    client(edge).post(f"/sac/reviews/{APP_ID}/decline", data={"decline_reasons": "条件不足", "csrf_token": CSRF})
    assert edge.called("expert_review", "decline") == [{"application_id": APP_ID, "reasons": "条件不足"}]


def test_checking_a_panel_shows_who_is_excluded_and_why():
    edge = officer_edge().answer("expert_review", "check_panel", {
        "applications": [{"application_id": APP_ID, "eligible": ["e1", "e2", "e3", "e4"],
                          "excluded": [{"expert_id": "e5", "name": "陈静", "reasons": [
                              {"rule": "same_organization", "party": "recommending_unit", "detail": "x"}]}]}],
        "problems": [{"code": "panel_size", "message": "4 experts", "details": {"eligible": ["e1"] * 4}}]})
    page = text(client(edge).post("/sac/panels/check", data={
        "application_ids": APP_ID, "members": ["e1", "e2", "e3", "e4", "e5"], "chair": "e1",
        "meeting_date": "2026-09-01", "place": "北京", "csrf_token": CSRF}))
    assert "陈静" in page and "与推荐单位为同一单位" in page
    assert "论证专家应不少于5人且为单数" in page
    assert edge.called("expert_review", "form_panel") == []


def test_forming_a_panel_sends_the_meeting_in_beijing_time():
    edge = officer_edge().answer("expert_review", "form_panel", lambda **kw: {
        "panel_id": "p", "meeting_date": kw["meeting_date"], "place": kw["place"], "members": kw["members"],
        "chair": kw["chair"], "application_ids": kw["application_ids"],
        "applications": [{"application_id": APP_ID, "eligible": kw["members"], "excluded": []}]})
    page = text(client(edge).post("/sac/panels", data={
        "application_ids": APP_ID, "members": ["e1", "e2", "e3", "e4", "e5"], "chair": "e1",
        "meeting_date": "2026-09-01", "place": "北京市海淀区", "request_id": "r-1", "csrf_token": CSRF}))
    assert edge.called("expert_review", "form_panel")[0]["meeting_date"] == "2026-09-01T09:00:00+08:00"
    assert "专家组已组建" in page and "张伟" in page


def test_a_panel_without_a_chair_among_its_members_is_refused_before_asking():
    edge = officer_edge()
    response = client(edge).post("/sac/panels", data={"application_ids": APP_ID, "members": ["e1"], "chair": "e2",
                                                     "meeting_date": "2026-09-01", "place": "北京", "csrf_token": CSRF})
    assert response.status_code == 422 and "请从所选专家中指定组长" in text(response)
    assert edge.called("expert_review", "form_panel") == []


def test_no_two_parties_pages_share_a_method_name():
    """The mixins are one class in the end: a helper of one party's named like another's would shadow it."""
    from services.gateway.portal.routes import PortalRoutes

    owners = {}
    for mixin in PortalRoutes.__mro__[1:-1]:
        for name in vars(mixin):
            if not name.startswith("__"):
                owners.setdefault(name, []).append(mixin.__name__)
    assert {name: found for name, found in owners.items() if len(found) > 1} == {}
