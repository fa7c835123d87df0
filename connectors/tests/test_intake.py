"""Credential intake links (issue 9): services and pages, against the fake Lever over real HTTP.

The `tenant` fixture (connectors/tests/conftest.py) holds canary credentials; every test that
submits repoints its Lever base URL at a FakeLever on 127.0.0.1, so no real host is ever called.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from connectors.lever.fake import BG_CHECK_STAGE_ID, FakeLever
from connectors.models import IntakeLink, Tenant, TenantAuditEntry
from connectors.tenants import intake_links, intake_submit, services
from integration_portal.logging import RedactSecretsFilter
from tests.support.canaries import CANARY_API_KEY, CANARY_TOKEN, assert_no_canary

pytestmark = pytest.mark.django_db

# Distinctive values that must never show up in a page, a log line or an audit row.
GOOD_KEY = "INTAKEgoodKEY-3c9e1f7a5b2d4e6f8091"
BAD_KEY = "INTAKEbadKEY-0f1e2d3c4b5a69788796"
NEW_TOKEN = "INTAKEsigTOKEN-9a8b7c6d5e4f3a2b1c0d"
INTAKE_CANARIES = (GOOD_KEY, BAD_KEY, NEW_TOKEN)


def assert_no_intake_secret(text: str) -> None:
    assert_no_canary(text)
    for value in INTAKE_CANARIES:
        assert value not in text, f"secret {value[:12]}… leaked"
        assert value[6:20] not in text, f"part of secret {value[:12]}… leaked"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The page's counters live in the cache: clear this module's keys, and only those."""

    def clear() -> None:
        if settings.REDIS_URL:
            import redis

            r = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
            try:
                for key in r.scan_iter(match="*intake:rl:*"):
                    r.delete(key)
            except redis.RedisError:
                pass  # a test that needs the cache will say so itself
        else:
            cache.clear()  # the per-process LocMemCache of this test run

    clear()
    yield
    clear()


@pytest.fixture
def fake_lever():
    with FakeLever() as fake:
        fake.add_account(GOOD_KEY)
        yield fake


@pytest.fixture
def acme(tenant, fake_lever):
    # Pointed at the fake without the service, which would clear the key bound to the old URL;
    # its trigger stage is one the fake's accounts have.
    Tenant.objects.filter(pk=tenant.pk).update(
        lever_base_url=fake_lever.base_url, trigger_stage_ids=[BG_CHECK_STAGE_ID]
    )
    return Tenant.objects.get(pk=tenant.pk)


@pytest.fixture
def globex(other_tenant, fake_lever):
    Tenant.objects.filter(pk=other_tenant.pk).update(
        lever_base_url=fake_lever.base_url, trigger_stage_ids=[BG_CHECK_STAGE_ID]
    )
    return Tenant.objects.get(pk=other_tenant.pk)


@pytest.fixture
def admin_client(client, super_admin):
    client.force_login(super_admin)
    return client


def new_link(tenant: Tenant, actor="cli", **kwargs) -> tuple[IntakeLink, str]:
    return intake_links.intake_link_create(tenant=tenant, actor=actor, **kwargs)


def page_url(token: str) -> str:
    return reverse("intake-page", args=[token])


def submit(client: Client, token: str, key: str = GOOD_KEY, sig: str = NEW_TOKEN, **extra):
    return client.post(page_url(token), {"lever_api_key": key, "signature_token": sig}, **extra)


def raw_columns(tenant: Tenant) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lever_api_key, lever_signature_token FROM connectors_tenant WHERE id = %s",
            [tenant.pk],
        )
        key, token = cursor.fetchone()
    return {"key": key, "token": token}


# --- the link itself -------------------------------------------------------------------------


