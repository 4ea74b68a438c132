"""What the people of the browser tests do through the portal's pages: register and confirm by the
captured e-mail, accept an invitation, sign in, fill the plan's sections; SAC invites, registers units
and experts and forms a panel; experts give opinions. Only the first administrator is made otherwise:
by `innobase accounts create-admin`, as ops make it."""
from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.support.applications import new_credit_code, tiny_pdf, tiny_png

PASSWORD = "biaozhun-2026-chuangxin"


def new_applicant() -> dict:
    return {"email": f"liming-{uuid.uuid4().hex[:6]}@example.cn", "credit_code": new_credit_code(),
            "unit_name": "江苏省标准化研究院", "contact_name": "李明"}


def reload_until(page, seen, seconds: float = 90) -> None:
    """Reload the page, as a person presses F5, until `seen()` (what another service sends through
    the broker arrives in its own time); the caller's `expect` then says what was missing."""
    for _ in range(int(seconds * 2)):
        if seen():
            return
        page.wait_for_timeout(500)
        page.reload()


def open_mail(page, to: str, link_part: str):
    """The newest mail to `to` in the development mail box that carries a link containing `link_part`,
    opened as a person opens it; the link followed."""
    def find() -> bool:
        page.goto(f"/dev/mail?to={to}")
        for href in [a.get_attribute("href") for a in page.locator("main table a").all()]:
            page.goto(href)
            if page.locator(f".mail-body a[href*='{link_part}']").count():
                return True
        return False

    for _ in range(60):
        if find():
            break
        page.wait_for_timeout(500)
    expect(page.locator(".mail-body")).to_contain_text(link_part)
    page.locator(f".mail-body a[href*='{link_part}']").first.click()


def register(page, person: dict, password: str = PASSWORD) -> None:
    page.goto("/register")
    page.get_by_label("统一社会信用代码").fill(person["credit_code"])
    page.get_by_label("单位名称").fill(person["unit_name"])
    page.get_by_label("联系人姓名").fill(person["contact_name"])
    page.get_by_label("电子邮箱").fill(person["email"])
    page.get_by_label("设置密码").fill(password)
    page.get_by_label("再次输入密码").fill(password)
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_role("heading", name="请确认您的电子邮箱")).to_be_visible()


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(password)
    # the answer (a home page, or the form again) waits for the password's hash: slow on a busy machine
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name="登录").click()


def sign_out(page) -> None:
    page.get_by_role("button", name="退出").click()
    expect(page.locator(".notice").first).to_contain_text("您已退出")


def register_unit(page, person: dict) -> None:
    """The applicant unit's registration with intake (登记单位信息), from the dashboard."""
    page.goto("/applicant/unit")
    page.get_by_label("单位名称").fill(person["unit_name"])
    page.get_by_label("单位类别").select_option(label="标准化研究机构")
    page.get_by_label("所在地区（行政区划代码）").fill("320100")
    page.locator("#f-head-name").fill("王建国")
    page.locator("#f-head-title").fill("院长")
    page.locator("#f-contact-title").fill("主任")
    page.locator("#f-contact-phone").fill("025-83301234")
    page.locator("#f-contact-email").fill(person["email"])
    page.get_by_label("邮政编码").fill("210029")
    page.get_by_label("通讯地址").fill("江苏省南京市鼓楼区汉中门大街 99 号")
    page.get_by_role("button", name="登记").click()
    expect(page.locator(".notice").first).to_contain_text("单位信息已登记")


def new_regional_draft(page, units: dict, name: str = "国家技术标准创新基地（江苏）") -> str:
    """A regional draft through the pages; its address."""
    page.goto("/applicant/new")
    page.get_by_label(re.compile("^ 区域（综合）")).check()
    page.get_by_role("button", name="继续").click()
    page.get_by_label("创新基地名称").fill(name)
    page.get_by_label("申报组织单位").select_option(label=units["organizing"])
    page.get_by_label("推荐单位").select_option(label=units["recommending"])
    page.get_by_label("创新基地所在地区（行政区划代码）").fill("320100")
    page.get_by_role("button", name="创建申报草稿").click()
    expect(page.locator(".notice").first).to_contain_text("申报草稿已创建")
    return page.url.split("?")[0]


def save(page, then: str = "保存") -> None:
    page.get_by_role("button", name=then, exact=True).click()
    expect(page.locator(".error-summary")).to_have_count(0)


def upload(page, name: str, content: bytes, mime: str) -> None:
    page.locator("#f-file").set_input_files(files=[{"name": name, "mimeType": mime, "buffer": content}])
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".notice--success").first).to_contain_text("附件已上传")


