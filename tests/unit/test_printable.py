"""The printable document: A4, Chinese text that survives extraction, a header and page
count on every page, an embedded TrueType font, and tables that break across pages.
"""
import re
import shutil
import subprocess
from datetime import datetime

import pytest

from shared import printable
from shared.printable import (
    Document,
    FontNotFound,
    Heading,
    KeyValues,
    PageBreak,
    Paragraph,
    Table,
    render,
)

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed"),
]

NUMBER = "编号：CXJD-2025-0007"
VERSION = "版本 3 · 摘要 sha256:9f2c4be1a7d03e55"
SIGNIFICANCE = (
    "创新基地将围绕智能制造领域的关键共性技术开展标准研制、试验验证和推广应用，"
    "促进创新成果转化为技术标准，助推创新技术和产品市场化、产业化和国际化。"
)


def plan() -> Document:
    return Document(
        title="国家技术标准创新基地（长三角智能制造）",
        subtitle="申报方案",
        header_left=NUMBER,
        header_right=VERSION,
        created_at=datetime(2025, 6, 1, 9, 30),
        blocks=[
            Heading("一、基本信息", 1),
            Heading("（二）申报单位基本信息", 2),
            KeyValues([
                ("单位名称", "江苏省智能制造标准化研究院有限公司"),
                ("统一社会信用代码", "91320000MA1XXXXX9L"),
                ("通讯地址", "江苏省南京市玄武区中山路 100 号"),
            ]),
            Heading("二、创新基地建设的意义和必要性", 1),
            Paragraph(SIGNIFICANCE * 4),
            Paragraph("第二段：与国家重大战略契合情况。"),
            Heading("四、目标和任务", 1),
            Heading("（三）考核指标", 2),
            Table(
                ["类别", "指标", "目标值", "单位"],
                [["数量指标", f"主导制定国家标准第{i}项，覆盖智能工厂和工业互联网平台方向", i * 2, "项"]
                 for i in range(1, 61)],
                widths=[1, 4, 1, 1],
            ),
            PageBreak(),
            Heading("七、申报意见", 1),
            Paragraph("单位（公章）：\n负责人（签字）：\n年　月　日"),
        ],
    )


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("printable") / "plan.pdf"
    path.write_bytes(render(plan()))
    return path


def run(*args) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def page_count(path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(path)), re.M).group(1))


def page_text(path, page: int) -> str:
    # Extraction puts spaces and line breaks wherever the layout does; compare without them.
    text = run("pdftotext", "-f", str(page), "-l", str(page), str(path), "-")
    return re.sub(r"\s+", "", text)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_document_runs_over_several_pages(pdf_file):
    assert page_count(pdf_file) >= 3


def test_every_page_carries_the_number_version_and_digest_header(pdf_file):
    for page in range(1, page_count(pdf_file) + 1):
        text = page_text(pdf_file, page)
        assert squeeze(NUMBER) in text, page
        assert squeeze(VERSION) in text, page


def test_every_page_says_which_page_it_is_out_of_how_many(pdf_file):
    total = page_count(pdf_file)
    for page in range(1, total + 1):
        assert f"第{page}页/共{total}页" in page_text(pdf_file, page)


def test_the_chinese_text_comes_out_of_the_pdf(pdf_file):
    everything = squeeze(run("pdftotext", str(pdf_file), "-"))
    for expected in [
        "国家技术标准创新基地（长三角智能制造）", "申报方案", "一、基本信息",
        "91320000MA1XXXXX9L", "江苏省智能制造标准化研究院有限公司",
        squeeze(SIGNIFICANCE), "第二段：与国家重大战略契合情况。",
        "主导制定国家标准第60项", "七、申报意见", "负责人（签字）：",
    ]:
        assert expected in everything, expected


def test_a_page_break_block_starts_a_new_page(pdf_file):
    last = page_text(pdf_file, page_count(pdf_file))
    assert last.count("七、申报意见") == 1
    assert "主导制定国家标准第" not in last


def test_the_page_size_is_a4(pdf_file):
    info = run("pdfinfo", "-f", "1", "-l", str(page_count(pdf_file)), str(pdf_file))
    sizes = re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert sizes
    for width, height in sizes:
        assert abs(float(width) - 595) <= 1 and abs(float(height) - 842) <= 1


