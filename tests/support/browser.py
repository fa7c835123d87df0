"""Browser test support: accessibility (axe-core), phone-size layout, sign-in with two factors.

The fixtures that start Debian's chromium through Playwright are in tests/browser/conftest.py.
"""

from __future__ import annotations

import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
ARTIFACTS = ROOT / "test-artifacts"
AXE_JS = ROOT / "tests" / "browser" / "vendor" / "axe.min.js"


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
