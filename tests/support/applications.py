"""Applications made as an applicant's portal makes them, for tests and benchmarks.

An applicant unit registers under a valid credit code, an officer registers an
organizing and a recommending unit of the kinds the guide allows for the base
type, the applicant drafts, uploads evidence (tiny valid PDFs and PNGs), fills
every section of the plan with valid content and submits. Everything goes
through intake's entrypoints (schemas included), either over RPC
(`OverRpc()`) or straight on an `Intake()` application in this process
(`Direct(app)`, for a test or benchmark acting as an intake worker):

    via = OverRpc()
    setup = prepare(via, "regional")                 # applicant + units registered
    receipt = submit_complete(via, setup)            # draft, fill, submit
    with via.intake(setup.applicant) as intake:       # any other call, as that party
        intake.my_applications()
"""
from __future__ import annotations

import base64
import random
import struct
import uuid
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

from services.intake.credit_code import ALPHABET, make_credit_code
from shared import auth
from shared.auth import Caller
from shared.errors.intake import AlreadyRegistered

REGION = "320000"          # 江苏省
BASE_REGION = "320100"     # 南京市, inside it
DOMAIN = "EI.01"           # 电子信息 / 集成电路
NAMES = {"regional": "国家技术标准创新基地（江苏）", "domain": "国家技术标准创新基地（集成电路）",
         "international": "国家技术标准创新基地（集成电路国际）"}
CHECKLIST_SIZES = {"regional": 6, "domain": 5, "international": 5}
OFFICER = Caller("officer-tests", "officer", "SAC")
START_DATE = "2027-01-01"  # the construction period: 2027-01-01 to 2028-12-31


# --- parties ----------------------------------------------------------------------


def new_credit_code(region: str = BASE_REGION, registration: str = "1", category: str = "2") -> str:
    """A valid, fresh GB 32100 code; default 12…: an institution (事业单位) in Nanjing."""
    body = "".join(random.choice(ALPHABET) for _ in range(8))
    return make_credit_code(registration, category, region, body)


def applicant_caller(credit_code: str | None = None, party: str | None = None) -> Caller:
    credit_code = credit_code or new_credit_code()
    return Caller(party or f"applicant-{uuid.uuid4().hex[:8]}", "applicant", credit_code)


def token_for(caller: Caller, ttl: int = 3600) -> str:
    return auth.mint(caller.party_id, caller.role, caller.organization, ttl_seconds=ttl)


class OverRpc:
    """Each party calls intake through the broker, as the portal does."""

    def __init__(self, timeout: float = 10):
        self.timeout = timeout

    @contextmanager
    def intake(self, caller: Caller):
        from tests.support.cluster import rpc

        with rpc(token_for(caller), timeout=self.timeout) as services:
            yield services.intake


class Direct:
    """Each party calls intake's entrypoints on an `Intake()` in this process: the same schemas
    and rules as over RPC, without the broker."""

    def __init__(self, app):
        self.app = app

    @contextmanager
    def intake(self, caller: Caller):
        yield DirectIntake(self.app, caller)


class DirectIntake:
    def __init__(self, app, caller: Caller):
        from services.intake.service import IntakeService

        service = IntakeService.__new__(IntakeService)
        service.app = app  # what nameko injects into a worker
        service.caller = lambda: caller
        self._service = service

    def __getattr__(self, name):
        return getattr(self._service, name)


# --- files ------------------------------------------------------------------------


