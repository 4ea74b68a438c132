"""The dispatcher of /api/v1/: HTTP in, one RPC, HTTP out (see routes.py for the table).

In order: find the route (404/405), identify the caller (401), refuse writes of a
read-only token (403) and of a browser session without its CSRF token (403),
read the arguments (400/413/415), answer a repeated Idempotency-Key from memory,
call the RPC as the caller (with the key as its command id), and answer JSON, a file,
or a problem+json.
"""
from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote

from marshmallow import ValidationError, fields as mfields
from services.gateway.web import http
from werkzeug.exceptions import MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response

from services.gateway import idempotency
from services.gateway.api import openapi
from services.accounts.schemas import SignIn
from services.gateway.api.routes import ALL_ROUTES, AUDITED_SERVICES, Route
from services.gateway.edge import CSRF_HEADER, Edge
from services.gateway.problems import EdgeError
from shared import audit

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
URL_MAP = Map([Rule(PREFIX + route.path, methods=[route.method], endpoint=route) for route in ALL_ROUTES]
              + [Rule(PREFIX + "/session", methods=["GET", "POST", "DELETE"], endpoint="session"),
                 Rule(PREFIX + "/audit/applications/<application_id>/timeline", methods=["GET"],
                      endpoint="timeline")],
              strict_slashes=False)
