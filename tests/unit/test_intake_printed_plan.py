"""The printed plan (系统生成的《申报方案》), read back as a clerk holds it beside 附件2: the cover
as the form, 填写说明, sections 一–七 each on a recto, numbered from 一, 七's two boxes, the
evidence appended, the verification block with its QR code, and a draft that cannot pass for a
submitted version."""
import io
import re
import shutil
import subprocess
from datetime import datetime
from html.parser import HTMLParser

import pytest
from pypdf import PdfReader

from innobase import print_samples
from services.intake import plan, printed_plan
from shared.clock import BEIJING
from shared.printable import WATERMARK, texts
from tests.support.applications import Setup, applicant_caller, sections

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not shutil.which("pdftoppm"), reason="poppler-utils is not installed"),
]
NUMBER = "CXJD-2026-R-0007"
EVIDENCE_PDF = print_samples.evidence_pdf("资质条件证明材料样例")
EVIDENCE_PNG = print_samples.evidence_png()
FILES = {}
for name, content, media_type in (("资质证明.pdf", EVIDENCE_PDF, "application/pdf"),
                                  ("选址示意图.png", EVIDENCE_PNG, "image/png")):
    entry = print_samples._file(name, content, media_type)
    FILES[entry["sha256"]] = entry
PDF_SHA, PNG_SHA = list(FILES)
SUBMITTED_AT = datetime(2026, 6, 1, 10, 0, tzinfo=BEIJING)
OPINION = {"text": "经审核，同意推荐。", "head": "张华", "date": "2026-06-10"}
SECTION_HEADINGS = ["一、基本信息", "二、创新基地建设的意义和必要性", "三、创新基地建设的可行性", "四、目标和任务",
                    "五、保障措施", "六、附件", "七、申报意见"]


def frozen_plan():
    setup = Setup(applicant_caller("12320100MB0000000X"), "regional", "js-samr", "js-gov", "320100", None)
    return plan.freeze(
        application_id="9f8e9c66-edee-5c58-84bd-b3bf57333f67", base_type="regional",
        sections=sections(setup, {i: PDF_SHA for i in range(1, 7)}, [("基地选址示意图", PNG_SHA)]), files=FILES,
        applicant={"credit_code": "12320100MB0000000X", "name": "江苏省标准化研究院",
                   "category": "standardization_institute", "region": "320100"},
        organizing_unit=print_samples.ORGANIZING, recommending_unit=print_samples.RECOMMENDING,
    )


FROZEN = frozen_plan()
DIGEST = plan.digest(FROZEN)
URL = printed_plan.verification_url(DIGEST)


def render(**overrides) -> bytes:
    options = dict(version_label="第 2 版", digest=DIGEST, number=NUMBER, submitted_at=SUBMITTED_AT,
                   organizing_opinion=OPINION, evidence={PDF_SHA: EVIDENCE_PDF, PNG_SHA: EVIDENCE_PNG})
    options.update(overrides)
    return printed_plan.pdf(FROZEN, **options)


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "plan.pdf"
    path.write_bytes(render())
    return path


@pytest.fixture(scope="module")
def draft(tmp_path_factory):
    path = tmp_path_factory.mktemp("draft") / "draft.pdf"
    path.write_bytes(render(version_label=printed_plan.DRAFT_LABEL, number=None, submitted_at=None,
                            organizing_opinion=None))
    return path


def pages_of(path) -> list[str]:
    return texts(PdfReader(path).pages)


def page_with(pages: list[str], text: str) -> int:
    """The 1-based number of the first page carrying `text`."""
    return next(i for i, page in enumerate(pages, 1) if text in page)


def run(*args) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def test_the_cover_reads_as_the_forms_cover_and_carries_no_digest(submitted):
    cover = pages_of(submitted)[0]
    lines = [f"编号：{NUMBER}", "国家技术标准创新基地", "申报方案", "创新基地名称：国家技术标准创新基地（江苏）",
             "申报单位（盖章）：江苏省标准化研究院", "申报组织单位（盖章）：江苏省市场监督管理局", "申报时间：2026年6月1日",
             "国家标准化管理委员会印制"]
    at = 0
    for line in lines:
        found = cover.find(line, at)
        assert found >= 0, f"{line} missing or out of order on the cover"
        at = found + len(line)
    assert DIGEST not in cover and "SHA-256" not in cover and "—" not in cover


def test_the_notes_follow_the_cover_and_the_sections_start_on_a_recto_in_the_forms_order(submitted):
    pages = pages_of(submitted)
    assert "填写说明" in pages[2] and "五、统一使用A4纸双面打印、装订成册。" in pages[2]
    starts = [page_with(pages, heading) for heading in SECTION_HEADINGS]
    assert starts == sorted(starts)
    assert all(start % 2 == 1 for start in starts), starts  # odd pages are rectos
    assert pages[1] == "" and pages[3] == ""  # the versos of the cover and of the notes stay blank


def test_the_page_count_is_even_and_every_page_is_a4(submitted):
    reader = PdfReader(submitted)
    assert len(reader.pages) % 2 == 0
    assert {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages} == {(595, 842)}


def test_pages_are_numbered_from_section_one_and_the_footer_line_carries_the_digest(submitted):
    pages = pages_of(submitted)
    first = page_with(pages, "一、基本信息")
    assert "—1—" in pages[first - 1]
    assert "—3—" in pages[page_with(pages, SECTION_HEADINGS[1]) - 1]
    for number, page in enumerate(pages, 1):
        if number < first:
            assert "—" not in page, number
        elif page:
            assert f"编号：{NUMBER}·第2版·摘要SHA-256：{DIGEST}" in page, number


