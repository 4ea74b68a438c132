"""Endorsement's nameko entrypoints: the organizing and recommending units' decisions and
queues, and the reaction to intake's, formal review's and expert review's events."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from services.endorsement import letter_printing, schemas
from services.endorsement.application import Endorsement
from shared.consumer import integration_events
from shared.rpc import command, query, service_base


class EndorsementService(service_base(Endorsement)):
    name = "endorsement"

    # Units and submissions come from intake; the end of an application may come from
    # any stage, and ends its quota slot with it.
    @integration_events("intake", "formal_review", "expert_review")
    def on_upstream_event(self, event):
        return self.app.process(event)

    # --- the organizing unit (申报组织单位) -------------------------------------

    @query(schemas.QueueQuery)
    def organizing_queue(self, caller, data):
        """Organizing unit. The submitted versions naming the caller's unit as organizing unit,
        oldest first (`state` filters: `queued` awaits its check and stamp), with the plan's
        version and digest, and `counts` by state. Returns `{items, counts}`."""
        return self.app.organizing_queue(caller, data["state"], data["limit"], data["offset"], data["sort"])

    @command(schemas.Forward)
    def forward(self, caller, data):
        """Organizing unit named by the application. Checks and stamps (审核盖章): records the
        opinion of 附件2 section 七 (`text`, `head`, `date`), optionally the scan of the stamped
        paper plan (`{name, content}` base64; PDF, JPEG or PNG up to 10 MB), and forwards the
        application to its recommending unit (`ApplicationForwarded`). Returns the item."""
        return self.app.forward(caller, data)

    @command(schemas.ReturnToApplicant)
    def return_to_applicant(self, caller, data):
        """Organizing unit named by the application. Returns it to the applicant for correction,
        naming the `sections` to reopen and why (`ApplicationReturned` with a `request_id` the
        corrected version answers); the corrected version comes back as a new item. Returns the item."""
        return self.app.return_to_applicant(caller, data)

    # --- the recommending unit (推荐单位) ----------------------------------------

    @query(schemas.QueueQuery)
    def recommending_queue(self, caller, data):
        """Recommending unit. What organizing units forwarded to the caller's unit, oldest first
        (`state` filters: `forwarded` awaits its decision), with `counts` by state. Returns `{items, counts}`."""
        return self.app.recommending_queue(caller, data["state"], data["limit"], data["offset"], data["sort"])

    @command(schemas.Recommend)
    def recommend(self, caller, data):
        """Recommending unit named by the application. Recommends it to SAC (推荐) with the scans
        of the stamped plan and of the signed, stamped recommendation letter (both required;
        PDF, JPEG or PNG up to 10 MB), within the quota of guide §四: one regional application
        per region and one domain application per first-level domain, per unit and year
        (`QuotaExceeded` names the application holding the slot). The units must fit the base
        type (`UnitPairMismatch`). Publishes `ApplicationRecommended`. Returns the item."""
        return self.app.recommend(caller, data)

    @command(schemas.Reasoned)
    def decline(self, caller, data):
        """Recommending unit named by the application. Declines to recommend, with a reason
        (`RecommendationDeclined`); the application ends here. Returns the item."""
        return self.app.decline(caller, data)

    @command(schemas.Reasoned)
    def return_to_organizing_unit(self, caller, data):
        """Recommending unit named by the application. Sends it back to the organizing unit's
        queue for a new decision, with a reason (`ApplicationReturnedToOrganizingUnit`). Returns the item."""
        return self.app.return_to_organizing_unit(caller, data)

    @command(schemas.Reasoned)
    def withdraw_recommendation(self, caller, data):
        """Recommending unit named by the application. Withdraws its recommendation, with a
        reason (`RecommendationWithdrawn`); its quota slot is free again. Returns the item."""
        return self.app.withdraw_recommendation(caller, data)

    @query(schemas.QuotaQuery)
    def recommending_quota(self, caller, data):
        """Recommending unit. Its quota slots of `year` (default: this year, Beijing time), each
        held by an application or freed, with when and why. Returns `{recommending_unit_id, year, slots}`."""
        return self.app.recommending_quota(caller, data["year"])

    # --- both units, SAC and audit ------------------------------------------------

    @query(schemas.ApplicationRef)
    def endorsement_history(self, caller, data):
        """Organizing or recommending unit named by the application (the versions naming it),
        officer, auditor. Every endorsement event of the application in log order: type, time,
        actor or upstream cause, and details. Returns `{application_id, events}`."""
        return self.app.endorsement_history(caller, data["application_id"])

    @query(schemas.ScanRef)
    def get_scan(self, caller, data):
        """Organizing or recommending unit named by the version the scan is on, officer, auditor.
        A scan uploaded on the application's endorsement: the organizing unit's stamped plan,
        the recommending unit's stamped plan or its recommendation letter. Returns `{kind,
        plan_version, sha256, name, size, media_type, uploaded_by, content}`, the content
        base64-encoded; an unknown `sha256` is `ScanNotFound`."""
        return self.app.scan(caller, data["application_id"], data["sha256"])

    @command(schemas.NumberLetter)
    def number_recommendation_letter(self, caller, data):
        """Recommending unit named by the application, while it awaits the unit's decision. Records the
        发文字号 (`reference`, e.g. 苏政函〔2027〕12号) of its recommendation letter, dated today (Beijing
        time) (`LetterNumbered`, in the log; a later entry replaces it): the letter then prints as issued,
        without the preview's watermark. Returns the item with `letter_reference`."""
        return letter_printing.number_letter(self.app, caller, data)

    @query(schemas.ApplicationRef)
    def recommendation_letter_pdf(self, caller, data):
        """Recommending unit named by the application, officer, auditor. The recommendation letter
        (关于推荐…申报国家技术标准创新基地的函) as an official letter, A4 in Chinese, filled from the
        forwarded application: its 发文字号 and date once entered (`number_recommendation_letter`), to
        print and stamp; before that a `preview` watermarked 草稿 · 非正式文本. Returns `{file_name,
        media_type, preview, reference, content}` with the PDF base64-encoded."""
        return letter_printing.letter_pdf(self.app, caller, data["application_id"])
