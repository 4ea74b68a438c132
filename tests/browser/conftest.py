"""The portal in a real browser: every service and the gateway as `make run` starts them, the
development mail box catching the e-mails, and Debian's Chromium driven by Playwright.

Screenshots go to test-artifacts/screenshots/ (printed at the end of the run).
"""
from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from innobase import supervisor
from services.gateway.portal import devmail
from tests.support.cluster import Cluster, reset_everything
from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("INNOBASE_CHROMIUM", "/usr/bin/chromium")
_taken: list[Path] = []


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def pytest_terminal_summary(terminalreporter):
    if _taken:
        terminalreporter.write_sep("-", "portal screenshots")
        terminalreporter.write_line(f"{len(_taken)} screenshots in {SCREENSHOTS}")


def _wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@pytest.fixture(scope="session")
def mailbox_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dev-mailbox")


@pytest.fixture(scope="module")
def portal(mailbox_dir):
    """The base URL of the running portal; every service behind it, with the mail box catching mail.
    One module's: its services stop before the next module starts its own (two sets of services
    on one vhost would share their queues, and one set's mail would go to the other's box)."""
    if "accounts" not in supervisor.BY_NAME:
        pytest.skip("the accounts service is not in this tree yet: nobody can sign in")
    # A port of its own, always: the gateway opens its socket with SO_REUSEPORT, so on a port another
    # run's gateway holds the two would silently share the browser's requests.
    port = int(os.environ.get("INNOBASE_BROWSER_HTTP_PORT") or free_port())
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            pytest.fail(f"127.0.0.1:{port} is taken by another server")
    smtp_port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    saved = dict(os.environ)
    os.environ.update({
        "INNOBASE_HTTP_PORT": str(port), "INNOBASE_PORTAL_URL": base_url, "INNOBASE_DEV": "1",
        "INNOBASE_DEV_MAILBOX_DIR": str(mailbox_dir), "INNOBASE_SMTP_HOST": "127.0.0.1",
        "INNOBASE_SMTP_PORT": str(smtp_port), "INNOBASE_SMTP_RETRY_DELAYS_MS": "200,500,1000",
    })
    reset_everything()
    capture = devmail.start(mailbox_dir, "127.0.0.1", smtp_port)
    cluster = Cluster()
    try:
        for spec in supervisor.RUNNING:
            cluster.start(spec.name)
        _wait_for_port(port)
        yield base_url
    finally:
        cluster.stop_all()
        capture.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # the machine is shared: give a page what a slow moment needs, not Playwright's 5 s
    expect.set_options(timeout=20_000)

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


def new_page(browser, base_url: str, width: int = 1280, height: int = 800):
    context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height},
                                  locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True)
    context.set_default_timeout(20_000)
    return context.new_page()


@pytest.fixture
def page(browser, portal):
    tab = new_page(browser, portal)
    yield tab
    tab.context.close()


@pytest.fixture(scope="session")
def screenshot():
    """`screenshot(page, "applicant-dashboard")`: the whole page, saved under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):  # this run's pages only
        old.unlink()

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{len(_taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        _taken.append(path)
        return path

    return take
