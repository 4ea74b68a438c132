"""An applicant's attachments previewed on a fake edge: a PDF or an image shown inside a page of the
portal and served inline with its own type, confined (CSP, nosniff, framed by our page only); any other
type downloaded; a foreign file missing. And the notice when a deadline is near, on the plan's pages."""
import base64
import uuid
from datetime import timedelta

import pytest

from shared import clock
from tests.support.portal import Account, EdgeError, FakeEdge, client

pytestmark = pytest.mark.unit
APP_ID = str(uuid.uuid4())
PDF, PNG = "a" * 64, "b" * 64
APPLICATION = {
    "application_id": APP_ID, "name": "国家技术标准创新基地（江苏）", "base_type": "regional", "stage": "draft",
    "plan_version": 0, "open_sections": ["attachments"], "next_deadline": None, "sections": {},
    "files": {PDF: {"sha256": PDF, "name": "资质证明.pdf", "size": 2048, "media_type": "application/pdf"},
              PNG: {"sha256": PNG, "name": "实验室照片.png", "size": 1024, "media_type": "image/png"}},
}
CONTENT = {PDF: b"%PDF-1.4 tiny", PNG: b"\x89PNG\r\n\x1a\n"}


def applicant_edge(application=APPLICATION) -> FakeEdge:
    edge = FakeEdge(Account())
    edge.answer("intake", "get_application", application).answer("intake", "check", {"problems": {}})
    def attachment(application_id, sha256):
        info = application["files"].get(sha256)
        if info is None:
            raise EdgeError("NotFound", "no such file", status=404)
        return {**info, "content": base64.b64encode(CONTENT.get(sha256, b"MZ")).decode()}
    return edge.answer("intake", "get_attachment", attachment)


def test_a_pdf_is_previewed_inside_the_page_and_served_inline_confined():
    edge = applicant_edge()
    page = client(edge).get(f"/applicant/applications/{APP_ID}/files/{PDF}/preview").get_data(as_text=True)
    assert f'<iframe class="file-preview file-preview--pdf" src="/applicant/applications/{APP_ID}/files/{PDF}"' in page
    assert 'title="资质证明.pdf 的预览"' in page and "PDF 文件" in page and "2.0 KB" in page
    served = client(edge).get(f"/applicant/applications/{APP_ID}/files/{PDF}")
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["Content-Disposition"].startswith("inline;")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["X-Frame-Options"] == "SAMEORIGIN"
    policy = served.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert served.get_data() == CONTENT[PDF]


def test_an_image_is_shown_with_its_name_as_the_text_alternative_and_sandboxed():
    edge = applicant_edge()
    page = client(edge).get(f"/applicant/applications/{APP_ID}/files/{PNG}/preview").get_data(as_text=True)
    assert f'<img class="file-preview" src="/applicant/applications/{APP_ID}/files/{PNG}" alt="实验室照片.png 的预览">' in page
    served = client(edge).get(f"/applicant/applications/{APP_ID}/files/{PNG}")
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Security-Policy"].endswith("; sandbox")


def test_a_file_of_another_type_is_downloaded_never_shown():
    other = "c" * 64
    application = {**APPLICATION, "files": {other: {"sha256": other, "name": "说明.html", "size": 10,
                                                     "media_type": "text/html"}}}
    edge = applicant_edge(application)
    page = client(edge).get(f"/applicant/applications/{APP_ID}/files/{other}/preview").get_data(as_text=True)
    assert "此类文件不能在浏览器中预览" in page and "<iframe" not in page
    served = client(edge).get(f"/applicant/applications/{APP_ID}/files/{other}")
    assert served.headers["Content-Type"] == "application/octet-stream"
    assert served.headers["Content-Disposition"].startswith("attachment;")


def test_a_file_the_application_does_not_hold_has_no_preview():
    edge = applicant_edge()
    response = client(edge).get(f"/applicant/applications/{APP_ID}/files/{'d' * 64}/preview")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_the_plan_pages_warn_when_the_deadline_is_a_few_days_away():
    due = (clock.now() + timedelta(days=3)).isoformat()
    edge = applicant_edge({**APPLICATION, "stage": "supplement_requested", "next_deadline": due})
    for address in (f"/applicant/applications/{APP_ID}", f"/applicant/applications/{APP_ID}/sections/attachments"):
        page = client(edge).get(address).get_data(as_text=True)
        assert "notice notice--warning" in page and "的截止时间是" in page and "补充材料" in page, address
    far = applicant_edge({**APPLICATION, "stage": "supplement_requested",
                          "next_deadline": (clock.now() + timedelta(days=30)).isoformat()})
    assert "的截止时间是" not in client(far).get(f"/applicant/applications/{APP_ID}").get_data(as_text=True)