def test_only_an_hmac_of_the_token_is_stored(acme):
    link, token = new_link(acme)
    assert len(token) >= 43  # 256 random bits
    assert link.token_hmac == intake_links.intake_token_digest(token) != token
    assert len(link.token_hmac) == 64
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM connectors_intakelink")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert token not in stored and token[:20] not in stored
    assert intake_links.intake_link_get_by_token(token=token) == link
    assert intake_links.intake_link_get_by_token(token=token[:-1] + "x") is None


def test_a_link_expires_after_the_configured_hours(acme):
    link, _ = new_link(acme)
    assert link.expires_at - link.created_at == timedelta(hours=72)
    with override_settings(INTAKE_LINK_TTL_HOURS=2):
        short, _ = new_link(acme)
    assert short.expires_at - short.created_at == timedelta(hours=2)
    assert short.state_at(short.created_at + timedelta(hours=2)) == IntakeLink.EXPIRED


def test_creating_a_link_revokes_the_tenants_open_link_and_is_audited(acme, super_admin):
    first, first_token = new_link(acme, super_admin)
    second, _ = new_link(acme, super_admin)
    first.refresh_from_db()
    assert first.state == IntakeLink.REVOKED and second.state == IntakeLink.OPEN
    actions = list(
        TenantAuditEntry.objects.filter(tenant=acme, field="intake_link").values_list(
            "action", "actor_label"
        )
    )
    assert ("intake_link_created", "root-admin") in actions
    assert ("intake_link_revoked", "root-admin") in actions
    assert Client().get(page_url(first_token)).status_code == 410


# --- the public page -------------------------------------------------------------------------


def test_open_link_shows_instructions_and_write_only_fields_without_a_login(acme):
    _, token = new_link(acme)
    response = Client().get(page_url(token))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Acme Corp" in html
    # The key comes from the Sterling Backcheck card, generated by a Super Admin (the guide).
    assert "API Credentials" not in html and "Generate New Key" not in html
    assert "Super Admin" in html and "Background and reference checks" in html
    assert "Sterling Backcheck" in html and "Generate new key" in html
    assert "shows it only this once" in html and "toggle off and on" in html
    assert "Settings → Integrations and API → Webhooks" in html
    assert "Candidate Stage Change" in html and "Verify Connection" in html
    assert acme.webhook_url in html and 'data-copy-target="intake-webhook-url"' in html
    assert "portal/copy.js" in html and "<script>" not in html
    assert html.count('type="password"') == 2 and html.count('autocomplete="off"') >= 2
    assert "csrfmiddlewaretoken" in html
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    # A <meta name="referrer"> would override the header in the browser.
    assert '<meta name="referrer" content="same-origin">' in html and "no-referrer" not in html
    assert_no_intake_secret(html)


def test_good_key_and_token_are_stored_encrypted_and_the_link_is_used(acme, fake_lever):
    Tenant.objects.filter(pk=acme.pk).update(signature_token_confirmed_at=timezone.now())
    link, token = new_link(acme)

    response = submit(Client(), token, REMOTE_ADDR="203.0.113.7")

    html = response.content.decode()
    assert response.status_code == 200 and "Lever is connected" in html
    assert_no_intake_secret(html)
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == GOOD_KEY
    assert acme.lever_signature_token.reveal() == NEW_TOKEN
    # A new signature token is unconfirmed until Lever's first correctly signed delivery.
    assert acme.signature_token_confirmed_at is None
    raw = raw_columns(acme)
    assert raw["key"].startswith("enc:v2:") and GOOD_KEY not in raw["key"]
    assert raw["token"].startswith("enc:v2:") and NEW_TOKEN not in raw["token"]
    # The key was checked with Lever before it was stored (the fake saw it).
    assert [r["path"] for r in fake_lever.requests_for(GOOD_KEY)][:1] == ["/v1/stages?limit=100"]
    link.refresh_from_db()
    assert link.state == IntakeLink.USED and link.used_ip == "203.0.113.7"
    audit = TenantAuditEntry.objects.filter(tenant=acme)
    assert audit.filter(
        actor_label="intake link", action="secret_replaced", field="lever_api_key"
    ).exists()
    used = audit.get(action="intake_link_used")
    assert "created by cli" in used.detail and "203.0.113.7" in used.detail
    assert_no_intake_secret(" ".join(f"{e.action} {e.field} {e.detail}" for e in audit))
    # Used: a second visit is refused and changes nothing.
    again = submit(Client(), token, key=BAD_KEY)
    assert again.status_code == 410 and "already been used" in again.content.decode()


