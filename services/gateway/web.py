"""nameko's HTTP entrypoint with the edge's own answer to what no route matches: a problem+json
404/405 under /api (a script never parses an HTML page), a Chinese page elsewhere. Every
entrypoint of the gateway (API and portal) uses this `http`, so that they share one server."""
from __future__ import annotations

from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from services.gateway.problems import EdgeError

NOT_FOUND_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>页面不存在</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>页面不存在</h1><p>您访问的页面不存在或已被移除。<a href="/">返回首页</a></p></main></body></html>"""


class EdgeWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            return self.unmatched(request, exc)(environ, start_response)
        request.path_values = values
        return provider.handle_request(request)(environ, start_response)

    @staticmethod
    def unmatched(request, exc: HTTPException) -> Response:
        if request.path.startswith("/api"):
            name = "MethodNotAllowed" if exc.code == 405 else "RouteNotFound"
            return EdgeError(name, f"no {request.method} {request.path}", status=exc.code).response(request.path)
        return Response(NOT_FOUND_PAGE, status=exc.code or 404, content_type="text/html; charset=utf-8")


class EdgeWebServer(WebServer):
    def get_wsgi_app(self):
        return EdgeWsgiApp(self)


class EdgeHttpHandler(HttpRequestHandler):
    server = EdgeWebServer()


http = EdgeHttpHandler.decorator
