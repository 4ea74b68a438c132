"""Every party's path over real HTTP: the gateway in front of the real services, accounts
signed in with e-mail and password (browsers) or personal access tokens (scripts), the
e-mails read from a real SMTP server, and the answers people and scripts get."""
import io
import time
import uuid

import pytest
import requests

from innobase.supervisor import RUNNING
from services.accounts.errors import EmailTaken
from shared import auth
from tests.support.cluster import eventually, rpc, running, sql
from tests.support.http import PASSWORD, Browser, HttpDemo, HttpProblem, Script, link_token
from tests.support.mail import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

ADMIN = ("admin@sac.example.cn", "管理员-Admin-Passw0rd")


@pytest.fixture(scope="module")
def system(mailbox):
    port = free_port()
    env = {"INNOBASE_SMTP_HOST": "127.0.0.1", "INNOBASE_SMTP_PORT": mailbox.port,
           "INNOBASE_HTTP_PORT": port, "INNOBASE_PORTAL_URL": f"http://127.0.0.1:{port}",
           "INNOBASE_SAC_OFFICER_EMAILS": "officer@sac.test", "INNOBASE_DEADLINE_SCAN_SECONDS": "0.5",
           "INNOBASE_LOGIN_MAX_FAILURES": "3", "INNOBASE_LOCKOUT_MINUTES": "15"}
    with running(*(spec.name for spec in RUNNING), **env) as cluster:
        with rpc(auth.mint("ops-tests", "ops", "ops")) as services:
            try:
                services.accounts.create_admin(email=ADMIN[0], name="国家标准委管理员", password=ADMIN[1])
            except EmailTaken:  # made by an earlier module of this run (the fuzz test's)
                pass
        yield {"url": f"http://127.0.0.1:{port}", "cluster": cluster, "mailbox": mailbox}


def mail_text(mailbox):
    def latest(address: str) -> str:
        eventually(lambda: mailbox.to(address), timeout=30)
        return mailbox.to(address)[-1].text
    return latest


def admin(system) -> Browser:
    browser = Browser(system["url"]).open()
    browser.sign_in(*ADMIN)
    return browser


def applicant_account(system, credit_code=None) -> tuple[Browser, str, str]:
    from innobase.samples import new_credit_code

    credit_code = credit_code or new_credit_code("320500")
    email = f"applicant-{uuid.uuid4().hex[:8]}@units.example.cn"
    browser = Browser(system["url"]).open()
    browser.post("/api/v1/accounts", json={"credit_code": credit_code, "unit_name": "苏州市标准化研究院",
                                           "contact_name": "王建国", "email": email, "password": PASSWORD})
    token = link_token(mail_text(system["mailbox"])(email), "/confirm")
    browser.post("/api/v1/accounts/confirmation", json={"token": token})
    browser.sign_in(email, PASSWORD)
    return browser, email, credit_code


# --- every party's path ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def played(system):
    out = io.StringIO()
    demo = HttpDemo(system["url"], ADMIN, mail_text(system["mailbox"]), out=out, timeout=90)
    outcome = demo.play()
    return outcome, out.getvalue(), demo


def test_the_demo_runs_over_http_every_party_signed_in_with_its_own_account(played):
    outcome, _, demo = played
    assert outcome["A"]["result"] == "approved, construction plan submitted"
    assert outcome["B"]["result"] == "approved, construction plan submitted"
    assert outcome["C"]["result"].startswith("found inadmissible after a missed deadline")
    assert outcome["D"]["result"].startswith("refused:")
    roles = {party[1] for party in demo.browsers}
    assert roles >= {"applicant", "organizing_unit", "recommending_unit", "officer", "expert"}


