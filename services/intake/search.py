"""SAC's view of the whole round from intake's read model: every application found by name,
applicant, credit code or number, filtered and sorted a page at a time, and the round's counts.
Reads only `applications` and `applicants`; writes nothing."""
from __future__ import annotations

from shared.auth import Caller
from shared.eventstore import jsonable
from shared.listing import order_by

READERS_OF_ALL = ("officer", "auditor")
_FOUND = (
    "SELECT a.application_id, a.name, a.base_type, a.region, a.domain, a.applicant_organization,"
    " p.name AS applicant_name, a.organizing_unit_id, a.recommending_unit_id, a.stage, a.plan_version,"
    " a.number, a.next_deadline, a.deadline_kind, a.created_at, a.updated_at"
    " FROM applications a LEFT JOIN applicants p ON p.credit_code = a.applicant_organization"
    " WHERE (CAST(:stage AS text) IS NULL OR a.stage = :stage)"
    " AND (CAST(:base_type AS text) IS NULL OR a.base_type = :base_type)"
    " AND (CAST(:region AS text) IS NULL OR a.region = :region)"
    " AND (CAST(:pattern AS text) IS NULL OR a.name ILIKE :pattern OR p.name ILIKE :pattern"
    "      OR a.applicant_organization ILIKE :pattern OR a.number ILIKE :pattern)"
)


def like_pattern(text: str | None) -> str | None:
    """`text` anywhere in a column, its `%`, `_` and `\\` taken literally."""
    if not text or not text.strip():
        return None
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_applications(app, caller: Caller, data: dict) -> dict:
    """A page of the applications matching `data` (`text`, `stage`, `base_type`, `region`), in the
    `sort` asked (oldest first by default), and how many match in all."""
    caller.require_role(*READERS_OF_ALL)
    params = {"stage": data.get("stage"), "base_type": data.get("base_type"), "region": data.get("region"),
              "pattern": like_pattern(data.get("text"))}
    rows = app.query(
        f"SELECT * FROM ({_FOUND}) AS found ORDER BY {order_by(data.get('sort'), 'created_at, application_id')}"
        " LIMIT :limit OFFSET :offset",
        limit=data["limit"], offset=data["offset"], **params)
    total = app.query(f"SELECT count(*) AS n FROM ({_FOUND}) AS found", **params)[0]["n"]
    return {"items": [jsonable(row) for row in rows], "total": total}


def application_counts(app, caller: Caller) -> dict:
    """The round at a glance: how many applications in all, by stage, by base type and by region or
    domain (counted by the database, so it stays one query however many there are)."""
    caller.require_role(*READERS_OF_ALL)
    rows = app.query("SELECT stage, base_type, coalesce(region, domain, '') AS area, count(*) AS n"
                     " FROM applications GROUP BY stage, base_type, coalesce(region, domain, '')")
    by_stage, by_base_type, by_area = {}, {}, {}
    for row in rows:
        for tally, key in ((by_stage, row["stage"]), (by_base_type, row["base_type"]), (by_area, row["area"])):
            tally[key] = tally.get(key, 0) + row["n"]
    return {"total": sum(by_stage.values()), "by_stage": by_stage, "by_base_type": by_base_type,
            "by_area": by_area}