def tiny_pdf(label: str = "evidence") -> bytes:
    """A valid one-page PDF; `label` (kept in a comment) makes distinct files."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
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


# --- registering ------------------------------------------------------------------


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


def register_applicant(intake, credit_code: str, **overrides) -> dict:
    return intake.register_applicant(**applicant_details(credit_code, **overrides))


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


def register_units(officer_intake, base_type: str, organizing_unit_id: str, recommending_unit_id: str,
                   region: str = REGION, domain: str = DOMAIN) -> None:
    """Both units, unless registered already (tests share unit ids across applications)."""
    for role, unit_id in (("organizing", organizing_unit_id), ("recommending", recommending_unit_id)):
        try:
            officer_intake.register_unit(**unit_details(base_type, role, unit_id, region, domain))
        except AlreadyRegistered:
            pass


@dataclass(frozen=True)
class Setup:
    """Who applies, for what kind of base, through which units."""

    applicant: Caller
    base_type: str
    organizing_unit_id: str
    recommending_unit_id: str
    region: str | None
    domain: str | None

    @property
    def credit_code(self) -> str:
        return self.applicant.organization


def prepare(via, base_type: str = "regional", *, organizing_unit_id: str | None = None,
            recommending_unit_id: str | None = None, applicant: Caller | None = None,
            unit_region: str = REGION, domain: str = DOMAIN, **applicant_overrides) -> Setup:
    """Register an applicant unit and the two units (unless they exist)."""
    suffix = uuid.uuid4().hex[:6]
    organizing_unit_id = organizing_unit_id or f"OU-{suffix}"
    recommending_unit_id = recommending_unit_id or f"RU-{suffix}"
    with via.intake(OFFICER) as officer:
        register_units(officer, base_type, organizing_unit_id, recommending_unit_id, unit_region, domain)
    applicant = applicant or applicant_caller()
    with via.intake(applicant) as intake:
        try:
            register_applicant(intake, applicant.organization, **applicant_overrides)
        except AlreadyRegistered:
            pass
    regional = base_type == "regional"
    return Setup(applicant, base_type, organizing_unit_id, recommending_unit_id,
                 region=BASE_REGION if regional else None, domain=None if regional else domain)


# --- the plan -----------------------------------------------------------------------


def create_draft(intake, setup: Setup, name: str | None = None, **overrides) -> dict:
    fields = dict(base_type=setup.base_type, name=name or NAMES[setup.base_type],
                  organizing_unit_id=setup.organizing_unit_id, recommending_unit_id=setup.recommending_unit_id,
                  region=setup.region, domain=setup.domain)
    fields.update(overrides)
    return intake.create_draft(**fields)


def upload_evidence(intake, application_id: str, base_type: str) -> tuple[dict[int, str], list[tuple[str, str]]]:
    """One PDF per qualification item and two files for section 六 (a PDF and a PNG):
    ({item: sha256}, [(title, sha256)])."""
    evidence = {}
    for item in range(1, CHECKLIST_SIZES[base_type] + 1):
        uploaded = intake.upload_attachment(application_id=application_id, name=f"资质证明{item}.pdf",
                                            content=b64(tiny_pdf(f"{application_id} qualification {item}")))
        evidence[item] = uploaded["sha256"]
    letter = intake.upload_attachment(application_id=application_id, name="支持函.pdf",
                                      content=b64(tiny_pdf(f"{application_id} letter of support")))
    photo = intake.upload_attachment(application_id=application_id, name="实验室照片.png",
                                     content=b64(tiny_png(random.randrange(1 << 16))))
    return evidence, [("地方政府支持函", letter["sha256"]), ("重点实验室照片", photo["sha256"])]


def sections(setup: Setup, evidence: dict[int, str], attachments: list[tuple[str, str]],
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


def upload_one_file(intake, application_id: str, base_type: str) -> tuple[dict[int, str], list[tuple[str, str]]]:
    """One PDF that serves as every piece of evidence: a valid plan with the fewest commits (benchmarks)."""
    sha = intake.upload_attachment(application_id=application_id, name="证明材料汇编.pdf",
                                   content=b64(tiny_pdf(f"{application_id} evidence")))["sha256"]
    return {item: sha for item in range(1, CHECKLIST_SIZES[base_type] + 1)}, [("证明材料汇编", sha)]


def fill_every_section(intake, application_id: str, setup: Setup, one_file: bool = False,
                       **options) -> dict[str, dict]:
    """Upload the evidence and save each section with valid content; returns what was saved.
    `one_file`: a single PDF is the evidence of every item (fewer commits, for benchmarks)."""
    upload = upload_one_file if one_file else upload_evidence
    evidence, attachments = upload(intake, application_id, setup.base_type)
    content = sections(setup, evidence, attachments, **options)
    for section, value in content.items():
        intake.save_section(application_id=application_id, section=section, content=value)
    return content


def complete_draft(via, setup: Setup, **options) -> dict:
    """A draft with every section filled, ready to submit; returns its summary."""
    with via.intake(setup.applicant) as intake:
        draft = create_draft(intake, setup, name=options.get("name"))
        fill_every_section(intake, draft["application_id"], setup, **options)
    return draft


def submit_complete(via, setup: Setup, **options) -> dict:
    """Draft, fill every section, submit; returns the submission's answer (receipt, digest, …)."""
    with via.intake(setup.applicant) as intake:
        draft = create_draft(intake, setup, name=options.get("name"))
        fill_every_section(intake, draft["application_id"], setup, **options)
        return intake.submit(application_id=draft["application_id"])


# --- around intake: what it publishes, what later stages tell it ----------------------------


class PublishedEvents:
    """Intake's integration events as any consumer receives them, through a queue of the test's own
    bound to `intake.#` (declare it before the events happen)."""

    def __init__(self):
        from kombu import Connection, Queue

        from shared import settings
        from shared.outbox import events_exchange

        self._connection = Connection(settings.get().amqp_uri)
        self._queue = Queue(f"test-intake-events-{uuid.uuid4().hex[:8]}", exchange=events_exchange(),
                            routing_key="intake.#", exclusive=True, auto_delete=True)(self._connection.default_channel)
        self._queue.declare()
        self.received: list[dict] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._connection.close()

    def drain(self) -> list[dict]:
        while True:
            message = self._queue.get(no_ack=True)
            if message is None:
                return self.received
            self.received.append(message.decode())

    def of(self, event_type: str, **payload) -> list[dict]:
        """Received events of that type whose payload has the given values."""
        return [m for m in self.drain() if m["type"] == event_type
                and all(m["payload"].get(key) == value for key, value in payload.items())]


class Upstream:
    """Plays a later stage (endorsement, formal_review, expert_review): publishes its events as
    its outbox would, each at a fresh position of that source."""

    def __init__(self):
        self._position = 70_000_000 + random.randrange(10_000_000) * 10

    def publish(self, source: str, event_type: str, payload: dict, position: int | None = None) -> dict:
        from kombu import Connection

        from shared import contracts, settings
        from shared.outbox import events_exchange

        if position is None:
            self._position += 1
            position = self._position
        event = contracts.build(
            source, event_type, 1, payload, event_id=str(uuid.uuid4()), position=position,
            application_id=payload.get("application_id"), occurred_at="2026-06-01T10:00:00+08:00", actor=None,
            previous_position=None, caused_by=None,
        )
        exchange = events_exchange()
        with Connection(settings.get().amqp_uri, transport_options={"confirm_publish": True}) as conn:
            conn.Producer().publish(event.as_message(), exchange=exchange, routing_key=event.routing_key,
                                    serializer="json", delivery_mode=2, message_id=event.event_id,
                                    declare=[exchange])
        return event.as_message()