def test_a_key_lever_refuses_is_refused_with_levers_reason_and_the_link_stays_open(acme):
    link, token = new_link(acme)
    response = submit(Client(), token, key=BAD_KEY)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Lever refused this key" in html and "401" in html
    assert "4 of 5 attempts left" in html
    assert_no_intake_secret(html)
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY
    assert acme.lever_signature_token.reveal() == CANARY_TOKEN
    link.refresh_from_db()
    assert link.state == IntakeLink.OPEN and link.failed_attempts == 1
    # The retry with the right key goes through.
    assert "Lever is connected" in submit(Client(), token).content.decode()


def test_a_key_lever_refuses_only_stages_is_stored_with_a_warning_not_a_counted_try(
    acme, fake_lever
):
    limited = "lvr-limited-key-0123456789abcdef"
    fake_lever.add_account(limited, forbidden=["GET /stages"])
    link, token = new_link(acme)

    response = submit(Client(), token, key=limited)

    html = response.content.decode()
    assert response.status_code == 200 and "Lever is connected" in html
    assert "Warning:" in html and "the key cannot read stages (403)" in html
    link.refresh_from_db()
    assert link.state == IntakeLink.USED and link.failed_attempts == 0
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == limited


def test_five_refused_keys_lock_the_link(acme, fake_lever):
    link, token = new_link(acme)
    for attempt in range(1, 5):
        assert submit(Client(), token, key=BAD_KEY).status_code == 200, attempt
    fifth = submit(Client(), token, key=BAD_KEY)
    assert fifth.status_code == 410
    assert "locked" in fifth.content.decode() and "Lever refused this key" in fifth.content.decode()
    link.refresh_from_db()
    assert link.state == IntakeLink.LOCKED and link.failed_attempts == 5
    assert TenantAuditEntry.objects.filter(tenant=acme, action="intake_link_locked").count() == 1
    # Locked: even the right key is refused without asking Lever, and nothing is stored.
    fake_lever.clear_requests()
    assert submit(Client(), token).status_code == 410
    assert fake_lever.requests_for(GOOD_KEY) == []
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY


def test_a_lever_outage_is_not_a_counted_try_and_stores_nothing(acme, fake_lever):
    link, token = new_link(acme)
    fake_lever.inject_fault(status=503, count=5)
    response = submit(Client(), token)
    assert "could not be checked with Lever" in response.content.decode()
    link.refresh_from_db()
    assert link.state == IntakeLink.OPEN and link.failed_attempts == 0
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY


def test_a_malformed_value_is_refused_without_asking_lever(acme, fake_lever):
    link, token = new_link(acme)
    response = submit(Client(), token, sig="short")
    assert "nothing was stored" in response.content.decode()
    assert fake_lever.requests_for(GOOD_KEY) == []
    link.refresh_from_db()
    assert link.failed_attempts == 0 and link.state == IntakeLink.OPEN


@pytest.mark.parametrize("state", ["expired", "used", "revoked", "locked"])
def test_closed_links_answer_410_and_change_nothing(acme, fake_lever, state):
    link, token = new_link(acme)
    now = timezone.now()
    closing = {
        "expired": {"expires_at": now - timedelta(seconds=1)},
        "used": {"used_at": now},
        "revoked": {"revoked_at": now},
        "locked": {"locked_at": now, "failed_attempts": 5},
    }[state]
    IntakeLink.objects.filter(pk=link.pk).update(**closing)
    audit_before = TenantAuditEntry.objects.count()

    assert Client().get(page_url(token)).status_code == 410
    response = submit(Client(), token)

    assert response.status_code == 410
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    assert fake_lever.requests_for(GOOD_KEY) == []
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY
    assert TenantAuditEntry.objects.count() == audit_before


