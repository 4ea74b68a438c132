"""核验纸质申报方案: the page a printed plan's QR code opens (`/verify?digest=...`), and where a
digest typed from paper is checked. Open to anyone holding the paper, signed in or not.

What it shows without sign-in, and why: whether the digest is a submitted version in the log,
and then the base's name, its number, the version and the day it was submitted — all printed
on the paper already — and whether it is the application's current submitted version or a
superseded one, which is what the holder needs to know. It never shows the plan's content, the
stage of review or any person's data: a digest is 256 bits that nobody guesses, but a page
open to all must not tell more than the paper in the holder's hands.
"""
from __future__ import annotations

from services.gateway.web import http

from services.gateway.portal.pages import form_errors, portal_page
from services.gateway.problems import EdgeError


class VerifyPages:
    @http("GET", "/verify")
    @portal_page(public=True)
    def verify_print(self, page):
        typed = page.request.args.get("digest", "").strip()
        errors, answer = {}, None
        if typed:
            try:
                answer = page.call("intake", "verify_print", digest=typed)
            except EdgeError as error:
                if error.status not in (400, 422):
                    raise
                errors, _ = form_errors(error)
                errors = {"digest": errors.get("digest") or ["摘要应为 64 位十六进制数字"]}
        return page.render("verify.html", digest=typed, errors=errors, answer=answer,
                           breadcrumbs=[("首页", "/"), ("核验纸质申报方案", None)])