def test_an_auditor_reads_the_merged_timeline_over_http(played, system):
    outcome, _, _ = played
    auditor = invited(system, "auditor", "SAC-audit")
    timeline = auditor.get(f"/api/v1/audit/applications/{outcome['A']['application_id']}/timeline").json()
    services = {event["service"] for event in timeline["events"]}
    assert {"intake", "endorsement", "formal_review", "expert_review", "notification"} <= services
    events = timeline["events"]
    order = [(event["service"], event["type"]) for event in events]
    assert order.index(("intake", "Submitted")) < order.index(("expert_review", "Approved"))
    for service in services:  # merged by time, each service's events in its own log order
        positions = [event["position"] for event in events if event["service"] == service]
        assert positions == sorted(positions), service
    # an effect names its cause, found among the events: endorsement's first step was caused by intake
    caused = [event for event in events if event["service"] == "endorsement" and event["cause"]]
    assert caused and caused[0]["cause"]["service"] == "intake" and caused[0]["cause"]["type"]


def invited(system, role, organization, party_id=None) -> Browser:
    email = f"{role}-{uuid.uuid4().hex[:8]}@sac.example.cn"
    admin(system).post("/api/v1/invitations", json={"email": email, "name": "李审计", "role": role,
                                                    "organization": organization, "party_id": party_id})
    token = link_token(mail_text(system["mailbox"])(email), "/invitation")
    browser = Browser(system["url"]).open()
    browser.post("/api/v1/invitations/acceptance", json={"token": token, "password": PASSWORD})
    browser.sign_in(email, PASSWORD)
    return browser


# --- HTTP as people expect it ---------------------------------------------------------------------

def test_a_printed_plan_downloads_as_a_pdf_with_its_chinese_file_name(played, system):
    outcome, _, demo = played
    applicant = next(b for party, b in demo.browsers.items() if party[1] == "applicant")
    app_id = next(case["application_id"] for case in outcome.values()
                  if applicant.get(f"/api/v1/applications/{case['application_id']}", expect=(200, 404)).ok)
    response = applicant.get(f"/api/v1/applications/{app_id}/plan.pdf")
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]


def test_the_printed_plans_qr_code_opens_the_portals_verification_for_anyone_holding_the_paper(played, system,
                                                                                               tmp_path):
    import subprocess

    import zxingcpp
    from PIL import Image
    from pypdf import PdfReader

    from shared.printable import texts

    outcome, _, demo = played
    applicant = next(b for party, b in demo.browsers.items() if party[1] == "applicant")
    app_id = next(case["application_id"] for case in outcome.values()
                  if applicant.get(f"/api/v1/applications/{case['application_id']}", expect=(200, 404)).ok)
    versions = applicant.get(f"/api/v1/applications/{app_id}/versions").json()
    latest = max(v["plan_version"] for v in (versions["items"] if isinstance(versions, dict) else versions))
    pdf = tmp_path / "plan.pdf"
    pdf.write_bytes(applicant.get(f"/api/v1/applications/{app_id}/plan.pdf?version={latest}").content)
    pages = texts(PdfReader(pdf).pages)
    seven = next(i for i, page in enumerate(pages, 1) if "七、申报意见" in page)
    subprocess.run(["pdftoppm", "-r", "150", "-f", str(seven), "-l", str(seven), "-png", str(pdf),
                    str(tmp_path / "seven")], check=True)
    [code] = zxingcpp.read_barcodes(Image.open(next(tmp_path.glob("seven*.png"))))
    assert code.text.startswith(f"{system['url']}/verify?digest=")
    digest = code.text.rsplit("=", 1)[1]
    page = requests.get(code.text, timeout=30)  # nobody signed in: the holder of the paper
    assert page.status_code == 200 and f"该文本是系统记录的已提交版本（第 {latest} 版）" in page.text
    answer = requests.post(f"{system['url']}/api/v1/print-verifications", json={"digest": digest}, timeout=30)
    assert answer.status_code == 200 and answer.json()["in_log"] and answer.json()["plan_version"] == latest
    edited = requests.post(f"{system['url']}/api/v1/print-verifications", json={"digest": "0" * 64}, timeout=30)
    assert edited.json()["in_log"] is False and edited.json()["reason"] == "digest_not_logged"