def test_an_unknown_link_is_404(acme):
    new_link(acme)
    response = Client().get(page_url("x" * 43))
    assert response.status_code == 404 and "not valid" in response.content.decode()
    assert submit(Client(), "y" * 43).status_code == 404


def test_another_tenants_link_cannot_touch_this_tenant(acme, globex):
    _, globex_token = new_link(globex)
    assert "Lever is connected" in submit(Client(), globex_token).content.decode()
    globex.refresh_from_db()
    acme.refresh_from_db()
    assert globex.lever_api_key.reveal() == GOOD_KEY
    assert acme.lever_api_key.reveal() == CANARY_API_KEY
    assert acme.lever_signature_token.reveal() == CANARY_TOKEN


def test_the_page_needs_a_csrf_token(acme):
    link, token = new_link(acme)
    browser = Client(enforce_csrf_checks=True)
    response = submit(browser, token)
    assert response.status_code == 403
    assert "no-store" in response["Cache-Control"]
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY
    # With the token from the page, the same browser gets through.
    browser.get(page_url(token))
    csrf = browser.cookies[settings.CSRF_COOKIE_NAME].value
    ok = browser.post(
        page_url(token),
        {"lever_api_key": GOOD_KEY, "signature_token": NEW_TOKEN, "csrfmiddlewaretoken": csrf},
    )
    assert "Lever is connected" in ok.content.decode()


def _csrf_browser(token: str, *, secure: bool) -> tuple[Client, str]:
    browser = Client(enforce_csrf_checks=True)
    browser.get(page_url(token), secure=secure)
    return browser, browser.cookies[settings.CSRF_COOKIE_NAME].value


def test_a_same_origin_form_post_over_https_passes_the_csrf_check(acme):
    """Under same-origin, browsers post the form with the portal's own Origin and Referer."""
    _, token = new_link(acme)
    browser, csrf = _csrf_browser(token, secure=True)
    data = {"lever_api_key": GOOD_KEY, "signature_token": NEW_TOKEN, "csrfmiddlewaretoken": csrf}
    response = browser.post(
        page_url(token),
        data,
        secure=True,
        HTTP_ORIGIN="https://testserver",
        HTTP_REFERER=f"https://testserver{page_url(token)}",
    )
    assert "Lever is connected" in response.content.decode()


def test_an_origin_null_post_is_refused_now_that_browsers_send_a_real_origin(acme):
    _, token = new_link(acme)
    browser, csrf = _csrf_browser(token, secure=True)
    data = {"lever_api_key": GOOD_KEY, "signature_token": NEW_TOKEN, "csrfmiddlewaretoken": csrf}
    response = browser.post(page_url(token), data, secure=True, HTTP_ORIGIN="null")
    assert response.status_code == 403
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY


def test_a_foreign_origin_or_a_missing_token_is_still_refused(acme):
    _, token = new_link(acme)
    browser, csrf = _csrf_browser(token, secure=True)
    data = {"lever_api_key": GOOD_KEY, "signature_token": NEW_TOKEN, "csrfmiddlewaretoken": csrf}
    foreign = browser.post(
        page_url(token), data, secure=True, HTTP_ORIGIN="https://attacker.example"
    )
    assert foreign.status_code == 403
    no_token = {"lever_api_key": GOOD_KEY, "signature_token": NEW_TOKEN}
    same_origin = {"HTTP_ORIGIN": "https://testserver"}
    assert browser.post(page_url(token), no_token, secure=True, **same_origin).status_code == 403
    stranger = Client(enforce_csrf_checks=True)  # no CSRF cookie, as in a cross-site POST
    assert stranger.post(page_url(token), data, secure=True, **same_origin).status_code == 403
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY


