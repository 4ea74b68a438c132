"""Nameko entrypoints of expert review (专家论证) and approval (批准筹建): the officer's register,
panels and decisions, the experts' opinions and conclusions, the applicant's avoidance list,
the organizing unit's construction plan, the reactions and the deadline scan."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from nameko.timer import timer

from services.review.expert_review import schemas
from services.review.expert_review.application import ExpertReview
from services.review import deadlines
from shared.consumer import integration_events
from shared.rpc import command, query, service_base


class ExpertReviewService(service_base(ExpertReview)):
    name = "expert_review"

    @integration_events("formal_review", "intake", "endorsement")
    def on_upstream_event(self, event):
        return self.app.process(event)

    @timer(interval=deadlines.scan_interval())
    def scan_deadlines(self):
        self.app.scan_deadlines()

    # --- the register -------------------------------------------------------------------

    @command(schemas.RegisterExpert)
    def register_expert(self, caller, data):
        """Officer. Adds an expert to the register (专家库): the officer's `expert_id` (the expert's
        tokens name it as party), name, organization (credit code, GB 32100) and its name, region
        (GB/T 2260), fields (domain catalogue codes), e-mail, phone and declared conflicts. Publishes
        `ExpertRegistered`. Rules: `expert_already_registered`, `credit_code`, `region_known`,
        `domain_known`. Returns the expert."""
        return self.app.register_expert(caller, data)

    @command(schemas.DeclareConflict)
    def declare_conflict(self, caller, data):
        """Expert (for themself) or officer (naming `expert_id`). Declares a conflict of interest
        with an organization (credit code), with a reason: the expert is then never assigned to an
        application whose applicant, organizing or recommending unit it is. Returns the expert."""
        return self.app.declare_conflict(caller, data)

    @query(schemas.ExpertQuery)
    def experts(self, caller, data):
        """Officer, auditor. The register, filtered by `field` (domain code) and `region`."""
        return self.app.experts(caller, data)

    # --- panels -------------------------------------------------------------------------

    @command(schemas.RequestAvoidance)
    def request_avoidance(self, caller, data):
        """Applicant (token organization = the application's applicant). Names an expert to avoid
        (回避) — by `expert_id`, `expert_name` and/or `organization`, every detail given must match
        — with a reason, before the panel is formed. Rule: `wrong_stage`. Returns the review."""
        return self.app.request_avoidance(caller, data)

    @query(schemas.PanelDraft)
    def check_panel(self, caller, data):
        """Officer. A dry run of `form_panel`: for each application, the experts who would judge it
        and those excluded with the reasons (same organization as the applicant, organizing or
        recommending unit; declared conflict; the applicant's avoidance list), and the problems
        that would refuse it. Changes nothing."""
        return self.app.check_panel(caller, data)

    @command(schemas.FormPanel)
    def form_panel(self, caller, data):
        """Officer. Forms a panel for a meeting (论证会): date (future), place, applications (each
        awaiting a panel), members and the chair. Each application is judged by the members without
        a conflict, at least 5 and an odd number, the chair among them; the excluded are recorded
        with their reasons. `request_id` makes a repeated call form no second panel. Publishes
        `PanelFormed` and one `ExpertAssigned` per assignment. Rules: `panel_size`,
        `conflict_of_interest` (the chair), `wrong_stage`, `expert_not_found`. Returns the panel
        with, per application, the eligible and the excluded experts."""
        return self.app.form_panel(caller, data)

    @command(schemas.AddPanelMember)
    def add_panel_member(self, caller, data):
        """Officer. Adds an expert to a panel — a replacement after a decline, `as_chair` when the
        chair declined — for the named applications (default: those still under review). Rules:
        `conflict_of_interest`, `assigned_once`, `one_chair`. Returns the panel."""
        return self.app.add_panel_member(caller, data)

    @query(schemas.PanelRef)
    def get_panel(self, caller, data):
        """Officer, auditor: the panel. An expert on it: the panel with only the applications they judge."""
        return self.app.panel(caller, data["panel_id"])

    # --- the experts' work ----------------------------------------------------------------

    @query()
    def my_assignments(self, caller, data):
        """Expert. The applications the caller is assigned to (and those they declined), with the
        meeting, whether they chair it and whether their opinion is in."""
        return self.app.my_assignments(caller)

    @command(schemas.DeclineAssignment)
    def decline_assignment(self, caller, data):
        """Assigned expert. Declines with a typed reason (`conflict_of_interest`, `unavailable`,
        `outside_expertise`, `other`) and a text, before submitting an opinion. Publishes
        `ExpertDeclined`. Returns the review as the expert sees it."""
        return self.app.decline_assignment(caller, data)

    @command(schemas.SubmitOpinion)
    def submit_opinion(self, caller, data):
        """Assigned expert. Submits their opinion: on each of necessity, feasibility, goals and
        tasks, safeguards a score (0–100) and a text; a recommendation (`pass`,
        `pass_with_revisions`, `fail`) and a summary. Never changed afterwards (rule
        `opinion_already_submitted`). Publishes `OpinionSubmitted`. Returns the opinion."""
        return self.app.submit_opinion(caller, data)

    @query(schemas.ApplicationRef)
    def opinions(self, caller, data):
        """Officer, auditor: every opinion with its scores and the averages. An assigned expert: the
        same once their own is submitted; before that only the counts (`hidden: true`)."""
        return self.app.opinions(caller, data["application_id"])

    @command(schemas.ScheduleSiteVisit)
    def schedule_site_visit(self, caller, data):
        """Officer. Schedules a site visit (现场审核) while the panel reviews: date (future), place.
        Publishes `SiteVisitScheduled`. Returns the review."""
        return self.app.schedule_site_visit(caller, data)

    @command(schemas.RecordSiteVisit)
    def record_site_visit(self, caller, data):
        """Officer or the chair. Records the site visit's findings; the panel concludes only after.
        Publishes `SiteVisitRecorded`. Returns the review."""
        return self.app.record_site_visit(caller, data)

    @command(schemas.Conclude)
    def conclude(self, caller, data):
        """The chair. Records the panel's conclusion (论证意见): `pass`, `pass_with_revisions` (with
        `revision`: sections, reason, deadline — intake reopens the sections) or `fail`, with the text.
        Rules: `opinions_outstanding`, `panel_size` (5+ and odd), `site_visit_recorded`, `not_the_chair`.
        Publishes `PanelConcluded` (and `RevisionRequested`). Returns the review."""
        return self.app.conclude(caller, data)

    @command(schemas.RequestRevision)
    def request_revision(self, caller, data):
        """The chair. Asks for another revision round after a revised version came back.
        Publishes `RevisionRequested`. Returns the review."""
        return self.app.request_revision(caller, data)

    @command(schemas.ConfirmRevision)
    def confirm_revision(self, caller, data):
        """The chair. Confirms the revised version that came back. Publishes `RevisionConfirmed`.
        Returns the review."""
        return self.app.confirm_revision(caller, data)

    # --- deadlines, decisions, the construction plan ------------------------------------------

    @command(schemas.ExtendDeadline)
    def extend_deadline(self, caller, data):
        """Officer. Extends a revision deadline (`request_id`, default the open one) or the
        construction plan's, with a reason — usually after it was missed. Publishes
        `DeadlineExtended`. Returns the review."""
        return self.app.extend_deadline(caller, data)

    @command(schemas.Approve)
    def approve(self, caller, data):
        """Officer. Approves construction (批准筹建) after a pass, or a pass with revisions whose
        revision the chair confirmed. At most one regional base per region (`regional_base_exists`),
        one domain base per domain — a second only with `second_base_reason` (several industrial
        clusters; `domain_base_exists`), never a third (`domain_base_limit_reached`); each error
        names the existing base. Sets the construction plan due date: approval + 3 months.
        Publishes `ApplicationApproved`. Returns the review."""
        return self.app.approve(caller, data)

    @command(schemas.Decline)
    def decline(self, caller, data):
        """Officer. Declines to approve, with reasons (after the conclusion or during revisions).
        Publishes `ApplicationDeclined`. Returns the review."""
        return self.app.decline(caller, data)

    @query()
    def approved_bases(self, caller, data):
        """Officer, auditor. Every approved base with its slot (region or domain, first or second)."""
        return self.app.approved_bases(caller)

    @command(schemas.SubmitConstructionPlan)
    def submit_construction_plan(self, caller, data):
        """Organizing unit of the application (token organization). Submits the construction plan
        (建设方案), a PDF (base64 `content`), once; `on_time` says whether it met the due date.
        Publishes `ConstructionPlanSubmitted`. Returns the review."""
        return self.app.submit_construction_plan(caller, data)

    @query(schemas.ApplicationRef)
    def get_construction_plan(self, caller, data):
        """Officer, auditor, the application's organizing unit. The submitted construction plan,
        base64 `content` with its name, type, hash and `on_time`."""
        return self.app.construction_plan(caller, data["application_id"])

    # --- queries --------------------------------------------------------------------------

    @query(schemas.ReviewQuery)
    def reviews(self, caller, data):
        """Officer, auditor. Applications in expert review and approval, by `state` and `base_type`,
        with counts by state."""
        return self.app.reviews(caller, data)

    @query(schemas.ApplicationRef)
    def get_review(self, caller, data):
        """Officer, auditor: everything (assignments, exclusions and why, avoidances, deadlines). An
        assigned expert: the application, meeting, site visit and conclusion. The applicant and its
        organizing and recommending unit: the outcome, revision requests and the decision, never the
        panel's members."""
        return self.app.review(caller, data["application_id"])
