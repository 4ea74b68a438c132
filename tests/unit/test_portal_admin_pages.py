"""SAC administrators' pages on a fake edge: accounts listed by `next_cursor`, invitations with the
expert's party id, deactivation with a reason, roles, the history; hidden from other officers."""
import uuid

import pytest

from tests.support.portal import CSRF, Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit
ADMIN = Account(account_id=str(uuid.uuid4()), role="officer", organization="SAC", party_id="sac-admin", admin=True,
                name="国家标准委管理员", email="admin@sac.example.cn")
OTHER_ID = str(uuid.uuid4())
HISTORY = {"account_id": OTHER_ID, "events": [
    {"type": "Opened", "occurred_at": "2026-05-01T02:00:00+00:00", "actor": None,
     "payload": {"email": "zhang@experts.example.cn", "name": "张伟", "role": "expert", "organization": "91110000X",
                 "party_id": "expert-1", "admin": False, "confirmed": True}},
    {"type": "SessionTouched", "occurred_at": "2026-05-01T03:00:00+00:00", "actor": None, "payload": {}},
    {"type": "Deactivated", "occurred_at": "2026-05-02T02:00:00+00:00",
     "actor": {"party_id": "sac-admin", "role": "officer", "organization": "SAC"}, "payload": {"reason": "离职"}},
]}


def text(response) -> str:
    return response.get_data(as_text=True)


def admin_edge() -> FakeEdge:
    return FakeEdge(ADMIN).answer("accounts", "account_history", HISTORY)


def test_an_officer_who_is_not_an_administrator_finds_no_accounts_page():
    edge = FakeEdge(Account(role="officer", organization="SAC", admin=False))
    assert client(edge).get("/sac/accounts").status_code == 404
    assert edge.calls == []


def test_the_accounts_list_pages_on_by_the_next_cursor_with_its_filters():
    edge = admin_edge().answer("accounts", "list_accounts", {"items": [
        {"account_id": OTHER_ID, "email": "zhang@experts.example.cn", "name": "张伟", "role": "expert",
         "organization": "91110000X", "admin": False, "status": "active", "created_at": "2026-05-01T02:00:00+00:00"}],
        "next_cursor": "emhhbmc="})
    page = text(client(edge).get("/sac/accounts?role=expert&cursor=abc"))
    assert edge.called("accounts", "list_accounts") == [
        {"role": "expert", "organization": None, "status": None, "limit": 20, "cursor": "abc"}]
    assert "张伟" in page and "专家" in page and "正常" in page
    assert 'href="/sac/accounts?role=expert&amp;cursor=emhhbmc%3D">下一页' in page
    assert 'href="/sac/accounts?role=expert">第一页' in page


def test_inviting_an_expert_asks_for_the_party_id_before_asking_accounts():
    edge = admin_edge()
    response = client(edge).post("/sac/accounts/invite", data={
        "email": "zhang@experts.example.cn", "name": "张伟", "role": "expert", "organization": "91110000X",
        "csrf_token": CSRF})
    assert response.status_code == 422
    assert "专家库中的专家编号" in text(response) and 'value="张伟"' in text(response)
    assert edge.called("accounts", "invite") == []


def test_an_invitation_sent_shows_its_terms_and_expiry():
    edge = admin_edge().answer("accounts", "invite", lambda **kw: {**kw, "invitation_id": "i",
                                                                   "expires_at": "2026-05-04T02:00:00+00:00"})
    page = text(client(edge).post("/sac/accounts/invite", data={
        "email": "zhang@experts.example.cn", "name": "张伟", "role": "expert", "organization": "91110000X",
        "party_id": "expert-1", "csrf_token": CSRF}))
    assert edge.called("accounts", "invite")[0] == {
        "email": "zhang@experts.example.cn", "name": "张伟", "role": "expert", "organization": "91110000X",
        "party_id": "expert-1", "admin": False}
    assert "邀请已发出" in page and "2026年5月4日 10:00" in page


def test_a_taken_address_is_said_beside_the_form_and_the_typed_values_stay():
    edge = admin_edge().answer("accounts", "invite", EdgeError("EmailTaken", "taken", status=409))
    page = text(client(edge).post("/sac/accounts/invite", data={
        "email": "x@example.cn", "name": "李娜", "role": "auditor", "organization": "AUDIT", "csrf_token": CSRF}))
    assert "该邮箱已注册" in page and 'value="李娜"' in page


def test_the_account_page_shows_its_history_in_chinese_without_the_heartbeat():
    page = text(client(admin_edge()).get(f"/sac/accounts/{OTHER_ID}"))
    assert "张伟" in page and "已停用" in page
    assert "开设账户" in page and "理由：离职" in page
    assert "SessionTouched" not in page
    assert "重新启用账户" in page  # deactivated: the way back, not a second deactivation


def test_deactivating_needs_a_reason_and_passes_it_on():
    edge = admin_edge().answer("accounts", "deactivate", {})
    refused = client(edge).post(f"/sac/accounts/{OTHER_ID}/deactivate", data={"reason": " ", "csrf_token": CSRF})
    assert refused.status_code == 422 and "请写明停用的理由" in text(refused)
    done = client(edge).post(f"/sac/accounts/{OTHER_ID}/deactivate", data={"reason": "离职", "csrf_token": CSRF})
    assert done.status_code == 303 and "notice=account_deactivated" in done.headers["Location"]
    assert edge.called("accounts", "deactivate") == [{"account_id": OTHER_ID, "reason": "离职"}]


def test_reactivating_and_setting_a_role_call_accounts():
    edge = admin_edge().answer("accounts", "reactivate", {}).answer("accounts", "set_role", {})
    client(edge).post(f"/sac/accounts/{OTHER_ID}/reactivate", data={"csrf_token": CSRF})
    assert edge.called("accounts", "reactivate") == [{"account_id": OTHER_ID}]
    client(edge).post(f"/sac/accounts/{OTHER_ID}/role", data={
        "role": "auditor", "organization": "AUDIT", "admin": "yes", "csrf_token": CSRF})
    assert edge.called("accounts", "set_role") == [
        {"account_id": OTHER_ID, "role": "auditor", "organization": "AUDIT", "party_id": None, "admin": False}]


def test_a_refusal_of_one_s_own_rights_is_shown_on_the_account_page():
    edge = admin_edge().answer("accounts", "set_role", EdgeError("RuleViolation", "not yourself", status=409))
    response = client(edge).post(f"/sac/accounts/{OTHER_ID}/role", data={
        "role": "officer", "organization": "SAC", "csrf_token": CSRF})
    assert response.status_code == 409 and "不符合申报规则" in text(response)