def test_posts_are_rate_limited_per_link(acme, fake_lever, monkeypatch):
    monkeypatch.setattr(intake_submit, "RATE_LIMIT_POSTS", 3)
    link, token = new_link(acme)
    for n in range(3):
        addr = f"198.51.100.{n + 1}"  # other addresses: only the per-link count is reached
        assert submit(Client(), token, key=BAD_KEY, REMOTE_ADDR=addr).status_code == 200
    limited = submit(Client(), token, REMOTE_ADDR="198.51.100.9")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert "no-store" in limited["Cache-Control"]
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY


def test_posts_are_rate_limited_per_ip_across_links(acme, globex, monkeypatch):
    monkeypatch.setattr(intake_submit, "RATE_LIMIT_POSTS", 2)
    _, acme_token = new_link(acme)
    _, globex_token = new_link(globex)
    submit(Client(), acme_token, key=BAD_KEY, REMOTE_ADDR="192.0.2.44")
    submit(Client(), acme_token, key=BAD_KEY, REMOTE_ADDR="192.0.2.44")
    assert submit(Client(), globex_token, REMOTE_ADDR="192.0.2.44").status_code == 429
    assert submit(Client(), globex_token, REMOTE_ADDR="192.0.2.45").status_code == 200


def test_behind_the_proxy_the_per_ip_limit_and_the_audit_see_the_forwarded_client(
    acme, globex, monkeypatch
):
    # Every request arrives from the proxy (127.0.0.1, the default FORWARDED_ALLOW_IPS); one
    # visitor's tries must not use up everybody else's.
    monkeypatch.setattr(intake_submit, "RATE_LIMIT_POSTS", 2)
    _, acme_token = new_link(acme)
    link, globex_token = new_link(globex)
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    submit(Client(), acme_token, key=BAD_KEY, HTTP_X_FORWARDED_FOR="192.0.2.44", **proxy)
    submit(Client(), acme_token, key=BAD_KEY, HTTP_X_FORWARDED_FOR="192.0.2.44", **proxy)
    limited = submit(Client(), globex_token, HTTP_X_FORWARDED_FOR="192.0.2.44", **proxy)
    assert limited.status_code == 429
    other = submit(Client(), globex_token, HTTP_X_FORWARDED_FOR="192.0.2.45", **proxy)
    assert other.status_code == 200
    link.refresh_from_db()
    assert link.used_ip == "192.0.2.45"


def test_the_rate_limit_fails_closed_when_its_cache_is_down(acme, monkeypatch):
    _, token = new_link(acme)

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(intake_submit.cache, "add", broken)
    response = submit(Client(), token)
    assert response.status_code == 503
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY


def test_rate_limit_counts_are_shared_through_redis(acme, redis_url, monkeypatch):
    """With Redis configured, the counters live there, where every web process sees them."""
    import redis

    monkeypatch.setattr(intake_submit, "RATE_LIMIT_POSTS", 1)
    _, token = new_link(acme)
    submit(Client(), token, key=BAD_KEY, REMOTE_ADDR="192.0.2.99")
    keys = list(redis.Redis.from_url(redis_url).scan_iter(match="*intake:rl:*"))
    assert len(keys) == 2 and not any(token.encode() in key for key in keys)
    assert submit(Client(), token, REMOTE_ADDR="192.0.2.99").status_code == 429


def test_typed_values_never_reach_logs_pages_or_error_reports(acme, fake_lever, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactSecretsFilter())
    _, token = new_link(acme)
    pages = [submit(Client(), token, key=BAD_KEY) for _ in range(2)]
    pages.append(submit(Client(), token))
    for response in pages:
        assert_no_intake_secret(response.content.decode())
    # Django's error reports hide both fields of this page.
    request = pages[0].wsgi_request
    assert set(request.sensitive_post_parameters) == {"lever_api_key", "signature_token"}
    assert caplog.records, "the check and the request should have logged something"
    assert_no_intake_secret(caplog.text)


