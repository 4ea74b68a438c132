"""The portal's two heaviest pages with a full round in the logs: the SAC dashboard (`/sac`) and the
applicant's plan editor (`/applicant/applications/<id>/sections/<section>`), rendered by the gateway
as `make run` starts it, with N applications (10,000 by default) in intake's log.

The round is written fast, in this process, straight through an `Intake()` application's
entrypoints (the same schemas and rules as over RPC, without 10,000 broker round trips):
applicant units and their units registered, drafts created, a share of them filled and submitted.
Then accounts, intake, formal review, expert review and the gateway start; an SAC administrator and
an applicant account (set by the administrator to the unit of one complete draft) sign in; each page
is fetched over one keep-alive connection, in rounds taking turns with the same connection's bare
`GET /static/portal.css` (the HTTP baseline of this run). A page's time is the time to its last byte.

Target: each page p95 ≤ 150 ms. Run: `python -m benchmarks.portal [--applications 10000]
[--applicants 200] [--submitted 100] [--renders 200]`.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import time
import uuid

from benchmarks import common  # first: isolated settings, the clock inside the submission window
from innobase import supervisor
from shared import auth, clock, settings

PORT = int(os.environ.setdefault("INNOBASE_HTTP_PORT", "8182"))
PASSWORD = "Bench-Portal-2026"
SERVICES = ["accounts", "intake", "formal_review", "expert_review", "gateway"]
SECTIONS_MEASURED = ("goals", "basic")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--applications", type=int, default=10_000, help="applications in intake's log")
    parser.add_argument("--applicants", type=int, default=200, help="applicant units they belong to")
    parser.add_argument("--submitted", type=int, default=100, help="of them filled whole and submitted")
    parser.add_argument("--renders", type=int, default=200, help="renders measured per page")
    parser.add_argument("--reuse", action="store_true", help="measure the round a previous run wrote")
    args = parser.parse_args()

    started = time.perf_counter()
    if args.reuse:
        round_ = written_round(args)
    else:
        common.reset(["accounts", "intake", "formal_review", "expert_review", "notification"])
        round_ = write_round(args)
    written = time.perf_counter() - started
    # the services' clocks start where this process's is now (it has run while the round was written):
    # else a token minted here would be "issued in the future" for them
    os.environ["INNOBASE_CLOCK_START"] = clock.now().isoformat()
    processes = [supervisor.start(supervisor.BY_NAME[name]) for name in SERVICES]
    try:
        supervisor.wait_healthy(SERVICES, settings.get().amqp_uri, processes=processes)
        results = measure(args, round_)
    finally:
        supervisor.stop(processes)
    report(args, round_, written, results)


def write_round(args) -> dict:
    """`args.applications` applications in intake's log, written through an in-process `Intake()`."""
    from services.intake.application import Intake
    from tests.support.applications import Direct, create_draft, fill_every_section, prepare

    via = Direct(Intake())
    setups = [prepare(via, "regional" if n % 3 else "domain") for n in range(args.applicants)]
    mine, events_before = None, via.app.log_position()
    for n in range(args.applications):
        setup = setups[n % len(setups)]
        with via.intake(setup.applicant) as intake:
            draft = create_draft(intake, setup, name=f"国家技术标准创新基地（基准{n:05d}）")
            if n < args.submitted:
                fill_every_section(intake, draft["application_id"], setup, one_file=True)
                intake.submit(application_id=draft["application_id"])
            elif mine is None:  # the applicant's page measured: a complete draft it may still edit
                fill_every_section(intake, draft["application_id"], setup, one_file=True)
                mine = {"application_id": draft["application_id"], "credit_code": setup.credit_code}
        if (n + 1) % 1000 == 0:
            print(f"  {n + 1} applications written", flush=True)
    return {"mine": mine, "events": via.app.log_position() - events_before}


def written_round(args) -> dict:
    """The round a previous run left in intake's database, and the applicant's draft in it."""
    from services.intake.application import Intake

    app = Intake()
    total = app.query("SELECT count(*) AS n FROM applications")[0]["n"]
    assert total == args.applications, f"intake holds {total} applications, not {args.applications}"
    # the one draft filled whole: its plan renamed it from 基准… to the sample plan's name
    row = app.query("SELECT application_id, applicant_organization FROM applications"
                    " WHERE stage = 'draft' AND name NOT LIKE '%基准%'")[0]
    return {"mine": {"application_id": str(row["application_id"]), "credit_code": row["applicant_organization"]},
            "events": 0}


