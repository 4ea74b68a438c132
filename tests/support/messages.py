"""Integration events as an upstream service would publish them, for tests that play that service."""
import uuid

NAME = "国家技术标准创新基地（江苏）"


def submitted_payload(application_id: str, unit: str, **overrides) -> dict:
    payload = {
        "application_id": application_id, "applicant_id": "a", "applicant_organization": "o",
        "applicant_name": "江苏省标准化研究院", "base_type": "regional", "name": NAME,
        "region": "320000", "domain": None, "organizing_unit_id": unit, "recommending_unit_id": "RU-f",
        "plan_version": 1, "digest": "a" * 64, "receipt_number": "SB-f",
        "submitted_at": "2026-06-01T10:00:00+08:00", "submission_kind": "initial", "answers_request": None,
        "changed_sections": [], "qualification_items": [], "attachments": [], "late_exception": None,
    }
    payload.update(overrides)
    return payload


def envelope(source: str, event_type: str, position: int, payload: dict, previous=None) -> dict:
    return {
        "event_id": str(uuid.uuid4()), "source": source, "position": position, "type": event_type,
        "version": 1, "application_id": payload.get("application_id"),
        "occurred_at": "2026-06-01T10:00:00+08:00", "actor": None, "previous_position": previous,
        "caused_by": None, "payload": payload,
    }
