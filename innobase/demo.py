"""`innobase demo`: sample applications driven through all six stages of the
running system (`make run`), as each party's portal would drive them, then the
timeline of one of them.

- A — regional: the whole path, with a revision round, approved, construction plan in;
- B — domain: returned by its organizing unit, then a supplement request in formal review,
  approved;
- C — international: a supplement deadline missed, found inadmissible, applicant informed;
- D — regional, same recommending unit and region as A: refused by the quota.

Every run uses fresh parties, a fresh region and a fresh domain, so the
guide's limits (one regional base per region, one domain base per domain)
let each run succeed again. Outside the submission window (5 May – 30 July)
an officer records a late-submission exception first, as the guide requires.
"""
from __future__ import annotations

import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from innobase import calls, remote_errors, samples  # noqa: F401  (remote_errors: typed errors come back as their classes)
from shared import auth, clock, rules, settings
from shared.clock import BEIJING
from shared.errors import InnobaseError, RuleViolation
from shared.reference import catalogue

OFFICER = ("officer-demo", "officer", "SAC")


class Demo:
    def __init__(self, out=sys.stdout, timeout: float = 90):
        self.out = out
        self.timeout = timeout
        self.run = uuid.uuid4().hex[:6]
        self.outcome: dict[str, dict] = {}

    # --- plumbing -------------------------------------------------------------

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def call(self, party: tuple[str, str, str], service: str, method: str, **kwargs):
        """As the party; a call that gets no answer is tried again with its command id (innobase.calls)."""
        return calls.call(auth.mint(*party, ttl_seconds=3600), service, method, timeout=60, **kwargs)

    def wait(self, check, what: str):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                value = check()
            except InnobaseError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"demo: waited {self.timeout:.0f} s for {what}")
            time.sleep(0.3)

    # --- parties ----------------------------------------------------------------

    def register_parties(self) -> None:
        provinces = [p for p in _provinces_with_prefectures()]
        province, prefecture = random.choice(provinces)
        self.region, self.base_region = province, prefecture
        self.domain = random.choice([d.code for d in catalogue.all_domains() if d.parent])
        self.international_domain = random.choice(
            [d.code for d in catalogue.all_domains() if d.parent and d.code != self.domain])
        r = self.run
        self.units = {
            "regional": (f"samr-{r}", f"gov-{r}"),
            "domain": (f"assoc-{r}", f"miit-{r}"),
            "international": (f"assoc-intl-{r}", f"miit-intl-{r}"),
        }
        for base_type, (organizing, recommending) in self.units.items():
            domain = self.international_domain if base_type == "international" else self.domain
            for role, unit_id in (("organizing", organizing), ("recommending", recommending)):
                details = samples.unit_details(base_type, role, unit_id, region=self.region, domain=domain)
                details["contact"]["email"] = f"{unit_id}@units.example.cn"
                self.call(OFFICER, "intake", "register_unit", **details)
        self.experts = []
        for i in range(5):
            expert_id = f"expert-{r}-{i + 1}"
            self.call(OFFICER, "expert_review", "register_expert", expert_id=expert_id,
                      name=["张伟", "王芳", "李娜", "刘洋", "陈静"][i],
                      organization=samples.new_credit_code("110000", "1", "2"),
                      organization_name=f"标准化研究机构{i + 1}", region="110000",
                      fields=[self.domain], email=f"{expert_id}@experts.example.cn")
            self.experts.append(expert_id)
        self.say(f"registered: units for {self.region} and domains {self.domain}/{self.international_domain},"
                 f" {len(self.experts)} experts")

    def applicant(self, label: str) -> tuple[str, str, str]:
        code = samples.new_credit_code(self.base_region)
        party = (f"applicant-{label}-{self.run}", "applicant", code)
        details = samples.applicant_details(code, region=self.base_region)
        details["contact"]["email"] = f"{label.lower()}-{self.run}@applicants.example.cn"
        self.call(party, "intake", "register_applicant", **details)
        return party

    # --- stage 2: online submission --------------------------------------------

    def submit(self, label: str, base_type: str, applicant=None) -> dict:
        applicant = applicant or self.applicant(label)
        organizing, recommending = self.units[base_type]
        regional = base_type == "regional"
        domain = self.international_domain if base_type == "international" else self.domain
        setup = _Setup(applicant, base_type, organizing, recommending,
                       self.base_region if regional else None, None if regional else domain)
        name = {"regional": f"国家技术标准创新基地（{label}区域{self.run}）",
                "domain": f"国家技术标准创新基地（{label}领域{self.run}）",
                "international": f"国家技术标准创新基地（{label}国际{self.run}）"}[base_type]
        draft = self.call(applicant, "intake", "create_draft", base_type=base_type, name=name,
                          organizing_unit_id=organizing, recommending_unit_id=recommending,
                          region=setup.region, domain=setup.domain)
        application_id = draft["application_id"]
        evidence = {}
        for item in range(1, samples.CHECKLIST_SIZES[base_type] + 1):
            evidence[item] = self.call(applicant, "intake", "upload_attachment", application_id=application_id,
                                       name=f"资质证明{item}.pdf",
                                       content=samples.b64(samples.tiny_pdf(f"{application_id} {item}")))["sha256"]
        letter = self.call(applicant, "intake", "upload_attachment", application_id=application_id,
                           name="支持函.pdf", content=samples.b64(samples.tiny_pdf(f"{application_id} letter")))
        content = samples.sections(setup, evidence, [("支持函", letter["sha256"])], name=name)
        for section, value in content.items():
            self.call(applicant, "intake", "save_section", application_id=application_id, section=section,
                      content=value)
        if not _inside_window():
            self.call(OFFICER, "intake", "grant_late_submission", application_id=application_id,
                      reason="示范运行：受理期外提交，经国家标准委同意")
        receipt = self.call(applicant, "intake", "submit", application_id=application_id)
        self.say(f"{label}: submitted {name} ({base_type}) — receipt {receipt['receipt_number']}")
        self.outcome[label] = {"application_id": application_id, "applicant": applicant, "base_type": base_type,
                               "content": content, "name": name}
        return self.outcome[label]

    def resubmit(self, label: str, section: str, change: str) -> None:
        case = self.outcome[label]
        value = dict(case["content"][section])
        first_key = next(k for k, v in value.items() if isinstance(v, str))
        value[first_key] = value[first_key] + change
        case["content"][section] = value
        app = case["application_id"]
        self.wait(lambda: section in self.call(case["applicant"], "intake", "get_application",
                                               application_id=app, version=0).get("open_sections", []),
                  f"{label}'s section {section} to reopen")
        self.call(case["applicant"], "intake", "save_section", application_id=app, section=section, content=value)
        receipt = self.call(case["applicant"], "intake", "submit", application_id=app)
        self.say(f"{label}: resubmitted with {section} revised — version {receipt['plan_version']}")

    # --- stage 3: endorsement ---------------------------------------------------

    def clerk(self, label: str, role: str) -> tuple[str, str, str]:
        organizing, recommending = self.units[self.outcome[label]["base_type"]]
        unit = organizing if role == "organizing_unit" else recommending
        return (f"clerk-{unit}", role, unit)

    def queued(self, label: str, role: str, state: str, version: int = 1) -> dict:
        app = self.outcome[label]["application_id"]
        method = "organizing_queue" if role == "organizing_unit" else "recommending_queue"

        def find():
            items = self.call(self.clerk(label, role), "endorsement", method)["items"]
            return next((i for i in items if i["application_id"] == app and i.get("plan_version", version) == version
                         and i.get("state") == state), None)

        return self.wait(find, f"{label} in the {role}'s queue ({state}, v{version})")

    def forward(self, label: str, version: int = 1) -> None:
        self.queued(label, "organizing_unit", "queued", version)
        self.call(self.clerk(label, "organizing_unit"), "endorsement", "forward",
                  application_id=self.outcome[label]["application_id"],
                  opinion={"text": "经审核，申报材料真实完整，同意推荐。", "head": "赵局长",
                           "date": clock.now().astimezone(BEIJING).date().isoformat()},
                  stamped_plan=None)
        self.say(f"{label}: checked and stamped by its organizing unit (审核盖章), forwarded")

    def return_to_applicant(self, label: str) -> None:
        self.queued(label, "organizing_unit", "queued")
        self.call(self.clerk(label, "organizing_unit"), "endorsement", "return_to_applicant",
                  application_id=self.outcome[label]["application_id"], sections=["significance"],
                  reason="意义和必要性论述不充分，请补充与国家重大战略的契合情况。")
        self.say(f"{label}: returned by its organizing unit (section 二 to correct)")

    def recommend(self, label: str) -> dict:
        self.queued(label, "recommending_unit", "forwarded", self.outcome[label].get("version", 1))
        app = self.outcome[label]["application_id"]
        return self.call(self.clerk(label, "recommending_unit"), "endorsement", "recommend", application_id=app,
                         stamped_plan={"name": "申报方案盖章扫描件.pdf",
                                       "content": samples.b64(samples.tiny_pdf(f"{app} stamped"))},
                         recommendation_letter={"name": "推荐函.pdf",
                                                "content": samples.b64(samples.tiny_pdf(f"{app} letter"))})

    # --- stage 4: formal review ---------------------------------------------------

    def case(self, label: str) -> dict:
        return self.call(OFFICER, "formal_review", "get_case", application_id=self.outcome[label]["application_id"])

    def accept(self, label: str) -> str:
        self.wait(lambda: self.case(label), f"{label}'s formal review case")
        number = self.call(OFFICER, "formal_review", "accept",
                           application_id=self.outcome[label]["application_id"])["number"]
        self.outcome[label]["number"] = number
        self.say(f"{label}: accepted in formal review (形式审查), number {number}")
        return number

    def request_supplement(self, label: str, deadline) -> None:
        self.call(OFFICER, "formal_review", "request_supplement",
                  application_id=self.outcome[label]["application_id"], items=["section:feasibility"],
                  sections=["feasibility"], reason="请补充近三年承担标准化试点示范的证明。",
                  deadline=deadline.isoformat())
        self.say(f"{label}: supplementary material requested by {deadline.astimezone(BEIJING):%Y-%m-%d %H:%M:%S}")

    def pass_formal_review(self, label: str) -> None:
        self.wait(lambda: self.case(label)["state"] == "under_review", f"{label}'s case under review")
        self.call(OFFICER, "formal_review", "pass_review", application_id=self.outcome[label]["application_id"])
        self.say(f"{label}: passed formal review")

    # --- stages 5 and 6: expert review and approval ---------------------------------

    def expert_review(self, label: str, conclusion: str = "pass") -> None:
        app = self.outcome[label]["application_id"]
        self.wait(lambda: self.call(OFFICER, "expert_review", "get_review", application_id=app),
                  f"{label}'s expert review")
        meeting = clock.now() + timedelta(days=14)
        self.call(OFFICER, "expert_review", "form_panel", application_ids=[app], members=self.experts,
                  chair=self.experts[0], meeting_date=meeting.isoformat(), place="北京市海淀区马甸东路9号")
        for expert in self.experts:
            judgement = {"score": random.randint(78, 92), "text": "论证充分，目标明确。"}
            self.call((expert, "expert", expert), "expert_review", "submit_opinion", application_id=app,
                      necessity=judgement, feasibility=judgement, goals_and_tasks=judgement, safeguards=judgement,
                      recommendation=conclusion, summary="同意通过论证。")
        chair = (self.experts[0], "expert", self.experts[0])
        revision = None
        if conclusion == "pass_with_revisions":
            revision = {"sections": ["goals"], "reason": "考核指标需进一步量化产业化效益。",
                        "deadline": (clock.now() + timedelta(days=30)).isoformat()}
        self.call(chair, "expert_review", "conclude", application_id=app, conclusion=conclusion,
                  text="专家组认为创新基地建设必要、可行，目标任务明确，保障措施有力。", revision=revision)
        self.say(f"{label}: expert panel of {len(self.experts)} concluded: {conclusion} (论证意见)")
        if conclusion == "pass_with_revisions":
            self.resubmit(label, "goals", "（已按专家意见修改）")
            self.wait(lambda: self.call(OFFICER, "expert_review", "get_review", application_id=app)["state"]
                      == "revision_received", f"{label}'s revised version")
            self.call(chair, "expert_review", "confirm_revision", application_id=app)
            self.say(f"{label}: the chair confirmed the revised plan")

    def approve(self, label: str) -> None:
        app = self.outcome[label]["application_id"]
        approved = self.call(OFFICER, "expert_review", "approve", application_id=app,
                             reasons="符合创新基地建设总体规划，批准筹建。")
        self.say(f"{label}: approved (批准筹建); construction plan due {approved.get('construction_plan_due', '')[:10]}")
        organizing = self.units[self.outcome[label]["base_type"]][0]
        self.call((f"clerk-{organizing}", "organizing_unit", organizing), "expert_review",
                  "submit_construction_plan", application_id=app, file_name="建设方案.pdf",
                  content=samples.b64(samples.tiny_pdf(f"{app} construction plan")))
        self.outcome[label]["result"] = "approved, construction plan submitted"
        self.say(f"{label}: construction plan (建设方案) submitted by the organizing unit")

    # --- the story ----------------------------------------------------------------

    def play(self) -> dict:
        self.say(f"demo run {self.run} against {settings.get().amqp_uri} "
                 f"at {clock.now().astimezone(BEIJING):%Y-%m-%d %H:%M} Beijing time")
        self.register_parties()

        self.submit("A", "regional")
        self.forward("A")
        self.recommend("A")
        self.say("A: recommended to SAC (推荐)")

        self.submit("B", "domain")
        self.return_to_applicant("B")
        self.resubmit("B", "significance", "（已补充与国家战略契合情况）")
        self.outcome["B"]["version"] = 2
        self.forward("B", version=2)
        self.recommend("B")
        self.say("B: recommended to SAC")

        self.submit("C", "international")
        self.forward("C")
        self.recommend("C")
        self.say("C: recommended to SAC")

        self.submit("D", "regional")
        self.forward("D")
        try:
            self.recommend("D")
            self.outcome["D"]["result"] = "recommended (quota not enforced!)"
        except RuleViolation as refused:
            self.outcome["D"]["result"] = f"refused: {refused.message}"
            self.say(f"D: recommendation refused by the quota (guide §四): {refused.message}")

        self.accept("A")
        self.pass_formal_review("A")
        self.expert_review("A", "pass_with_revisions")
        self.approve("A")

        self.accept("B")
        self.request_supplement("B", clock.now() + timedelta(days=10))
        self.resubmit("B", "feasibility", "（补充：近三年承担国家级标准化试点示范项目5项）")
        self.pass_formal_review("B")
        self.expert_review("B", "pass")
        self.approve("B")

        self.accept("C")
        self.request_supplement("C", clock.now() + timedelta(seconds=4))
        self.wait(lambda: self.case("C")["state"] == "supplement_overdue", "C's supplement deadline to pass")
        self.say("C: the supplement deadline passed with nothing received (DeadlineMissed)")
        self.call(OFFICER, "formal_review", "reject", application_id=self.outcome["C"]["application_id"],
                  reasons=["未在规定期限内补充材料"])
        self.call(OFFICER, "formal_review", "record_applicant_informed",
                  application_id=self.outcome["C"]["application_id"], decision="found_inadmissible",
                  channel="letter")
        self.outcome["C"]["result"] = "found inadmissible after a missed deadline, applicant informed"
        self.say("C: found inadmissible; applicant informed")

        self.say("")
        for label, case in self.outcome.items():
            self.say(f"{label}  {case['base_type']:<13} {case['application_id']}  {case.get('number', '-'):<18} "
                     f"{case.get('result', '')}")
        self.say("")
        self.say(f"timeline of A ({self.outcome['A']['application_id']}):")
        from innobase import timeline

        self.say(timeline.render(timeline.merged(self.outcome["A"]["application_id"])))
        return self.outcome


@dataclass(frozen=True)
class _Setup:
    applicant: tuple
    base_type: str
    organizing_unit_id: str
    recommending_unit_id: str
    region: str | None
    domain: str | None
    extra: dict = field(default_factory=dict)


def _inside_window() -> bool:
    return rules.in_submission_window(clock.now())


def _provinces_with_prefectures() -> list[tuple[str, str]]:
    from shared.reference import regions

    pairs = []
    for province in regions.provinces():
        prefectures = [r.code for r in regions.regions_in(province.code) if r.code != province.code]
        if prefectures:
            pairs.append((province.code, random.choice(prefectures)))
    return pairs


def main() -> int:
    try:
        Demo().play()
        return 0
    except (InnobaseError, TimeoutError) as failure:
        print(f"demo stopped: {type(failure).__name__}: {failure}", file=sys.stderr)
        return 1
