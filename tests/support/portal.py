"""The portal's pages without the services: a fake edge, and the pages as a WSGI app for werkzeug's client.

`FakeEdge` answers each RPC from a table a test fills (a value, or a function of the
arguments; an `EdgeError` instance is raised) and records every call, so a unit test
says what the services answer and looks at the page.
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response


def _problems_module():
    try:
        from services.gateway import problems  # the lead's edge, once merged
        return problems
    except ImportError:  # before it lands: the interface the portal is written against
        module = types.ModuleType("services.gateway.problems")

        class EdgeError(Exception):
            def __init__(self, name, message="", details=None, status=None, headers=None):
                self.name, self.message, self.details = name, message, details or {}
                self.status = status or {"InvalidInput": 422, "CsrfRejected": 403, "NotFound": 404,
                                         "NotYourApplication": 404, "AuthenticationFailed": 401}.get(name, 409)
                self.message_zh, self.message_en = message, message
                self.headers = headers or {}
                super().__init__(f"{name}: {message}")

        module.EdgeError = EdgeError
        sys.modules["services.gateway.problems"] = module
        return module


EdgeError = _problems_module().EdgeError
CSRF = "csrf-for-tests"


@dataclass(frozen=True)
class Account:
    account_id: str = "acc-1"
    email: str = "lianxi@example.cn"
    name: str = "王芳"
    role: str = "applicant"
    organization: str = "91320100MA1XXXXX0X"
    party_id: str = "applicant-1"
    admin: bool = False
    status: str = "active"


class FakeEdge:
    def __init__(self, account=None):
        self.account = account
        self.answers: dict[tuple[str, str], object] = {}
        self.calls: list[tuple[str, str, dict]] = []
        self.signed_out = False

    def answer(self, service: str, method: str, value) -> "FakeEdge":
        self.answers[(service, method)] = value
        return self

    def identify(self, request):
        return self.account

    def _answer(self, service, method, kwargs):
        self.calls.append((service, method, kwargs))
        value = self.answers.get((service, method))
        if isinstance(value, Exception):
            raise value
        return value(**kwargs) if callable(value) else value

    def call(self, service, method, **kwargs):
        return self._answer(service, method, kwargs)

    def gateway_call(self, method, **kwargs):
        return self._answer("accounts", method, kwargs)

    def sign_in(self, email, password):
        self._answer("accounts", "sign_in", {"email": email, "password": password})
        self.account = Account(email=email)
        return self.account, "session-1", "2026-06-01T12:00:00+08:00"

    def sign_out(self, request):
        self.signed_out = True

    def set_session_cookie(self, response, session_id, expires_at=None):
        response.set_cookie("innobase_session", session_id, httponly=True, samesite="Lax")

    def clear_session_cookie(self, response):
        response.delete_cookie("innobase_session")

    def csrf_token(self, request):
        return CSRF

    def check_csrf(self, request):
        if request.form.get("csrf_token") != CSRF:
            raise EdgeError("CsrfRejected", "表单已失效，请刷新页面后重试", status=403)

    def finish(self, request, response):
        return response

    def called(self, service: str, method: str) -> list[dict]:
        return [kwargs for s, m, kwargs in self.calls if (s, m) == (service, method)]


def portal_app(edge: FakeEdge):
    """The portal's nameko http entrypoints as a WSGI app over `edge`."""
    from services.gateway.portal.routes import PortalRoutes

    rules = []
    for name in dir(PortalRoutes):
        for entrypoint in getattr(getattr(PortalRoutes, name), "nameko_entrypoints", ()):
            for method in entrypoint.method.split(","):
                rules.append(Rule(entrypoint.url, methods=[method.strip()], endpoint=name))
    url_map = Map(rules)
    service = PortalRoutes()
    service.edge = edge

    def app(environ, start_response):
        request = Request(environ)
        try:
            endpoint, values = url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            return exc(environ, start_response)
        response = getattr(service, endpoint)(request, **values)
        if isinstance(response, str):
            response = Response(response)
        return response(environ, start_response)

    return app


def client(edge: FakeEdge) -> Client:
    return Client(portal_app(edge))
