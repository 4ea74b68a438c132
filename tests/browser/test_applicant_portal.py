"""An applicant unit does its part in the browser, through pages only: registers an account,
confirms it by the e-mail the development mail box caught, signs in, registers the unit, drafts an
application, fills a section and sees the completeness check change. Every main page is
screenshotted and checked with axe."""
from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser import people
from tests.browser.people import PASSWORD, new_applicant, reload_until, sign_in
from tests.browser.conftest import new_page

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def units(browser, portal):
    """The register of units, kept by SAC: its administrator registers the two on /sac/units/new."""
    officer = new_page(browser, portal)
    try:
        people.sign_in(officer, people.create_admin())
        return people.register_units(officer, uuid.uuid4().hex[:6])
    finally:
        officer.context.close()


@pytest.fixture(scope="module")
def applicant():
    return new_applicant()


def register_and_confirm(page, applicant, screenshot):
    page.goto("/register")
    expect(page.get_by_role("heading", name="注册账户", exact=True)).to_be_visible()
    # a first try with passwords that differ: refused beside the field, what was typed kept
    page.get_by_label("统一社会信用代码").fill(applicant["credit_code"])
    page.get_by_label("单位名称").fill(applicant["unit_name"])
    page.get_by_label("联系人姓名").fill(applicant["contact_name"])
    page.get_by_label("电子邮箱").fill(applicant["email"])
    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD + "x")
    page.get_by_role("button", name="注册").click()
    expect(page.locator(".error-summary")).to_contain_text("两次输入的密码不一致")
    expect(page.get_by_label("单位名称")).to_have_value(applicant["unit_name"])
    screenshot(page, "register-refused")
    assert_accessible(page, "the registration form with an error")

    page.get_by_label("设置密码").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_role("heading", name="请确认您的电子邮箱")).to_be_visible()
    expect(page.locator("main")).to_contain_text(applicant["email"])

    # the confirmation e-mail, as a person trying the system reads it: in the development mail box
    page.get_by_role("link", name="开发邮箱").last.click()
    mails = page.locator("main table a")
    reload_until(page, mails.count)
    screenshot(page, "dev-mailbox")
    mails.first.click()
    expect(page.locator(".mail-body")).to_contain_text("confirm?token=")
    screenshot(page, "confirmation-mail")
    page.locator(".mail-body a[href*='/confirm?token=']").first.click()
    expect(page.locator(".notice").first).to_contain_text("邮箱已确认")




