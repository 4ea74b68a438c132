"""SAC's registers on a fake edge: an expert and a unit registered through their forms, the
refusals beside the fields with what was typed kept, the lists paginated, auditors reading only."""
import pytest

from tests.support.portal import CSRF, Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit
OFFICER = Account(role="officer", organization="SAC", party_id="sac-1", name="刘处长")
EXPERT_FORM = {"expert_id": "expert-zw", "name": "张伟", "organization": "12100000400000624d",
               "organization_name": "中国标准化研究院", "region": "110000", "fields": "EI.01， AG.06",
               "email": "zhangwei@experts.example.cn", "phone": "", "csrf_token": CSRF}
UNIT_FORM = {"role": "organizing", "kind": "local_standardization_authority", "unit_id": "js-samr",
             "name": "江苏省市场监督管理局", "region": "320000", "domain": "", "credit_code": "",
             "contact.name": "", "contact.title": "", "contact.phone": "", "contact.email": "",
             "address": "", "postcode": "", "csrf_token": CSRF}


def text(response) -> str:
    return response.get_data(as_text=True)


def test_an_officer_registers_an_expert_with_the_fields_split_and_the_code_in_capitals():
    edge = FakeEdge(OFFICER).answer("expert_review", "register_expert", {})
    response = client(edge).post("/sac/experts", data=EXPERT_FORM)
    assert response.status_code == 303 and "notice=expert_registered" in response.headers["Location"]
    assert edge.called("expert_review", "register_expert") == [{
        "expert_id": "expert-zw", "name": "张伟", "organization": "12100000400000624D",
        "organization_name": "中国标准化研究院", "region": "110000", "fields": ["EI.01", "AG.06"],
        "email": "zhangwei@experts.example.cn", "phone": None, "conflicts": []}]


def test_an_expert_refused_by_a_rule_is_shown_the_message_beside_the_field_and_keeps_the_form():
    edge = FakeEdge(OFFICER).answer("expert_review", "register_expert", EdgeError(
        "RuleViolation", "not in the domain catalogue", {"rule": "domain_known", "field": "fields"}, status=422))
    response = client(edge).post("/sac/experts", data={**EXPERT_FORM, "fields": "XX.99"})
    page = text(response)
    assert response.status_code == 422
    assert 'id="f-fields-error"' in page and "不是领域目录中的代码" in page
    assert 'value="XX.99"' in page and 'value="中国标准化研究院"' in page


def test_an_expert_form_missing_its_fields_is_refused_before_any_call():
    edge = FakeEdge(OFFICER)
    response = client(edge).post("/sac/experts", data={"csrf_token": CSRF, "name": "张伟", "region": "11"})
    page = text(response)
    assert response.status_code == 422 and edge.called("expert_review", "register_expert") == []
    assert "请填写专家编号" in page and "行政区划代码为6位数字" in page and 'value="张伟"' in page


def test_the_register_lists_experts_twenty_a_page():
    experts = [{"expert_id": f"e{n}", "name": f"专家{n}", "organization": "X", "organization_name": "机构",
                "region": "110000", "fields": ["EI.01"], "email": f"e{n}@x.cn"} for n in range(21)]
    edge = FakeEdge(OFFICER).answer("expert_review", "experts", experts)
    page = text(client(edge).get("/sac/experts?field=ei.01"))
    assert edge.called("expert_review", "experts") == [
        {"limit": 21, "offset": 0, "field": "EI.01", "region": None}]
    assert "专家19" in page and "专家20" not in page and "offset=20" in page


def test_an_officer_registers_a_unit_and_a_half_filled_contact_is_refused_field_by_field():
    edge = FakeEdge(OFFICER).answer("intake", "register_unit", {})
    done = client(edge).post("/sac/units", data=UNIT_FORM)
    assert done.status_code == 303 and "notice=unit_registered" in done.headers["Location"]
    assert edge.called("intake", "register_unit") == [{
        "unit_id": "js-samr", "name": "江苏省市场监督管理局", "role": "organizing",
        "kind": "local_standardization_authority", "region": "320000", "domain": None, "credit_code": None,
        "contact": None, "address": None, "postcode": None}]
    refused = client(edge).post("/sac/units", data={**UNIT_FORM, "contact.name": "张华"})
    assert refused.status_code == 422 and "填写联系人时请一并填写电话" in text(refused)
    assert len(edge.called("intake", "register_unit")) == 1


def test_a_unit_registered_twice_is_refused_beside_its_number():
    edge = FakeEdge(OFFICER).answer("intake", "register_unit", EdgeError(
        "AlreadyRegistered", "registered already", {"rule": "already_registered", "field": "unit_id"}))
    page = text(client(edge).post("/sac/units", data=UNIT_FORM))
    assert 'id="f-unit_id-error"' in page and "该单位编号已登记" in page


def test_an_auditor_reads_the_registers_but_has_no_form():
    edge = FakeEdge(Account(role="auditor", organization="AUDIT")).answer("intake", "list_units", [])
    edge.answer("expert_review", "experts", [])
    assert 'href="/sac/units/new"' not in text(client(edge).get("/sac/units"))
    assert 'href="/sac/experts/new"' not in text(client(edge).get("/sac/experts"))
    assert client(edge).get("/sac/units/new").status_code == 404
    assert client(edge).post("/sac/experts", data=EXPERT_FORM).status_code == 404
