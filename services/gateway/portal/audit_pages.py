"""Auditors' look back (审计) beyond the timeline page: an application's state at a chosen instant,
rebuilt by each service from its own log (`audit_state_at`), and the timeline exported whole as CSV
or JSON, each event with its cause."""
from __future__ import annotations

import json
from datetime import datetime

from werkzeug.wrappers import Response

from services.gateway.api.handler import content_disposition
from services.gateway.api.routes import AUDITED_SERVICES
from services.gateway.portal import rendering
from services.gateway.portal.expert_audit_pages import application_events
from services.gateway.portal.officer_pages import csv_download
from services.gateway.portal.pages import portal_page
from services.gateway.problems import EdgeError
from services.gateway.web import http
from shared import clock
from shared.clock import BEIJING

AUDITOR = ("auditor",)
TIMELINE_COLUMNS = ("服务", "日志位置", "时间（北京时间）", "事件", "聚合", "聚合版本", "操作人角色", "操作人", "起因服务",
                    "起因位置", "起因事件", "内容（JSON）")


def instant(text: str) -> datetime | None:
    """An instant typed in a `datetime-local` box (年-月-日T时:分), read as Beijing time."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


def timeline_rows(events: list[dict]) -> list[list]:
    rows = []
    for e in events:
        actor, cause = e.get("actor") or {}, e.get("cause") or {}
        rows.append([e["service"], e["position"], rendering.beijing_datetime(e["occurred_at"]), e["type"],
                     e.get("aggregate_id") or "", e.get("aggregate_version") or "", actor.get("role") or "",
                     actor.get("party_id") or actor.get("organization") or "", cause.get("service") or "",
                     cause.get("position") or "", cause.get("type") or "",
                     json.dumps(e.get("payload") or {}, ensure_ascii=False, sort_keys=True)])
    return rows


class AuditPages:
    @http("GET", "/audit/applications/<application_id>/state")
    @portal_page(roles=AUDITOR)
    def audit_state(self, page, application_id):
        events = application_events(page, application_id)
        if not events:
            return page.not_found()
        typed = page.request.args.get("at") or ""
        at, errors, states = instant(typed), {}, None
        if typed and at is None:
            errors["at"] = ["请填写日期和时间，例如 2026-06-01 10:00"]
        if at is not None:
            states = []
            for service in AUDITED_SERVICES:
                try:
                    states.append((service, page.call(service, "audit_state_at", application_id=application_id,
                                                      at=at.isoformat()), None))
                except EdgeError as error:
                    if error.status not in (404, 503, 504):
                        raise
                    states.append((service, None, error.message_zh))
        # what had happened by then: the events up to the instant, the latest first
        before = [e for e in events if at is not None and datetime.fromisoformat(e["occurred_at"]) <= at]
        suggested = clock.now().astimezone(BEIJING).strftime("%Y-%m-%dT%H:%M")
        return page.render("audit/state.html", application_id=application_id, typed=typed or suggested, at=at,
                           states=states, errors=errors, summary=None, last_before=before[-5:][::-1],
                           first=events[0], last=events[-1],
                           breadcrumbs=[("审计", "/audit"), ("时间线", f"/audit/applications/{application_id}"),
                                        ("某一时刻的状态", None)])

    @http("GET", "/audit/applications/<application_id>/timeline.csv")
    @portal_page(roles=AUDITOR)
    def audit_timeline_csv(self, page, application_id):
        events = application_events(page, application_id)
        if not events:
            return page.not_found()
        return csv_download(f"时间线-{application_id}", TIMELINE_COLUMNS, timeline_rows(events))

    @http("GET", "/audit/applications/<application_id>/timeline.json")
    @portal_page(roles=AUDITOR)
    def audit_timeline_json(self, page, application_id):
        events = application_events(page, application_id)
        if not events:
            return page.not_found()
        body = json.dumps({"application_id": application_id, "events": events}, ensure_ascii=False, indent=2)
        response = Response(body, mimetype="application/json")
        response.headers["Content-Disposition"] = content_disposition(f"时间线-{application_id}.json")
        return response