def test_an_applicant_registers_confirms_signs_in_drafts_and_fills_a_section(page, units, applicant, screenshot):
    register_and_confirm(page, applicant, screenshot)

    # a wrong password first: refused, the e-mail kept
    sign_in(page, applicant["email"], "not-the-password-1")
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.get_by_label("电子邮箱")).to_have_value(applicant["email"])
    screenshot(page, "sign-in-refused")
    assert_accessible(page, "the sign-in page with an error")

    sign_in(page, applicant["email"])
    expect(page.get_by_role("heading", name="我的申报")).to_be_visible()
    expect(page.locator(".account-nav")).to_contain_text("退出")

    if page.get_by_role("link", name="登记单位信息").count():
        page.get_by_role("link", name="登记单位信息").click()
        page.get_by_label("单位名称").fill(applicant["unit_name"])
        page.get_by_label("单位类别").select_option(label="标准化研究机构")
        page.get_by_label("所在地区（行政区划代码）").fill("320100")
        page.locator("#f-head-name").fill("王建国")
        page.locator("#f-head-title").fill("院长")
        expect(page.locator("#f-contact-name")).to_have_value(applicant["contact_name"])
        page.locator("#f-contact-title").fill("主任")
        page.locator("#f-contact-phone").fill("025-83301234")
        page.locator("#f-contact-email").fill(applicant["email"])
        page.get_by_label("邮政编码").fill("210029")
        page.get_by_label("通讯地址").fill("江苏省南京市鼓楼区汉中门大街 99 号")
        screenshot(page, "applicant-unit-form")
        assert_accessible(page, "the unit's registration form")
        page.get_by_role("button", name="登记").click()
        expect(page.locator(".notice").first).to_contain_text("单位信息已登记")

    screenshot(page, "applicant-dashboard-empty")
    assert_accessible(page, "the applicant's dashboard")

    page.get_by_role("link", name="新建申报").click()
    page.get_by_label(re.compile("^ 区域（综合）")).check()
    page.get_by_role("button", name="继续").click()
    page.get_by_label("创新基地名称").fill("国家技术标准创新基地（江苏）")
    page.get_by_label("申报组织单位").select_option(label=units["organizing"])
    page.get_by_label("推荐单位").select_option(label=units["recommending"])
    page.get_by_label("创新基地所在地区（行政区划代码）").fill("320100")
    screenshot(page, "new-draft")
    assert_accessible(page, "the new draft form")
    page.get_by_role("button", name="创建申报草稿").click()

    expect(page.locator(".notice").first).to_contain_text("申报草稿已创建")
    expect(page.get_by_role("heading", name="国家技术标准创新基地（江苏）")).to_be_visible()
    significance_row = page.locator("tr", has=page.get_by_role("link", name="二、意义和必要性"))
    expect(significance_row).to_contain_text("待完善 2 项")
    screenshot(page, "application-overview")
    assert_accessible(page, "the application's overview")

    page.get_by_role("link", name="二、意义和必要性").click()
    expect(page.locator("#f-necessity-pending")).to_contain_text("必要性未填写")
    screenshot(page, "plan-editor-significance")
    assert_accessible(page, "the plan editor")
    page.get_by_label("（一）意义").fill("创新基地将促进创新成果转化为技术标准，助推创新技术和产品市场化、产业化和国际化。")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".notice--success").first).to_contain_text("已保存")
    expect(page.locator("#f-necessity-pending")).to_contain_text("必要性未填写")
    expect(page.locator("#f-significance-pending")).to_have_count(0)

    page.get_by_label("（二）必要性").fill("区域产业转型升级对技术标准的需求紧迫，与国家重大区域发展战略高度契合。")
    page.get_by_role("button", name="保存并继续").click()
    expect(page.get_by_role("heading", name="三、可行性")).to_be_visible()
    nav = page.locator(".section-nav")
    expect(nav.locator("li", has_text="二、意义和必要性")).to_contain_text("已完成")

    # the goals: a target value typed as text is refused beside the field and kept as typed
    page.goto(page.url.replace("/feasibility", "/goals"))
    page.get_by_label("指标类别").first.select_option("quantity")
    page.get_by_label("指标名称").first.fill("主导制定国家标准")
    page.get_by_label("目标值").first.fill("约10项")
    page.get_by_label("单位", exact=True).first.fill("项")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".error-summary")).to_contain_text("请填写数字")
    expect(page.locator("#f-indicators-0-target_value")).to_have_value("约10项")
    screenshot(page, "plan-editor-goals-refused")
    assert_accessible(page, "the goals section with an error")

    # the dashboard shows the draft with its stage and next step
    page.get_by_role("link", name="我的申报").first.click()
    row = page.locator("tr", has=page.get_by_role("link", name="国家技术标准创新基地（江苏）"))
    expect(row).to_contain_text("草稿")
    expect(row).to_contain_text("填写申报方案各部分")
    screenshot(page, "applicant-dashboard")

    # on a phone-width screen the same page reads top to bottom
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "applicant-dashboard-phone")
    assert_accessible(page, "the dashboard at phone width")

    page.get_by_role("button", name="退出").click()
    expect(page.locator(".notice").first).to_contain_text("您已退出")
    page.goto("/applicant")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/applicant$"))


def test_a_form_sent_without_its_csrf_token_changes_nothing(page, applicant):
    """The signed-in applicant's browser, led by another site, posts a section without the form's token
    (a forged request, so made with the browser's own request API: no page of ours would send it)."""
    sign_in(page, applicant["email"])
    page.get_by_role("link", name="国家技术标准创新基地（江苏）").first.click()
    section = page.url.split("?")[0] + "/sections/significance"
    response = page.request.post(section, form={"significance": "被篡改的内容", "necessity": "被篡改的内容"},
                                 headers={"Origin": "http://evil.example"}, max_redirects=0)
    assert response.status == 403
    assert "表单已失效" in response.text()
    page.goto(section)
    expect(page.get_by_label("（一）意义")).to_contain_text("创新基地将促进创新成果转化为技术标准")
    expect(page.get_by_label("（一）意义")).not_to_contain_text("被篡改")


def test_another_applicants_application_answers_exactly_as_a_missing_one(page, applicant):
    """A second applicant unit, signed in, opens the first one's application by its address."""
    sign_in(page, applicant["email"])
    page.get_by_role("link", name="国家技术标准创新基地（江苏）").first.click()
    foreign = page.url.split("?")[0]
    page.get_by_role("button", name="退出").click()

    other = new_applicant()
    people.register(page, other)
    people.open_mail(page, other["email"], "/confirm?token=")
    sign_in(page, other["email"])
    # the addresses typed into the browser, as a curious person would
    answered_foreign = page.goto(foreign)
    foreign_status, foreign_html, seen_foreign = answered_foreign.status, answered_foreign.text(), \
        page.locator("main").inner_text()
    answered_missing = page.goto(re.sub(r"[0-9a-f-]{36}$", str(uuid.uuid4()), foreign))
    assert foreign_status == answered_missing.status == 404
    assert seen_foreign == page.locator("main").inner_text()
    assert foreign_html == answered_missing.text()
    assert "国家技术标准创新基地（江苏）" not in foreign_html
    assert page.goto(foreign + "/sections/significance").status == 404
    assert page.goto(foreign + "/plan.pdf").status == 404  # an HTML page, not the other unit's PDF
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()


def test_another_partys_page_answers_as_missing(page, applicant):
    sign_in(page, applicant["email"])
    other_party = page.goto("/units")
    assert other_party.status == 404
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
