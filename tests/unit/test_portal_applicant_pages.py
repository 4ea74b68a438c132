"""The applicant's pages on a fake edge: the plan editor shows the check beside the fields, keeps what
was typed when intake refuses a field and says so beside it; a foreign application is a missing one."""
import json
import uuid

import pytest

from tests.support.portal import CSRF, Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit
APP_ID = str(uuid.uuid4())
APPLICATION = {
    "application_id": APP_ID, "name": "国家技术标准创新基地（江苏）", "base_type": "regional", "stage": "draft",
    "plan_version": 0, "number": None, "open_sections": ["basic", "significance", "goals", "qualifications"],
    "next_deadline": None, "sections": {"significance": {"significance": "意义……", "necessity": None}},
    "files": {"a" * 64: {"sha256": "a" * 64, "name": "资质证明1.pdf", "size": 2048, "media_type": "application/pdf"}},
}
CHECK = {"application_id": APP_ID, "complete": False, "warnings": [], "problems": {
    "significance": [{"section": "significance", "field": "significance.necessity", "problem": "missing",
                      "message": "必要性未填写"}],
    "qualifications": [{"section": "qualifications", "field": "qualifications.items[2]", "problem": "missing",
                        "message": "资质条件第2项未声明：具有提供标准化整体解决方案的丰富经验"}],
}}


def applicant_edge() -> FakeEdge:
    edge = FakeEdge(Account())
    edge.answer("intake", "get_application", APPLICATION).answer("intake", "check", CHECK)
    edge.answer("intake", "list_units", [{"unit_id": "OU-1", "name": "江苏省市场监督管理局"}])
    return edge


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_dashboard_lists_each_application_with_its_stage_and_next_step():
    edge = applicant_edge().answer("intake", "get_applicant", {"name": "江苏省标准化研究院", "credit_code": "X"})
    edge.answer("intake", "my_applications", [{**APPLICATION, "updated_at": "2026-06-01T02:00:01+00:00"}])
    page = text(client(edge).get("/applicant"))
    assert "国家技术标准创新基地（江苏）" in page and "草稿" in page
    assert "填写申报方案各部分" in page
    assert "2026年6月1日 10:00" in page  # Beijing time


def test_an_unregistered_unit_is_asked_to_register_first():
    edge = applicant_edge().answer("intake", "get_applicant", EdgeError("NotFound", "no applicant unit", status=404))
    page = text(client(edge).get("/applicant"))
    assert "登记单位信息" in page and edge.called("intake", "my_applications") == []


def test_a_section_shows_what_the_check_still_asks_beside_the_field():
    page = text(client(applicant_edge()).get(f"/applicant/applications/{APP_ID}/sections/significance"))
    assert "本部分还有 1 项待完善" in page
    assert 'id="f-necessity-pending"' in page and "必要性未填写" in page
    assert "意义……" in page


def test_the_checklist_names_each_item_and_its_pending_declaration():
    page = text(client(applicant_edge()).get(f"/applicant/applications/{APP_ID}/sections/qualifications"))
    assert "第2项：具有提供标准化整体解决方案的丰富经验" in page
    assert "资质证明1.pdf" in page


def test_a_refused_target_value_stays_as_typed_with_the_reason_beside_it():
    edge = applicant_edge().answer("intake", "save_section", EdgeError(
        "InvalidInput", "invalid input", {"fields": {"content": {"indicators": {"0": {
            "target_value": ["A number is required (e.g. 20 or 99.5), not text."]}}}}}, status=422))
    response = client(edge).post(f"/applicant/applications/{APP_ID}/sections/goals", data={
        "csrf_token": CSRF, "goal": "建成高地", "indicators.0.kind": "quantity", "indicators.0.metric": "主导制定国家标准",
        "indicators.0.target_value": "约10项", "indicators.0.unit": "项"})
    page = text(response)
    assert response.status_code == 422
    assert '<a href="#f-indicators-0-target_value">请填写数字' in page
    assert 'value="约10项"' in page and "建成高地" in page
    [saved] = edge.called("intake", "save_section")
    assert saved["content"]["indicators"] == [{"kind": "quantity", "metric": "主导制定国家标准",
                                               "target_value": "约10项", "unit": "项"}]


def test_saving_a_section_sends_its_content_and_goes_on_to_the_next():
    edge = applicant_edge().answer("intake", "save_section", {})
    response = client(edge).post(f"/applicant/applications/{APP_ID}/sections/goals", data={
        "csrf_token": CSRF, "then": "next", "indicators.0.kind": "technical", "indicators.0.metric": "提升",
        "indicators.0.target_value": "15.5", "indicators.0.unit": "%", "indicators.1.kind": "quantity",
        "schedule.start_date": "2027-01-01", "schedule.yearly_nodes.0.description": "搭建平台",
        "schedule.milestones.0.date": "2027-06-30", "schedule.milestones.0.description": "完成规划"})
    assert response.headers["Location"].endswith(f"/sections/safeguards?notice=section_saved")
    [saved] = edge.called("intake", "save_section")
    content = saved["content"]
    assert content["indicators"] == [{"kind": "technical", "metric": "提升", "target_value": 15.5, "unit": "%"}]
    assert content["schedule"]["yearly_nodes"] == [{"year": 1, "description": "搭建平台"}]
    assert content["schedule"]["milestones"] == [{"date": "2027-06-30", "description": "完成规划"}]