def test_the_embedded_font_is_truetype(pdf_file):
    rows = run("pdffonts", str(pdf_file)).splitlines()[2:]
    assert rows
    for row in rows:
        assert "TrueType" in row and "Type 3" not in row
        # columns after the type: encoding, emb, sub, uni
        assert re.search(r"Identity-H\s+yes\s+yes\s+yes", row), row


def test_a_long_table_repeats_its_column_headings_on_every_page_it_spans(pdf_file):
    pages = [p for p in range(1, page_count(pdf_file) + 1) if "主导制定国家标准第" in page_text(pdf_file, p)]
    assert len(pages) >= 2
    for page in pages:
        # Layout mode keeps the heading row on one line; plain mode reads column by column.
        layout = run("pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf_file), "-")
        assert re.search(r"类别\s+指标\s+目标值\s+单位", layout), page


def test_no_table_row_is_cut_between_pages(pdf_file):
    seen = []
    for page in range(1, page_count(pdf_file) + 1):
        seen += re.findall(r"主导制定国家标准第(\d+)项，覆盖智能工厂和工业互联网平台方向", page_text(pdf_file, page))
    assert seen == [str(i) for i in range(1, 61)]


def test_a_table_row_taller_than_a_page_is_split_across_pages_not_refused(tmp_path):
    huge = "".join(f"第{i}条任务内容，" for i in range(1, 700))
    path = tmp_path / "huge.pdf"
    path.write_bytes(render(Document(
        "重点任务", header_left=NUMBER,
        blocks=[Table(["任务", "内容"], [["任务一", huge], ["任务二", "结束"]])],
    )))
    text = "".join(page_text(path, p) for p in range(1, page_count(path) + 1))
    assert page_count(path) >= 3
    assert "第1条任务内容，" in text and "第699条任务内容，" in text and "结束" in text
    assert "（续）" in text


def test_a_long_header_is_printed_in_full_on_two_lines(tmp_path):
    digest = "摘要 sha256:" + "0123456789abcdef" * 4
    path = tmp_path / "header.pdf"
    path.write_bytes(render(Document("标题", header_left="编号：CXJD-2025-0007 版本 12", header_right=digest,
                                     blocks=[Paragraph("正文")])))
    assert squeeze(digest) in page_text(path, 1)


def test_no_line_of_a_paragraph_starts_with_closing_punctuation(tmp_path):
    text = "".join(f"第{i}项工作，按期完成。" for i in range(1, 80))
    path = tmp_path / "punctuation.pdf"
    path.write_bytes(render(Document("标点", blocks=[Paragraph(text), Paragraph(text[3:])])))
    lines = [line.strip() for line in run("pdftotext", "-layout", str(path), "-").splitlines()]
    assert not [line for line in lines if line[:1] in set("，。、；：？！）》”")]
    assert squeeze(text) in squeeze(run("pdftotext", str(path), "-"))


def test_the_same_document_renders_to_the_same_bytes():
    assert render(plan()) == render(plan())


def test_a_table_row_with_more_cells_than_columns_is_refused():
    with pytest.raises(ValueError, match="row 1 has 3 cells for 2 columns"):
        render(Document("t", blocks=[Table(["a", "b"], [["1", "2", "3"]])]))


def test_a_table_with_the_wrong_number_of_widths_is_refused():
    with pytest.raises(ValueError, match="2 columns but 3 widths"):
        render(Document("t", blocks=[Table(["a", "b"], [], widths=[1, 2, 3])]))


def test_something_that_is_not_a_block_is_refused():
    with pytest.raises(TypeError, match="not a printable block"):
        render(Document("t", blocks=["just a string"]))


def test_a_missing_font_names_the_debian_package_to_install(monkeypatch):
    monkeypatch.delenv(printable.FONT_ENV, raising=False)
    monkeypatch.setattr(printable, "FONT_CANDIDATES", (("/nonexistent/wqy-zenhei.ttc", 0),))
    with pytest.raises(FontNotFound, match="fonts-wqy-zenhei"):
        render(Document("t"))


def test_the_font_is_found_among_the_debian_candidates(monkeypatch):
    monkeypatch.delenv(printable.FONT_ENV, raising=False)
    path, _index = printable.find_font()
    assert path in {p for p, _ in printable.FONT_CANDIDATES}