def fill_every_section(page, application: str) -> None:
    """Sections 二 to 七 with valid content, through the plan editor (一 is pre-filled from the unit)."""
    page.goto(f"{application}/sections/significance")
    page.get_by_label("（一）意义").fill("创新基地将促进创新成果转化为技术标准，助推创新技术和产品市场化、产业化和国际化。")
    page.get_by_label("（二）必要性").fill("区域产业转型升级对技术标准的需求紧迫，与国家重大区域发展战略高度契合。")
    save(page, "保存并继续")
    page.get_by_label("（一）工作基础").fill("承担国家级标准化试点示范项目十余项，主导制定国家标准二十余项。")
    page.get_by_label("（二）资质条件").fill("具备独立法人资格，设有专门标准化研究部门和专职人员。")
    page.get_by_label("（三）优势分析").fill("地处长江经济带，产业集聚，政产学研协作基础广泛。")
    save(page, "保存并继续")

    expect(page.get_by_role("heading", name="三（二）、资质条件逐项声明")).to_be_visible()
    upload(page, "资质证明材料.pdf", tiny_pdf(f"qualifications {uuid.uuid4()}"), "application/pdf")
    for index in range(5):  # the sixth item, "other conditions", may stay empty
        page.locator(f"input[name='items.{index}.declared'][value='yes']").check()
        page.locator(f"#f-items-{index}-statement").fill(f"满足资质条件第{index + 1}项，详见证明材料。")
        page.locator(f"input[name='items.{index}.evidence']").first.check()
    save(page, "保存并继续")

    expect(page.get_by_role("heading", name="四、目标和任务")).to_be_visible()
    page.get_by_label("（一）建设目标").fill("建成服务区域经济社会发展的技术标准创新高地。")
    page.locator("#f-key_tasks-0-title").fill("标准研制")
    page.locator("#f-key_tasks-0-content").fill("围绕重点产业开展关键技术标准研制，形成标准体系。")
    for index, (kind, metric, value, unit) in enumerate([("quantity", "主导制定国家标准", "10", "项"),
                                                          ("technical", "关键技术指标提升", "15.5", "%"),
                                                          ("industrialization", "成果产业化经济效益", "2000", "万元")]):
        page.locator(f"#f-indicators-{index}-kind").select_option(kind)
        page.locator(f"#f-indicators-{index}-metric").fill(metric)
        page.locator(f"#f-indicators-{index}-target_value").fill(value)
        page.locator(f"#f-indicators-{index}-unit").fill(unit)
    page.locator("#f-schedule-start_date").fill("2027-01-01")
    page.locator("#f-schedule-yearly_nodes-0-description").fill("搭建平台，启动首批标准研制。")
    page.locator("#f-schedule-yearly_nodes-1-description").fill("完成标准发布和推广应用。")
    page.locator("#f-schedule-milestones-0-date").fill("2027-06-30")
    page.locator("#f-schedule-milestones-0-description").fill("完成标准体系规划")
    page.locator("#f-schedule-milestones-1-date").fill("2028-12-31")
    page.locator("#f-schedule-milestones-1-description").fill("通过建设期验收")
    page.locator("#f-schedule-mid_term_goal").fill("建设期满一年时完成五项国家标准立项。")
    save(page, "保存并继续")

    expect(page.get_by_role("heading", name="五、保障措施")).to_be_visible()
    page.get_by_label("（一）组织机制").fill("成立创新基地理事会，实行理事会领导下的主任负责制。")
    page.get_by_label("（二）政策支持").fill("省政府将创新基地建设纳入年度重点工作并给予政策支持。")
    page.get_by_label("（三）资金和人才保障").fill("省财政每年安排专项资金，申报单位配套投入并引进高层次人才。")
    save(page, "保存并继续")

    expect(page.get_by_role("heading", name="六、附件")).to_be_visible()
    upload(page, "实验室照片.png", tiny_png(uuid.uuid4().int % 65536), "image/png")
    page.locator("input[name$='.cited']").first.check()
    save(page, "保存并继续")

    expect(page.get_by_role("heading", name="七、申报单位意见")).to_be_visible()
    page.get_by_label("申报单位意见").fill("同意申报，保证所填内容真实有效。")
    page.get_by_label("负责人").fill("王建国")
    page.get_by_label("日期").fill("2026-05-20")
    save(page, "保存并继续")


def create_admin() -> str:
    """SAC's first administrator, made as ops make it: `innobase accounts create-admin`, its prompts
    answered (the one step before anyone can sign in; there is no page for it by design). Its e-mail."""
    from innobase.cli.accounts import create_admin as command

    email = f"admin-{uuid.uuid4().hex[:6]}@sac.example.cn"
    answers = iter([email, "国家标准委管理员"])
    assert command(None, ask=lambda prompt: next(answers), ask_secret=lambda prompt: PASSWORD) == 0
    return email


def invite(admin_page, email: str, name: str, role: str, organization: str, party_id: str | None = None) -> None:
    """The signed-in SAC administrator invites someone on /sac/accounts/invite."""
    admin_page.goto("/sac/accounts/invite")
    admin_page.get_by_label("电子邮箱").fill(email)
    admin_page.get_by_label("姓名").fill(name)
    admin_page.get_by_label("角色").select_option(value=role)
    admin_page.get_by_label("所在单位").fill(organization)
    if party_id:
        admin_page.get_by_label("专家编号（仅邀请专家时填写）").fill(party_id)
    admin_page.get_by_role("button", name="发送邀请").click()
    expect(admin_page.get_by_role("heading", name="邀请已发出")).to_be_visible()


