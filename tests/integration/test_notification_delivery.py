"""Notification through the real service: every party hears what concerns it, by
e-mail (a real SMTP server on loopback) and in its inbox, once.

The upstream services are played by this test: it publishes their integration
events to the exchange exactly as their outboxes would (increasing positions
per source, `previous_position` per application, payloads checked against the
contracts).
"""
from __future__ import annotations

import time
import uuid

import pytest

from tests.conftest import TEST_START
from tests.support import clock as test_clock
from tests.support.mail import Mail, Mailbox, free_port  # noqa: F401
from tests.support.cluster import Cluster, eventually, purge, queue_depth, rpc, sql, token
from tests.support.messages import Upstream, deliver

pytestmark = pytest.mark.integration
OFFICERS = ("officer-wang@sac.test", "officer-li@sac.test")
RETRY_DELAYS_MS = "300,600,900"


# --- a real SMTP server on loopback (tests/support/mail.py) ----------------------------------

def notification_env(mailbox) -> dict:
    return {
        "INNOBASE_SMTP_HOST": "127.0.0.1", "INNOBASE_SMTP_PORT": mailbox.port,
        "INNOBASE_MAIL_FROM": "国家技术标准创新基地申报系统 <noreply@innobase.test>",
        "INNOBASE_SAC_OFFICER_EMAILS": ",".join(OFFICERS),
        "INNOBASE_SMTP_RETRY_DELAYS_MS": RETRY_DELAYS_MS, "INNOBASE_REMINDER_SCAN_S": "0.5",
    }


@pytest.fixture(scope="module")
def service(mailbox):
    purge("notification")
    cluster = Cluster()
    cluster.start("notification", **notification_env(mailbox))
    yield cluster
    cluster.stop_all()


# --- the upstream services, played by the test ------------------------------------------------

def person(name: str, email_address: str | None) -> dict:
    return {"name": name, "title": "主任", "phone": "025-12345678", "fax": None, "email": email_address}


