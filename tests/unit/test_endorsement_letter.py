"""The draft recommendation letter (推荐函): Chinese text a recommending unit can print, sign
and stamp, filled from the application, with the quota commitment of guide §四."""
import shutil
import subprocess
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from services.endorsement.letter import LetterFacts, recommendation_letter
from shared.printable import render

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed"),
]

REGIONAL = LetterFacts(
    name="国家技术标准创新基地（江苏）", base_type="regional", region="320000", domain=None,
    applicant_name="江苏省标准化研究院", applicant_credit_code="12320000466007437T",
    organizing_unit_name="江苏省市场监督管理局", recommending_unit_name="江苏省人民政府",
    recommending_contact={"name": "赵六", "phone": "025-83000000"},
    opinion={"text": "经审核，同意推荐。", "head": "王五", "date": "2026-06-01"},
    plan_version=2, digest="b1fc" * 16, receipt_number="SB20260601-B1FC0A2E-2",
    drafted_at=datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc),
)


def text_of(facts: LetterFacts) -> str:
    pdf = render(recommendation_letter(facts))
    assert pdf.startswith(b"%PDF-")
    extracted = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    # Lines wrap wherever the page ends: compare the text without its line breaks.
    return "".join(extracted.decode("utf-8").split())


def test_the_letter_recommends_the_applicant_to_sac_with_the_application_particulars():
    text = text_of(REGIONAL)
    for expected in ("关于推荐江苏省标准化研究院申报国家技术标准创新基地的函", "国家标准化管理委员会：",
                     "国家技术标准创新基地（江苏）", "区域（综合）", "江苏省（320000）", "12320000466007437T",
                     "江苏省市场监督管理局", "经审核，同意推荐。（负责人：王五，2026-06-01）",
                     "SB20260601-B1FC0A2E-2", "特此函告。", "联系人：赵六", "025-83000000"):
        assert expected in text, expected


def test_the_letter_leaves_room_for_the_heads_signature_the_units_stamp_and_the_date():
    text = text_of(REGIONAL)
    assert "推荐单位（公章）：江苏省人民政府" in text
    assert "负责人（签字）：" in text and "年月日" in text


def test_a_regional_letter_commits_to_one_regional_application_in_the_region():
    assert "本年度在江苏省（320000）区域范围内，仅推荐此一个区域（综合）创新基地申报方案" in text_of(REGIONAL)


def test_a_domain_letter_commits_to_one_application_in_the_same_or_similar_domain():
    text = text_of(replace(REGIONAL, name="国家技术标准创新基地（智能制造）", base_type="domain",
                           region=None, domain="EQ.07"))
    assert "所属领域" in text and "装备制造·智能制造（EQ.07）" in text
    assert "本年度在装备制造及相近领域范围内，仅推荐此一个领域（专业）创新基地申报方案" in text


def test_an_international_letter_makes_no_quota_commitment():
    text = text_of(replace(REGIONAL, base_type="international", region=None, domain="EI.01"))
    assert "国际" in text and "仅推荐此一个" not in text


def test_what_is_not_known_yet_is_left_blank_to_fill_in_by_hand():
    text = text_of(replace(REGIONAL, applicant_credit_code=None, recommending_contact=None))
    assert "统一社会信用代码＿＿＿＿＿＿" in text and "联系人：＿＿＿＿＿＿" in text
