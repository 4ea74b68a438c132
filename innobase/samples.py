"""Sample parties, files and plan content: valid by every rule of the guide.

Used by `innobase demo` to drive sample applications through the running
system, and by the tests and benchmarks that need complete applications.
"""
from __future__ import annotations

import base64
import random
import struct
import zlib

from shared.reference.credit_code import ALPHABET, make_credit_code

REGION = "320000"          # 江苏省
BASE_REGION = "320100"     # 南京市, inside it
DOMAIN = "EI.01"           # 电子信息 / 集成电路
NAMES = {"regional": "国家技术标准创新基地（江苏）", "domain": "国家技术标准创新基地（集成电路）",
         "international": "国家技术标准创新基地（集成电路国际）"}
CHECKLIST_SIZES = {"regional": 6, "domain": 5, "international": 5}
START_DATE = "2027-01-01"  # the construction period: 2027-01-01 to 2028-12-31


def new_credit_code(region: str = BASE_REGION, registration: str = "1", category: str = "2") -> str:
    """A valid, fresh GB 32100 code; default 12…: an institution (事业单位) in Nanjing."""
    body = "".join(random.choice(ALPHABET) for _ in range(8))
    return make_credit_code(registration, category, region, body)


def tiny_pdf(label: str = "evidence", catalog: bytes = b"", objects: tuple[bytes, ...] = ()) -> bytes:
    """A valid one-page PDF; `label` (kept in a comment) makes distinct files. `catalog` adds
    entries to its catalog and `objects` more objects, numbered from 4 (tests of what an upload
    may not carry)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R " + catalog + b">>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>", *objects]
    out = b"%PDF-1.4\n%" + label.encode("utf-8") + b"\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def tiny_png(seed: int = 0) -> bytes:
    """A valid 1×1 PNG; `seed` picks the pixel's colour, so seeds make distinct files."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pixel = bytes([0, seed % 256, (seed // 256) % 256, 7])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(pixel)) + chunk(b"IEND", b""))


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


def applicant_details(credit_code: str, **overrides) -> dict:
    details = dict(
        credit_code=credit_code, name="江苏省标准化研究院", category="standardization_institute", region=BASE_REGION,
        head={"name": "王建国", "title": "院长"},
        contact={"name": "李明", "title": "主任", "phone": "025-83301234", "fax": "025-83301235",
                 "email": "liming@example.cn"},
        postcode="210029", address="江苏省南京市鼓楼区汉中门大街 99 号",
    )
    details.update(overrides)
    return details


def unit_details(base_type: str, role: str, unit_id: str, region: str = REGION, domain: str = DOMAIN) -> dict:
    """A unit of the first kind the guide allows for the base type in that role."""
    if base_type == "regional":
        kind, name = {"organizing": ("local_standardization_authority", "江苏省市场监督管理局"),
                      "recommending": ("local_government", "江苏省人民政府")}[role]
        where = {"region": region}
    else:
        kind, name = {"organizing": ("industry_association", "中国半导体行业协会"),
                      "recommending": ("industry_department", "工业和信息化部")}[role]
        where = {"domain": domain}
    return dict(unit_id=unit_id, name=name, role=role, kind=kind, **where,
                contact={"name": "张华", "title": "处长", "phone": "025-88880000", "email": "zhanghua@example.cn"},
                address="南京市鼓楼区北京西路 1 号", postcode="210008")


def sections(setup, evidence: dict[int, str], attachments: list[tuple[str, str]],
             name: str | None = None, start_date: str = START_DATE) -> dict[str, dict]:
    """Valid content for every section of the plan, in the form's order."""
    year = int(start_date[:4])
    return {
        "basic": {
            "name": name or NAMES[setup.base_type], "region": setup.region, "domain": setup.domain,
            "organizing_unit_id": setup.organizing_unit_id, "recommending_unit_id": setup.recommending_unit_id,
            "head": {"name": "王建国", "title": "院长"},
            "contact": {"name": "李明", "title": "主任", "phone": "025-83301234", "email": "liming@example.cn"},
            "postcode": "210029", "address": "江苏省南京市鼓楼区汉中门大街 99 号",
        },
        "significance": {
            "significance": "创新基地将促进创新成果转化为技术标准，助推创新技术和产品市场化、产业化和国际化。",
            "necessity": "区域产业转型升级对技术标准的需求紧迫，与国家重大区域发展战略高度契合。",
        },
        "feasibility": {
            "work_foundation": "承担国家级标准化试点示范项目十余项，主导制定国家标准二十余项。",
            "qualifications": "具备独立法人资格，设有专门标准化研究部门和专职人员。",
            "advantages": "地处长江经济带，产业集聚，政产学研协作基础广泛。",
        },
        "qualifications": {"items": [
            {"item": item, "declared": True, "statement": f"满足资质条件第{item}项，详见证明材料。",
             "evidence": [sha]} for item, sha in sorted(evidence.items())
        ]},
        "goals": {
            "goal": "建成服务区域经济社会发展的技术标准创新高地。",
            "key_tasks": [
                {"title": "标准研制", "content": "围绕重点产业开展关键技术标准研制，形成标准体系。"},
                {"title": "试验验证", "content": "建设标准试验验证平台，开展符合性测试。"},
            ],
            "indicators": [
                {"kind": "quantity", "metric": "主导制定国家标准", "target_value": 10, "unit": "项"},
                {"kind": "technical", "metric": "关键技术指标提升", "target_value": 15.5, "unit": "%"},
                {"kind": "industrialization", "metric": "成果产业化经济效益", "target_value": 2000, "unit": "万元"},
            ],
            "schedule": {
                "start_date": start_date,
                "milestones": [
                    {"date": f"{year}-06-30", "description": "完成标准体系规划"},
                    {"date": f"{year + 1}-12-31", "description": "通过建设期验收"},
                ],
                "yearly_nodes": [
                    {"year": 1, "description": "搭建平台，启动首批标准研制。"},
                    {"year": 2, "description": "完成标准发布和推广应用。"},
                ],
                "mid_term_goal": "建设期满一年时完成五项国家标准立项。",
            },
        },
        "safeguards": {
            "organization_mechanism": "成立创新基地理事会，实行理事会领导下的主任负责制。",
            "policy_support": "省政府将创新基地建设纳入年度重点工作并给予政策支持。",
            "funds_and_talent": "省财政每年安排专项资金，申报单位配套投入并引进高层次人才。",
        },
        "attachments": {"items": [{"title": title, "sha256": sha} for title, sha in attachments]},
        "applicant_opinion": {"opinion": "同意申报，保证所填内容真实有效。", "head": "王建国", "date": "2026-05-20"},
    }
