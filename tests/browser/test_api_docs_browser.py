"""/api/docs/ in Debian's chromium: Swagger UI renders the portal's operations under its CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def schema_operations() -> set[str]:
    """Every operation of the portal's OpenAPI document, as "METHOD /path"."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return {f"{method.upper()} {path}" for path, item in paths.items() for method in item}


def test_the_api_docs_list_every_operation_with_no_csp_violation(dash_page, dash_portal):
    page = dash_page
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    response = page.goto(f"{dash_portal}/api/docs/")

    assert response is not None and response.status == 200
    assert "script-src" not in response.headers["content-security-policy"]  # the portal's own
    blocks = page.locator(".opblock-summary")
    expect(blocks.first).to_be_visible()
    listed = {
        " ".join(text.split()[:2])
        for text in page.locator(".opblock-summary").evaluate_all(
            "els => els.map(e => e.querySelector('.opblock-summary-method').textContent + ' ' +"
            " e.querySelector('.opblock-summary-path').getAttribute('data-path'))"
        )
    }
    expected = schema_operations()
    assert "GET /api/v1/orders/" in expected and len(expected) >= 5
    assert listed == expected
    assert page.csp_violations == []
    assert errors == []
