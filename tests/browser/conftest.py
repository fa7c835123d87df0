"""Browser fixtures for the dashboard tests: Debian's chromium through Playwright's sync API.

Names are prefixed `dash_` so that test modules with fixtures of their own (the intake test
defines `browser` and `portal`) are not affected by this file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
from django.db import connections

from tests.support.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.support.services import service_unavailable


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