def test_a_foreign_application_answers_as_a_missing_one():
    edge = FakeEdge(Account()).answer("intake", "get_application", EdgeError("NotYourApplication", "", status=404))
    foreign = client(edge).get(f"/applicant/applications/{APP_ID}")
    missing = client(edge).get(f"/applicant/applications/{uuid.uuid4()}")
    assert foreign.status_code == missing.status_code == 404
    assert text(foreign) == text(missing)


def test_a_refused_submission_explains_the_window():
    edge = applicant_edge().answer("intake", "submit", EdgeError("SubmissionWindowClosed", "", status=409))
    page = text(client(edge).post(f"/applicant/applications/{APP_ID}/submit", data={"csrf_token": CSRF}))
    assert "5月5日至7月30日" in page and "登记例外" in page


def test_another_party_does_not_see_the_applicant_pages():
    edge = FakeEdge(Account(role="expert"))
    assert client(edge).get("/applicant").status_code == 404


def test_the_dashboard_pages_through_a_long_list():
    edge = applicant_edge().answer("intake", "get_applicant", {"name": "江苏省标准化研究院", "credit_code": "X"})
    edge.answer("intake", "my_applications", lambda stage, limit, offset: [
        {**APPLICATION, "application_id": str(uuid.uuid4()), "name": f"国家技术标准创新基地（{offset + i}）"}
        for i in range(limit)])
    page = text(client(edge).get("/applicant?offset=20"))
    assert '<a href="/applicant?offset=0">上一页</a>' in page
    assert '<a href="/applicant?offset=40">下一页</a>' in page
    assert edge.called("intake", "my_applications")[-1] == {"stage": None, "limit": 21, "offset": 20}


def test_an_experts_opinion_is_refused_beside_each_missing_judgement_and_kept_as_typed():
    review = {"application_id": APP_ID, "number": "CXJD-2026-QY-001"}
    edge = FakeEdge(Account(role="expert", party_id="expert-1", organization="expert-1"))
    edge.answer("expert_review", "get_review", review).answer("intake", "get_application", APPLICATION)
    response = client(edge).post(f"/expert/applications/{APP_ID}/opinion", data={
        "csrf_token": CSRF, "necessity.score": "90", "necessity.text": "必要性充分", "feasibility.score": "很好",
        "recommendation": "pass"})
    page = text(response)
    assert response.status_code == 422
    assert '<a href="#f-feasibility-score">请给出可行性的评分（0–100 的整数）</a>' in page
    assert 'value="很好"' in page and "必要性充分" in page
    assert edge.called("expert_review", "submit_opinion") == []


def test_an_experts_complete_opinion_is_submitted_as_the_four_judgements():
    edge = FakeEdge(Account(role="expert", party_id="expert-1", organization="expert-1"))
    edge.answer("expert_review", "submit_opinion", {})
    form = {"csrf_token": CSRF, "recommendation": "pass_with_revisions", "summary": "建议修改后通过"}
    for name in ("necessity", "feasibility", "goals_and_tasks", "safeguards"):
        form[f"{name}.score"], form[f"{name}.text"] = "80", "意见"
    response = client(edge).post(f"/expert/applications/{APP_ID}/opinion", data=form)
    assert response.status_code == 303
    [sent] = edge.called("expert_review", "submit_opinion")
    assert sent["goals_and_tasks"] == {"score": 80, "text": "意见"}
    assert sent["recommendation"] == "pass_with_revisions"


def test_a_deadline_within_a_week_is_announced_on_the_dashboard():
    edge = applicant_edge().answer("intake", "get_applicant", {"name": "江苏省标准化研究院", "credit_code": "X"})
    edge.answer("intake", "my_applications", [{**APPLICATION, "stage": "supplement_requested",
                                               "next_deadline": "2026-06-05T23:59:59+08:00"}])
    page = text(client(edge).get("/applicant"))  # the test clock reads 2026-06-01
    assert "的截止时间是 2026年6月5日 23:59，请在此之前在截止日期前补充材料并重新提交" in page


def test_the_officer_exports_the_formal_review_list_as_csv():
    edge = FakeEdge(Account(role="officer", organization="SAC")).answer("formal_review", "cases", {
        "items": [{"number": "CXJD-2026-QY-001", "name": "国家技术标准创新基地（江苏）", "applicant_name": "江苏省标准化研究院",
                   "base_type": "regional", "region": "320100", "state": "under_review", "plan_version": 1}],
        "counts": {}})
    response = client(edge).get("/sac/cases.csv")
    body = response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeff编号,创新基地名称")
    assert "CXJD-2026-QY-001,国家技术标准创新基地（江苏）,江苏省标准化研究院,区域（综合）,320100,审查中,1," in body
