"""The account pages as a person meets them: forms that keep what was typed, errors beside the fields,
no redirect off the site, CSRF on every form, and the development mail box only in development."""
import re

import pytest

from tests.support.portal import CSRF, Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def development(monkeypatch, tmp_path):
    from services.gateway.portal import settings

    monkeypatch.setattr(settings, "_settings", settings.load({"INNOBASE_DEV": "1",
                                                              "INNOBASE_DEV_MAILBOX_DIR": str(tmp_path)}))


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_sign_in_page_is_in_chinese_with_a_csrf_field_and_labels():
    page = text(client(FakeEdge()).get("/sign-in"))
    assert '<html lang="zh-CN">' in page
    assert "国家技术标准创新基地申报管理系统" in page
    assert f'name="csrf_token" value="{CSRF}"' in page
    assert '<label for="f-email">电子邮箱</label>' in page


def test_signing_in_goes_to_the_next_local_page_and_sets_the_session_cookie():
    edge = FakeEdge()
    response = client(edge).post("/sign-in", data={"email": "a@example.cn", "password": "pw",
                                                  "next": "/applicant/x", "csrf_token": CSRF})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/applicant/x")
    assert "innobase_session=session-1" in response.headers["Set-Cookie"]


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_sign_in_never_redirects_off_the_site(target):
    response = client(FakeEdge()).post("/sign-in", data={"email": "a@example.cn", "password": "pw",
                                                        "next": target, "csrf_token": CSRF})
    assert response.headers["Location"].endswith("/applicant")


def test_a_refused_sign_in_keeps_the_email_and_says_why():
    edge = FakeEdge().answer("accounts", "sign_in", EdgeError("AuthenticationFailed", "邮箱或密码不正确", status=401))
    response = client(edge).post("/sign-in", data={"email": "a@example.cn", "password": "x", "csrf_token": CSRF})
    page = text(response)
    assert response.status_code == 401
    assert 'value="a@example.cn"' in page
    assert "有问题需要处理" in page


def test_a_form_without_its_csrf_token_changes_nothing():
    edge = FakeEdge()
    response = client(edge).post("/register", data={"credit_code": "X", "password": "p", "password_confirmation": "p"})
    assert response.status_code == 403
    assert edge.calls == []


def test_registration_errors_stand_beside_their_fields_and_typed_values_stay():
    edge = FakeEdge().answer("accounts", "register", EdgeError(
        "InvalidInput", "填写内容有误", {"fields": {"credit_code": ["统一社会信用代码校验位不正确"]}}, status=422))
    response = client(edge).post("/register", data={
        "credit_code": "91320100ma1xxxxx0y", "unit_name": "江苏省标准化研究院", "contact_name": "王芳",
        "email": "wang@example.cn", "password": "a-long-password", "password_confirmation": "a-long-password",
        "csrf_token": CSRF})
    page = text(response)
    assert response.status_code == 422
    assert '<a href="#f-credit_code">统一社会信用代码校验位不正确</a>' in page
    assert re.search(r'id="f-credit_code-error".*统一社会信用代码校验位不正确', page)
    assert 'value="江苏省标准化研究院"' in page and 'value="91320100MA1XXXXX0Y"' in page
    assert "a-long-password" not in page


def test_two_different_passwords_are_refused_before_asking_accounts():
    edge = FakeEdge()
    page = text(client(edge).post("/register", data={"password": "one-password-1", "password_confirmation": "other",
                                                     "csrf_token": CSRF}))
    assert "两次输入的密码不一致" in page
    assert edge.called("accounts", "register") == []


def test_a_registration_accepted_asks_to_confirm_the_email():
    edge = FakeEdge().answer("accounts", "register", {"account_id": "a"})
    page = text(client(edge).post("/register", data={
        "credit_code": "91320100MA1XXXXX0X", "unit_name": "单位", "contact_name": "王芳", "email": "wang@example.cn",
        "password": "a-long-password", "password_confirmation": "a-long-password", "csrf_token": CSRF}))
    assert "请确认您的电子邮箱" in page and "wang@example.cn" in page
    assert edge.called("accounts", "register")[0]["unit_name"] == "单位"


def test_the_confirmation_link_confirms_and_leads_to_sign_in():
    edge = FakeEdge().answer("accounts", "confirm_email", {})
    response = client(edge).get("/confirm?token=tok")
    assert response.status_code == 303 and "notice=email_confirmed" in response.headers["Location"]
    assert edge.called("accounts", "confirm_email") == [{"token": "tok"}]
    page = text(client(edge).get("/sign-in?notice=email_confirmed"))
    assert "邮箱已确认，请登录。" in page


def test_a_page_behind_sign_in_sends_to_sign_in_with_next():
    response = client(FakeEdge()).get("/home")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/sign-in?next=/home")


def test_signing_out_ends_the_session():
    edge = FakeEdge(Account())
    response = client(edge).post("/sign-out", data={"csrf_token": CSRF})
    assert edge.signed_out and "notice=signed_out" in response.headers["Location"]


def test_the_invitation_sets_the_password():
    edge = FakeEdge().answer("accounts", "accept_invitation", {})
    response = client(edge).post("/invitation", data={"token": "inv", "password": "a-long-password",
                                                      "password_confirmation": "a-long-password", "csrf_token": CSRF})
    assert response.status_code == 303
    assert edge.called("accounts", "accept_invitation") == [{"token": "inv", "password": "a-long-password"}]


def test_the_development_mail_box_shows_a_mail_with_its_link(tmp_path):
    (tmp_path / "20260601T020000000000-0123abcd.eml").write_bytes(
        "Subject: =?utf-8?b?6K+356Gu6K6k6YKu566x?=\nTo: wang@example.cn\nFrom: noreply@innobase.local\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        "请打开 http://127.0.0.1:8080/confirm?token=abc 完成确认。\n".encode())
    listing = text(client(FakeEdge()).get("/dev/mail"))
    assert "请确认邮箱" in listing
    one = text(client(FakeEdge()).get("/dev/mail/20260601T020000000000-0123abcd"))
    assert '<a href="http://127.0.0.1:8080/confirm?token=abc">' in one


def test_the_development_mail_box_is_not_there_in_production(monkeypatch):
    from services.gateway.portal import settings

    monkeypatch.setattr(settings, "_settings", settings.load({}))
    assert client(FakeEdge()).get("/dev/mail").status_code == 404


def test_the_portal_serves_its_css_and_htmx_itself():
    edge = FakeEdge()
    css = client(edge).get("/static/portal.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert client(edge).get("/static/../pages.py").status_code == 404
    htmx = client(edge).get("/static/vendor/htmx.min.js")
    assert htmx.status_code == 200 and b"htmx" in htmx.get_data()
    assert client(edge).get("/static/vendor/other.js").status_code == 404