class Case:
    """One application's cast: the applicant, its two units, experts, with unique addresses."""

    def __init__(self, upstream: Upstream, label: str = "case"):
        tag = uuid.uuid4().hex[:8]
        self.up = upstream
        self.tag = tag
        self.application_id = str(uuid.uuid4())
        self.name = f"国家技术标准创新基地（{label}{tag}）"
        self.applicant = f"9132{tag.upper()}X"  # the applicant unit id (its credit code)
        self.applicant_name = f"江苏省标准化研究院{tag}"
        self.applicant_mail = f"contact-{tag}@applicant.test"
        self.head_mail = f"head-{tag}@applicant.test"
        self.organizing = f"OU-{tag}"
        self.organizing_mail = f"ou-{tag}@unit.test"
        self.recommending = f"RU-{tag}"
        self.recommending_mail = f"ru-{tag}@unit.test"
        self.experts = {f"expert-{tag}-{n}": f"expert{n}-{tag}@expert.test" for n in (1, 2, 3)}

    # registrations
    def register_applicant(self, contact_mail="default"):
        contact = self.applicant_mail if contact_mail == "default" else contact_mail
        return self.up.publish("intake", "ApplicantRegistered", {
            "unit_id": self.applicant, "name": self.applicant_name, "credit_code": self.applicant,
            "credit_code_override": None, "category": "research_institute", "region": "320000",
            "region_known": True, "head": person("李主任", self.head_mail), "contact": person("张联系", contact),
            "postcode": "210000", "address": "南京市", "registered_by": f"user-{self.tag}"})

    def register_units(self):
        for unit, role, mail, kind in ((self.organizing, "organizing", self.organizing_mail,
                                        "local_standardization_authority"),
                                       (self.recommending, "recommending", self.recommending_mail,
                                        "local_government")):
            self.up.publish("intake", "UnitRegistered", {
                "unit_id": unit, "name": f"{role}单位{self.tag}", "role": role, "kind": kind,
                "credit_code": None, "region": "320000", "domain": None,
                "contact": person("王处长", mail), "address": "南京市", "postcode": "210000"})

    def register_experts(self):
        for expert_id, mail in self.experts.items():
            self.up.publish("expert_review", "ExpertRegistered", {
                "expert_id": expert_id, "name": f"专家{expert_id[-1]}", "organization": "91110000X",
                "organization_name": "某研究院", "region": "110000", "fields": ["smart_manufacturing"],
                "email": mail, "phone": None})

    def register_all(self):
        self.register_applicant()
        self.register_units()
        self.register_experts()

    # the application's life
    def draft(self):
        return self.up.publish("intake", "ApplicationDrafted", {
            "application_id": self.application_id, "applicant_id": f"user-{self.tag}",
            "applicant_organization": self.applicant, "base_type": "regional", "name": self.name,
            "organizing_unit_id": self.organizing, "recommending_unit_id": self.recommending})

    def submit(self, version=1, kind="initial"):
        return self.up.publish("intake", "ApplicationSubmitted", {
            "application_id": self.application_id, "applicant_id": f"user-{self.tag}",
            "applicant_organization": self.applicant, "applicant_name": self.applicant_name,
            "base_type": "regional", "name": self.name, "region": "320000", "domain": None,
            "organizing_unit_id": self.organizing, "recommending_unit_id": self.recommending,
            "plan_version": version, "digest": "b" * 64, "receipt_number": f"SB20260601-{self.tag.upper()}-{version}",
            "submitted_at": test_clock.now().isoformat(), "submission_kind": kind, "answers_request": None,
            "changed_sections": [], "qualification_items": [], "attachments": [], "late_exception": None})

    def queued(self, version=1):
        return self.up.publish("endorsement", "ReviewItemQueued", {
            "application_id": self.application_id, "item_id": str(uuid.uuid4()),
            "organizing_unit_id": self.organizing, "plan_version": version, "digest": "b" * 64,
            "queued_at": test_clock.now().isoformat()})

    def forwarded(self):
        return self.up.publish("endorsement", "ApplicationForwarded", {
            "application_id": self.application_id, "plan_version": 1, "digest": "b" * 64,
            "organizing_unit_id": self.organizing, "recommending_unit_id": self.recommending,
            "opinion": {"text": "同意申报", "head": "王处长", "date": "2026-06-02"}, "stamped_plan_scan": None})

    def recommended(self):
        scan = {"sha256": "c" * 64, "name": "plan.pdf", "size": 1024, "media_type": "application/pdf"}
        return self.up.publish("endorsement", "ApplicationRecommended", {
            "application_id": self.application_id, "plan_version": 1, "digest": "b" * 64, "name": self.name,
            "base_type": "regional", "region": "320000", "domain": None,
            "applicant_organization": self.applicant, "applicant_name": self.applicant_name,
            "organizing_unit_id": self.organizing, "recommending_unit_id": self.recommending, "year": 2026,
            "quota_slot": "regional:320000", "opinion": {"text": "同意推荐", "head": "赵局长", "date": "2026-06-03"},
            "stamped_plan_scan": scan, "recommendation_letter": scan, "recommended_at": test_clock.now().isoformat()})

    def formal_review_opened(self):
        return self.up.publish("formal_review", "FormalReviewOpened", {
            "application_id": self.application_id, "case_id": str(uuid.uuid4()), "plan_version": 1,
            "name": self.name, "base_type": "regional"})

    def accepted(self, number):
        return self.up.publish("formal_review", "ApplicationAccepted", {
            "application_id": self.application_id, "number": number, "year": 2026, "base_type": "regional"})

    def supplement_requested(self, deadline):
        return self.up.publish("formal_review", "SupplementRequested", {
            "application_id": self.application_id, "request_id": f"SR-{self.tag}",
            "items": ["营业执照副本", "近三年财务报表"], "sections": ["qualifications", "attachments"],
            "reason": "证明材料不全", "deadline": deadline})

    def deadline_approaching(self, deadline, days_before, kind="supplement", source="formal_review"):
        return self.up.publish(source, "DeadlineApproaching", {
            "application_id": self.application_id, "deadline_kind": kind, "request_id": f"SR-{self.tag}",
            "deadline": deadline, "days_before": days_before})

    def passed(self, number):
        return self.up.publish("formal_review", "FormalReviewPassed", {
            "application_id": self.application_id, "number": number, "plan_version": 1, "name": self.name,
            "base_type": "regional", "region": "320000", "domain": None,
            "applicant_organization": self.applicant, "applicant_name": self.applicant_name,
            "organizing_unit_id": self.organizing, "recommending_unit_id": self.recommending})

    def expert_assigned(self, expert_id, is_chair=False):
        return self.up.publish("expert_review", "ExpertAssigned", {
            "application_id": self.application_id, "panel_id": str(uuid.uuid5(uuid.NAMESPACE_URL, self.tag)),
            "expert_id": expert_id, "is_chair": is_chair, "meeting_date": "2026-09-10T09:00:00+08:00",
            "place": "北京市海淀区知春路4号"})

    def approved(self, number):
        return self.up.publish("expert_review", "ApplicationApproved", {
            "application_id": self.application_id, "number": number, "base_type": "regional",
            "region": "320000", "domain": None, "organizing_unit_id": self.organizing,
            "construction_plan_due": "2027-01-15T00:00:00+08:00", "reasons": "论证通过，同意筹建"})

    def withdrawn(self):
        return self.up.publish("intake", "ApplicationWithdrawn", {
            "application_id": self.application_id, "reason": "与合作单位合并申报",
            "withdrawn_at": test_clock.now().isoformat()})