def test_a_live_token_in_a_logged_path_is_masked(acme, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger="django.request")
    caplog.handler.addFilter(RedactSecretsFilter())
    monkeypatch.setattr(intake_submit, "RATE_LIMIT_POSTS", 0)
    _, token = new_link(acme)
    assert submit(Client(), token).status_code == 429  # logged by django.request with the path
    assert "Too Many Requests" in caplog.text
    assert token not in caplog.text


# --- management: who may create and revoke ----------------------------------------------------


def test_an_account_manager_of_the_tenant_creates_and_revokes_links(
    client, account_manager, managed_tenant
):
    client.force_login(account_manager)
    response = client.post(reverse("intake-link-create", args=["acme"]))
    html = response.content.decode()
    assert response.status_code == 200 and "shown only once" in html
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    link = IntakeLink.objects.get(tenant=managed_tenant)
    assert link.created_by == account_manager and link.created_by_label == "am-alice"
    token = html.split("/intake/")[1].split("/")[0]
    assert intake_links.intake_link_get_by_token(token=token) == link

    revoked = client.post(reverse("intake-link-revoke", args=["acme", link.pk]))
    assert revoked.status_code == 302 and revoked["Location"].endswith("/tenants/acme/#intake")
    link.refresh_from_db()
    assert link.state == IntakeLink.REVOKED and link.revoked_by_label == "am-alice"


def test_an_account_manager_not_assigned_to_the_tenant_gets_404(
    client, account_manager, other_account_manager, managed_tenant
):
    link, token = new_link(managed_tenant, account_manager)
    client.force_login(other_account_manager)
    assert client.post(reverse("intake-link-create", args=["acme"])).status_code == 404
    assert client.post(reverse("intake-link-revoke", args=["acme", link.pk])).status_code == 404
    assert client.post(reverse("intake-notice-dismiss", args=["acme", link.pk])).status_code == 404
    assert IntakeLink.objects.count() == 1
    link.refresh_from_db()
    assert link.state == IntakeLink.OPEN
    assert "Acme" not in client.get(reverse("intake-link-list")).content.decode()


def test_a_link_of_another_tenant_cannot_be_revoked_through_this_tenant(
    client, account_manager, managed_tenant, other_tenant
):
    foreign, _ = new_link(other_tenant)
    client.force_login(account_manager)
    assert client.post(reverse("intake-link-revoke", args=["acme", foreign.pk])).status_code == 404
    assert (
        client.post(reverse("intake-link-revoke", args=["globex", foreign.pk])).status_code == 404
    )
    foreign.refresh_from_db()
    assert foreign.state == IntakeLink.OPEN


def test_managing_links_needs_a_login_and_a_post(client, admin_client, acme):
    anonymous = Client()
    response = anonymous.post(reverse("intake-link-create", args=["acme"]))
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert admin_client.get(reverse("intake-link-create", args=["acme"])).status_code == 405
    assert IntakeLink.objects.count() == 0


# --- telling the account manager ---------------------------------------------------------------


