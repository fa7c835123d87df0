"""Feedback the portal gives: banners that differ by kind, and branded error pages.

Success, information and error banners differ in colour (class), icon and words; the banner list
is a real list inside the live region (a `role` on the `<ul>` itself took its list semantics
away, which axe reports as `listitem`). With debug off, 403, 404 and 500 are the portal's own
pages with navigation.
"""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.cache import SessionStore
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def _banners(account_manager) -> str:
    request = RequestFactory().get("/")
    request.user = account_manager
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    messages.success(request, "Resync queued.")
    messages.info(request, "Dismissed.")
    messages.warning(request, "Careful.")
    messages.error(request, "Could not.")
    return render_to_string("base.html", request=request)


def test_success_information_and_error_banners_differ_in_colour_icon_and_words(account_manager):
    page = _banners(account_manager)
    assert '<div class="messages" role="status"><ul>' in page
    assert (
        '<li class="msg msg-success"><span class="msg-icon" aria-hidden="true">✓</span>'
        "<strong>Done:</strong> <span>Resync queued.</span></li>" in page
    )
    assert (
        '<li class="msg msg-info"><span class="msg-icon" aria-hidden="true">ℹ</span><strong>Note:'
        in page
    )
    assert (
        '<li class="msg msg-warning"><span class="msg-icon" aria-hidden="true">⚠</span><strong>Warning:'
        in page
    )
    assert (
        '<li class="msg msg-error"><span class="msg-icon" aria-hidden="true">✕</span><strong>Error:'
        in page
    )
    assert '<ul class="messages" role="status">' not in page


@pytest.mark.parametrize(
    ("path", "status", "heading"),
    [("/orders/999999/", 404, "Page not found"), ("/tenants/new/", 403, "Not allowed")],
)
def test_404_and_403_are_branded_pages_with_navigation(
    client, account_manager, path, status, heading
):
    client.force_login(account_manager)
    response = client.get(path)
    assert response.status_code == status
    page = response.content.decode()
    assert f'<h1 id="error-h">{heading}</h1>' in page
    assert 'href="/static/portal/portal.css"' in page or "portal.css" in page
    for link in ('href="/"', 'href="/attention/"', 'href="/tenants/"'):
        assert link in page
    assert "am-alice" in page  # the top bar with the signed-in user


def test_404_for_someone_signed_out_offers_to_sign_in(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'href="/login/"' in response.content.decode()


def test_500_is_a_branded_page_with_navigation():
    response = server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert '<h1 id="error-h">Something went wrong</h1>' in page
    assert 'href="/attention/"' in page and "portal.css" in page