@pytest.fixture(scope="module")
def upstream():
    return Upstream()


# --- what the tests look at ----------------------------------------------------------------------

def processed_count(messages) -> int:
    """How many of these published messages notification has applied."""
    return sql("notification", "SELECT count(*) FROM processed_messages WHERE event_id::text = ANY(%s)",
               [m["event_id"] for m in messages])[0][0]


def wait_processed(*messages, timeout=20):
    eventually(lambda: processed_count(messages) == len(messages), timeout=timeout)


def inbox(role: str, org: str, party: str | None = None, **query) -> dict:
    with rpc(token(role, party=party, org=org)) as services:
        return services.notification.my_notifications(**query)


def history(notification_id: str) -> list[str]:
    """The notification's events in the log, by name."""
    return [topic.rsplit(".", 1)[-1] for (topic,) in sql(
        "notification", "SELECT topic FROM notification_events WHERE originator_id = %s"
                        " ORDER BY originator_version", notification_id)]


def pending_mail() -> int:
    """E-mails still to be sent, leaving aside those waiting for their recipient to register."""
    return sql("notification", "SELECT count(*) FROM notifications n LEFT JOIN parties p"
                               " ON p.audience = n.audience AND p.owner = n.owner WHERE n.channel = 'email'"
                               " AND n.state = 'pending' AND (jsonb_array_length(n.recipients) > 0"
                               " OR p.party_id IS NOT NULL)")[0][0]


def mail_settled(timeout=60):  # generous: a loaded machine (CI beside other runs) sends slower
    eventually(lambda: pending_mail() == 0, timeout=timeout)


def prepared(occasion: str, channel: str) -> list[tuple]:
    return sql("notification", "SELECT audience, owner, recipients, message_id, state FROM notifications"
                               " WHERE occasion = %s AND channel = %s ORDER BY audience, owner", occasion, channel)


# --- the tests -----------------------------------------------------------------------------------

def test_a_submitted_application_is_acknowledged_to_the_applicant_by_email_and_in_its_inbox(
        service, mailbox, upstream):
    case = Case(upstream)
    case.register_applicant()
    drafted = case.draft()
    submitted = case.submit()
    wait_processed(drafted, submitted)

    mails = eventually(lambda: [m for m in mailbox.to(case.applicant_mail) if "已提交" in m.subject])
    assert len(mails) == 1
    mail = mails[0]
    assert mail.rcpt_tos == [case.applicant_mail]  # the contact person, not the head
    assert mail.subject == f"【创新基地申报】申报方案已提交：{case.name}"
    assert mail.mail_from == "noreply@innobase.test"
    assert f"SB20260601-{case.tag.upper()}-1" in mail.text  # the receipt number
    assert f"申报名称：{case.name}" in mail.text
    assert "当前阶段：网上申报" in mail.text
    assert "需要您办理：无需操作。申报组织单位审核盖章或退回后，您将收到通知。" in mail.text
    assert case.applicant_name in mail.text.splitlines()[0]  # addressed to the applicant unit
    assert "申报编号" not in mail.text  # no number before SAC accepts it
    assert f"<td>{case.name}</td>" in mail.html and 'lang="zh-CN"' in mail.html
    assert mail.message_id.endswith("@innobase.test>")

    items = inbox("applicant", case.applicant)["items"]
    assert [i["subject"] for i in items] == [mail.subject, "【创新基地申报】申报单位注册成功"]
    assert items[0]["text"] == mail.text and items[0]["application_id"] == case.application_id
    # the draft alone told nobody anything
    assert not [m for m in mailbox.to(case.applicant_mail) if "草稿" in m.subject]
    assert prepared(drafted["event_id"], "inbox") == []


