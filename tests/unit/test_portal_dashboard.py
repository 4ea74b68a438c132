"""The SAC dashboard's chart and the formal review list in Excel, on a fake edge: the chart's data
beside a table that works without JavaScript; the workbook readable as Office Open XML."""
import io
import json
import re
import zipfile
from xml.etree import ElementTree

import pytest

from tests.support.portal import Account, FakeEdge, client

pytestmark = pytest.mark.unit
CASE = {"number": "CXJD-2026-QY-001", "name": "国家技术标准创新基地（江苏）", "applicant_name": "江苏省标准化研究院",
        "base_type": "regional", "region": "320100", "state": "awaiting_supplement", "plan_version": 1,
        "deadline": "2026-06-05T15:59:59+00:00"}


def officer_edge() -> FakeEdge:
    edge = FakeEdge(Account(role="officer", organization="SAC"))
    edge.answer("intake", "application_counts", {"total": 3, "by_stage": {"draft": 2, "recommended": 1},
                                                 "by_base_type": {"regional": 2, "domain": 1},
                                                 "by_area": {"320100": 2, "EI.01": 1}})
    edge.answer("formal_review", "cases", {"items": [CASE], "counts": {}})
    return edge.answer("expert_review", "reviews", {"items": [], "counts": {}})


def test_the_dashboard_carries_its_chart_data_and_the_table_beneath_it():
    page = client(officer_edge()).get("/sac").get_data(as_text=True)
    assert '<script src="/static/vendor/echarts.min.js" defer></script>' in page
    data = re.search(r'<script type="application/json" id="stage-chart-data">(.*?)</script>', page).group(1)
    assert json.loads(data) == [["草稿", 2], ["已推荐", 1]]
    assert 'data-chart="stage-chart-data"' in page and " hidden>" in page  # shown only once ECharts draws it
    assert "<caption>按阶段</caption>" in page  # the table a browser without JavaScript reads
    assert "本轮申报共 <strong>3</strong> 项" in page


def test_the_dashboard_counts_the_whole_round_in_one_call_not_from_a_list():
    edge = officer_edge()
    client(edge).get("/sac")
    assert edge.called("intake", "application_counts") == [{}]
    assert edge.called("intake", "my_applications") == []


def test_the_portal_serves_echarts_and_its_chart_script_itself():
    edge = officer_edge()
    assert client(edge).get("/static/vendor/echarts.min.js").status_code == 200
    assert b"echarts.init" in client(edge).get("/static/dashboard.js").get_data()


def test_the_formal_review_list_is_exported_as_an_excel_workbook():
    response = client(officer_edge()).get("/sac/cases.xlsx?state=awaiting_supplement")
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''%E5%BD%A2%E5%BC%8F%E5%AE%A1%E6%9F%A5.xlsx" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as book:
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} <= set(book.namelist())
        for name in book.namelist():  # every part well-formed XML
            ElementTree.fromstring(book.read(name))
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    cells = re.findall(r"<t xml:space=\"preserve\">(.*?)</t>|<v>(.*?)</v>", sheet)
    values = [a or b for a, b in cells]
    assert values[:8] == ["编号", "创新基地名称", "申报单位", "类型", "地区或领域", "状态", "方案版本", "截止时间"]
    assert values[8:] == ["CXJD-2026-QY-001", "国家技术标准创新基地（江苏）", "江苏省标准化研究院", "区域（综合）", "320100",
                          "待补充材料", "1", "2026年6月5日 23:59"]


def test_column_names_run_past_z():
    from services.gateway.portal.xlsx import column_name

    assert [column_name(i) for i in (0, 25, 26, 51, 701)] == ["A", "Z", "AA", "AZ", "ZZ"]
