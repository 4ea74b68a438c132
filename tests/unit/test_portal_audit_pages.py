"""The auditor's look back on a fake edge: the timeline across services a page at a time with its
causes, exported whole as CSV and JSON, and the application's state at a chosen Beijing instant as
each service rebuilds it."""
import csv
import io
import json
import uuid

import pytest

from tests.support.portal import Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit
APP_ID = str(uuid.uuid4())
AUDITOR = Account(role="auditor", organization="AUDIT", party_id="auditor-1", name="沈审计")


def event(service, position, minute, kind, cause=None):
    return {"service": service, "position": position, "occurred_at": f"2026-06-01T02:{minute:02d}:00+00:00",
            "type": kind, "aggregate_id": APP_ID, "aggregate_version": position,
            "actor": {"role": "applicant", "party_id": "applicant-1"}, "caused_by": cause,
            "payload": {"name": "国家技术标准创新基地（江苏）"}}


HISTORIES = {
    "intake": [event("intake", n, n, "SectionSaved") for n in range(1, 60)] + [event("intake", 60, 59, "Submitted")],
    "endorsement": [event("endorsement", 7, 59, "ReviewItemQueued", {"source": "intake", "position": 60})],
}


def auditor_edge() -> FakeEdge:
    edge = FakeEdge(AUDITOR)

    def history(service):
        def answer(application_id):
            if service not in HISTORIES:
                raise EdgeError("NotFound", "nothing", status=404)
            return [dict(e) for e in HISTORIES[service]]
        return answer

    for service in ("intake", "endorsement", "formal_review", "expert_review", "notification"):
        edge.answer(service, "audit_history", history(service))
        edge.answer(service, "audit_state_at", (lambda s: lambda application_id, at: (
            {APP_ID: {"type": "Application", "version": 3, "state": {"stage": "submitted", "open_sections": []}}}
            if s == "intake" else {}))(service))
    return edge


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_timeline_shows_fifty_events_a_page_with_the_way_on():
    edge = auditor_edge()
    first = text(client(edge).get(f"/audit/applications/{APP_ID}"))
    assert "共 61 条，显示第 1–50 条" in first and first.count("<li>") >= 50
    assert f'href="/audit/applications/{APP_ID}?offset=50"' in first
    second = text(client(edge).get(f"/audit/applications/{APP_ID}?offset=50"))
    assert "显示第 51–61 条" in second and '<ol class="timeline" start="51">' in second
    assert "起因：intake 第 60 条（Submitted）" in second


def test_the_timeline_is_exported_whole_as_csv_and_json_with_causes():
    edge = auditor_edge()
    exported = client(edge).get(f"/audit/applications/{APP_ID}/timeline.csv")
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["服务", "日志位置", "时间（北京时间）", "事件"] and len(rows) == 1 + 61
    queued = next(r for r in rows if r[3] == "ReviewItemQueued")
    assert queued[:3] == ["endorsement", "7", "2026年6月1日 10:59"] and queued[8:11] == ["intake", "60", "Submitted"]
    as_json = json.loads(client(edge).get(f"/audit/applications/{APP_ID}/timeline.json").get_data())
    assert len(as_json["events"]) == 61 and as_json["events"][-1]["cause"]["type"] == "Submitted"


def test_the_state_at_a_beijing_instant_is_asked_of_every_service_as_an_aware_time():
    edge = auditor_edge()
    page = text(client(edge).get(f"/audit/applications/{APP_ID}/state?at=2026-06-01T10:30"))
    calls = edge.called("intake", "audit_state_at")
    assert calls == [{"application_id": APP_ID, "at": "2026-06-01T10:30:00+08:00"}]
    assert len(edge.called("notification", "audit_state_at")) == 1
    assert "2026年6月1日 10:30 时的状态" in page and "<dt>stage</dt><dd>submitted</dd>" in page
    assert "<strong>submitted</strong>（已提交）" in page
    assert "SectionSaved" in page  # the latest events before the instant
    assert "该时刻这一服务中还没有这份申报" in page  # the services that knew nothing of it then


def test_an_instant_that_is_no_time_is_refused_beside_the_field_and_nothing_is_asked():
    edge = auditor_edge()
    response = client(edge).get(f"/audit/applications/{APP_ID}/state?at=yesterday")
    page = text(response)
    assert 'id="f-at-error"' in page and "请填写日期和时间" in page and 'value="yesterday"' in page
    assert edge.called("intake", "audit_state_at") == []


def test_an_unknown_application_has_no_state_page_and_no_export():
    edge = FakeEdge(AUDITOR)
    for service in ("intake", "endorsement", "formal_review", "expert_review", "notification"):
        edge.answer(service, "audit_history", [])
    assert client(edge).get(f"/audit/applications/{APP_ID}/state").status_code == 404
    assert client(edge).get(f"/audit/applications/{APP_ID}/timeline.csv").status_code == 404


def test_only_auditors_read_the_state():
    edge = auditor_edge()
    edge.account = Account(role="officer", organization="SAC")
    assert client(edge).get(f"/audit/applications/{APP_ID}/state?at=2026-06-01T10:30").status_code == 404