def test_each_party_hears_only_what_concerns_it_from_submission_to_approval(service, mailbox, upstream):
    case = Case(upstream, "全程")
    case.register_all()
    number = f"GJ2026-{case.tag.upper()}"
    experts = list(case.experts)
    # each service acts on the one before it, so each event follows the previous one
    for step in (case.draft, case.submit, case.queued, case.forwarded, case.recommended,
                 case.formal_review_opened, lambda: case.accepted(number), lambda: case.passed(number),
                 lambda: case.expert_assigned(experts[0], is_chair=True),
                 lambda: case.expert_assigned(experts[1]), lambda: case.approved(number)):
        wait_processed(step())
    mail_settled()

    def subjects(address):
        return sorted(s.replace("【创新基地申报】", "") for s in mailbox.subjects_to(address))

    numbered = f"（编号 {number}）"
    assert subjects(case.applicant_mail) == sorted([
        "申报单位注册成功",
        f"申报方案已提交：{case.name}",
        f"申报方案已审核盖章并转报推荐单位：{case.name}",
        f"申报已推荐至国家标准委：{case.name}",
        f"申报已受理：{case.name}{numbered}",
        f"形式审查通过：{case.name}{numbered}",
        f"批准筹建：{case.name}{numbered}",
    ])
    assert subjects(case.organizing_mail) == sorted([
        "贵单位已登记为申报组织单位",
        f"待审核盖章：{case.name}",
        f"申报已推荐至国家标准委：{case.name}",
        f"申报已受理：{case.name}{numbered}",
        f"形式审查通过：{case.name}{numbered}",
        f"批准筹建：{case.name}{numbered}",
    ])
    assert subjects(case.recommending_mail) == sorted([
        "贵单位已登记为推荐单位",
        f"申报方案已审核盖章并转报推荐单位：{case.name}",
        f"申报已受理：{case.name}{numbered}",
        f"形式审查通过：{case.name}{numbered}",
        f"批准筹建：{case.name}{numbered}",
    ])
    chair, member, bystander = (case.experts[e] for e in experts)
    assert subjects(chair) == sorted(["您已入选创新基地评审专家库", f"论证任务：{case.name}{numbered}"])
    assert subjects(member) == subjects(chair)
    assert subjects(bystander) == ["您已入选创新基地评审专家库"]
    assert f"待形式审查：{case.name}" in [s.replace("【创新基地申报】", "") for s in mailbox.subjects_to(OFFICERS[0])]
    officers_mail = [m for m in mailbox.received if m.subject.endswith(f"待形式审查：{case.name}")]
    assert len(officers_mail) == 1 and sorted(officers_mail[0].rcpt_tos) == sorted(OFFICERS)

    # what the reader must do, and by when
    approval = [m for m in mailbox.to(case.organizing_mail) if "批准筹建" in m.subject][0]
    assert "需要您办理：请组织编制并报送创新基地建设方案。" in approval.text
    assert "办理时限：2027年1月14日 24:00（北京时间）" in approval.text
    assert f"申报编号：{number}" in approval.text and "当前阶段：批准筹建" in approval.text
    assignment = [m for m in mailbox.to(chair) if "论证任务" in m.subject][0]
    assert "并担任组长" in assignment.text and "2026年9月10日 09:00（北京时间）" in assignment.text
    assert "北京市海淀区知春路4号" in assignment.text
    assert "并担任组长" not in [m for m in mailbox.to(member) if "论证任务" in m.subject][0].text

    # the inboxes say the same as the e-mails, each to its own party
    assert len(inbox("organizing_unit", case.organizing)["items"]) == 6
    assert len(inbox("expert", "org-x", party=experts[2])["items"]) == 1
    sac = [i["subject"] for i in inbox("officer", "SAC")["items"]]
    assert f"【创新基地申报】待形式审查：{case.name}" in sac


