"""Browser fixtures for the dashboard tests: Debian's chromium through Playwright's sync API.

Names are prefixed `dash_` so that test modules with fixtures of their own (the intake test
defines `browser` and `portal`) are not affected by this file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from conftest import service_unavailable

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="module")
def dash_browser() -> Iterator[object]:
    if not os.path.exists(CHROMIUM):
        service_unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_unavailable("Playwright for Python is not installed")
    # Playwright's sync API runs an event loop in this thread; the ORM calls in the tests are
    # plain synchronous code, not async views.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield instance
            finally:
                instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def dash_portal(live_server, settings) -> str:
    # The live server speaks plain http: cookies cannot be Secure-only here.
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return live_server.url


@pytest.fixture
def dash_page(dash_browser, dash_portal, request) -> Iterator[object]:
    """A fresh browser context per test; CSP violations are collected; a failure saves a
    screenshot to test-artifacts/."""
    context = dash_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.csp_violations = []
    page.on(
        "console",
        lambda msg: (
            page.csp_violations.append(msg.text) if "Content Security Policy" in msg.text else None
        ),
    )
    try:
        yield page
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            except Exception as exc:  # a screenshot must never hide the real failure
                print(f"could not save a screenshot: {exc}")
        context.close()
        # The test body ran its ORM calls in Playwright's greenlet, which opened a connection
        # of its own: close it, or it outlives the test database.
        connections.close_all()


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations on the current page."""
    # evaluate() runs through DevTools, so the page's CSP (no inline script) does not block it.
    page.evaluate(AXE_JS.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


def scroll_width_at_phone_size(page) -> int:
    page.set_viewport_size({"width": 375, "height": 800})
    try:
        return page.evaluate("document.documentElement.scrollWidth")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def totp_code(device) -> str:
    """The code an authenticator app shows now for a django-otp TOTP device."""
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def authenticator_for(user):
    """A confirmed TOTP device for `user`, as after setting up two-factor sign-in."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def login(page, base_url: str, username: str, password: str, device=None) -> None:
    """Sign in through the form; with a TOTP `device`, type its current code too."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    if device is not None:
        page.get_by_label("Authentication code").fill(totp_code(device))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
