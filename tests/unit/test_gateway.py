"""The HTTP edge's own rules: every RPC has a resource, every typed error a status, cursors,
file names, query strings and CSRF (no broker, no database)."""
import importlib
import inspect
import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from innobase.supervisor import SERVICES
from services.gateway import problems
from services.gateway.api import handler, openapi
from services.gateway.api.routes import ALL_ROUTES, NOT_ROUTED as EDGE_ONLY
from services.gateway.edge import CSRF_COOKIE, SESSION_COOKIE, Account, Edge, EdgeRequest, Identity
from services.gateway.problems import EdgeError
from shared.errors import InnobaseError

pytestmark = pytest.mark.unit

# RPCs a portal has no use for over HTTP: ops' probe.
NOT_ROUTED = {"health"}


def service_rpcs():
    for spec in SERVICES:
        module, name = spec.target.split(":")
        cls = getattr(importlib.import_module(module), name)
        for attr, member in inspect.getmembers(cls):
            if hasattr(member, "schema") and attr not in NOT_ROUTED and (spec.name, attr) not in EDGE_ONLY:
                yield spec.name, attr


def test_every_rpc_of_every_service_has_a_resource_under_api_v1():
    routed = {(route.service, route.rpc) for route in ALL_ROUTES}
    missing = sorted(set(service_rpcs()) - routed)
    assert not missing, f"no HTTP resource for {missing}"


def test_every_typed_error_of_the_services_has_a_status_and_a_chinese_title():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for spec in SERVICES:
        importlib.import_module(spec.target.split(":")[0])
    missing = sorted({cls.__name__ for cls in subclasses(InnobaseError)} - set(problems.PROBLEMS))
    assert not missing, f"add {missing} to services/gateway/problems.py"


def test_a_foreign_application_answers_exactly_as_a_missing_one():
    foreign = EdgeError.from_remote({"exc_type": "NotYourApplication", "exc_path": "shared.errors.NotYourApplication",
                                     "exc_args": ["application 42 belongs to X", json.dumps({"application_id": "42"})]})
    missing = EdgeError.from_remote({"exc_type": "ApplicationNotFound", "exc_path": "shared.errors.ApplicationNotFound",
                                     "exc_args": ["not found", json.dumps({"application_id": "42"})]})
    assert foreign.status == missing.status == 404
    assert foreign.problem()["title"] == missing.problem()["title"]
    assert foreign.details == {} and "X" not in json.dumps(foreign.problem())


def test_an_error_that_is_not_ours_tells_nothing_of_the_inside():
    error = EdgeError.from_remote({"exc_type": "ProgrammingError", "exc_path": "psycopg2.ProgrammingError",
                                   "exc_args": ['relation "secret" does not exist']})
    assert error.status == 500 and "secret" not in json.dumps(error.problem())


def test_invalid_input_names_each_field_in_the_problem():
    error = EdgeError.from_remote({"exc_type": "InvalidInput", "exc_path": "shared.errors.InvalidInput",
                                   "exc_args": ["invalid input: name", json.dumps({"fields": {"name": ["Too long."]}})]})
    body = error.problem("/api/v1/applications")
    assert error.status == 422
    assert body["fields"] == {"name": ["Too long."]} and body["title_zh"] == "填写内容有误"
    assert error.response().content_type.startswith("application/problem+json")


def test_a_cursor_gives_back_the_offset_it_was_made_from_and_a_forged_one_is_refused():
    assert handler.decode_cursor(handler.encode_cursor(150)) == 150
    with pytest.raises(EdgeError) as refused:
        handler.decode_cursor("not-a-cursor")
    assert refused.value.name == "InvalidInput" and "cursor" in refused.value.fields


def test_a_chinese_file_name_is_sent_as_rfc_5987_with_an_ascii_fallback():
    header = handler.content_disposition("申报方案-v2.pdf")
    assert header.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E7%94%B3%E6%8A%A5%E6%96%B9%E6%A1%88-v2.pdf" in header
    assert handler.content_disposition('a"b.pdf').split(";")[1] == ' filename="a_b.pdf"'