def test_a_supplement_request_tells_the_applicant_what_to_supply_and_by_when_then_reminds_it(
        service, mailbox, upstream):
    case = Case(upstream)
    case.register_applicant()
    for step in (case.submit, lambda: case.accepted(f"GJ-{case.tag}"),
                 lambda: case.supplement_requested("2026-06-15T17:00:00+08:00"),
                 lambda: case.deadline_approaching("2026-06-15T17:00:00+08:00", 1)):
        wait_processed(step())
    mail_settled()
    request = eventually(lambda: [m for m in mailbox.to(case.applicant_mail) if "请补正" in m.subject])[0]
    assert "需补正的材料：营业执照副本；近三年财务报表" in request.text
    assert "已开放修改的部分：资质条件及证明材料、附件" in request.text
    assert "证明材料不全" in request.text
    assert "办理时限：2026年6月15日 17:00（北京时间）" in request.text
    assert "当前阶段：形式审查" in request.text and f"申报编号：GJ-{case.tag}" in request.text
    reminders = [m for m in mailbox.to(case.applicant_mail) if "提醒" in m.subject]
    assert [m.subject for m in reminders] == [
        f"【创新基地申报】提醒：补正材料还有 1 天截止：{case.name}（编号 GJ-{case.tag}）"]


def test_the_same_event_delivered_three_times_tells_each_party_once(service, mailbox, upstream):
    case = Case(upstream)
    case.register_applicant()
    case.register_units()
    submitted = case.submit()
    wait_processed(submitted)
    queued = case.up.message("endorsement", "ReviewItemQueued", {
        "application_id": case.application_id, "item_id": str(uuid.uuid4()),
        "organizing_unit_id": case.organizing, "plan_version": 1, "digest": "b" * 64,
        "queued_at": test_clock.now().isoformat()})
    for _ in range(3):
        deliver(queued)
    wait_processed(queued)
    eventually(lambda: queue_depth("notification.events") == 0)
    mail_settled()
    time.sleep(1)
    assert len([m for m in mailbox.to(case.organizing_mail) if "待审核盖章" in m.subject]) == 1
    assert len(prepared(queued["event_id"], "inbox")) == 1
    assert len(prepared(queued["event_id"], "email")) == 1
    assert sql("notification", "SELECT count(*) FROM processed_messages WHERE source = 'endorsement'"
                               " AND position = %s", queued["position"]) == [(1,)]


def test_an_event_about_an_application_not_yet_heard_of_waits_for_its_first_event(service, mailbox, upstream):
    case = Case(upstream)
    case.register_applicant()
    case.register_units()
    queued = case.queued()  # endorsement's event overtakes intake's submission
    time.sleep(0.2)
    submitted = case.submit()
    wait_processed(submitted, queued)
    eventually(lambda: [m for m in mailbox.to(case.organizing_mail) if "待审核盖章" in m.subject])


def test_a_withdrawal_tells_only_the_parties_the_application_has_reached(service, mailbox, upstream):
    early, late = Case(upstream, "早"), Case(upstream, "晚")
    for case in (early, late):
        case.register_all()
    for step in (early.submit, early.queued, early.withdrawn,
                 late.submit, late.queued, late.forwarded, late.recommended, late.formal_review_opened,
                 lambda: late.passed(f"GJ-{late.tag}"), lambda: late.expert_assigned(list(late.experts)[0]),
                 late.withdrawn):
        wait_processed(step())
    mail_settled()

    def told_of_withdrawal(address, case):
        return [m for m in mailbox.to(address) if m.subject.endswith(f"申报已撤回：{case.name}")
                or f"申报已撤回：{case.name}（" in m.subject]

    assert len(told_of_withdrawal(early.applicant_mail, early)) == 1
    assert len(told_of_withdrawal(early.organizing_mail, early)) == 1
    assert told_of_withdrawal(early.recommending_mail, early) == []
    assert not [m for m in mailbox.received if OFFICERS[0] in m.rcpt_tos and early.name in m.subject]
    for address in (late.applicant_mail, late.organizing_mail, late.recommending_mail,
                    late.experts[list(late.experts)[0]], OFFICERS[0]):
        assert len(told_of_withdrawal(address, late)) == 1, address
    assert told_of_withdrawal(late.experts[list(late.experts)[1]], late) == []
    withdrawal = told_of_withdrawal(late.applicant_mail, late)[0]
    assert "与合作单位合并申报" in withdrawal.text


