"""The sample applications' printed documents, rendered without a running system, so anyone can
check the layout (`innobase print-sample plan|letter`) and the benchmark can time it."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime

from innobase import samples
from services.endorsement import letter
from services.intake import plan as plans
from services.intake import printed_plan
from shared.clock import BEIJING
from shared.printable import font_family, render

APPLICATION_ID = "9f8e9c66-edee-5c58-84bd-b3bf57333f67"
NUMBER = "CXJD-2027-R-0001"
SUBMITTED_AT = datetime(2027, 7, 30, 10, 0, tzinfo=BEIJING)
CREDIT_CODE = "12320100MB0000000X"
ORGANIZING = {"unit_id": "js-samr", "name": "江苏省市场监督管理局", "kind": "local_standardization_authority",
              "region": samples.REGION, "domain": None, "postcode": "210008", "address": "南京市鼓楼区北京西路 1 号",
              "contact": {"name": "张华", "title": "处长", "phone": "025-88880000", "fax": None,
                          "email": "zhanghua@example.cn"}}
RECOMMENDING = {"unit_id": "js-gov", "name": "江苏省人民政府", "kind": "local_government",
                "region": samples.REGION, "domain": None}
ORGANIZING_OPINION = {"text": "经审核，该申报方案内容真实，符合申报要求，同意申报。", "head": "张华", "date": "2027-08-03"}


@dataclass(frozen=True)
class _Setup:
    base_type: str = "regional"
    region: str = samples.BASE_REGION
    domain: str | None = None
    organizing_unit_id: str = ORGANIZING["unit_id"]
    recommending_unit_id: str = RECOMMENDING["unit_id"]


def evidence_pdf(title: str) -> bytes:
    """A one-page PDF standing for a certificate an applicant scans."""
    html = (f"<html><head><style>body {{ font-family: {font_family()}; padding: 40mm 20mm; text-align: center }}"
            f"</style></head><body><h1>{title}</h1><p>（样例证明材料）</p></body></html>")
    return render(html, title=title, created_at=SUBMITTED_AT)


def evidence_png() -> bytes:
    """A small photograph-like image: a site plan of the base."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 400), (235, 240, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 560, 360), outline=(30, 60, 120), width=6)
    draw.rectangle((90, 90, 300, 250), fill=(120, 160, 200))
    draw.rectangle((340, 140, 510, 320), fill=(160, 190, 120))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _file(name: str, content: bytes, media_type: str) -> dict:
    sha = hashlib.sha256(content).hexdigest()
    return {"sha256": sha, "name": name, "size": len(content), "media_type": media_type, "uploaded_by": "sample"}


def sample_plan() -> tuple[dict, dict[str, bytes]]:
    """Sample A's frozen plan (regional, 江苏) and the content of its files."""
    contents = {f"资质证明{i}.pdf": evidence_pdf(f"资质条件第{i}项证明材料") for i in (1, 2)}
    contents["江苏省人民政府支持函.pdf"] = evidence_pdf("江苏省人民政府关于支持创新基地建设的函")
    contents["基地选址示意图.png"] = evidence_png()
    files = {}
    by_name = {}
    for name, content in contents.items():
        entry = _file(name, content, "image/png" if name.endswith(".png") else "application/pdf")
        files[entry["sha256"]] = entry
        by_name[name] = entry["sha256"]
    checklist = samples.CHECKLIST_SIZES["regional"]
    evidence = {item: by_name["资质证明1.pdf" if item % 2 else "资质证明2.pdf"] for item in range(1, checklist + 1)}
    sections = samples.sections(_Setup(), evidence, [("地方政府支持函", by_name["江苏省人民政府支持函.pdf"]),
                                                     ("基地选址示意图", by_name["基地选址示意图.png"])])
    frozen = plans.freeze(
        application_id=APPLICATION_ID, base_type="regional", sections=sections, files=files,
        applicant={"credit_code": CREDIT_CODE, "name": "江苏省标准化研究院", "category": "standardization_institute",
                   "region": samples.BASE_REGION},
        organizing_unit=ORGANIZING, recommending_unit=RECOMMENDING,
    )
    return frozen, {sha: contents[entry["name"]] for sha, entry in files.items()}


def plan_layout(draft: bool = False) -> tuple[dict, dict]:
    """What `printed_plan.pdf` is given for sample A's plan: its submitted version 1, numbered,
    stamped by its organizing unit; or, with `draft`, its working copy before submission."""
    frozen, evidence = sample_plan()
    digest = plans.digest(frozen)
    if draft:
        return frozen, dict(version_label=printed_plan.DRAFT_LABEL, digest=digest, number=None, submitted_at=None,
                            evidence=evidence)
    return frozen, dict(version_label="第 1 版", digest=digest, number=NUMBER, submitted_at=SUBMITTED_AT,
                        organizing_opinion=ORGANIZING_OPINION, evidence=evidence)


def plan_pdf(draft: bool = False) -> bytes:
    frozen, layout = plan_layout(draft)
    return printed_plan.pdf(frozen, **layout)


def letter_facts(draft: bool = False) -> letter.LetterFacts:
    frozen, _ = sample_plan()
    basic = frozen["sections"]["basic"]
    return letter.LetterFacts(
        name=basic["name"], base_type="regional", region=basic["region"], domain=None,
        applicant_name=basic["applicant"]["name"], applicant_credit_code=CREDIT_CODE,
        organizing_unit_name=ORGANIZING["name"], recommending_unit_name=RECOMMENDING["name"],
        recommending_region=RECOMMENDING["region"],
        recommending_contact={"name": "赵六", "phone": "025-83000000"},
        plan_version=1, digest=plans.digest(frozen), receipt_number="SB20270730-000001",
        drafted_at=datetime(2027, 8, 3, 9, 0, tzinfo=BEIJING),
        reference=None if draft else "苏政函〔2027〕12号", issued_on=None if draft else date(2027, 8, 5),
    )


def letter_pdf(draft: bool = False) -> bytes:
    """Sample A's recommendation letter, as issued under its 发文字号, or (`draft`) its preview."""
    return letter.pdf(letter_facts(draft))