class Http:
    """One keep-alive connection with the session cookie it was given."""

    def __init__(self, cookie: str = ""):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
        self.cookie = cookie

    def request(self, method: str, path: str, body=None) -> tuple[int, dict, bytes]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        payload = None
        if body is not None:
            payload, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()


def signed_in(email: str) -> Http:
    status, headers, body = Http().request("POST", "/api/v1/session", {"email": email, "password": PASSWORD})
    assert status == 201, body
    return Http(headers["Set-Cookie"].split(";")[0])


def measure(args, round_: dict) -> dict:
    from nameko.standalone.rpc import ClusterRpcProxy

    suffix = uuid.uuid4().hex[:6]
    officer_email, applicant_email = f"sac-{suffix}@sac.example.cn", f"applicant-{suffix}@units.example.cn"
    ops = {"auth_token": auth.mint("ops-bench", "ops", "ops")}
    with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, timeout=60, context_data=ops) as services:
        officer = services.accounts.create_admin(email=officer_email, name="基准管理员", password=PASSWORD)
        applicant = services.accounts.create_admin(email=applicant_email, name="基准申报单位", password=PASSWORD)
    admin = {"auth_token": auth.mint(officer["party_id"], "officer", officer["organization"])}
    with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, timeout=60, context_data=admin) as services:
        services.accounts.set_role(account_id=applicant["account_id"], role="applicant",
                                   organization=round_["mine"]["credit_code"], party_id=None, admin=False)

        drained_in = drain(services)
    officer_rpc = {"auth_token": auth.mint(officer["party_id"], "officer", officer["organization"])}

    pages = {"/sac": signed_in(officer_email)}
    applicant_client = signed_in(applicant_email)
    for section in SECTIONS_MEASURED:
        pages[f"/applicant/applications/{round_['mine']['application_id']}/sections/{section}"] = applicant_client
    baseline = Http()
    results = {path: [] for path in pages} | {"baseline": []}

    def timed(client, path) -> float:
        began = time.perf_counter()
        status, _, body = client.request("GET", path)
        elapsed = (time.perf_counter() - began) * 1000
        assert status == 200, (path, status, body[:300])
        return elapsed

    for path, client in pages.items():  # warm every path once: caches, the first template compile
        for _ in range(5):
            timed(client, path)
    status, _, body = pages["/sac"].request("GET", "/sac")
    shown = body.decode()
    assert f"本轮申报共 <strong>{args.applications}</strong> 项" in shown, "the dashboard must count the whole round"
    rounds = 10
    for _ in range(rounds):
        for path, client in pages.items():
            for _ in range(args.renders // rounds):
                results[path].append(timed(client, path))
        for _ in range(args.renders // rounds):
            results["baseline"].append(timed(baseline, "/static/portal.css"))
    # the dashboard's three RPCs, called bare by the same officer: what the page costs beyond them
    with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, timeout=60, context_data=officer_rpc) as services:
        results["rpcs"] = []
        for _ in range(args.renders):
            began = time.perf_counter()
            services.intake.application_counts()
            services.formal_review.cases(limit=1)
            services.expert_review.reviews(limit=1)
            results["rpcs"].append((time.perf_counter() - began) * 1000)
    results["drained_in"] = drained_in
    return results


def drain(services, timeout: float = 900) -> float:
    """Seconds until intake has published its whole log (the round's backlog): pages are measured in
    a steady state, not while one process relays thousands of events to the broker."""
    began = time.monotonic()
    while True:
        health = services.intake.health()
        if health["published_position"] >= health["log_position"]:
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"intake's outbox still behind after {timeout:.0f} s: {health}")
        time.sleep(1)


def report(args, round_: dict, written: float, results: dict) -> None:
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M')}")
    if round_["events"]:
        print(f"round written in-process: {args.applications} applications ({args.submitted} submitted) of "
              f"{args.applicants} units, {round_['events']} events, in {written:.0f} s")
    else:
        print(f"round of {args.applications} applications ({args.submitted} submitted) from an earlier run")
    print(f"intake's outbox drained {results.pop('drained_in'):.0f} s after the services started")
    print(common.line("GET /static/portal.css (baseline)", common.summary(results.pop("baseline"))))
    print(common.line("the dashboard's 3 RPCs, bare", common.summary(results.pop("rpcs"))))
    for path, samples in results.items():
        s = common.summary(samples)
        p95 = common.percentile(samples, 95)
        label = "/sac" if path == "/sac" else "plan editor: " + path.rsplit("/", 1)[1]
        print(common.line(label, s) + f"  p95={p95:7.2f} ms ({'within' if p95 <= 150 else 'OVER'} 150 ms)")


if __name__ == "__main__":
    main()