def test_a_foreign_application_answers_404_exactly_as_a_missing_one(played, system):
    outcome, _, _ = played
    stranger, _, _ = applicant_account(system)
    foreign = stranger.get(f"/api/v1/applications/{outcome['A']['application_id']}", expect=(404,))
    missing = stranger.get(f"/api/v1/applications/{uuid.uuid4()}", expect=(404,))
    assert foreign.headers["Content-Type"].startswith("application/problem+json")
    assert foreign.json()["title"] == missing.json()["title"]
    assert foreign.json()["details"] == {}


def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(system):
    applicant, _, _ = applicant_account(system)
    before = sql("intake", "SELECT count(*) FROM intake_events")[0][0]
    answer = applicant.post("/api/v1/applications", json={"base_type": "lunar", "name": "x"}, expect=(422,)).json()
    assert answer["error"] == "InvalidInput" and "base_type" in answer["fields"]
    assert answer["title_zh"] == "填写内容有误"
    assert applicant.post("/api/v1/applications", data="{not json", headers={"Content-Type": "application/json"},
                          expect=(400,)).json()["error"] == "MalformedRequest"
    assert applicant.post("/api/v1/applications", data="a=b", headers={"Content-Type": "text/plain"},
                          expect=(415,)).json()["error"] == "UnsupportedMediaType"
    assert sql("intake", "SELECT count(*) FROM intake_events")[0][0] == before


def prepared_draft(system):
    """An applicant's registered unit and a draft, the units registered by the officer."""
    from innobase import samples

    applicant, _, credit_code = applicant_account(system)
    officer = admin(system)
    run = uuid.uuid4().hex[:6]
    for role, unit_id in (("organizing", f"samr-{run}"), ("recommending", f"gov-{run}")):
        details = samples.unit_details("regional", role, unit_id, region="320000", domain=None)
        officer.call("intake", "register_unit", **details)
    details = samples.applicant_details(credit_code, region="320500")
    applicant.call("intake", "register_applicant", **details)
    draft = applicant.post("/api/v1/applications", json={
        "base_type": "regional", "name": f"国家技术标准创新基地（苏州{run}）", "organizing_unit_id": f"samr-{run}",
        "recommending_unit_id": f"gov-{run}", "region": "320500"}, expect=(201,)).json()
    return applicant, draft


def test_a_stale_write_answers_412_and_the_current_etag_saves(system):
    applicant, draft = prepared_draft(system)
    path = f"/api/v1/applications/{draft['application_id']}"
    etag = applicant.get(path).headers["ETag"]
    content = {"significance": "创新基地将促进创新成果转化为技术标准。", "necessity": "区域产业转型升级对技术标准的需求紧迫。"}
    saved = applicant.request("PUT", path + "/sections/significance", json=content, headers={"If-Match": etag}).json()
    assert saved["version"] > int(etag.strip('W/"'))
    stale = applicant.request("PUT", path + "/sections/significance", json=content, headers={"If-Match": etag},
                              expect=(412,)).json()
    assert stale["error"] == "PreconditionFailed"


def test_an_upload_is_multipart_checked_while_read_and_a_too_large_one_is_413(system):
    from innobase import samples

    applicant, draft = prepared_draft(system)
    path = f"/api/v1/applications/{draft['application_id']}/attachments"
    stored = applicant.post(path, files={"file": ("营业执照.pdf", samples.tiny_pdf("licence"), "application/pdf")},
                            expect=(201,)).json()
    assert stored["name"] == "营业执照.pdf" and len(stored["sha256"]) == 64
    too_large = applicant.post(path, files={"file": ("big.pdf", b"%PDF-1.4\n" + b"0" * (11 * 1024 * 1024))},
                               expect=(413,))
    assert too_large.json()["error"] == "PayloadTooLarge"
    download = applicant.get(f"{path}/{stored['sha256']}")
    assert download.content == samples.tiny_pdf("licence")


