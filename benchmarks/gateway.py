"""The HTTP edge's cost: the same query over a bare nameko RPC and through the gateway over
HTTP (keep-alive, a personal access token), one client at a time and eight at once; and a
sign-in beside the cost of one argon2id verification, all measured in the same run.

Starts accounts, intake and the gateway as `make run` does (on the benchmark vhost and
databases), an applicant account with a read-write token and a draft, then measures
`intake.my_applications(limit=1)` both ways, in rounds taking turns.
Targets: the gateway adds ≤ 1.5 ms at p50; with 8 clients it keeps ≥ 70 % of the bare
RPC's throughput; a sign-in costs little more than argon2.

Run: `python -m benchmarks.gateway [--calls 400] [--seconds 6] [--clients 8]`.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import threading
import time

from benchmarks import common  # first: isolated settings, the clock inside the submission window
from innobase import supervisor
from shared import auth, settings

PORT = int(os.environ.setdefault("INNOBASE_HTTP_PORT", "8181"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400, help="sequential calls measured each way")
    parser.add_argument("--seconds", type=float, default=6.0, help="duration of each throughput run")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for throughput")
    parser.add_argument("--sign-ins", type=int, default=20, help="sign-ins measured")
    args = parser.parse_args()

    common.reset(["accounts", "intake", "notification"])
    names = ["accounts", "intake", "gateway"]
    processes = [supervisor.start(supervisor.BY_NAME[name]) for name in names]
    try:
        supervisor.wait_healthy(names, settings.get().amqp_uri, processes=processes)
        results = run(args)
    finally:
        supervisor.stop(processes)
    report(args, results)


class Http:
    """One keep-alive connection, as a script's HTTP client keeps it."""

    session_cookie = ""

    def __init__(self, headers: dict):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        self.headers = headers

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        all_headers = {**self.headers, **(headers or {})}
        if payload is not None:
            all_headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=payload, headers=all_headers)
        response = self.conn.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("innobase_session="):
                self.session_cookie = value.split(";")[0]
        return response.status, dict(response.getheaders()), response.read()


def run(args) -> dict:
    from argon2 import PasswordHasher
    from nameko.standalone.rpc import ClusterRpcProxy

    from innobase.samples import new_credit_code

    password = "Bench-Password-2026"
    email = "bench-applicant@units.example.cn"
    credit_code = new_credit_code("320500")
    with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, timeout=30,
                         context_data={"auth_token": auth.mint("ops-bench", "ops", "ops")}) as ops:
        ops.accounts.create_admin(email=email, name="基准", password=password)
    anonymous = Http({})
    status, _, body = anonymous.request("POST", "/api/v1/session", {"email": email, "password": password})
    assert status == 201, body
    account = json.loads(body)["account"]
    token_holder = Http({"Cookie": anonymous.session_cookie})
    csrf = json.loads(body)["csrf_token"]
    status, _, body = token_holder.request("POST", "/api/v1/me/tokens", {"name": "bench", "scope": "write"},
                                           headers={"X-CSRF-Token": csrf})
    assert status == 201, body
    bearer = json.loads(body)["token"]
    rpc_token = auth.mint(account["party_id"], account["role"], account["organization"])
    query = "/api/v1/applications?limit=1"

    results = {"rpc": [], "http": []}
    with ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, timeout=30,
                         context_data={"auth_token": rpc_token}) as services:
        client = Http({"Authorization": f"Bearer {bearer}"})
        for _ in range(50):  # warm both paths
            services.intake.my_applications(limit=1)
            client.request("GET", query)
        rounds = 10
        for _ in range(rounds):
            for _ in range(args.calls // rounds):
                started = time.perf_counter()
                services.intake.my_applications(limit=1)
                results["rpc"].append((time.perf_counter() - started) * 1000)
            for _ in range(args.calls // rounds):
                started = time.perf_counter()
                status, _, _ = client.request("GET", query)
                results["http"].append((time.perf_counter() - started) * 1000)
                assert status == 200

    results["rpc_rate"] = throughput(args, lambda: _rpc_caller(rpc_token))
    results["http_rate"] = throughput(args, lambda: _http_caller(bearer, query))

    hasher = PasswordHasher()
    digest = hasher.hash(password)
    results["argon2"], results["sign_in"] = [], []
    for _ in range(args.sign_ins):
        started = time.perf_counter()
        hasher.verify(digest, password)
        results["argon2"].append((time.perf_counter() - started) * 1000)
        fresh = Http({})
        started = time.perf_counter()
        status, _, _ = fresh.request("POST", "/api/v1/session", {"email": email, "password": password})
        results["sign_in"].append((time.perf_counter() - started) * 1000)
        assert status == 201
    return results


def _rpc_caller(token):
    from nameko.standalone.rpc import ClusterRpcProxy

    proxy = ClusterRpcProxy({"AMQP_URI": settings.get().amqp_uri}, timeout=30, context_data={"auth_token": token})
    services = proxy.start()
    return lambda: services.intake.my_applications(limit=1), proxy.stop


def _http_caller(bearer, query):
    client = Http({"Authorization": f"Bearer {bearer}"})
    return lambda: client.request("GET", query), client.conn.close


def throughput(args, make_caller) -> float:
    callers = [make_caller() for _ in range(args.clients)]
    counts = [0] * args.clients
    stop = threading.Event()

    def work(i):
        call, _ = callers[i]
        while not stop.is_set():
            call()
            counts[i] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(args.clients)]
    for thread in threads:
        thread.start()
    time.sleep(args.seconds)
    stop.set()
    for thread in threads:
        thread.join()
    for _, close in callers:
        close()
    return sum(counts) / args.seconds


def report(args, results) -> None:
    rpc, over_http = common.summary(results["rpc"]), common.summary(results["http"])
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    print(common.line("bare RPC intake.my_applications", rpc))
    print(common.line("GET /api/v1/applications (gateway)", over_http))
    print(f"gateway overhead at p50: {over_http['p50'] - rpc['p50']:.2f} ms (target ≤ 1.5 ms)")
    ratio = results["http_rate"] / results["rpc_rate"]
    print(f"{args.clients} clients: bare RPC {results['rpc_rate']:.0f}/s, over HTTP {results['http_rate']:.0f}/s"
          f" = {ratio:.0%} (target ≥ 70 %)")
    print(common.line("argon2id verify (in this process)", common.summary(results["argon2"])))
    print(common.line("POST /api/v1/session (sign-in)", common.summary(results["sign_in"])))


if __name__ == "__main__":
    main()