def test_an_smtp_server_refusing_for_now_gets_the_message_later_exactly_once_with_one_message_id(
        service, mailbox, upstream):
    case = Case(upstream)
    mailbox.refuse_for_now(case.applicant_mail, 2)
    registered = case.register_applicant()
    wait_processed(registered)
    mail = eventually(lambda: mailbox.to(case.applicant_mail), timeout=30)
    mail_settled()
    time.sleep(1.5)  # any stray retry would have arrived by now
    assert len(mailbox.to(case.applicant_mail)) == 1
    assert [r for r in mailbox.refusals if r[0] == case.applicant_mail] == [(case.applicant_mail, 451)] * 2
    (notification_id, message_id, state, attempts), = sql(
        "notification", "SELECT notification_id::text, message_id, state, attempts FROM notifications"
                        " WHERE occasion = %s AND channel = 'email'", registered["event_id"])
    assert mail[0].message_id == message_id and state == "delivered" and attempts == 3
    assert mail[0].message["X-Innobase-Notification"] == notification_id
    # refused at RCPT, before any hand-over; then handed over (all but the dot) and delivered
    assert history(notification_id) == ["Prepared", "DeliveryFailed", "DeliveryFailed", "HandedOver", "Delivered"]


def test_an_address_refused_for_good_is_recorded_undeliverable_and_the_inbox_still_has_it(
        service, mailbox, upstream):
    case = Case(upstream)
    mailbox.refuse_for_good(case.applicant_mail)
    registered = case.register_applicant()
    wait_processed(registered)
    eventually(lambda: prepared(registered["event_id"], "email")[0][4] == "undeliverable")
    time.sleep(1.5)
    assert [r for r in mailbox.refusals if r[0] == case.applicant_mail] == [(case.applicant_mail, 550)]
    assert mailbox.to(case.applicant_mail) == []
    assert len(inbox("applicant", case.applicant)["items"]) == 1


def test_a_party_without_an_email_address_is_told_in_its_inbox_only(service, mailbox, upstream):
    case = Case(upstream)
    registered = case.register_applicant(contact_mail=None)  # the head's address is the fallback
    wait_processed(registered)
    eventually(lambda: mailbox.to(case.head_mail))
    bare = Case(upstream)
    bare_unit = upstream.publish("intake", "UnitRegistered", {
        "unit_id": bare.organizing, "name": "无邮箱单位", "role": "organizing",
        "kind": "local_standardization_authority", "credit_code": None, "region": None, "domain": None,
        "contact": None, "address": None, "postcode": None})
    wait_processed(bare_unit)
    assert prepared(bare_unit["event_id"], "email") == []
    assert [i["subject"] for i in inbox("organizing_unit", bare.organizing)["items"]] == [
        "【创新基地申报】贵单位已登记为申报组织单位"]


def test_every_notification_is_an_event_in_the_log_an_auditor_can_read(service, mailbox, upstream):
    case = Case(upstream)
    case.register_applicant()
    case.register_units()
    wait_processed(case.submit())
    wait_processed(case.queued())
    mail_settled()
    with rpc(token("auditor")) as services:
        record = services.notification.notifications_of(application_id=case.application_id)
    told = sorted((r["event_type"], r["audience"], r["owner"], r["channel"], r["state"]) for r in record)
    assert told == sorted([
        ("ApplicationSubmitted", "applicant", case.applicant, "email", "delivered"),
        ("ApplicationSubmitted", "applicant", case.applicant, "inbox", "unread"),
        ("ReviewItemQueued", "organizing_unit", case.organizing, "email", "delivered"),
        ("ReviewItemQueued", "organizing_unit", case.organizing, "inbox", "unread"),
    ])
    for row in record:
        expected = ["Prepared", "HandedOver", "Delivered"] if row["channel"] == "email" else ["Prepared"]
        assert history(row["notification_id"]) == expected
        assert row["prepared_at"] and (row["delivered_at"] if row["channel"] == "email" else True)
    mail = [r for r in record if r["channel"] == "email" and r["audience"] == "organizing_unit"][0]
    assert mail["recipients"] == [case.organizing_mail]
    assert mailbox.to(case.organizing_mail)[-1].message_id == mail["message_id"]