def test_the_same_post_with_one_idempotency_key_commits_once_and_answers_the_same_twice(system):
    applicant, draft = prepared_draft(system)
    body = {"base_type": "regional", "name": "国家技术标准创新基地（幂等）", "organizing_unit_id": draft["organizing_unit_id"],
            "recommending_unit_id": draft["recommending_unit_id"], "region": "320500"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = applicant.post("/api/v1/applications", json=body, headers=key, expect=(201,))
    again = applicant.post("/api/v1/applications", json=body, headers=key, expect=(201,))
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    other = applicant.post("/api/v1/applications", json={**body, "name": "国家技术标准创新基地（另一个）"}, headers=key,
                           expect=(422,))
    assert other.json()["error"] == "IdempotencyKeyReused"
    items = applicant.get("/api/v1/applications").json()["items"]
    assert sum(1 for item in items if item["name"] == body["name"]) == 1


def test_a_key_the_gateway_forgot_is_still_the_command_id_so_the_service_answers_the_first_withdrawal(system):
    """A second gateway with an idempotency store of its own (as after the first died between
    the command and storing its answer): the same key makes the same command id, and intake
    answers the withdrawal it recorded instead of refusing a second one."""
    from shared import settings

    applicant, draft = prepared_draft(system)
    port = free_port()
    cluster = system["cluster"]
    forgetful = cluster.start("gateway", INNOBASE_HTTP_PORT=port,
                              INNOBASE_DB_PREFIX=f"{settings.get().db_prefix}_forgetful")
    try:
        browser = Browser(f"http://127.0.0.1:{port}", session=applicant.http)
        browser.csrf = applicant.csrf
        path = f"/api/v1/applications/{draft['application_id']}/withdrawal"
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = applicant.post(path, json={"reason": "申报单位决定不再申报"}, headers=key, expect=(200,))
        again = browser.post(path, json={"reason": "申报单位决定不再申报"}, headers=key, expect=(200,))
        assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") is None
        other = browser.post(path, json={"reason": "另一个理由"}, headers=key, expect=(422,))
        assert other.json()["error"] == "IdempotencyKeyReused"
        withdrawn = sql("intake", "SELECT count(*) FROM intake_events WHERE originator_id = %s AND topic LIKE %s",
                        draft["application_id"], "%.Withdrawn")
        assert withdrawn == [(1,)]
    finally:
        cluster.kill(forgetful)


def test_lists_are_paginated_by_cursor(system):
    officer = admin(system)
    first = officer.get("/api/v1/applications", params={"limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = officer.get("/api/v1/applications", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert second["items"][0]["application_id"] != first["items"][0]["application_id"]


def test_the_openapi_document_and_the_docs_page_are_served_from_local_files(system):
    document = requests.get(system["url"] + "/api/openapi.json", timeout=10).json()
    assert document["openapi"] == "3.1.0" and "/api/v1/applications/{application_id}/submission" in document["paths"]
    page = requests.get(system["url"] + "/api/docs", timeout=10).text
    assert "/api/docs/assets/swagger-ui-bundle.js" in page and "http" not in page.split("<body>")[1].replace(
        "/api/openapi.json", "")
    assert requests.get(system["url"] + "/api/docs/assets/swagger-ui-bundle.js", timeout=10).ok


# --- security --------------------------------------------------------------------------------------

def test_a_write_without_the_csrf_token_is_403_and_changes_nothing(system):
    applicant, draft = prepared_draft(system)
    before = sql("intake", "SELECT count(*) FROM intake_events")[0][0]
    refused = applicant.http.post(system["url"] + "/api/v1/applications", json={"base_type": "regional"}, timeout=10)
    assert refused.status_code == 403 and refused.json()["error"] == "CsrfRejected"
    wrong = applicant.http.post(system["url"] + "/api/v1/applications", json={"base_type": "regional"},
                                headers={"X-CSRF-Token": "0" * 40}, timeout=10)
    assert wrong.status_code == 403
    assert sql("intake", "SELECT count(*) FROM intake_events")[0][0] == before


def test_sign_in_issues_a_new_session_id_each_time(system):
    browser, email, _ = applicant_account(system)
    first = browser.http.cookies.get("innobase_session")
    browser.sign_in(email, PASSWORD)
    assert browser.http.cookies.get("innobase_session") not in (None, first)
    assert browser.get("/api/v1/me").json()["email"] == email


def test_the_session_cookie_is_httponly_and_samesite_lax(system):
    browser = Browser(system["url"]).open()
    response = browser.post("/api/v1/session", json={"email": ADMIN[0], "password": ADMIN[1]}, expect=(201,))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_deactivated_accounts_live_session_is_refused_on_its_next_request(system):
    browser, email, _ = applicant_account(system)
    me = browser.get("/api/v1/me").json()
    admin(system).post(f"/api/v1/accounts/{me['account_id']}/deactivation", json={"reason": "离职"})
    eventually(lambda: browser.get("/api/v1/me", expect=(200, 401)).status_code == 401, timeout=5)
    assert browser.get("/api/v1/applications", expect=(401,)).json()["error"] == "AuthenticationFailed"


def test_repeated_failed_sign_ins_lock_the_account_with_429(system):
    _, email, _ = applicant_account(system)
    browser = Browser(system["url"]).open()
    for _ in range(3):
        browser.post("/api/v1/session", json={"email": email, "password": "wrong-password-1"}, expect=(401,))
    locked = browser.post("/api/v1/session", json={"email": email, "password": PASSWORD}, expect=(429,))
    assert locked.json()["error"] == "AccountLocked"


def test_unknown_email_and_wrong_password_answer_the_same(system):
    _, email, _ = applicant_account(system)
    browser = Browser(system["url"]).open()
    wrong = browser.post("/api/v1/session", json={"email": email, "password": "not-it-at-all"}, expect=(401,)).json()
    unknown = browser.post("/api/v1/session", json={"email": "nobody@example.cn", "password": "not-it-at-all"},
                           expect=(401,)).json()
    assert wrong["error"] == unknown["error"] and wrong["detail"] == unknown["detail"]


def test_a_read_only_token_reads_but_may_not_write_and_a_revoked_one_is_refused(system):
    browser, _, _ = applicant_account(system)
    created = browser.post("/api/v1/me/tokens", json={"name": "报表脚本", "scope": "read"}, expect=(201,)).json()
    script = Script(system["url"], created["token"])
    assert script.get("/api/v1/applications").ok
    refused = script.post("/api/v1/applications", json={"base_type": "regional"}, expect=(403,)).json()
    assert refused["error"] == "TokenScope"
    browser.request("DELETE", f"/api/v1/me/tokens/{created['token_id']}")
    eventually(lambda: script.get("/api/v1/applications", expect=(200, 401)).status_code == 401, timeout=5)


def test_a_token_of_one_organization_on_anothers_application_answers_404(played, system):
    outcome, _, _ = played
    browser, _, _ = applicant_account(system)
    created = browser.post("/api/v1/me/tokens", json={"name": "ci", "scope": "write"}, expect=(201,)).json()
    script = Script(system["url"], created["token"])
    answer = script.get(f"/api/v1/applications/{outcome['B']['application_id']}", expect=(404,))
    assert answer.json()["error"] in ("NotYourApplication", "ApplicationNotFound")


def test_a_forged_bearer_token_is_401(system):
    assert Script(system["url"], "inb_forged").get("/api/v1/me", expect=(401,)).json()["status"] == 401


def test_passwords_never_reach_an_event_of_any_service(played, system):
    for service in ("accounts", "intake", "notification"):
        rows = sql(service, f"SELECT count(*) FROM {service}_events"
                            " WHERE position(%s in convert_from(state, 'UTF8')) > 0", PASSWORD)
        assert rows[0][0] == 0, service


def test_the_same_post_sent_twice_while_the_broker_connection_drops_between_commits_once(system):
    from tests.support.outage import BrokerLink
    from shared import settings

    applicant, draft = prepared_draft(system)
    link = BrokerLink(settings.get().amqp_uri)
    port = free_port()
    cluster = system["cluster"]
    behind_link = cluster.start("gateway", INNOBASE_AMQP_URI=link.amqp_uri, INNOBASE_HTTP_PORT=port)
    try:
        browser = Browser(f"http://127.0.0.1:{port}", session=applicant.http)
        browser.csrf = applicant.csrf
        body = {"base_type": "regional", "name": f"国家技术标准创新基地（断线{uuid.uuid4().hex[:4]}）",
                "organizing_unit_id": draft["organizing_unit_id"],
                "recommending_unit_id": draft["recommending_unit_id"], "region": "320500"}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = browser.post("/api/v1/applications", json=body, headers=key, expect=(201,))
        link.cut()
        time.sleep(1)
        link.restore()
        again = eventually(lambda: _answer_or_none(browser, body, key), timeout=60)
        assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
        drafted = sql("intake", "SELECT count(*) FROM intake_events WHERE originator_id = %s"
                      " AND topic LIKE %s", first.json()["application_id"], "%Drafted")
        assert drafted == [(1,)]
    finally:
        cluster.kill(behind_link)
        link.close()


def _answer_or_none(browser, body, key):
    try:
        return browser.post("/api/v1/applications", json=body, headers=key, expect=(201,))
    except (HttpProblem, requests.ConnectionError):
        return None


def test_two_gateway_instances_serve_one_port(system):
    from tests.support.cluster import consumers

    port = int(system["url"].rsplit(":", 1)[1])
    second = system["cluster"].start("gateway", INNOBASE_HTTP_PORT=port)
    try:
        assert second.poll() is None
        assert consumers("rpc-gateway") >= 2
        for _ in range(20):
            assert requests.get(system["url"] + "/api/v1/session", timeout=10).ok
    finally:
        system["cluster"].kill(second)


def test_a_list_sorts_by_a_named_column_and_refuses_any_other(played, system):
    officer = admin(system)
    newest = officer.get("/api/v1/applications", params={"sort": "-created_at", "limit": 5}).json()["items"]
    oldest = officer.get("/api/v1/applications", params={"sort": "created_at", "limit": 500}).json()["items"]
    assert [a["created_at"] for a in newest] == sorted((a["created_at"] for a in newest), reverse=True)
    assert newest[0]["application_id"] == oldest[-1]["application_id"]
    refused = officer.get("/api/v1/applications", params={"sort": "password"}, expect=(422,)).json()
    assert "sort" in refused["fields"]
    cases = officer.get("/api/v1/formal-review/cases", params={"sort": "-number"}).json()["items"]
    numbers = [c["number"] for c in cases if c["number"]]
    assert numbers == sorted(numbers, reverse=True)


def test_a_formal_review_write_with_a_stale_if_match_is_412_and_changes_nothing(played, system):
    outcome, _, _ = played
    officer = admin(system)
    path = f"/api/v1/applications/{outcome['C']['application_id']}/formal-review"
    current = officer.get(path)
    etag = current.headers["ETag"]
    stale = f'W/"{int(etag.strip("W/").strip(chr(34))) - 1}"'
    before = sql("formal_review", "SELECT count(*) FROM formalreview_events")[0][0]
    refused = officer.post(path + "/applicant-informed", json={"decision": "found_inadmissible", "channel": "phone"},
                           headers={"If-Match": stale}, expect=(412,)).json()
    assert refused["error"] == "PreconditionFailed" and refused["details"]["rule"] == "expected_version"
    assert sql("formal_review", "SELECT count(*) FROM formalreview_events")[0][0] == before


def test_a_command_a_rule_refuses_is_409_with_the_rule_named(system):
    from innobase import samples

    applicant, draft = prepared_draft(system)
    details = samples.applicant_details(draft["applicant_organization"], region="320500")
    again = applicant.post("/api/v1/applicants", json=details, expect=(409,))
    assert again.headers["Content-Type"].startswith("application/problem+json")
    assert again.json()["error"] == "AlreadyRegistered" and again.json()["title_zh"] == "该单位已注册"