JSON = "application/json"


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status, headers=headers,
                    content_type="application/json; charset=utf-8")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded.encode()))["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(offset)
        return offset
    except (ValueError, KeyError, TypeError):
        raise EdgeError("InvalidInput", "cursor is not one this API gave",
                        {"fields": {"cursor": ["Not a valid cursor."]}}) from None


def content_disposition(file_name: str) -> str:
    """RFC 6266 with the RFC 5987 UTF-8 form for Chinese names, and an ASCII fallback."""
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def coerce_query(schema, args) -> dict:
    """Query strings are text: numbers, booleans and lists as the RPC's schema declares them."""
    declared = schema().fields if schema is not None else {}
    by_key = {field.data_key or name: field for name, field in declared.items()}
    values = {}
    for key in args.keys():
        raw = args.getlist(key)
        field = by_key.get(key)
        if isinstance(field, mfields.List):
            items = [part for value in raw for part in value.split(",") if part != ""]
            values[key] = [_scalar(field.inner, item) for item in items]
        else:
            values[key] = _scalar(field, raw[-1])
    return values


def _scalar(field, value: str):
    if isinstance(field, mfields.Integer):
        try:
            return int(value)
        except ValueError:
            return value
    if isinstance(field, mfields.Boolean):
        return {"true": True, "1": True, "false": False, "0": False}.get(value.lower(), value)
    return value


class ApiRoutes:
    """The nameko HTTP entrypoints of the API (mixed into the gateway service)."""

    edge = Edge()
    idempotency_store = idempotency.IdempotencyStore()

    @http("GET,POST,PUT,PATCH,DELETE", "/api/v1/<path:rest>")
    def api(self, request, rest):
        try:
            response = self._dispatch(request)
        except EdgeError as exc:
            response = exc.response(request.path)
        except RequestEntityTooLarge:
            response = EdgeError("PayloadTooLarge", "the body exceeds the limit").response(request.path)
        except Exception:
            log.exception("gateway: %s %s failed", request.method, request.path)
            response = EdgeError("InternalError", "internal error", status=500).response(request.path)
        return self.edge.finish(request, response)

    @http("GET", "/api/openapi.json")
    def openapi_document(self, request):
        return json_response(openapi.document())

    @http("GET", "/api/docs")
    def api_docs(self, request):
        return Response(openapi.docs_page(), content_type="text/html; charset=utf-8")

    @http("GET", "/api/docs/assets/<path:name>")
    def api_docs_asset(self, request, name):
        found = openapi.asset(name)
        if found is None:
            return EdgeError("RouteNotFound", "no such file").response(request.path)
        content, media_type = found
        return Response(content, content_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    # --- the steps --------------------------------------------------------------------------

    def _dispatch(self, request) -> Response:
        adapter = URL_MAP.bind_to_environ(request.environ)
        try:
            route, path_values = adapter.match()
        except NotFound:
            raise EdgeError("RouteNotFound", f"no resource {request.path}") from None
        except MethodNotAllowed as exc:
            raise EdgeError("MethodNotAllowed", f"{request.method} is not allowed here",
                            headers={"Allow": ", ".join(exc.valid_methods or [])}) from None
        self.edge.identify(request)
        if route == "session":
            return self._session(request)
        if route == "timeline":
            return self._timeline(request, path_values["application_id"])
        if not (route.gateway or route.public):
            self.edge.require_account()
        self.edge.require_write(request.method)
        self.edge.check_csrf(request)
        arguments, body_bytes = self._arguments(request, route, path_values)
        key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
        if key is None:
            return self._answer(request, route, arguments)
        return self._idempotent(request, route, arguments, key, body_bytes)

    def _arguments(self, request, route: Route, path_values: dict) -> tuple[dict, bytes]:
        arguments: dict = {}
        body_bytes = b""
        if request.method in ("GET", "DELETE"):
            arguments.update(coerce_query(route.schema, request.args))
        elif route.body == "upload":
            arguments.update(self._upload(request))
            body_bytes = json.dumps(arguments, sort_keys=True).encode()
        else:
            body_bytes, body = self._body(request)
            if route.body == "content":
                arguments["content"] = body
            elif body is not None:
                if not isinstance(body, dict):
                    raise EdgeError("MalformedRequest", "the body must be a JSON object", {"rule": "json_object"})
                arguments.update(body)
        arguments.update(path_values)
        if route.paginated:
            limit = arguments.get("limit", 50)
            if "cursor" in arguments:
                arguments["offset"] = decode_cursor(str(arguments.pop("cursor")))
            arguments.setdefault("limit", limit)
        if route.if_match and request.headers.get("If-Match"):
            arguments["expected_version"] = self._version_of(request.headers["If-Match"])
        return arguments, body_bytes

    def _body(self, request) -> tuple[bytes, object]:
        if not request.content_length and not request.headers.get("Transfer-Encoding"):
            return b"", None
        limit = self.edge.edge.settings.max_json_bytes
        if request.content_length and request.content_length > limit:
            raise EdgeError("PayloadTooLarge", f"a JSON body may have at most {limit} bytes", {"limit": limit})
        if request.mimetype != JSON:
            raise EdgeError("UnsupportedMediaType", "send application/json", {"content_type": request.mimetype})
        raw = request.get_data(cache=True)
        if len(raw) > limit:
            raise EdgeError("PayloadTooLarge", f"a JSON body may have at most {limit} bytes", {"limit": limit})
        try:
            return raw, json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise EdgeError("MalformedRequest", f"the body is not JSON: {exc}", {"rule": "json"}) from None

    def _upload(self, request) -> dict:
        limit = self.edge.edge.settings.max_upload_bytes
        if request.mimetype != "multipart/form-data":
            raise EdgeError("UnsupportedMediaType", "send multipart/form-data with a field `file`",
                            {"content_type": request.mimetype})
        # Refused while reading, before the whole body is in memory.
        request.max_content_length = limit + 64 * 1024
        request.max_form_memory_size = 64 * 1024
        upload = request.files.get("file")
        if upload is None:
            raise EdgeError("InvalidInput", "a file is required", {"fields": {"file": ["Missing data for required field."]}})
        content = upload.stream.read(limit + 1)
        if len(content) > limit:
            raise EdgeError("PayloadTooLarge", f"a file may have at most {limit} bytes", {"limit": limit, "field": "file"})
        name = request.form.get("name") or upload.filename or ""
        return {"name": name, "content": base64.b64encode(content).decode("ascii")}

    @staticmethod
    def _version_of(etag: str) -> int:
        value = etag.strip()
        if value.startswith("W/"):
            value = value[2:]
        value = value.strip('"')
        if not value.isdigit():
            raise EdgeError("PreconditionFailed", "If-Match names no version this API gave", {"rule": "if_match"})
        return int(value)

    def _answer(self, request, route: Route, arguments: dict) -> Response:
        try:
            if route.gateway:
                result = self.edge.gateway_call(route.rpc, **arguments)
            else:
                result = self.edge.call(route.service, route.rpc, **arguments)
        except EdgeError as exc:
            if exc.name == "ConcurrencyConflict" and "expected_version" in arguments:
                raise EdgeError("PreconditionFailed", exc.message, exc.details) from None
            raise
        self._after(route, arguments)
        if route.result == "file":
            return self._file(result)
        headers = {}
        if route.etag and isinstance(result, dict) and isinstance(result.get("version"), int):
            headers["ETag"] = f'W/"{result["version"]}"'
        if route.paginated:
            result = self._page(result, arguments)
        return json_response(result, route.status, headers)

    @staticmethod
    def _page(result, arguments: dict):
        """Every list answers `{items, ..., next_cursor}` (a list the RPC answers bare becomes `items`)."""
        if isinstance(result, list):
            result = {"items": result}
        if not isinstance(result, dict) or not isinstance(result.get("items"), list):
            return result
        offset = arguments.get("offset", 0) or 0
        full = len(result["items"]) >= arguments.get("limit", 50)
        return {**result, "next_cursor": encode_cursor(offset + len(result["items"])) if full else None}

    def _after(self, route: Route, arguments: dict) -> None:
        """A change to an account made here: this instance forgets what it knew of it at once."""
        if route.service == "accounts" and route.rpc in ("deactivate", "set_role", "reactivate"):
            self.edge.forget_account(str(arguments.get("account_id")))
        if route.service == "accounts" and route.rpc in ("change_password", "revoke_token") and self.edge.account:
            self.edge.forget_account(self.edge.account.account_id)

    @staticmethod
    def _file(result: dict) -> Response:
        content = base64.b64decode(result["content"])
        name = result.get("file_name") or result.get("name") or "download"
        media_type = result.get("media_type") or "application/octet-stream"
        return Response(content, content_type=media_type,
                        headers={"Content-Disposition": content_disposition(name), "Content-Length": str(len(content)),
                                 "Cache-Control": "private, no-store"})

    def _idempotent(self, request, route: Route, arguments: dict, key: str, body_bytes: bytes) -> Response:
        if not 1 <= len(key) <= 200 or not key.isprintable():
            raise EdgeError("InvalidInput", "Idempotency-Key is 1–200 printable characters",
                            {"fields": {"Idempotency-Key": ["Not a valid key."]}})
        account_id = self.edge.account.account_id if self.edge.account else "anonymous"
        digest = idempotency.request_digest(request.method, request.path, body_bytes)
        try:
            attempt, remembered = self.idempotency_store.begin(account_id, key, digest)
        except idempotency.Conflict as exc:
            if exc.reason == "other_body":
                raise EdgeError("IdempotencyKeyReused", "this key was sent with another request", {"rule": "idempotency"})
            raise EdgeError("IdempotencyKeyInFlight", "the first request with this key is still running",
                            {"rule": "idempotency"}, headers={"Retry-After": "1"})
        if remembered is not None:
            response = Response(remembered.body, status=remembered.status, headers=remembered.headers)
            response.headers["Idempotent-Replayed"] = "true"
            return response
        command_id = idempotency.command_id_for(account_id, key)
        if route.schema is not None and "request_id" in route.schema().fields and "request_id" not in arguments:
            arguments["request_id"] = command_id
        try:
            with self.edge.commanding(command_id):
                response = self._answer(request, route, arguments)
        except EdgeError as exc:
            response = exc.response(request.path)
        except Exception:
            self.idempotency_store.abandon(account_id, key, attempt)
            raise
        if response.status_code >= 500:
            self.idempotency_store.abandon(account_id, key, attempt)
            return response
        headers = {name: value for name, value in response.headers.items()
                   if name in ("Content-Type", "ETag", "Content-Disposition")}
        self.idempotency_store.finish(account_id, key, attempt, response.status_code, headers, response.get_data())
        return response

    # --- sessions and the merged timeline -------------------------------------------------------

    def _session(self, request) -> Response:
        if request.method == "GET":
            account = self.edge.account
            return json_response({"account": account.as_dict() if account else None,
                                  "csrf_token": self.edge.csrf_token(request), "csrf_header": CSRF_HEADER})
        if request.method == "DELETE":
            self.edge.check_csrf(request)
            self.edge.sign_out(request)
            response = Response(status=204)
            self.edge.clear_session_cookie(response)
            return response
        # Sign-in needs the double-submit CSRF token of a browser (GET /session first); a script
        # signing in without cookies uses a personal access token instead of a session.
        self.edge.check_csrf(request)
        _, body = self._body(request)
        if not isinstance(body, dict):
            raise EdgeError("InvalidInput", "email and password are required",
                            {"fields": {"email": ["Missing data for required field."],
                                        "password": ["Missing data for required field."]}})
        try:
            data = SignIn().load(body)
        except ValidationError as exc:
            raise EdgeError("InvalidInput", "email and password are required", {"fields": exc.messages}) from None
        account, session_id, expires_at = self.edge.sign_in(data["email"], data["password"])
        response = json_response({"account": account.as_dict(), "expires_at": expires_at,
                                  "csrf_token": self.edge.csrf_token_for_session(session_id),
                                  "csrf_header": CSRF_HEADER}, 201)
        self.edge.set_session_cookie(response, session_id, expires_at)
        return response

    def _timeline(self, request, application_id: str) -> Response:
        """Every service's events about one application, merged by time (an auditor's view)."""
        self.edge.require_account()
        histories = [self.edge.call(service, "audit_history", application_id=application_id)
                     for service in AUDITED_SERVICES]
        return json_response({"application_id": application_id, "events": audit.merge_histories(histories)})
