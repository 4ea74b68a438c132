"""The rules of the guide (国家技术标准创新基地申报指南) that more than one service applies,
each once, named for what it says, with the guide's sentence beside it. docs/rules.md
lists every rule and where it lives; rules a single service applies live in its domain.py.
"""
from __future__ import annotations

import calendar
import os
from datetime import datetime, timedelta

from shared.clock import BEIJING

# --- 二（一） who organizes and who recommends ---------------------------------------------

#: 二（一）: "区域（综合）创新基地由省级地方标准化主管部门组织申报，省级人民政府推荐；领域（专业）
#: 创新基地由国务院有关行业主管部门标准化机构、全国性行业协会或地方标准化主管部门组织申报，
#: 国务院有关行业主管部门、全国性行业协会或地方人民政府推荐" — the kinds of organizing and
#: recommending unit each base type allows (international bases as domain ones).
UNIT_KINDS_BY_BASE_TYPE: dict[str, dict[str, tuple[str, ...]]] = {
    "regional": {"organizing": ("local_standardization_authority",), "recommending": ("local_government",)},
    "domain": {
        "organizing": ("industry_department_standardization_body", "industry_association",
                       "local_standardization_authority"),
        "recommending": ("industry_department", "industry_association", "local_government"),
    },
}
UNIT_KINDS_BY_BASE_TYPE["international"] = UNIT_KINDS_BY_BASE_TYPE["domain"]


def unit_kinds_allowed(base_type: str, role: str) -> tuple[str, ...]:
    """The kinds of unit that may be the `role` ("organizing" or "recommending") unit of a base type."""
    return UNIT_KINDS_BY_BASE_TYPE[base_type][role]


# --- 四.3 the submission window ---------------------------------------------------------------

#: 四.3: "网上申报受理时间为每年5月5日至7月30日" (Beijing time).
WINDOW_OPENS, WINDOW_CLOSES = (5, 5), (7, 30)


def in_submission_window(at: datetime) -> bool:
    """Whether `at` falls from 5 May to 30 July, Beijing time."""
    local = at.astimezone(BEIJING)
    return WINDOW_OPENS <= (local.month, local.day) <= WINDOW_CLOSES


def submission_window_closes(year: int) -> datetime:
    """The end of 30 July of `year`, Beijing time (the first instant after the window)."""
    month, day = WINDOW_CLOSES
    return datetime(year, month, day, tzinfo=BEIJING) + timedelta(days=1)


# --- 三 expert review -------------------------------------------------------------------------

#: 三（四）: "专家论证组由5名以上（单数）专家组成" — at least five experts, an odd number.
PANEL_MINIMUM = 5


def panel_size_allowed(size: int) -> bool:
    """At least five experts and an odd number of them."""
    return size >= PANEL_MINIMUM and size % 2 == 1


#: 三（六）: "批准筹建的创新基地，应在3个月内提交建设方案" — within three months of the approval.
CONSTRUCTION_PLAN_MONTHS = 3


def add_months(moment: datetime, months: int) -> datetime:
    """The same Beijing wall-clock time `months` calendar months later (31 Jan + 3 → 30 Apr)."""
    local = moment.astimezone(BEIJING)
    years, month0 = divmod(local.month - 1 + months, 12)
    year, month = local.year + years, month0 + 1
    return local.replace(year=year, month=month, day=min(local.day, calendar.monthrange(year, month)[1]))


def construction_plan_due(approved_at: datetime) -> datetime:
    """When the construction plan (建设方案) of a base approved at `approved_at` is due."""
    return add_months(approved_at, CONSTRUCTION_PLAN_MONTHS)


# --- reminders (the system's, not the guide's: how early a party hears of a deadline) -------------

DEFAULT_REMINDER_DAYS = "7,1"


def reminder_days(environ=None) -> tuple[int, ...]:
    """Days before a deadline (and before the window closes) on which reminders fall, furthest
    first: `INNOBASE_REMINDER_DAYS` (default 7 and 1). Whole positive days only."""
    raw = (os.environ if environ is None else environ).get("INNOBASE_REMINDER_DAYS", DEFAULT_REMINDER_DAYS)
    try:
        days = {int(part) for part in raw.split(",") if part.strip()}
    except ValueError:
        raise ValueError(f"INNOBASE_REMINDER_DAYS holds positive whole days, got {raw!r}") from None
    if any(d <= 0 for d in days):
        raise ValueError(f"INNOBASE_REMINDER_DAYS holds positive whole days, got {raw!r}")
    return tuple(sorted(days, reverse=True))
