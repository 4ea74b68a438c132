"""SAC in the browser, through pages only: the administrator invites an auditor, who accepts by the
mailed link; the administrator reads the account's history and deactivates it with a reason; registers
a unit (refused first beside the field); the round's dashboard, every application and the panel form.
Screenshots and axe on each page."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser import people
from tests.browser.axe import assert_accessible
from tests.browser.conftest import new_page
from tests.browser.people import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_the_sac_administrator_invites_reads_the_history_and_deactivates(page, browser, portal, screenshot):
    admin_email = people.create_admin()
    sign_in(page, admin_email)
    expect(page.get_by_role("heading", name="国家标准委工作台")).to_be_visible()
    screenshot(page, "sac-dashboard")
    assert_accessible(page, "the SAC dashboard")

    page.get_by_role("link", name="账户管理").click()
    expect(page.get_by_role("heading", name="账户管理")).to_be_visible()
    expect(page.locator("main table")).to_contain_text(admin_email)

    # an invitation without the organization: refused beside the field, what was typed kept
    auditor_email = f"shenji-{uuid.uuid4().hex[:6]}@audit.example.cn"
    page.get_by_role("link", name="邀请新账户").click()
    page.get_by_label("电子邮箱").fill(auditor_email)
    page.get_by_label("姓名").fill("孙审计")
    page.get_by_label("角色").select_option(label="审计")
    page.get_by_role("button", name="发送邀请").click()
    expect(page.locator("#f-organization-error")).to_contain_text("请填写所在单位")
    expect(page.get_by_label("姓名")).to_have_value("孙审计")
    screenshot(page, "sac-invite-refused")
    assert_accessible(page, "the invitation form with an error")
    page.get_by_label("所在单位").fill("AUDIT")
    page.get_by_role("button", name="发送邀请").click()
    expect(page.get_by_role("heading", name="邀请已发出")).to_be_visible()

    invitee = new_page(browser, portal)
    try:
        people.accept_invitation(invitee, auditor_email)
    finally:
        invitee.context.close()

    page.goto("/sac/accounts?role=auditor")
    page.get_by_role("link", name=auditor_email).click()
    expect(page.locator("main")).to_contain_text("接受邀请")
    page.get_by_role("button", name="停用账户").click()
    expect(page.locator("#f-reason-error")).to_contain_text("请写明停用的理由")
    page.get_by_label("停用理由").fill("审计任务结束")
    page.get_by_role("button", name="停用账户").click()
    expect(page.locator(".notice").first).to_contain_text("账户已停用")
    expect(page.locator("main table")).to_contain_text("理由：审计任务结束")
    screenshot(page, "sac-account-history")
    assert_accessible(page, "an account's page with its history")

    page.goto("/sac/accounts")
    screenshot(page, "sac-accounts")
    assert_accessible(page, "the accounts list")

    # the register of units: a unit without its number or kind is refused beside the fields
    page.goto("/sac")
    page.get_by_role("link", name="单位登记").click()
    page.get_by_role("link", name="登记单位").click()
    page.get_by_label("单位名称").fill("浙江省市场监督管理局")
    page.get_by_role("button", name="登记单位").click()
    expect(page.locator("#f-unit_id-error")).to_contain_text("请填写单位编号")
    expect(page.get_by_label("单位名称")).to_have_value("浙江省市场监督管理局")
    screenshot(page, "sac-unit-register-refused")
    assert_accessible(page, "the unit registration form with an error")
    page.get_by_label("单位类型").select_option(value="organizing")
    page.get_by_label("单位类别").select_option(label="地方标准化主管部门")
    page.get_by_label("单位编号").fill(f"zj-samr-{uuid.uuid4().hex[:6]}")
    page.get_by_label("所在地区（行政区划代码）").fill("330000")
    page.get_by_role("button", name="登记单位").click()
    expect(page.locator(".notice").first).to_contain_text("单位已登记")
    expect(page.locator("main table")).to_contain_text("浙江省市场监督管理局")
    assert_accessible(page, "the register of units")

    page.goto("/sac/applications")
    expect(page.get_by_role("heading", name="全部申报")).to_be_visible()
    screenshot(page, "sac-applications")
    page.goto("/sac/panels/new")
    expect(page.get_by_role("heading", name="组建专家组")).to_be_visible()
    screenshot(page, "sac-panel-form")
    assert_accessible(page, "the panel form")
