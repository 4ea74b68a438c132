"""The plan's way from the applicant to SAC, through pages only: SAC's administrator (made by ops'
`innobase accounts create-admin`) registers the two units; the applicant fills every section and
submits (the printed plan downloaded); the organizing unit's clerk, invited by SAC, returns it with a
reason; the applicant corrects and resubmits; the clerk checks, stamps and forwards; the recommending
unit's clerk recommends with the two scans and sees the quota used; the SAC officer sees the round's
counts (and their chart), accepts and numbers the case and passes the formal review, finds it by the
applicant's credit code and exports the list, registers five experts, checks and forms the panel and
schedules a site visit; each expert, invited, gives an opinion through the page (one declares a
conflict); the chair records the site visit and concludes; SAC approves; an auditor reads the
application's timeline and verifies every log. On the way the applicant reads the unit's remark
beside the section, the inbox, and the diff."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser import people
from tests.browser.axe import assert_accessible
from shared import clock
from shared.clock import BEIJING
from tests.browser.conftest import new_page
from tests.support.applications import new_credit_code, tiny_pdf

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def admin(browser, portal):
    """SAC's first administrator (made by ops' `innobase accounts create-admin`), signed in in a
    browser of their own for the whole module: they register, invite and form the panel."""
    email = people.create_admin()
    officer = new_page(browser, portal)
    people.sign_in(officer, email)
    yield {"email": email, "page": officer}
    officer.context.close()


@pytest.fixture(scope="module")
def units(admin):
    return people.register_units(admin["page"], uuid.uuid4().hex[:6])


def test_a_plan_is_submitted_returned_corrected_forwarded_and_recommended(page, admin, units, screenshot):
    applicant = people.new_applicant()
    people.register(page, applicant)
    people.open_mail(page, applicant["email"], "/confirm?token=")
    people.sign_in(page, applicant["email"])
    people.register_unit(page, applicant)
    application = people.new_regional_draft(page, units, name="国家技术标准创新基地（南京）")
    people.fill_every_section(page, application)

    page.goto(application)
    expect(page.locator(".notice--success")).to_contain_text("申报方案已填写完整")
    with page.expect_download() as preview:
        page.get_by_role("link", name="下载申报方案 PDF（草稿预览）").click()
    assert open(preview.value.path(), "rb").read(5) == b"%PDF-"
    page.get_by_role("button", name="提交申报方案").click()
    expect(page.locator(".notice").first).to_contain_text("申报方案已提交")
    expect(page.locator(".summary-list")).to_contain_text("已提交")
    expect(page.locator(".summary-list")).to_contain_text("提交回执号")
    with page.expect_download() as printed:
        page.get_by_role("link", name="下载申报方案 PDF").click()
    assert printed.value.suggested_filename.startswith("申报方案-")
    screenshot(page, "application-submitted")
    people.sign_out(page)

    officer = admin["page"]
    clerk = {"email": f"zhang-{uuid.uuid4().hex[:6]}@samr.example.cn"}
    people.invite(officer, clerk["email"], "张伟", "organizing_unit", units["organizing_id"])
    people.accept_invitation(page, clerk["email"])
    people.sign_in(page, clerk["email"])
    expect(page.get_by_role("heading", name="待办申报")).to_be_visible()
    people.reload_until(page, page.get_by_role("link", name="国家技术标准创新基地（南京）").count)
    expect(page.get_by_role("link", name="待审核盖章（1）")).to_be_visible()
    screenshot(page, "organizing-queue")
    assert_accessible(page, "the organizing unit's queue")

    page.get_by_role("link", name="国家技术标准创新基地（南京）").click()
    expect(page.locator("#sec-goals")).to_be_visible()
    screenshot(page, "organizing-application")
    assert_accessible(page, "the application as the organizing unit reads it")
    page.get_by_role("button", name="退回修改").click()
    expect(page.locator(".error-summary")).to_contain_text("请选择需要修改的部分")
    page.get_by_role("checkbox", name="四、目标和任务").check()
    page.get_by_label("退回理由").fill("考核指标的产业化目标偏低，请调整。")
    page.get_by_role("button", name="退回修改").click()
    expect(page.locator(".notice").first).to_contain_text("已退回申报单位修改")
    people.sign_out(page)

    people.sign_in(page, applicant["email"])
    row = page.locator("tr", has=page.get_by_role("link", name="国家技术标准创新基地（南京）"))
    people.reload_until(page, lambda: "已退回修改" in row.inner_text())
    expect(row).to_contain_text("已退回修改")
    page.goto(application)
    expect(page.locator(".remark")).to_contain_text("申报组织单位的修改意见")
    goals_row = page.locator("tr", has=page.get_by_role("link", name="四、目标和任务"))
    expect(goals_row).to_contain_text("考核指标的产业化目标偏低")
    screenshot(page, "applicant-remark")
    assert_accessible(page, "the overview with the organizing unit's remark")
    page.get_by_role("link", name="消息").click()
    people.reload_until(page, page.locator(".inbox-item").count)
    expect(page.locator(".inbox-item").first).to_be_visible()
    screenshot(page, "applicant-inbox")
    assert_accessible(page, "the inbox")
    page.get_by_role("button", name="所选标记为已读").click()
    expect(page.locator(".notice").first).to_contain_text("已标记为已读")
    page.goto(f"{application}/sections/goals")
    expect(page.locator(".remark")).to_contain_text("考核指标的产业化目标偏低")
    page.locator("#f-indicators-2-target_value").fill("5000")
    people.save(page)
    page.goto(application)
    page.get_by_role("button", name="提交申报方案").click()
    expect(page.locator(".notice").first).to_contain_text("申报方案已提交")
    page.get_by_role("link", name="已提交的版本和修改前后对照").click()
    expect(page.locator("table.diff ins").first).to_contain_text("5000")
    expect(page.locator("#diff-goals")).to_contain_text("有修改")
    screenshot(page, "applicant-revisions-diff")
    assert_accessible(page, "the revisions side by side")
    people.sign_out(page)

    people.sign_in(page, clerk["email"])
    link = page.get_by_role("link", name="国家技术标准创新基地（南京）")
    page.goto("/units?state=queued")
    people.reload_until(page, link.count)
    link.first.click()
    expect(page.locator("main")).to_contain_text("5000 万元")
    # the unit's own return stands beside the section it named (endorsement's history: its reason)
    goals = page.locator("section", has=page.locator("#sec-goals"))
    expect(goals.locator(".remark")).to_contain_text("考核指标的产业化目标偏低")
    page.get_by_label("审核意见").fill("经审核，同意推荐。")
    page.get_by_label("负责人").fill("张伟")
    page.get_by_role("button", name="审核盖章并报送推荐单位").click()
    expect(page.locator(".notice").first).to_contain_text("已审核盖章并报送推荐单位")
    people.sign_out(page)

    recommender = {"email": f"li-{uuid.uuid4().hex[:6]}@js.gov.example.cn"}
    people.invite(officer, recommender["email"], "李强", "recommending_unit", units["recommending_id"])
    people.accept_invitation(page, recommender["email"])
    people.sign_in(page, recommender["email"])
    link = page.get_by_role("link", name="国家技术标准创新基地（南京）")
    people.reload_until(page, link.count)
    expect(page.locator(".notice--info")).to_contain_text("已使用 0 个")
    screenshot(page, "recommending-queue")
    assert_accessible(page, "the recommending unit's queue")
    link.first.click()
    with page.expect_download() as letter:
        page.get_by_role("link", name="下载推荐函 PDF").click()
    assert open(letter.value.path(), "rb").read(5) == b"%PDF-"
    page.get_by_role("button", name="推荐", exact=True).click()
    expect(page.locator(".error-summary")).to_contain_text("请上传推荐函扫描件")
    page.locator("#f-stamped_plan").set_input_files(files=[{
        "name": "盖章申报方案.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf("stamped plan")}])
    page.locator("#f-recommendation_letter").set_input_files(files=[{
        "name": "推荐函.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf("letter")}])
    screenshot(page, "recommend-form")
    page.get_by_role("button", name="推荐", exact=True).click()
    expect(page.locator(".notice").first).to_contain_text("已推荐")
    expect(page.locator(".notice--info")).to_contain_text("已使用 1 个")
    page.get_by_role("link", name="查看名额使用情况").click()
    expect(page.locator("main table")).to_contain_text("国家技术标准创新基地（南京）")
    expect(page.locator("main table")).to_contain_text("已占用")
    screenshot(page, "recommending-quota")
    assert_accessible(page, "the quota page")

    people.sign_out(page)

    # SAC: the dashboard's counts, then the case accepted (numbered) and passed
    people.sign_in(page, admin["email"])
    expect(page.get_by_role("heading", name="国家标准委工作台")).to_be_visible()
    received = page.get_by_role("link", name="待受理（1）")
    people.reload_until(page, received.count)
    expect(page.locator("#stage-chart svg")).to_be_visible()  # ECharts drew the counts by stage
    screenshot(page, "sac-dashboard")
    assert_accessible(page, "the SAC dashboard")
    received.click()
    page.get_by_role("link", name="国家技术标准创新基地（南京）").click()
    page.get_by_role("button", name="受理并编号").click()
    expect(page.locator(".notice").first).to_contain_text("已受理")
    expect(page.locator(".caption")).to_contain_text("CXJD-2026-QY-")
    # the organizing unit's return, beside the section it concerned
    goals = page.locator("section", has=page.locator("#sec-goals"))
    expect(goals.locator(".remark")).to_contain_text("考核指标的产业化目标偏低")
    screenshot(page, "sac-formal-review")
    assert_accessible(page, "the formal review case")
    page.get_by_role("button", name="形式审查合格，纳入专家论证").click()
    expect(page.locator(".notice").first).to_contain_text("形式审查合格")

    # SAC finds the application by its applicant's credit code, registers five experts and forms the
    # panel through its pages: checked first, then formed
    page.goto("/sac/applications")
    page.get_by_label("查找").fill(applicant["credit_code"])
    page.get_by_role("button", name="查找", exact=True).click()
    expect(page.locator("#found-count")).to_contain_text("共找到 1 项申报")
    expect(page.locator("main table")).to_contain_text("国家技术标准创新基地（南京）")
    screenshot(page, "sac-applications-search")
    assert_accessible(page, "SAC's search of the applications")
    with page.expect_download() as exported:
        page.get_by_role("link", name="CSV").click()
    exported_text = open(exported.value.path(), encoding="utf-8-sig").read()
    assert "国家技术标准创新基地（南京）" in exported_text and applicant["credit_code"] in exported_text
    experts = people.register_experts(page, screenshot)
    screenshot(page, "sac-expert-register")
    assert_accessible(page, "the expert register")
    people.form_panel(page, "国家技术标准创新基地（南京）", experts, screenshot)

    # a site visit (现场审核) on the review's page: the panel concludes only once its findings are in
    page.get_by_role("link", name="专家论证与批准").first.click()
    page.get_by_role("link", name="国家技术标准创新基地（南京）").click()
    expect(page.locator("main table").first).to_contain_text(experts[0])
    page.get_by_role("button", name="安排现场审核").click()
    expect(page.locator("#f-visit_date-error")).to_contain_text("请填写现场审核日期")
    in_a_week = (clock.now().astimezone(BEIJING) + timedelta(days=7)).date()  # the services' clock
    page.get_by_label("现场审核日期").fill(in_a_week.isoformat())
    page.get_by_label("现场审核地点").fill("江苏省南京市鼓楼区汉中门大街 99 号")
    page.get_by_role("button", name="安排现场审核").click()
    expect(page.locator(".notice").first).to_contain_text("现场审核已安排")
    expect(page.locator("main")).to_contain_text(f"{in_a_week.year}年{in_a_week.month}月{in_a_week.day}日")
    screenshot(page, "sac-review-site-visit")
    assert_accessible(page, "the review page with its panel and site visit")
    people.sign_out(page)

    # an expert of the panel, invited by SAC, gives a sealed opinion and declares a conflict
    expert_email = f"{experts[1]}@experts.example.cn"
    people.invite(officer, expert_email, "王芳", "expert", experts[1], party_id=experts[1])
    people.accept_invitation(page, expert_email)
    people.sign_in(page, expert_email)
    expect(page.get_by_role("heading", name="评审任务")).to_be_visible()
    people.reload_until(page, page.get_by_role("link", name="国家技术标准创新基地（南京）").count)
    page.get_by_role("link", name="国家技术标准创新基地（南京）").click()
    page.locator("#f-necessity-score").fill("88")
    page.locator("#f-necessity-text").fill("区域标准化需求迫切，建设必要。")
    page.get_by_role("button", name="提交评审意见").click()
    expect(page.locator(".error-summary")).to_contain_text("请给出可行性的评分")
    expect(page.locator("#f-necessity-score")).to_have_value("88")
    for name in ("feasibility", "goals_and_tasks", "safeguards"):
        page.locator(f"#f-{name}-score").fill("85")
        page.locator(f"#f-{name}-text").fill("论证充分，目标明确。")
    page.get_by_label("通过", exact=True).check()
    page.get_by_label("综合意见").fill("同意通过论证。")
    screenshot(page, "expert-opinion-form")
    assert_accessible(page, "the expert's opinion form")
    page.get_by_role("button", name="提交评审意见").click()
    expect(page.locator(".notice").first).to_contain_text("评审意见已提交")
    page.get_by_role("link", name="评审任务").first.click()
    expect(page.locator("main table")).to_contain_text("已提交")
    page.get_by_role("link", name="声明利益冲突").click()
    page.get_by_label("单位的统一社会信用代码").fill(new_credit_code())
    page.get_by_role("button", name="声明").click()
    expect(page.locator("#f-reason-error")).to_contain_text("请写明存在利益冲突的原因")
    page.get_by_label("存在利益冲突的原因").fill("本人在该单位兼职。")
    page.get_by_role("button", name="声明").click()
    expect(page.locator(".notice").first).to_contain_text("利益冲突已声明")
    screenshot(page, "expert-conflict")
    assert_accessible(page, "the conflict declaration")
    people.sign_out(page)

    # the other members, each invited, give their opinions through the same page
    for n in (2, 3, 4):
        member_email = f"{experts[n]}@experts.example.cn"
        people.invite(officer, member_email, people.EXPERT_NAMES[n], "expert", experts[n], party_id=experts[n])
        people.accept_invitation(page, member_email)
        people.sign_in(page, member_email)
        people.give_opinion(page, "国家技术标准创新基地（南京）")
        people.sign_out(page)

    # the chair gives an opinion too, then concludes through the page
    chair_email = f"{experts[0]}@experts.example.cn"
    people.invite(officer, chair_email, "张伟", "expert", experts[0], party_id=experts[0])
    people.accept_invitation(page, chair_email)
    people.sign_in(page, chair_email)
    people.give_opinion(page, "国家技术标准创新基地（南京）")
    expect(page.get_by_role("heading", name="专家组论证结论（组长）")).to_be_visible()
    page.get_by_label("现场审核情况").fill("实地察看了实验室和标准化工作平台，条件符合申报方案所述。")
    page.get_by_role("button", name="记录现场审核情况").click()
    expect(page.locator(".notice").first).to_contain_text("现场审核情况已记录")
    expect(page.locator("main")).to_contain_text("条件符合申报方案所述")
    page.get_by_role("button", name="提交论证结论").click()
    expect(page.locator(".error-summary")).to_contain_text("请选择论证结论")
    page.get_by_label("通过", exact=True).check()
    page.get_by_label("专家组论证意见").fill("经论证，专家组一致同意通过。")
    screenshot(page, "expert-chair-conclusion")
    assert_accessible(page, "the chair's conclusion form")
    page.get_by_role("button", name="提交论证结论").click()
    expect(page.locator(".notice").first).to_contain_text("论证结论已提交")
    people.sign_out(page)

    # SAC approves construction
    people.sign_in(page, admin["email"])
    page.get_by_role("link", name="专家论证与批准").first.click()
    page.get_by_role("link", name="国家技术标准创新基地（南京）").click()
    expect(page.get_by_role("heading", name="批准筹建")).to_be_visible()
    page.get_by_label("批准理由").fill("专家组论证通过，同意筹建。")
    screenshot(page, "sac-approval")
    assert_accessible(page, "the approval page")
    page.get_by_role("button", name="批准筹建").click()
    expect(page.locator(".notice").first).to_contain_text("已批准筹建")
    expect(page.locator(".summary-list").first).to_contain_text("已批准筹建")
    people.sign_out(page)

    # an auditor, invited by SAC: the application's timeline across the services, and every log verified
    auditor = f"shen-{uuid.uuid4().hex[:6]}@audit.example.cn"
    people.invite(officer, auditor, "沈审计", "auditor", "SAC-AUDIT")
    people.accept_invitation(page, auditor)
    people.sign_in(page, auditor)
    page.get_by_role("link", name="国家技术标准创新基地（南京）").click()
    timeline = page.locator(".timeline")
    expect(page.locator("main")).to_contain_text("显示第 1–50 条")  # 50 a page: the way on is 下一页
    screenshot(page, "auditor-timeline")
    assert_accessible(page, "the auditor's timeline")
    seen = timeline.inner_text()
    while "Accepted" not in seen and page.get_by_role("link", name="下一页").count():
        page.get_by_role("link", name="下一页").click()
        seen += timeline.inner_text()
    for service in ("intake", "endorsement", "formal_review", "expert_review"):
        assert service in seen
    assert "Accepted" in seen
    with page.expect_download() as exported:
        page.get_by_role("link", name="导出时间线（CSV）").click()
    exported_text = open(exported.value.path(), encoding="utf-8-sig").read()
    assert "Accepted" in exported_text and "formal_review" in exported_text
    # the state at an instant: before anything happened, nothing; now (the box's default), approved
    page.get_by_role("link", name="查看某一时刻的状态").click()
    page.get_by_label("时刻（北京时间）").fill("2020-01-01T09:00")
    page.get_by_role("button", name="查看该时刻的状态").click()
    expect(page.locator("main")).to_contain_text("该时刻之前还没有这份申报的事件")
    now = clock.now().astimezone(BEIJING) + timedelta(minutes=1)
    page.get_by_label("时刻（北京时间）").fill(now.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="查看该时刻的状态").click()
    intake_state = page.locator("section.state-of-service", has=page.get_by_role("heading", name="intake", exact=True))
    expect(intake_state).to_contain_text("approved")
    screenshot(page, "auditor-state-at")
    assert_accessible(page, "the state at an instant")
    page.goto("/audit")
    page.get_by_role("button", name="校验全部日志").click()
    expect(page.locator("main table").first).to_contain_text("完好")
    expect(page.locator("main table").first).not_to_contain_text("异常")
    screenshot(page, "auditor-verify")