def register_units(officer_page, suffix: str) -> dict:
    """The signed-in officer registers a regional pair of units on /sac/units/new; their ids and names."""
    units = {"organizing_id": f"js-samr-{suffix}", "recommending_id": f"js-gov-{suffix}",
             "organizing": "江苏省市场监督管理局", "recommending": "江苏省人民政府"}
    for role, kind, unit_id, name in (
            ("organizing", "地方标准化主管部门", units["organizing_id"], units["organizing"]),
            ("recommending", "地方政府", units["recommending_id"], units["recommending"])):
        officer_page.goto("/sac/units/new")
        officer_page.get_by_label("单位类型").select_option(value=role)
        officer_page.get_by_label("单位类别").select_option(label=kind)
        officer_page.get_by_label("单位编号").fill(unit_id)
        officer_page.get_by_label("单位名称").fill(name)
        officer_page.get_by_label("所在地区（行政区划代码）").fill("320000")
        officer_page.get_by_role("button", name="登记单位").click()
        expect(officer_page.locator(".notice").first).to_contain_text("单位已登记")
    return units


def accept_invitation(page, email: str, password: str = PASSWORD) -> None:
    open_mail(page, email, "/invitation?token=")
    expect(page.get_by_role("heading", name="接受邀请，设置密码")).to_be_visible()
    page.get_by_label("新密码", exact=True).fill(password)
    page.get_by_label("再次输入新密码").fill(password)
    page.get_by_role("button", name="启用账户").click()
    expect(page.locator(".notice").first).to_contain_text("账户已启用")



EXPERT_NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静"]


def register_experts(officer_page, screenshot=None) -> list[str]:
    """Five experts put in SAC's register by the signed-in officer on /sac/experts/new; their ids."""
    suffix = uuid.uuid4().hex[:6]
    experts = [f"expert-{suffix}-{n}" for n in range(1, 6)]
    for n, expert_id in enumerate(experts):
        officer_page.goto("/sac/experts/new")
        officer_page.locator("#f-expert_id").fill(expert_id)
        officer_page.locator("#f-name").fill(EXPERT_NAMES[n])
        officer_page.locator("#f-organization").fill(new_credit_code("110000", "1", "2"))
        officer_page.locator("#f-organization_name").fill(f"标准化研究机构{n + 1}")
        officer_page.locator("#f-region").fill("110000")
        officer_page.locator("#f-fields").fill("EI.01")
        officer_page.locator("#f-email").fill(f"{expert_id}@experts.example.cn")
        if n == 0 and screenshot:
            screenshot(officer_page, "sac-expert-register-form")
        officer_page.get_by_role("button", name="登记专家").click()
        expect(officer_page.locator(".notice").first).to_contain_text("专家已登记")
    expect(officer_page.locator("main table")).to_contain_text(experts[-1])
    return experts


def form_panel(page, application_name: str, experts: list[str], screenshot=None) -> None:
    """The signed-in officer forms the panel on /sac/panels/new: checked first, the first expert chairing.
    The application shows there once formal review's pass has reached expert review (reloaded till then)."""
    page.goto("/sac/panels/new")
    reload_until(page, page.get_by_role("checkbox", name=re.compile(re.escape(application_name))).count)
    page.get_by_role("checkbox", name=re.compile(re.escape(application_name))).check()
    for expert_id in experts:
        page.get_by_role("checkbox", name=re.compile(re.escape(expert_id))).check()
    page.get_by_label("组长").select_option(value=experts[0])
    page.get_by_label("论证会地点").fill("北京市海淀区马甸东路9号")
    page.get_by_role("button", name="检查回避").click()
    expect(page.locator(".notice--success")).to_contain_text("可以组建")
    expect(page.locator("main")).to_contain_text("参加论证（5 人）")
    if screenshot:
        screenshot(page, "sac-panel-checked")
    page.get_by_role("button", name="组建专家组").click()
    expect(page.get_by_role("heading", name="专家组已组建")).to_be_visible()


def give_opinion(page, application_name: str, score: str = "86") -> None:
    """The signed-in expert opens the application from the assignments and submits a sealed opinion."""
    page.goto("/expert")
    reload_until(page, page.get_by_role("link", name=application_name).count)
    page.get_by_role("link", name=application_name).click()
    for name in ("necessity", "feasibility", "goals_and_tasks", "safeguards"):
        page.locator(f"#f-{name}-score").fill(score)
        page.locator(f"#f-{name}-text").fill("论证充分，目标明确。")
    page.locator("input[name='recommendation'][value='pass']").check()  # the chair's page has a 通过 more
    page.get_by_label("综合意见").fill("同意通过论证。")
    page.get_by_role("button", name="提交评审意见").click()
    expect(page.locator(".notice").first).to_contain_text("评审意见已提交")
