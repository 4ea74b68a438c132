"""SAC's search of every application on a fake edge: the words, filters and sort go to intake's
search as typed, the page says how many were found and pages on, the filtered list is exported."""
import csv
import io
import uuid

import pytest

from tests.support.portal import Account, FakeEdge, client

pytestmark = pytest.mark.unit
OFFICER = Account(role="officer", organization="SAC", party_id="sac-1", name="刘处长")


def found(n: int, total: int) -> dict:
    return {"items": [{"application_id": str(uuid.uuid4()), "name": f"国家技术标准创新基地（江苏{i}）",
                       "applicant_name": "江苏省标准化研究院", "applicant_organization": "12320000466002088X",
                       "base_type": "regional", "region": "320100", "stage": "recommended", "plan_version": 1,
                       "number": f"CXJD-2026-QY-{i:03d}", "created_at": "2026-06-01T02:00:00+00:00",
                       "updated_at": "2026-06-02T02:00:00+00:00", "next_deadline": None} for i in range(n)],
            "total": total}


def test_the_search_sends_the_words_filters_and_sort_and_says_how_many_match():
    edge = FakeEdge(OFFICER).answer("intake", "search_applications", found(20, 45))
    response = client(edge).get("/sac/applications?q=江苏&stage=recommended&base_type=regional&region=320100"
                                "&sort=-name&offset=20")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert edge.called("intake", "search_applications") == [
        {"text": "江苏", "stage": "recommended", "base_type": "regional", "region": "320100", "sort": "-name",
         "limit": 20, "offset": 20}]
    assert "共找到 <strong>45</strong> 项申报，显示第 21–40 项" in page
    assert 'value="江苏"' in page  # what was typed stays in the box
    assert 'aria-sort="descending"' in page
    # the pages on keep the search: back to the first twenty, on to the last five
    assert "offset=0" not in page and "q=%E6%B1%9F%E8%8B%8F&amp;stage=recommended" in page
    assert "sort=-name&amp;offset=40" in page
    assert "CXJD-2026-QY-000" in page and "江苏省标准化研究院" in page


def test_values_the_search_does_not_know_are_left_out_rather_than_sent():
    edge = FakeEdge(OFFICER).answer("intake", "search_applications", found(0, 0))
    page = client(edge).get("/sac/applications?stage=nonsense&sort=password&region=32&offset=x").get_data(as_text=True)
    assert edge.called("intake", "search_applications") == [
        {"text": None, "stage": None, "base_type": None, "region": None, "sort": None, "limit": 20, "offset": 0}]
    assert "没有符合条件的申报" in page


def test_the_filtered_list_is_exported_whole_as_csv_page_after_page():
    pages = {0: found(1000, 1001), 1000: found(1, 1001)}
    edge = FakeEdge(OFFICER).answer("intake", "search_applications", lambda offset, **kw: pages[offset])
    response = client(edge).get("/sac/applications.csv?q=江苏")
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["编号", "创新基地名称", "申报单位", "统一社会信用代码"]
    assert len(rows) == 1 + 1001
    assert rows[1][:7] == ["CXJD-2026-QY-000", "国家技术标准创新基地（江苏0）", "江苏省标准化研究院", "12320000466002088X",
                           "区域（综合）", "320100", "已推荐"]
    assert [call["text"] for call in edge.called("intake", "search_applications")] == ["江苏", "江苏"]


def test_the_search_is_not_there_for_an_applicant():
    edge = FakeEdge(Account()).answer("intake", "search_applications", found(1, 1))
    assert client(edge).get("/sac/applications").status_code == 404
    assert client(edge).get("/sac/applications.xlsx").status_code == 404
    assert edge.called("intake", "search_applications") == []
