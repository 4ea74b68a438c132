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

import random
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

from innobase.samples import (  # noqa: F401  (re-exported for the tests)
    BASE_REGION, CHECKLIST_SIZES, DOMAIN, NAMES, REGION, START_DATE, applicant_details, b64,
    new_credit_code, sections, tiny_pdf, tiny_png, unit_details,
)
from shared import auth
from shared.auth import Caller
from services.intake.errors import AlreadyRegistered

OFFICER = Caller("officer-tests", "officer", "SAC")


# --- parties ----------------------------------------------------------------------


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
        entrypoint = getattr(self._service, name)

        def call(**arguments):
            # every call a request of its own, as the broker's correlation id makes it (shared.rpc)
            self._service.command_id = f"direct:{uuid.uuid4()}"
            return entrypoint(**arguments)
        return call


# --- files ------------------------------------------------------------------------


# --- registering ------------------------------------------------------------------


def register_applicant(intake, credit_code: str, **overrides) -> dict:
    return intake.register_applicant(**applicant_details(credit_code, **overrides))


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


def printed_plan(via, caller: Caller, application_id: str, path, version: int | None = None) -> dict:
    """The plan as `caller` prints it (`plan_pdf`), written to `path`; returns the answer."""
    import base64

    with via.intake(caller) as intake:
        printed = intake.plan_pdf(application_id=application_id, version=version)
    path.write_bytes(base64.b64decode(printed["content"]))
    return printed


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
