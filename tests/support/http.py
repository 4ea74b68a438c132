"""Parties over HTTP, as a browser or a script uses the gateway, for tests and benchmarks.

`Browser` signs in with e-mail and password and keeps the session cookie and
the CSRF token; `Script` sends a personal access token. Both call a service's
RPC by the resource the gateway maps it to (`call(service, rpc, **arguments)`:
the route table says which path and method), so that a test written as RPC
calls, such as the demo, runs over HTTP unchanged (`HttpDemo`). A problem+json
answer is raised as the typed error it names.
"""
from __future__ import annotations

import base64
import re
import uuid

import requests

from innobase.demo import OFFICER, Demo
from services.gateway.api.routes import ALL_ROUTES
from shared.errors import InnobaseError

BY_RPC = {(route.service, route.rpc): route for route in ALL_ROUTES}
PATH_NAME = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


class HttpProblem(Exception):
    def __init__(self, response: requests.Response):
        self.response = response
        self.status = response.status_code
        try:
            self.body = response.json()
        except ValueError:
            self.body = {"error": "NotJson", "detail": response.text}
        super().__init__(f"{self.status} {self.body.get('error')}: {self.body.get('detail')}")


def typed_error(problem: HttpProblem) -> Exception:
    """The service's typed error a problem+json names (as the RPC caller would have got it)."""
    name = problem.body.get("error", "")

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in subclasses(InnobaseError):
        if cls.__name__ == name:
            error = cls(problem.body.get("detail", ""), problem.body.get("details") or {})
            error.http_status = problem.status
            return error
    return problem


class Party:
    def __init__(self, base_url: str, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.http = session or requests.Session()

    def headers(self, method: str) -> dict:
        return {}

    def request(self, method: str, path: str, expect: tuple[int, ...] | None = None, **kwargs) -> requests.Response:
        headers = {**self.headers(method), **kwargs.pop("headers", {})}
        response = self.http.request(method, self.base_url + path, headers=headers, timeout=60, **kwargs)
        if expect is not None and response.status_code not in expect:
            raise HttpProblem(response)
        if expect is None and response.status_code >= 400:
            raise HttpProblem(response)
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def call(self, service: str, rpc: str, **arguments):
        """The RPC by its HTTP resource; the answer as the RPC gives it (files base64 again)."""
        route = BY_RPC[(service, rpc)]
        path = "/api/v1" + route.path
        for name in PATH_NAME.findall(route.path):
            path = path.replace(f"<{name}>", requests.utils.quote(str(arguments.pop(name)), safe=""))
        kwargs: dict = {}
        if route.method in ("GET", "DELETE"):
            kwargs["params"] = {k: (",".join(map(str, v)) if isinstance(v, list) else v)
                                for k, v in arguments.items() if v is not None}
        elif route.body == "content":
            kwargs["json"] = arguments["content"]
        elif route.body == "upload":
            kwargs["files"] = {"file": (arguments["name"], base64.b64decode(arguments["content"]))}
        else:
            kwargs["json"] = arguments
        try:
            response = self.request(route.method, path, **kwargs)
        except HttpProblem as problem:
            raise typed_error(problem) from None
        if route.result == "file":
            disposition = response.headers.get("Content-Disposition", "")
            name = requests.utils.unquote(disposition.split("filename*=UTF-8''")[-1]) if "filename*" in disposition else ""
            return {"content": base64.b64encode(response.content).decode(), "file_name": name, "name": name,
                    "media_type": response.headers.get("Content-Type")}
        return response.json() if response.content else None


class Browser(Party):
    """A person in a browser: a session cookie, and the CSRF token on every write."""

    csrf = ""

    def open(self) -> "Browser":
        self.csrf = self.get("/api/v1/session").json()["csrf_token"]
        return self

    def sign_in(self, email: str, password: str) -> dict:
        if not self.csrf:
            self.open()
        answer = self.post("/api/v1/session", json={"email": email, "password": password}).json()
        self.csrf = answer["csrf_token"]
        return answer["account"]

    def headers(self, method: str) -> dict:
        return {} if method in ("GET", "HEAD") else {"X-CSRF-Token": self.csrf}


class Script(Party):
    """A script with a personal access token."""

    def __init__(self, base_url: str, token: str):
        super().__init__(base_url)
        self.token = token

    def headers(self, method: str) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def link_token(mail_text: str, path: str) -> str:
    match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9._~%-]+)", mail_text)
    assert match, f"no {path} link in the e-mail:\n{mail_text}"
    return requests.utils.unquote(match.group(1))


PASSWORD = "长城-Great-Wall-2026"


class HttpDemo(Demo):
    """The demo's four applications, every party signed in with an account, over HTTP only.

    The officer is the SAC administrator; a unit's clerk, an expert are invited by them (the
    invitation's e-mail read by `mail_text(address)`); an applicant registers and confirms its
    e-mail. Each party's RPC goes to its resource of the API."""

    def __init__(self, base_url: str, admin: tuple[str, str], mail_text, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url
        self.admin_email, self.admin_password = admin
        self.mail_text = mail_text
        self.browsers: dict[tuple, Browser] = {}

    def call(self, party, service, method, **kwargs):
        return self.browser(party).call(service, method, **kwargs)

    def browser(self, party: tuple[str, str, str]) -> Browser:
        if party not in self.browsers:
            self.browsers[party] = self._account_for(party)
        return self.browsers[party]

    def _account_for(self, party) -> Browser:
        party_id, role, organization = party
        browser = Browser(self.base_url).open()
        if party == OFFICER:
            browser.sign_in(self.admin_email, self.admin_password)
            return browser
        email = f"{re.sub(r'[^a-z0-9-]', '-', party_id.lower())}-{uuid.uuid4().hex[:4]}@parties.example.cn"
        if role == "applicant":
            browser.post("/api/v1/accounts", json={
                "credit_code": organization, "unit_name": f"申报单位{party_id}", "contact_name": "王建国",
                "email": email, "password": PASSWORD})
            token = link_token(self.mail_text(email), "/confirm")
            browser.post("/api/v1/accounts/confirmation", json={"token": token})
        else:
            admin = self.browser(OFFICER)
            admin.post("/api/v1/invitations", json={
                "email": email, "name": f"{role}-{party_id}", "role": role, "organization": organization,
                "party_id": party_id if role == "expert" else None})
            token = link_token(self.mail_text(email), "/invitation")
            browser.post("/api/v1/invitations/acceptance", json={"token": token, "password": PASSWORD})
        browser.sign_in(email, PASSWORD)
        return browser
