"""The printable plan (系统生成的《申报方案》), opened as its reader opens it: A4, in Chinese,
every section of 附件2 in the form's order and headings, the number, version and digest
on every page, a TrueType CJK font embedded."""
import re
import shutil
import subprocess
from datetime import datetime

import pytest

from services.intake import plan, printed_plan
from shared.clock import BEIJING
from tests.support.applications import Setup, applicant_caller, sections

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed"),
]
NUMBER = "CXJD-2026-R-0007"
EVIDENCE = {i: f"{i:064x}" for i in range(1, 7)}
LETTER = "e" * 64
FILES = {sha: {"sha256": sha, "name": f"资质证明{i}.pdf", "size": 2048, "media_type": "application/pdf",
               "uploaded_by": "p"} for i, sha in EVIDENCE.items()}
FILES[LETTER] = {"sha256": LETTER, "name": "支持函.pdf", "size": 900, "media_type": "application/pdf",
                 "uploaded_by": "p"}
HEADINGS = [
    "国家技术标准创新基地", "申报方案", "国家标准化管理委员会印制", "填写说明",
    "一、基本信息", "（一）创新基地基本信息", "（二）申报单位基本信息", "（三）申报组织单位基本信息", "（四）推荐单位基本信息",
    "二、创新基地建设的意义和必要性", "（一）意义", "（二）必要性",
    "三、创新基地建设的可行性", "（一）工作基础", "（二）资质条件", "（三）优势分析",
    "四、目标和任务", "（一）目标", "（二）重点任务", "（三）考核指标", "（四）进度计划", "中期目标",
    "五、保障措施", "（一）组织机制", "（二）政策支持", "（三）资金人才",
    "六、附件", "七、申报意见", "申报单位意见", "申报组织单位意见",
]


def frozen_plan():
    setup = Setup(applicant_caller("12320100MB0000000X"), "regional", "js-samr", "js-gov", "320100", None)
    return plan.freeze(
        application_id="9f8e9c66-edee-5c58-84bd-b3bf57333f67", base_type="regional",
        sections=sections(setup, EVIDENCE, [("地方政府支持函", LETTER)]), files=FILES,
        applicant={"credit_code": "12320100MB0000000X", "name": "江苏省标准化研究院",
                   "category": "standardization_institute", "region": "320100"},
        organizing_unit={"unit_id": "js-samr", "name": "江苏省市场监督管理局", "kind": "local_standardization_authority",
                         "region": "320000", "domain": None, "postcode": "210008", "address": "南京市北京西路1号",
                         "contact": {"name": "张华", "title": "处长", "phone": "025-88880000", "fax": None,
                                     "email": "zh@example.cn"}},
        recommending_unit={"unit_id": "js-gov", "name": "江苏省人民政府", "kind": "local_government",
                           "region": "320000", "domain": None},
    )


FROZEN = frozen_plan()
DIGEST = plan.digest(FROZEN)
SUBMITTED_AT = datetime(2026, 6, 1, 10, 0, tzinfo=BEIJING)


def render(**overrides):
    options = dict(version_label="第 2 版", digest=DIGEST, number=NUMBER, submitted_at=SUBMITTED_AT,
                   organizing_opinion={"text": "经审核，同意推荐。", "head": "张华", "date": "2026-06-10"})
    options.update(overrides)
    return printed_plan.pdf(FROZEN, **options)


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("plan") / "plan.pdf"
    path.write_bytes(render())
    return path


def run(*args) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pages(path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(path)), re.M).group(1))


def page_text(path, page) -> str:
    return squeeze(run("pdftotext", "-f", str(page), "-l", str(page), str(path), "-"))


def test_every_section_of_the_form_appears_in_its_order_and_with_its_heading(pdf_file):
    text = squeeze(run("pdftotext", str(pdf_file), "-"))
    at = 0
    for heading in HEADINGS:
        found = text.find(squeeze(heading), at)
        assert found >= 0, f"{heading} missing or out of order"
        at = found + 1


def test_the_plan_prints_what_the_applicant_wrote(pdf_file):
    text = squeeze(run("pdftotext", str(pdf_file), "-"))
    for expected in ["国家技术标准创新基地（江苏）", "12320100MB0000000X", "江苏省标准化研究院", "江苏省市场监督管理局",
                     "江苏省人民政府", "南京市（320100）", "■区域（综合）", "主导制定国家标准", "2000", "万元",
                     "建设期：2027年01月01日至2028年12月31日", "资质证明3.pdf", "支持函.pdf", "经审核，同意推荐。",
                     "负责人（签字）：王建国", "2026年05月20日", "2026年06月01日"]:
        assert squeeze(expected) in text, expected


def test_every_page_carries_the_number_version_and_digest(pdf_file):
    total = pages(pdf_file)
    assert total >= 6
    for page in range(1, total + 1):
        text = page_text(pdf_file, page)
        assert f"编号：{NUMBER}" in text and "第2版" in text, page
        assert DIGEST in text, page


def test_the_page_size_is_a4(pdf_file):
    info = run("pdfinfo", "-f", "1", "-l", str(pages(pdf_file)), str(pdf_file))
    sizes = re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert len(sizes) == pages(pdf_file)
    assert all(abs(float(w) - 595.3) < 1 and abs(float(h) - 841.9) < 1 for w, h in sizes)


def test_the_font_is_embedded_as_truetype_outlines(pdf_file):
    rows = run("pdffonts", str(pdf_file)).splitlines()[2:]
    assert rows
    for row in rows:
        assert "CID TrueType" in row and re.search(r"Identity-H\s+yes\s+yes\s+yes", row), row
        assert re.search(r"WenQuanYi|UMing|AR PL", row), row


def test_before_sac_numbers_it_the_number_is_left_for_sac_to_fill(tmp_path):
    path = tmp_path / "unnumbered.pdf"
    path.write_bytes(render(number=None, organizing_opinion=None))
    text = squeeze(run("pdftotext", str(path), "-"))
    assert "（由国家标准委统一填写）" in text and "编号：（待编号）" in text
    assert "经审核" not in text


def test_the_same_version_prints_to_the_same_bytes():
    assert render() == render()