def test_the_tenant_page_lists_links_and_shows_the_notice_until_dismissed(
    admin_client, super_admin, acme, django_capture_on_commit_callbacks
):
    used, token = new_link(acme, super_admin)
    with django_capture_on_commit_callbacks(execute=True):
        submit(Client(), token, REMOTE_ADDR="203.0.113.8")
    open_link, _ = new_link(acme, super_admin)

    html = admin_client.get(reverse("tenant-detail", args=["acme"])).content.decode()
    assert 'id="intake"' in html
    assert f"Credentials received through intake link #{used.pk}" in html
    assert "203.0.113.8" in html
    assert "intake-used" in html and "intake-open" in html
    assert reverse("intake-link-revoke", args=["acme", open_link.pk]) in html
    assert 'Signature token: <span class="badge">unconfirmed</span>' in html
    assert_no_intake_secret(html)
    listing = admin_client.get(reverse("intake-link-list")).content.decode()
    assert f"intake link #{used.pk}" in listing

    admin_client.post(reverse("intake-notice-dismiss", args=["acme", used.pk]))
    html = admin_client.get(reverse("tenant-detail", args=["acme"])).content.decode()
    assert "Credentials received through intake link" not in html

    Tenant.objects.filter(pk=acme.pk).update(signature_token_confirmed_at=timezone.now())
    html = admin_client.get(reverse("tenant-detail", args=["acme"])).content.decode()
    assert "confirmed</span> at" in html


def test_the_creator_is_emailed_when_outgoing_mail_is_configured(
    super_admin, acme, django_capture_on_commit_callbacks
):
    _, token = new_link(acme, super_admin)
    with override_settings(
        EMAIL_URL="smtp://smtp.example.test:25",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    ):
        with django_capture_on_commit_callbacks(execute=True):
            submit(Client(), token)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["root@example.test"] and "Acme Corp" in message.subject
    assert_no_intake_secret(message.subject + message.body)


def test_no_email_is_attempted_without_outgoing_mail_configured(
    super_admin, acme, django_capture_on_commit_callbacks
):
    _, token = new_link(acme, super_admin)
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        with django_capture_on_commit_callbacks(execute=True):
            submit(Client(), token)
    assert mail.outbox == []
    assert IntakeLink.objects.unacknowledged_uses().count() == 1


# --- the role table: only super-admins replace credentials ------------------------------------


def test_an_account_managers_link_cannot_replace_stored_credentials(
    managed_tenant, account_manager, fake_lever
):
    Tenant.objects.filter(pk=managed_tenant.pk).update(
        lever_base_url=fake_lever.base_url, trigger_stage_ids=[BG_CHECK_STAGE_ID]
    )
    link, token = new_link(managed_tenant, account_manager)
    response = submit(Client(), token)
    assert response.status_code == 200
    assert "needs a link created by a super-admin" in response.content.decode()
    managed_tenant.refresh_from_db()
    assert managed_tenant.lever_api_key.reveal() == CANARY_API_KEY
    assert managed_tenant.lever_signature_token.reveal() == CANARY_TOKEN
    link.refresh_from_db()
    assert link.state == IntakeLink.OPEN and link.failed_attempts == 0
    assert fake_lever.requests_for(GOOD_KEY) == []  # the key never went to Lever


def test_an_account_managers_link_sets_missing_credentials(globex, account_manager, fake_lever):
    services.tenant_assign_managers(tenant=globex, actor="cli", users=[account_manager])
    _, token = new_link(globex, account_manager)
    response = submit(Client(), token)
    assert response.status_code == 200 and "Lever is connected" in response.content.decode()
    globex.refresh_from_db()
    assert globex.lever_api_key.reveal() == GOOD_KEY


def test_a_super_admins_link_replaces_stored_credentials(acme, super_admin):
    _, token = new_link(acme, super_admin)
    assert "Lever is connected" in submit(Client(), token).content.decode()
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == GOOD_KEY


def test_a_key_of_another_lever_account_is_refused(acme, fake_lever):
    other_key = "lvr-other-account-key-0123456789"
    fake_lever.add_account(other_key, stages=[{"id": "stage-elsewhere", "text": "Elsewhere"}])
    link, token = new_link(acme)
    response = submit(Client(), token, key=other_key)
    page = response.content.decode()
    assert response.status_code == 200 and "another Lever account" in page
    assert BG_CHECK_STAGE_ID in page
    acme.refresh_from_db()
    assert acme.lever_api_key.reveal() == CANARY_API_KEY
    link.refresh_from_db()
    assert link.failed_attempts == 1  # a refused key, like any other
