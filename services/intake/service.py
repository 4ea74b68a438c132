"""Intake's nameko entrypoints: applicant units register and write, submit and withdraw
their applications; SAC officers keep the register of units and record exceptions;
the reactions to later stages that reopen sections or move the stage on."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from services.intake import printing, schemas, search
from services.intake.application import Intake
from shared import blobs
from shared.consumer import integration_events
from shared.rpc import command, query, service_base


class IntakeService(service_base(Intake)):
    name = "intake"

    @integration_events("endorsement", "formal_review", "expert_review")
    def on_later_stage(self, event):
        return self.app.process(event)

    # --- the registers ---------------------------------------------------------------

    @command(schemas.RegisterApplicant)
    def register_applicant(self, caller, data):
        """Applicant (its own unit: `credit_code` must equal the token's organization). Registers the
        applicant unit (申报单位). A credit code failing GB 32100 is refused (`InvalidCreditCode`,
        `details.problems`) unless an officer recorded an override. An unknown region is accepted
        with a warning. Returns the registration and `warnings`."""
        return self.app.register_applicant(caller, data)

    @command(schemas.CreditCodeOverride)
    def grant_credit_code_override(self, caller, data):
        """Officer. Records that a well-formed credit code failing a check character is accepted,
        with the reason; the applicant unit may then register under it. Returns the override."""
        return self.app.grant_credit_code_override(caller, data)

    @command(schemas.RegisterUnit)
    def register_unit(self, caller, data):
        """Officer. Registers an organizing (申报组织单位) or recommending (推荐单位) unit with its kind,
        and its region (local bodies) or domain (industry bodies). Returns the register entry."""
        return self.app.register_unit(caller, data)

    @query(schemas.UnitQuery)
    def list_units(self, caller, data):
        """Any authenticated caller. The register of units; with `base_type`, only the kinds the
        guide allows for that base type. Returns a list of entries."""
        return self.app.units(caller, data["role"], data["base_type"])

    @query(schemas.ApplicantQuery)
    def get_applicant(self, caller, data):
        """Applicant (its own), officer or auditor (any, by `credit_code`). Returns the registration."""
        return self.app.applicant(caller, data["credit_code"])

    # --- writing the plan ------------------------------------------------------------

    @command(schemas.CreateDraft)
    def create_draft(self, caller, data):
        """Applicant, registered. Starts an application: base type, name (国家技术标准创新基地（×××）),
        an organizing and a recommending unit of the register that the guide allows for the base type,
        and the region (regional) or domain (domain, international). Section 一 is pre-filled from the
        registration. `request_id` makes the call idempotent. Returns the application summary."""
        return self.app.create_draft(caller, data)

    @command(schemas.SaveSection)
    def save_section(self, caller, data):
        """Applicant, own application, section open. Saves one section of the plan (附件2) as a whole;
        `content` follows the section's schema (docs/intake.md). Partial content is accepted and
        `check` names what is missing. Returns the open sections and the aggregate version."""
        return self.app.save_section(caller, data["application_id"], data["section"], data["content"],
                                     data["expected_version"])

    @command(schemas.Upload)
    def upload_attachment(self, caller, data):
        """Applicant, own application, a section open. Uploads a file (base64 `content`; PDF, JPEG or
        PNG by its content, at most 10 MiB, its name's extension matching). Stored once by SHA-256.
        Returns the attachment (sha256, name, size, media_type, uploaded_by)."""
        return self.app.upload_attachment(caller, data["application_id"], data["name"], data["content"],
                                          data["expected_version"])

    @query(schemas.AttachmentRef)
    def get_attachment(self, caller, data):
        """Applicant (own), officer, auditor, a named unit or an assigned expert (submitted files). Returns the file,
        its content base64-encoded."""
        return self.app.attachment(caller, data["application_id"], data["sha256"])

    @query(schemas.ApplicationRef)
    def check(self, caller, data):
        """Applicant (own), officer or auditor. Lists every missing or invalid item of the plan by
        section (`problems`), and advisory `warnings`; `complete` says whether it may be submitted."""
        return self.app.check(caller, data["application_id"])

    # --- submission and after --------------------------------------------------------

    @command(schemas.Reasoned)
    def grant_late_submission(self, caller, data):
        """Officer. Records an exception letting the application be submitted outside 5 May–30 July,
        with the reason. Returns the application summary."""
        return self.app.grant_late_submission(caller, data["application_id"], data["reason"])

    @command(schemas.Submit)
    def submit(self, caller, data):
        """Applicant, own application. Submits the complete plan (first time: 5 May–30 July, Beijing
        time, or with an officer's exception; an answer to a return, supplement or revision request:
        any day), freezing it as a new version with its SHA-256 digest and a receipt number.
        Returns the application summary. `expected_version` (optional) refuses it when the
        application changed since that version was read."""
        return self.app.submit(caller, data["application_id"], data["expected_version"])

    @command(schemas.Withdraw)
    def withdraw(self, caller, data):
        """Applicant, own application, before approval. Withdraws it, with the reason."""
        return self.app.withdraw(caller, data["application_id"], data["reason"], data["expected_version"])

    # --- queries ---------------------------------------------------------------------

    @query(schemas.VersionRef)
    def get_application(self, caller, data):
        """Applicant (own), officer, auditor, a named unit or an assigned expert (submitted versions only). The
        application with its plan: `version` 0 the working copy, n the n-th submitted version,
        null the plan as it stands (the working copy while it may change, else the latest version)."""
        return self.app.application(caller, data["application_id"], data["version"])

    @query(schemas.ApplicationRef)
    def versions(self, caller, data):
        """Applicant (own), officer, auditor, a named unit or an assigned expert. Every submitted version: number,
        digest, receipt number, kind, the request it answers, the sections it changed, when."""
        return self.app.versions(caller, data["application_id"])

    @query(schemas.Diff)
    def diff(self, caller, data):
        """Applicant (own), officer, auditor, a named unit or an assigned expert. What changed between two versions,
        section by section (`to_version` null or 0: the working copy)."""
        return self.app.diff(caller, data["application_id"], data["from_version"], data["to_version"])

    @query(schemas.VersionRef)
    def plan_pdf(self, caller, data):
        """Applicant (own), officer, auditor, a named unit or an assigned expert. The printable plan (申报方案) as an A4
        PDF laid out as 附件2 for a double-sided, bound print, its PDF and image evidence appended, and a
        verification block (number, version, digest, QR code of the portal's `/verify` page) on the last page
        of the plan; base64 `content`. `version` as in `get_application`; the working copy prints as a draft
        watermarked 草稿 · 非正式文本 on every page."""
        return printing.plan_pdf(self.app, caller, data["application_id"], data["version"])

    @query(schemas.VerifyPrint)
    def verify_print(self, caller, data):
        """Anyone, signed in or not. Whether a printed plan is a submitted version in the log: by the `digest`
        printed on it, or by the PDF itself (`document`, base64; its text must be what the version prints to).
        Returns `{in_log, digest, message}` and, when in the log, `{application_id, number, name, plan_version,
        current_plan_version, is_current, submitted_at}`; otherwise a `reason`
        (`digest_not_logged`, `text_differs`, `no_digest_printed`). A draft's digest is never in the log."""
        document = blobs.decode(data["document"], field="document") if data["document"] is not None else None
        return printing.verify_print(self.app, data["digest"], document)

    @query(schemas.ApplicationsQuery)
    def my_applications(self, caller, data):
        """Applicant: its own applications; organizing or recommending unit: the submitted ones naming
        it; officer, auditor: all. Oldest first, with stage, open sections and next deadline."""
        return self.app.my_applications(caller, data["stage"], data["limit"], data["offset"], data["sort"])

    @query(schemas.ApplicationSearch)
    def search_applications(self, caller, data):
        """Officer, auditor. Every application whose name, applicant's name, credit code or number
        contains `text`, filtered by `stage`, `base_type` and `region`, in the `sort` asked; a page
        (`limit`, `offset`) of `items` (with `applicant_name`) and the `total` that match."""
        return search.search_applications(self.app, caller, data)

    @query()
    def application_counts(self, caller, data):
        """Officer, auditor. The round's applications counted: `total`, `by_stage`, `by_base_type`,
        `by_area` (region or domain code)."""
        return search.application_counts(self.app, caller)