def test_section_one_has_the_forms_four_tables(submitted):
    page = pages_of(submitted)[page_with(pages_of(submitted), "一、基本信息") - 1]
    for expected in ["（一）创新基地基本信息", "■区域（综合）□领域（专业）□国际", "（二）申报单位基本信息",
                     "统一社会信用代码/组织机构代码12320100MB0000000X", "单位负责人王建国职务/职称院长",
                     "（三）申报组织单位基本信息", "联系电话025-88880000传真号码", "（四）推荐单位基本信息", "单位名称江苏省人民政府"]:
        assert expected in page, expected


def test_section_four_tabulates_tasks_indicators_and_schedule_with_unpadded_dates(submitted):
    text = "".join(pages_of(submitted))
    for expected in ["序号类别指标目标值单位", "1数量指标主导制定国家标准10项", "建设期：2027年1月1日至2028年12月31日（2年）",
                     "年度年度安排第1年", "2027年6月30日完成标准体系规划"]:
        assert expected in text, expected
    assert "2027年01月" not in text


def test_section_seven_has_both_opinion_boxes_with_room_for_seal_and_signature(submitted, tmp_path):
    pages = pages_of(submitted)
    number = page_with(pages, "七、申报意见")
    page = pages[number - 1]
    assert page.count("单位（公章）：") == 2 and page.count("负责人（签字）：") == 2
    assert page.index("申报单位意见") < page.index("申报组织单位意见")
    assert "王建国" not in page and "张华" not in page  # a typed name is no signature
    words = _words(run("pdftotext", "-bbox", "-f", str(number), "-l", str(number), str(submitted), "-"))
    for date in ("2026年5月20日", "2026年6月10日"):
        boxes = [w for w in words if w["text"] == date]
        assert boxes, date
        assert boxes[0]["x_min"] > words[0]["page_width"] / 2, f"{date} is not right-aligned"


def test_the_verification_block_carries_number_version_digest_and_a_qr_code_of_the_verification_url(submitted, tmp_path):
    pages = pages_of(submitted)
    number = page_with(pages, "七、申报意见")
    page = pages[number - 1]
    assert f"编号：{NUMBER}" in page and "版本：第2版" in page and f"摘要SHA-256：{DIGEST}" in page
    assert "/verify" in page
    assert decoded_qr(submitted, number, tmp_path) == [URL]
    assert URL.endswith(f"/verify?digest={DIGEST}")


def test_every_attachment_is_listed_and_pdf_and_image_evidence_is_appended(submitted):
    pages = pages_of(submitted)
    listing = pages[page_with(pages, "六、附件") - 1]
    for expected in ["基地选址示意图选址示意图.pngPNG", "资质条件第1项证明材料资质证明.pdfPDF", PDF_SHA, PNG_SHA,
                     f"{len(EVIDENCE_PNG) / 1024:.1f}KB"]:
        assert expected in listing, expected
    after = pages[page_with(pages, "七、申报意见"):]
    assert any("附件材料：基地选址示意图（选址示意图.png）" in page for page in after)
    assert sum("资质条件证明材料样例" in page for page in after) == 1  # one file, six rows naming it: appended once
    reader = PdfReader(submitted)
    image_page = page_with(pages, "附件材料：基地选址示意图")
    assert reader.pages[image_page - 1].images, "the image is drawn on its page"


def test_a_draft_is_watermarked_on_every_page_and_has_no_qr_code(draft, tmp_path):
    pages = pages_of(draft)
    mark = "".join(WATERMARK.split())
    assert all(mark in page for page in pages), [i for i, p in enumerate(pages, 1) if mark not in p]
    number = page_with(pages, "七、申报意见")
    assert "草稿：未提交的文本，不是系统记录的版本" in pages[number - 1]
    assert decoded_qr(draft, number, tmp_path) == []


def test_a_submitted_version_carries_no_watermark(submitted):
    mark = "".join(WATERMARK.split())
    assert not any(mark in page for page in pages_of(submitted))


def test_before_sac_numbers_it_the_number_is_left_blank_for_sac(tmp_path):
    pages = texts(PdfReader(io.BytesIO(render(number=None, organizing_opinion=None))).pages)
    assert pages[0].startswith("编号：＿＿＿")
    assert printed_plan.UNNUMBERED in "".join(pages) and "经审核" not in "".join(pages)


def test_the_font_is_embedded_as_truetype_outlines(submitted):
    rows = run("pdffonts", str(submitted)).splitlines()[2:]
    assert rows
    for row in rows:
        assert "CID TrueType" in row and re.search(r"Identity-H\s+yes\s+yes\s+yes", row), row
        assert re.search(r"WenQuanYi|UMing|AR-PL", row), row


def test_the_same_version_prints_to_the_same_bytes():
    assert render() == render()


# --- reading the page back ------------------------------------------------------------------------


def decoded_qr(path, page: int, tmp_path) -> list[str]:
    import zxingcpp
    from PIL import Image

    prefix = tmp_path / f"page{page}"
    subprocess.run(["pdftoppm", "-r", "150", "-f", str(page), "-l", str(page), "-png", str(path), str(prefix)],
                   check=True)
    image = Image.open(next(tmp_path.glob(f"page{page}*.png")))
    return [code.text for code in zxingcpp.read_barcodes(image)]


class _Words(HTMLParser):
    def __init__(self):
        super().__init__()
        self.words, self.width, self._open = [], 0.0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "page":
            self.width = float(attrs["width"])
        elif tag == "word":
            self._open = {"x_min": float(attrs["xmin"]), "x_max": float(attrs["xmax"]), "page_width": self.width}

    def handle_data(self, data):
        if self._open is not None:
            self.words.append({**self._open, "text": data.strip()})
            self._open = None


def _words(bbox_html: str) -> list[dict]:
    parser = _Words()
    parser.feed(bbox_html)
    return parser.words
