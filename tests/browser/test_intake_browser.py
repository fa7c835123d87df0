"""The credential intake link, end to end in Debian's chromium (issue 9).

An account manager's super-admin creates a link on the tenant page; a logged-out browser opens it,
pastes the Lever key and signature token, and the tenant then holds both encrypted and passes
"Test connection" against the fake Lever and fake Backcheck (real HTTP on 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection, connections

from connectors.backcheck.fake import FakeBackcheck
from connectors.lever.fake import BG_CHECK_STAGE_ID, DEFAULT_USERS, FakeLever
from connectors.models import IntakeLink, Tenant
from tests.support.browser import authenticator_for, totp_code
from tests.support.factories import TenantFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

API_KEY = "BROWSERleverKEY-5e4d3c2b1a09f8e7d6c5"
SIGNATURE_TOKEN = "BROWSERsigTOKEN-0a1b2c3d4e5f60718293"
ADMIN_PASSWORD = "pw-browser-admin-1"


@pytest.fixture
def browser(dash_browser) -> Iterator[object]:
    """The shared chromium of tests/browser/conftest.py."""
    yield dash_browser
    # Under the sync API the test body runs in a greenlet with its own context, so its ORM calls
    # opened a connection of their own: close it, or it outlives the test database.
    connections.close_all()


@pytest.fixture
def fakes() -> Iterator[tuple[FakeLever, FakeBackcheck]]:
    with FakeLever() as lever, FakeBackcheck(step_seconds=0.05) as backcheck:
        lever.add_account(API_KEY)
        yield lever, backcheck


@pytest.fixture
def portal(live_server, settings):
    # The link is built from PUBLIC_BASE_URL; the live server speaks plain http, so the cookies
    # cannot be Secure-only here (production keeps them Secure).
    settings.PUBLIC_BASE_URL = live_server.url
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    return live_server.url


def initech(lever: FakeLever, backcheck: FakeBackcheck) -> Tenant:
    """Set up for Backcheck; the Lever key and signature token come through an intake link."""
    return TenantFactory(
        name="Initech Ltd",
        slug="initech",
        lever_base_url=lever.base_url,
        backcheck_base_url=backcheck.url,
        trigger_stage_ids=[BG_CHECK_STAGE_ID],
        note_author_user_id=DEFAULT_USERS[0]["id"],
        lever_api_key=None,
        lever_signature_token=None,
        backcheck_client_id=backcheck.client_id,
        backcheck_client_secret=backcheck.client_secret,
    )


def test_customer_enters_credentials_through_the_link_and_test_connection_passes(
    browser, fakes, portal, django_user_model, settings
):
    lever, backcheck = fakes
    tenant = initech(lever, backcheck)
    admin = django_user_model.objects.create_superuser(
        "admin-ann", "ann@example.test", ADMIN_PASSWORD
    )
    # Super-admins sign in with their second factor, as in production.
    settings.TWO_FACTOR_REQUIRED_FOR_SUPER_ADMINS = True
    device = authenticator_for(admin)

    staff = browser.new_context()
    page = staff.new_page()
    page.goto(f"{portal}/login/")
    page.fill("#id_username", "admin-ann")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.fill("#id_otp_token", totp_code(device))
    page.click("button[type=submit]")
    page.goto(f"{portal}/tenants/initech/")
    page.click("text=Create intake link")
    page.wait_for_selector("#intake-link-url")
    link_url = page.inner_text("#intake-link-url").strip()
    assert link_url.startswith(f"{portal}/intake/")

    # The customer: another browser, no portal account.
    customer = browser.new_context()
    customer.grant_permissions(["clipboard-read", "clipboard-write"], origin=portal)
    form = customer.new_page()
    response = form.goto(link_url)
    assert response.status == 200
    assert response.headers["referrer-policy"] == "same-origin"
    assert "no-store" in response.headers["cache-control"]
    assert "Initech Ltd" in form.inner_text("h1")
    form.click("button[data-copy-target=intake-webhook-url]")
    assert form.evaluate("navigator.clipboard.readText()") == tenant.webhook_url
    assert form.get_attribute("#id_lever_api_key", "type") == "password"
    assert form.get_attribute("#id_signature_token", "autocomplete") == "off"
    form.fill("#id_lever_api_key", API_KEY)
    form.fill("#id_signature_token", SIGNATURE_TOKEN)
    form.click("text=Test the key and send")
    form.wait_for_selector("text=Lever is connected")
    assert API_KEY not in form.content() and SIGNATURE_TOKEN not in form.content()

    tenant.refresh_from_db()
    assert tenant.lever_api_key.reveal() == API_KEY
    assert tenant.lever_signature_token.reveal() == SIGNATURE_TOKEN
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lever_api_key, lever_signature_token FROM connectors_tenant WHERE id = %s",
            [tenant.pk],
        )
        stored = cursor.fetchone()
    assert all(v.startswith("enc:v2:") for v in stored)
    assert API_KEY not in stored[0] and SIGNATURE_TOKEN not in stored[1]
    assert IntakeLink.objects.get(tenant=tenant).state == IntakeLink.USED

    # Opening the used link again: refused.
    assert form.goto(link_url).status == 410

    # Back on the tenant page: the notice, then "Test connection" with the stored key.
    page.goto(f"{portal}/tenants/initech/")
    assert "Credentials received through intake link" in page.inner_text("#intake")
    page.click("text=Test connection")
    page.wait_for_selector("#connection .badge")
    health = page.inner_text("#connection")
    assert "Last test: ok" in health
    assert "Lever: ok" in health and "Backcheck: ok" in health
    assert any(r["path"].startswith("/v1/stages") for r in lever.requests_for(API_KEY))
    staff.close()
    customer.close()
