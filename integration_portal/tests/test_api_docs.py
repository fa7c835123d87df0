"""/api/docs/ is built to pass the portal's CSP, which allows no inline script or style."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_docs_page_has_no_inline_script_or_style_and_its_script_is_a_file(client):
    page = client.get("/api/docs/")
    html = page.content.decode()

    assert page.status_code == 200
    assert "script-src" not in page["Content-Security-Policy"]  # default-src 'self' governs
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert "<style" not in html and " style=" not in html
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert all(src.startswith("/") for src in scripts), scripts  # nothing from a CDN
    init = client.get(scripts[-1].replace("&amp;", "&"))
    assert init.status_code == 200
    assert init["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in init.content.decode()
