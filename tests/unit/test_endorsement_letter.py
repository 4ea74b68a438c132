"""The recommendation letter (推荐函) as an official letter: the 发文字号 the recommending unit
entered, title, addressee, body naming the application, the quota commitment of guide §四 for
the unit's own jurisdiction, the unit and date at the right; nothing the stamped copy should not
carry, and a preview watermarked."""
import io
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from pypdf import PdfReader

from services.endorsement import letter
from services.endorsement.letter import LetterFacts
from shared.printable import WATERMARK, texts

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed"),
]

ISSUED = LetterFacts(
    name="国家技术标准创新基地（江苏）", base_type="regional", region="320100", domain=None,
    applicant_name="江苏省标准化研究院", applicant_credit_code="12320000466007437T",
    organizing_unit_name="江苏省市场监督管理局", recommending_unit_name="江苏省人民政府",
    recommending_region="320000", recommending_contact={"name": "赵六", "phone": "025-83000000"},
    plan_version=2, digest="b1fc" * 16, receipt_number="SB20260601-000002",
    drafted_at=datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc),
    reference="苏政函〔2027〕12号", issued_on=date(2027, 6, 5),
)
PREVIEW = replace(ISSUED, reference=None, issued_on=None)


def text_of(facts: LetterFacts) -> str:
    return "".join(texts(PdfReader(io.BytesIO(letter.pdf(facts))).pages))


def test_the_letter_reads_in_the_order_of_an_official_letter():
    text = text_of(ISSUED)
    parts = ["苏政函〔2027〕12号", "关于推荐江苏省标准化研究院申报国家技术标准创新基地的函", "国家标准化管理委员会：",
             "现推荐江苏省标准化研究院申报国家技术标准创新基地（江苏），创新基地类型为区域（综合），所在区域为南京市。",
             "所推荐的申报方案为第2版（申报回执号：SB20260601-000002；摘要SHA-256：" + "b1fc" * 16 + "）。",
             "特此函告。", "江苏省人民政府", "2027年6月5日", "（联系人：赵六；联系电话：025-83000000）"]
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part} missing or out of order"
        at = found + len(part)
    assert "江苏省标准化研究院（统一社会信用代码：12320000466007437T）" in text


def test_the_quota_commitment_names_the_recommending_units_jurisdiction_not_the_bases_city():
    text = text_of(ISSUED)
    assert "本年度在江苏省行政区域范围内，仅推荐此一个区域（综合）创新基地申报方案" in text
    assert "南京市行政区域" not in text


def test_the_signed_copy_carries_no_draft_mark_nor_instructions_to_the_clerk():
    text = text_of(ISSUED)
    assert "草稿" not in text and "扫描上传" not in text and "签字" not in text


def test_the_unit_and_the_date_stand_at_the_right_with_room_above_for_the_seal(tmp_path):
    path = tmp_path / "letter.pdf"
    path.write_bytes(letter.pdf(ISSUED))
    bbox = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    import re

    def box(word):
        found = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">' + re.escape(word), bbox)
        assert found, word
        return [float(v) for v in found.groups()]

    unit, issued, closing = box("江苏省人民政府"), box("2027年6月5日"), box("特此函告。")
    assert unit[0] > 595 / 2 and issued[0] > 595 / 2
    assert unit[1] - closing[3] > 40  # more than 14 mm between the closing line and the unit: the seal's room


def test_a_preview_before_the_unit_enters_its_reference_is_watermarked():
    text = text_of(PREVIEW)
    assert "".join(WATERMARK.split()) in text
    assert "〔〕号" in text and "年月日" in text  # the reference and date left to come


def test_a_domain_letter_commits_to_one_application_in_the_same_or_similar_domain():
    text = text_of(replace(ISSUED, name="国家技术标准创新基地（智能制造）", base_type="domain", region=None,
                           domain="EQ.07", recommending_region=None))
    assert "所属领域为装备制造·智能制造（EQ.07）" in text
    assert "本年度在装备制造及相近领域范围内，仅推荐此一个领域（专业）创新基地申报方案" in text


def test_an_international_letter_makes_no_quota_commitment():
    text = text_of(replace(ISSUED, base_type="international", region=None, domain="EI.01"))
    assert "创新基地类型为国际" in text and "仅推荐此一个" not in text


def test_what_is_not_known_yet_is_left_blank_to_fill_in_by_hand():
    text = text_of(replace(ISSUED, applicant_credit_code=None, recommending_contact=None))
    assert "统一社会信用代码：＿＿＿＿＿＿" in text and "联系人：＿＿＿＿＿＿" in text
