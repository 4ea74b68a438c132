"""The OpenAPI 3.1 document of /api/v1/, generated from the route table and the services'
own marshmallow schemas (apispec), and the browsable page at /api/docs (Swagger UI
served from the installed `swagger-ui-bundle-v2` package: no CDN)."""
from __future__ import annotations

import mimetypes
import re
from functools import lru_cache
from pathlib import Path

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.accounts.schemas import SignIn
from services.gateway.api.routes import ALL_ROUTES

PATH_PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
ERROR_STATUSES = {
    "400": "请求格式错误 The request could not be read",
    "401": "未登录 Not signed in",
    "403": "无权 Not allowed, or the CSRF token is missing",
    "404": "不存在 Not found (a foreign resource answers the same)",
    "409": "不符合规则或阶段 A rule or the stage refuses it",
    "412": "已被修改 If-Match names an older version",
    "413": "过大 Too large",
    "415": "内容类型不支持 Unsupported content type",
    "422": "填写有误 Invalid input (the fields named)",
    "429": "过于频繁 Too many attempts",
    "503": "服务不可用 A service is not running",
    "504": "超时 A service did not answer in time",
}
PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "error"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "title_zh": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"}, "error": {"type": "string"},
        "instance": {"type": "string"}, "details": {"type": "object"}, "fields": {"type": "object"},
        "field": {},
    },
}
ANY_JSON = {"description": "The RPC's answer (docs/<service>.md describes it)",
            "content": {"application/json": {"schema": {}}}}


def schema_name(schema) -> str:
    """Unique component names: the service's name before the schema's (intake's and endorsement's
    `Reasoned` differ), and the fields a path supplies left out of the name's body."""
    cls = schema if isinstance(schema, type) else type(schema)
    parts = cls.__module__.split(".")
    owner = parts[-2] if parts[0] == "services" and len(parts) > 2 else ("common" if parts[0] == "shared" else "")
    name = "".join(word.capitalize() for word in owner.split("_")) + cls.__name__
    excluded = sorted(getattr(schema, "exclude", ()) or ()) if not isinstance(schema, type) else []
    if excluded:
        name += "Body"
    return name


def openapi_path(path: str) -> str:
    return "/api/v1" + PATH_PARAMETER.sub(r"{\1}", path)


@lru_cache(maxsize=1)
def document() -> dict:
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    spec = APISpec(
        title="国家技术标准创新基地申报 API", version="1.0.0", openapi_version="3.1.0", plugins=[plugin],
        info={"description": "Every party's path through the application process over HTTP. "
                             "Sign in at POST /api/v1/session (browsers: a session cookie and the CSRF token) "
                             "or send `Authorization: Bearer <personal access token>` (scripts). "
                             "Errors are RFC 9457 problem+json. See docs/http.md."},
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "innobase_session"})
    spec.components.schema("Problem", PROBLEM)
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    errors = {status: {"description": text, "content": {"application/problem+json": {"schema": problem_ref}}}
              for status, text in ERROR_STATUSES.items()}
    paths: dict[str, dict] = {}
    for route in ALL_ROUTES:
        path_names = PATH_PARAMETER.findall(route.path)
        operation = {
            "operationId": route.operation_id,
            "summary": route.summary,
            "description": f"RPC `{route.service}.{route.rpc}`. Who: {', '.join(route.roles) or 'see the service'}.",
            "tags": [route.tag],
            "parameters": [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
                           for name in path_names],
            "responses": {str(route.status): _success(route), **errors},
        }
        if route.gateway:
            operation["security"] = [{}]
        elif route.public:
            operation["security"] = [{}, {"bearer": []}, {"session": []}]
        else:
            operation["security"] = [{"bearer": []}, {"session": []}]
        schema = route.schema(exclude=tuple(n for n in path_names if n in route.schema().fields)) \
            if route.schema is not None else None
        if route.method in ("GET", "DELETE"):
            if schema is not None:
                operation["parameters"] += [
                    parameter for parameter in plugin.converter.schema2parameters(schema, location="query")
                ]
                if route.paginated:
                    operation["parameters"] = [p for p in operation["parameters"] if p["name"] != "offset"]
                    operation["parameters"].append({"in": "query", "name": "cursor", "required": False,
                                                    "schema": {"type": "string"},
                                                    "description": "next_cursor of the previous page"})
        elif route.body == "upload":
            operation["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"},
                               "name": {"type": "string", "description": "the file's name, if not the upload's"}}}}}}
        elif route.body == "content":
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "description": "the section's content (docs/intake.md)"}}}}
        elif schema is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
        if route.method == "POST":
            operation["parameters"].append({"in": "header", "name": "Idempotency-Key", "required": False,
                                            "schema": {"type": "string", "maxLength": 200},
                                            "description": "the same key and body answer the first response again"})
        if route.if_match:
            operation["parameters"].append({"in": "header", "name": "If-Match", "required": False,
                                            "schema": {"type": "string"},
                                            "description": "the ETag of GET /applications/{id}: a stale write is 412"})
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = operation
    paths["/api/v1/session"] = _session_paths(spec, errors)
    paths["/api/v1/audit/applications/{application_id}/timeline"] = {"get": {
        "operationId": "audit.timeline", "summary": "An application's events across every service, merged by time",
        "tags": ["audit"], "security": [{"bearer": []}, {"session": []}],
        "parameters": [{"in": "path", "name": "application_id", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": ANY_JSON, **errors}}}
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _success(route) -> dict:
    if route.result == "file":
        return {"description": "The file (Content-Disposition names it)",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}},
                            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    return ANY_JSON


def _session_paths(spec, errors) -> dict:
    spec.components.schema("SignIn", schema=SignIn)
    return {
        "get": {"operationId": "session.show", "summary": "Who is signed in, and the CSRF token to send",
                "tags": ["accounts"], "security": [{}], "responses": {"200": ANY_JSON, **errors}},
        "post": {"operationId": "session.sign_in", "summary": "登录: sets the session cookie (HttpOnly, SameSite=Lax)",
                 "tags": ["accounts"], "security": [{}],
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/SignIn"}}}},
                 "responses": {"201": ANY_JSON, **errors}},
        "delete": {"operationId": "session.sign_out", "summary": "退出", "tags": ["accounts"],
                   "security": [{"session": []}], "responses": {"204": {"description": "signed out"}, **errors}},
    }


@lru_cache(maxsize=1)
def _bundle() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def asset(name: str):
    if name not in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"):
        return None
    path = _bundle() / name
    return path.read_bytes(), mimetypes.guess_type(name)[0] or "application/octet-stream"


def docs_page() -> str:
    return """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>国家技术标准创新基地申报 API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/api/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>"""
