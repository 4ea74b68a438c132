"""Every event a party must hear of has its template; each message, in Chinese, names
the application, its number once it has one, the stage, what to do and by when."""
import uuid

import pytest
from marshmallow import validate

from services.notification import templates
from services.notification.domain import Dossier, Recipient
from services.notification.recipients import recipients
from shared.contracts import CONTRACTS
from innobase.docgen import ROOT, example_of

pytestmark = pytest.mark.unit
SOURCES = ("intake", "endorsement", "formal_review", "expert_review")
NAME = "国家技术标准创新基地（江苏）"
FOLLOWED = sorted((source, event_type) for (source, event_type, _v) in CONTRACTS if source in SOURCES)


def dossier(**overrides):
    fields = dict(application_id=uuid.uuid4(), applicant_organization="91320000MA1XXXXX9L", name=NAME,
                  base_type="regional", organizing_unit_id="OU-1", recommending_unit_id="RU-1",
                  status="submitted", caused_by={}, applicant_name="江苏省标准化研究院")
    fields.update(overrides)
    return Dossier.open(**fields)


def variants(source, event_type):
    """Example payloads of the contract, one per value of the field that picks the template."""
    schema = CONTRACTS[(source, event_type, 1)]
    payload = example_of(schema)
    field_name = templates.VARIANT_FIELDS.get(event_type)
    if field_name is None:
        return [(schema, payload)]
    field = schema().fields[field_name]
    choices = next(v.choices for v in field.validators if isinstance(v, validate.OneOf))
    return [(schema, {**payload, field_name: choice}) for choice in choices]


def rendered(source, event_type, payload, schema, number=None):
    template = templates.template_for(event_type, payload)
    application = dossier()
    application.assign_expert("E-1", True, {})
    values = templates.context(payload, schema, application_name=NAME, number=number,
                               applicant_name=application.applicant_name, expert_name="张三",
                               window_close="2026年7月30日 24:00（北京时间）")
    return [(audience, templates.render(template, audience, values, "收件单位"))
            for audience, _ in recipients(template, event_type, payload, application)]


@pytest.mark.parametrize("source, event_type", FOLLOWED)
def test_every_event_followed_is_either_told_or_silent_for_a_stated_reason(source, event_type):
    for _, payload in variants(source, event_type):
        told = templates.template_for(event_type, payload) is not None
        assert told != (event_type in templates.SILENT), (event_type, payload)


@pytest.mark.parametrize("source, event_type", [f for f in FOLLOWED if f[1] not in templates.SILENT])
def test_every_message_names_the_stage_what_to_do_and_by_when(source, event_type):
    for schema, payload in variants(source, event_type):
        template = templates.template_for(event_type, payload)
        messages = rendered(source, event_type, payload, schema, number="GJ2026-001")
        assert messages, f"{event_type} tells nobody"
        for audience, message in messages:
            assert message.subject.startswith("【创新基地申报】")
            assert f"当前阶段：{template.stage}" in message.text
            assert "需要您办理：" in message.text
            assert message.text.startswith("收件单位：")
            if template.act(audience).due:
                assert "办理时限：" in message.text and "（北京时间）" in message.text
            if "application_id" in payload:
                assert f"申报名称：{NAME}" in message.text and "申报编号：GJ2026-001" in message.text
                assert "GJ2026-001" in message.subject
            assert "$" not in message.text + message.subject  # every placeholder filled
            assert message.html.startswith("<!DOCTYPE html>") and f"<td>{template.stage}</td>" in message.html


def test_an_application_without_a_number_is_not_given_one():
    schema = CONTRACTS[("intake", "ApplicationSubmitted", 1)]
    payload = {**example_of(schema), "submission_kind": "initial"}
    (_, message), = rendered("intake", "ApplicationSubmitted", payload, schema, number=None)
    assert "申报编号" not in message.text and "编号" not in message.subject


def test_the_text_says_the_deadline_in_beijing_time_and_the_sections_in_chinese():
    schema = CONTRACTS[("formal_review", "SupplementRequested", 1)]
    payload = {**example_of(schema), "deadline": "2026-06-15T09:00:00+00:00", "items": ["营业执照", "财务报表"],
               "sections": ["qualifications", "goals"], "reason": "材料不全"}
    (audience, message), = rendered("formal_review", "SupplementRequested", payload, schema)
    assert audience == "applicant"
    assert "办理时限：2026年6月15日 17:00（北京时间）" in message.text
    assert "需补正的材料：营业执照；财务报表" in message.text
    assert "已开放修改的部分：资质条件及证明材料、目标和任务" in message.text


@pytest.mark.parametrize("instant, reads", [
    ("2026-07-31T00:00:00+08:00", "2026年7月30日 24:00（北京时间）"),
    ("2026-07-30T16:00:00+00:00", "2026年7月30日 24:00（北京时间）"),
    ("2026-06-01T02:05:00+00:00", "2026年6月1日 10:05（北京时间）"),
])
def test_an_instant_reads_in_beijing_time_with_midnight_as_the_end_of_the_day_before(instant, reads):
    assert templates.beijing(instant) == reads


def test_what_a_party_wrote_is_escaped_in_the_html():
    schema = CONTRACTS[("endorsement", "RecommendationDeclined", 1)]
    payload = {**example_of(schema), "reason": "<script>alert(1)</script> & 其他"}
    for _, message in rendered("endorsement", "RecommendationDeclined", payload, schema):
        assert "<script>" not in message.html and "&lt;script&gt;" in message.html
        assert "<script>alert(1)</script> & 其他" in message.text


def test_a_registration_speaks_to_the_party_registered_and_names_no_application():
    schema = CONTRACTS[("intake", "UnitRegistered", 1)]
    payload = {**example_of(schema), "role": "recommending", "name": "江苏省人民政府", "unit_id": "RU-9"}
    template = templates.template_for("UnitRegistered", payload)
    assert recipients(template, "UnitRegistered", payload, None) == [
        ("registrant", Recipient("recommending_unit", "RU-9"))]
    message = templates.render(template, "registrant", templates.context(payload, schema), "江苏省人民政府")
    assert "申报名称" not in message.text and "推荐单位" in message.subject and "江苏省人民政府" in message.text


def test_the_who_hears_what_table_in_the_docs_is_the_one_the_templates_make():
    page = (ROOT / "docs" / "notification.md").read_text(encoding="utf-8")
    start = page.index("<!-- who-hears")
    table = page[page.index("\n", start) + 1:page.index("<!-- /who-hears -->")].strip()
    assert table == templates.who_hears_table(), "docs/notification.md is stale: regenerate the table"


def test_a_line_break_typed_into_a_name_does_not_break_the_subject_line():
    schema = CONTRACTS[("formal_review", "FormalReviewOpened", 1)]
    payload = example_of(schema)
    template = templates.template_for("FormalReviewOpened", payload)
    values = templates.context(payload, schema, application_name="国家技术标准创新基地（江苏）\r\nBcc: x@y",
                               applicant_name="某单位")
    message = templates.render(template, "officer", values, "国家标准委")
    assert message.subject == "【创新基地申报】待形式审查：国家技术标准创新基地（江苏） Bcc: x@y"