def test_query_strings_become_the_types_the_rpc_schema_declares():
    from services.intake.schemas import ApplicationsQuery
    from werkzeug.datastructures import MultiDict

    values = handler.coerce_query(ApplicationsQuery, MultiDict([("limit", "20"), ("stage", "draft")]))
    assert values == {"limit": 20, "stage": "draft"}


def request_with(method="POST", cookies=None, headers=None, data=None, content_type=None):
    builder = EnvironBuilder(method=method, path="/api/v1/applications", headers=headers or {}, data=data,
                             content_type=content_type)
    request = Request(builder.get_environ())
    for name, value in (cookies or {}).items():
        request.cookies  # noqa: B018  (parsed lazily)
        request.environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
    if cookies:
        request = Request(request.environ)
    return request


@pytest.fixture
def edge():
    provider = Edge()
    provider.setup()
    return provider


def signed_in(edge, session_id="s" * 43):
    context = EdgeRequest(edge, worker_ctx=None)
    account = Account("a1", "a@example.cn", "王", "applicant", "91350100M000100Y43", "a1", False, "active")
    context.identity = Identity(account, "session", f"session:{session_id}")
    return context, session_id


def test_a_browser_session_write_without_its_csrf_token_is_refused(edge):
    context, session_id = signed_in(edge)
    with pytest.raises(EdgeError) as refused:
        context.check_csrf(request_with(cookies={SESSION_COOKIE: session_id}))
    assert refused.value.status == 403 and refused.value.name == "CsrfRejected"


def test_a_browser_session_write_with_its_csrf_token_passes_and_another_sessions_token_does_not(edge):
    context, session_id = signed_in(edge)
    token = context.csrf_token_for_session(session_id)
    context.check_csrf(request_with(cookies={SESSION_COOKIE: session_id}, headers={"X-CSRF-Token": token}))
    other = context.csrf_token_for_session("t" * 43)
    with pytest.raises(EdgeError):
        context.check_csrf(request_with(cookies={SESSION_COOKIE: session_id}, headers={"X-CSRF-Token": other}))


def test_an_anonymous_browser_form_needs_the_double_submit_token(edge):
    context = EdgeRequest(edge, worker_ctx=None)
    with pytest.raises(EdgeError):
        context.check_csrf(request_with(cookies={CSRF_COOKIE: "c" * 32}, headers={"Origin": "http://evil.example"}))
    token = context._session_csrf("anonymous:" + "c" * 32)
    context.check_csrf(request_with(cookies={CSRF_COOKIE: "c" * 32}, headers={"X-CSRF-Token": token}))


def test_a_read_only_token_may_read_but_not_write(edge):
    context = EdgeRequest(edge, worker_ctx=None)
    account = Account("a1", "a@example.cn", "王", "auditor", "SAC", "a1", False, "active")
    context.identity = Identity(account, "token", "token:x", scope="read")
    context.require_write("GET")
    with pytest.raises(EdgeError) as refused:
        context.require_write("POST")
    assert refused.value.name == "TokenScope" and refused.value.status == 403


def test_the_openapi_document_is_3_1_with_one_operation_id_each_and_every_reference_defined():
    document = openapi.document()
    assert document["openapi"] == "3.1.0"
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)) >= len(ALL_ROUTES)
    text = json.dumps(document)
    for name in {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}:
        assert name in document["components"]["schemas"], name


def test_every_status_the_gateway_knows_names_an_error_some_code_raises():
    from pathlib import Path

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for spec in SERVICES:
        importlib.import_module(spec.target.split(":")[0])
    typed = {cls.__name__ for cls in subclasses(InnobaseError)} | {"InnobaseError"}
    gateway = Path(problems.__file__).parent
    raised_by_the_edge = "".join(path.read_text() for path in gateway.rglob("*.py") if path.name != "problems.py")
    unknown = sorted(name for name in problems.PROBLEMS
                     if name not in typed and f'"{name}"' not in raised_by_the_edge)
    assert not unknown, f"problems.py maps errors nothing raises: {unknown}"