def test_an_email_prepared_before_its_recipient_registered_is_sent_once_the_registration_arrives(
        service, mailbox, upstream):
    case = Case(upstream)
    submitted = case.submit()  # the registration is still on its way
    wait_processed(submitted)
    (recipients, state), = [(r[2], r[4]) for r in prepared(submitted["event_id"], "email")]
    assert recipients == [] and state == "pending"
    assert len(inbox("applicant", case.applicant)["items"]) == 1
    time.sleep(1)
    assert mailbox.to(case.applicant_mail) == []
    wait_processed(case.register_applicant())
    mail = eventually(lambda: [m for m in mailbox.to(case.applicant_mail) if "已提交" in m.subject])
    assert mail[0].message["To"] == case.applicant_mail
    assert mail[0].text.splitlines()[0] == f"{case.applicant_name}："  # named from the submission itself
    notification_id = sql("notification", "SELECT notification_id::text FROM notifications WHERE occasion = %s"
                                          " AND channel = 'email'", submitted["event_id"])[0][0]
    assert history(notification_id) == ["Prepared", "HandedOver", "Delivered"]


@pytest.fixture
def clock_restored():
    yield
    test_clock.set_time(TEST_START)


def test_an_applicant_with_a_draft_not_yet_submitted_is_reminded_7_and_1_days_before_the_window_closes(
        service, mailbox, upstream, clock_restored):
    waiting, submitted, withdrawn = Case(upstream, "待提交"), Case(upstream, "已提交"), Case(upstream, "已撤回")
    for case in (waiting, submitted, withdrawn):
        wait_processed(case.register_applicant())
        wait_processed(case.draft())
    wait_processed(submitted.submit())
    wait_processed(withdrawn.withdrawn())

    def reminders(case):
        return [m for m in mailbox.to(case.applicant_mail) if "申报受理还有" in m.subject]

    test_clock.set_time("2026-07-23T23:00:00+08:00")  # 7 days and 1 hour before the close: not yet
    time.sleep(1.5)
    assert reminders(waiting) == []
    test_clock.set_time("2026-07-24T09:00:00+08:00")
    first = eventually(lambda: reminders(waiting))
    assert first[0].subject == f"【创新基地申报】提醒：申报受理还有 7 天截止：{waiting.name}"
    assert "本年度申报受理截至 2026年7月30日 24:00（北京时间），还有 7 天" in first[0].text
    assert "办理时限：2026年7月30日 24:00（北京时间）" in first[0].text
    time.sleep(1.5)  # several scans later: still one
    assert len(reminders(waiting)) == 1

    test_clock.set_time("2026-07-30T09:00:00+08:00")
    eventually(lambda: len(reminders(waiting)) == 2)
    assert reminders(waiting)[1].subject == f"【创新基地申报】提醒：申报受理还有 1 天截止：{waiting.name}"
    test_clock.set_time("2026-07-31T09:00:00+08:00")  # closed: nothing more
    time.sleep(1.5)
    assert len(reminders(waiting)) == 2
    assert reminders(submitted) == [] and reminders(withdrawn) == []
    inbox_subjects = [i["subject"] for i in inbox("applicant", waiting.applicant)["items"]]
    assert sum("申报受理还有" in s for s in inbox_subjects) == 2


def test_the_auditor_reads_the_notifications_in_the_applications_history_and_the_read_models_rebuild(
        service, mailbox, upstream):
    from services.notification.application import Notification

    case = Case(upstream)
    case.register_all()
    for step in (case.draft, case.submit, case.queued, case.forwarded):
        wait_processed(step())
    mail_settled()
    with rpc(token("auditor")) as services:
        history = services.notification.audit_history(application_id=case.application_id)
    prepared_events = [e for e in history if e["type"] == "Prepared"]
    assert sorted((e["payload"]["event_type"], e["payload"]["audience"], e["payload"]["channel"])
                  for e in prepared_events) == sorted([
        ("ApplicationSubmitted", "applicant", "inbox"), ("ApplicationSubmitted", "applicant", "email"),
        ("ReviewItemQueued", "organizing_unit", "inbox"), ("ReviewItemQueued", "organizing_unit", "email"),
        ("ApplicationForwarded", "applicant", "inbox"), ("ApplicationForwarded", "applicant", "email"),
        ("ApplicationForwarded", "recommending_unit", "inbox"), ("ApplicationForwarded", "recommending_unit", "email"),
    ])
    assert all(e["caused_by"]["source"] in ("intake", "endorsement") for e in prepared_events)
    assert [e["type"] for e in history].count("Delivered") == 4

    tables = {"notifications": "notification_id", "parties": "party_id", "dossiers": "dossier_id"}

    def read_models():
        return {table: sql("notification", f"SELECT * FROM {table} ORDER BY {key}") for table, key in tables.items()}

    before = read_models()
    Notification().rebuild_read_models()
    assert read_models() == before
