"""SAC's search of the round (全部申报): every application found by name, applicant, credit code or
number, filtered by stage, base type and region, sorted by a column, a page at a time, and the
filtered list exported as CSV or Excel."""
from __future__ import annotations

from urllib.parse import urlencode

from services.gateway.portal import rendering
from services.gateway.portal.officer_pages import csv_download, xlsx_download
from services.gateway.portal.pages import portal_page
from services.gateway.web import http

READERS = ("officer", "auditor")
PAGE_SIZE = 20
EXPORT_LIMIT = 1000  # intake answers at most this many a call; an export reads page after page
# The columns a person may sort by (intake's `sort`), with their headings.
SORTABLE = {"number": "编号", "name": "创新基地名称", "applicant_name": "申报单位", "base_type": "类型",
            "stage": "阶段", "created_at": "创建时间", "updated_at": "最近变化"}
EXPORT_COLUMNS = ("编号", "创新基地名称", "申报单位", "统一社会信用代码", "类型", "地区或领域", "阶段", "已提交版本",
                  "创建时间", "最近变化", "截止时间")


def search_of(args) -> dict:
    """The search a request asks for, every value one the RPC accepts (anything else ignored)."""
    text = (args.get("q") or "").strip()[:100]
    stage = args.get("stage") if args.get("stage") in rendering.STAGES_ZH else None
    base_type = args.get("base_type") if args.get("base_type") in rendering.BASE_TYPES_ZH else None
    region = args.get("region") if (args.get("region") or "").isdigit() and len(args["region"]) == 6 else None
    sort = args.get("sort") or None
    sort = sort if sort and sort.lstrip("-") in SORTABLE else None
    return {"text": text or None, "stage": stage, "base_type": base_type, "region": region, "sort": sort}


def query_string(search: dict, **changes) -> str:
    """The list's address arguments for `search` with `changes` (a sort, an offset)."""
    named = {"q": search["text"], "stage": search["stage"], "base_type": search["base_type"],
             "region": search["region"], "sort": search["sort"], **changes}
    return urlencode({k: v for k, v in named.items() if v not in (None, "", 0)})


def export_rows(page, search: dict) -> list[list]:
    rows, offset = [], 0
    while True:
        found = page.call("intake", "search_applications", **search, limit=EXPORT_LIMIT, offset=offset)
        items = found.get("items", [])
        rows += [[a.get("number") or "", a.get("name"), a.get("applicant_name") or "", a.get("applicant_organization"),
                  rendering.BASE_TYPES_ZH.get(a.get("base_type"), a.get("base_type")),
                  a.get("region") or a.get("domain") or "", rendering.STAGES_ZH.get(a.get("stage"), a.get("stage")),
                  a.get("plan_version") or 0, rendering.beijing_datetime(a.get("created_at")),
                  rendering.beijing_datetime(a.get("updated_at")), rendering.beijing_datetime(a.get("next_deadline"))]
                 for a in items]
        offset += len(items)
        if len(items) < EXPORT_LIMIT or offset >= found.get("total", 0):
            return rows


class RoundPages:
    @http("GET", "/sac/applications")
    @portal_page(roles=READERS)
    def sac_applications(self, page):
        search = search_of(page.request.args)
        try:
            offset = max(0, int(page.request.args.get("offset") or 0))
        except ValueError:
            offset = 0
        found = page.call("intake", "search_applications", **search, limit=PAGE_SIZE, offset=offset)
        total = found.get("total", 0)
        return page.render("sac/applications.html", items=found.get("items", []), total=total, search=search,
                           offset=offset, page_size=PAGE_SIZE, more=offset + PAGE_SIZE < total,
                           sortable=SORTABLE, query_string=query_string,
                           breadcrumbs=[("国家标准委工作台", "/sac"), ("全部申报", None)])

    @http("GET", "/sac/applications.csv")
    @portal_page(roles=READERS)
    def sac_applications_csv(self, page):
        return csv_download("全部申报", EXPORT_COLUMNS, export_rows(page, search_of(page.request.args)))

    @http("GET", "/sac/applications.xlsx")
    @portal_page(roles=READERS)
    def sac_applications_xlsx(self, page):
        return xlsx_download("全部申报", EXPORT_COLUMNS, export_rows(page, search_of(page.request.args)))
