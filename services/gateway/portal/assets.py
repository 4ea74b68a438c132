"""The portal's own files: its CSS from the package, htmx and ECharts from node_modules (no CDN),
and, in development only, the captured mails at /dev/mail."""
from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from markupsafe import Markup, escape
from services.gateway.web import http
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

from services.gateway.portal import devmail, settings
from services.gateway.portal.pages import portal_page

STATIC = Path(__file__).resolve().parent / "static"
# The browser files npm installs (package-lock.json), by the name the pages use.
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "echarts.min.js": "echarts/dist/echarts.min.js",
}
_URL = re.compile(r"https?://[^\s<>\"'）)，。]+")


def _file(path: Path | None) -> Response:
    if path is None or not path.is_file():
        return Response("Not found", status=404, mimetype="text/plain")
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if mimetype.startswith("text/") or mimetype.endswith("javascript"):
        mimetype += "; charset=utf-8"
    response = Response(path.read_bytes(), headers={"Content-Type": mimetype})
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def linkify(text: str) -> Markup:
    """Escaped text with every http(s) address made a link (the mails' confirmation links)."""
    out, last = [], 0
    for match in _URL.finditer(text):
        out.append(escape(text[last:match.start()]))
        url = match.group(0)
        out.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


class AssetPages:
    @http("GET", "/static/<path:path>")
    def static_file(self, request, path):
        if path.startswith("vendor/"):
            name = VENDOR.get(path[len("vendor/"):])
            return _file(settings.get().node_modules / name if name else None)
        joined = safe_join(str(STATIC), path)
        return _file(Path(joined) if joined else None)

    @http("GET", "/dev/mail")
    @portal_page(public=True)
    def dev_mailbox(self, page):
        config = settings.get()
        if not config.development:
            return page.not_found()
        to = page.request.args.get("to", "").strip()
        return page.render("dev_mail.html", mails=devmail.mails(config.mailbox_dir, to=to or None), to=to,
                           folder=str(config.mailbox_dir), breadcrumbs=[("首页", "/"), ("开发邮箱", None)])

    @http("GET", "/dev/mail/<mail_id>")
    @portal_page(public=True)
    def dev_mail(self, page, mail_id):
        config = settings.get()
        found = devmail.mail(config.mailbox_dir, mail_id) if config.development else None
        if found is None:
            return page.not_found()
        return page.render("dev_mail_one.html", mail=found, body=linkify(found.text),
                           breadcrumbs=[("首页", "/"), ("开发邮箱", "/dev/mail"), (found.subject, None)])
