"""Tenant pages: super-admin set-up, account-manager overview, 403/404, write-only secrets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connectors.models import LEVER_BASE_URL_PRESETS, Package, Tenant, TenantAuditEntry
from tests.support.canaries import CANARY_API_KEY, CANARY_TOKEN, assert_no_canary
from tests.support.factories import TenantAuditEntryFactory, TenantFactory

pytestmark = pytest.mark.django_db

NEW_KEY = "fresh-lever-api-key-000000000042"


@pytest.fixture
def admin_client(client, super_admin):
    client.force_login(super_admin)
    return client


@pytest.fixture
def am_client(client, account_manager, managed_tenant):
    client.force_login(account_manager)
    return client


def credential_urls(slug: str) -> list[str]:
    return [
        reverse("tenant-create"),
        reverse("tenant-edit", args=[slug]),
        reverse("tenant-secret", args=[slug, "lever-api-key"]),
        reverse("tenant-packages", args=[slug]),
        reverse("tenant-managers", args=[slug]),
    ]


def test_every_tenant_page_needs_a_login(client, tenant):
    for url in [reverse("tenant-list"), reverse("tenant-detail", args=["acme"])]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.post(reverse("tenant-check", args=["acme"])).status_code == 302


def test_super_admin_sees_setup_with_masked_secrets_and_webhook_url(admin_client, tenant):
    TenantAuditEntryFactory(tenant=tenant, action="secret_set", field="lever_api_key")
    response = admin_client.get(reverse("tenant-detail", args=["acme"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "••••" + CANARY_API_KEY[-4:] in html
    assert tenant.webhook_url in html and 'data-copy-target="webhook-url"' in html
    assert "portal/copy.js" in html and "<script>" not in html  # CSP: no inline script
    assert "Audit trail" in html and "secret_set" in html
    assert reverse("tenant-secret", args=["acme", "lever-signature-token"]) in html
    assert_no_canary(html)


def test_account_manager_sees_a_read_only_overview_without_secrets(am_client, tenant):
    response = am_client.get(reverse("tenant-detail", args=["acme"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Read-only overview" in html and "Standard Canada" in html
    assert "••••" not in html and "Audit trail" not in html
    assert reverse("tenant-secret", args=["acme", "lever-api-key"]) not in html
    assert "Test connection" in html
    assert_no_canary(html)


def test_account_manager_gets_403_on_every_credential_page(am_client, tenant, other_tenant):
    for slug in ("acme", "globex"):
        for url in credential_urls(slug):
            assert am_client.get(url).status_code == 403, url
            assert am_client.post(url, {"value": NEW_KEY}).status_code == 403, url
    assert Tenant.objects.get(slug="acme").lever_api_key.reveal() == CANARY_API_KEY


def test_account_manager_gets_404_for_another_tenant(am_client, other_tenant):
    assert am_client.get(reverse("tenant-detail", args=["globex"])).status_code == 404
    assert am_client.post(reverse("tenant-check", args=["globex"])).status_code == 404
    listing = am_client.get(reverse("tenant-list")).content.decode()
    assert "Acme Corp" in listing and "Globex" not in listing


def test_unknown_slug_is_404_for_a_super_admin(admin_client):
    assert admin_client.get(reverse("tenant-detail", args=["nope"])).status_code == 404
    assert (
        admin_client.get(reverse("tenant-secret", args=["nope", "lever-api-key"])).status_code
        == 404
    )


def test_super_admin_creates_a_tenant_from_the_form(admin_client, super_admin):
    response = admin_client.post(
        reverse("tenant-create"),
        {
            "name": "Initech",
            "slug": "initech",
            "is_active": "on",
            "lever_environment": "sandbox",
            "trigger_stage_ids": "stage-1\nstage-2",
            "backcheck_base_url": "http://127.0.0.1:8102",
            "piecemeal": "on",
        },
    )
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.lever_base_url == "https://api.sandbox.lever.co/v1"
    assert tenant.backcheck_base_url == "http://127.0.0.1:8102"
    assert tenant.trigger_stage_ids == ["stage-1", "stage-2"] and tenant.piecemeal
    assert TenantAuditEntry.objects.get(tenant=tenant).actor == super_admin


def test_create_form_shows_duplicate_slug_and_bad_url_as_field_errors(admin_client, tenant):
    response = admin_client.post(
        reverse("tenant-create"),
        {"name": "X", "slug": "acme", "lever_environment": "production"},
    )
    assert response.status_code == 200 and "already exists" in response.content.decode()
    response = admin_client.post(
        reverse("tenant-create"),
        {
            "name": "X",
            "slug": "xco",
            "lever_environment": "production",
            "backcheck_base_url": "nope",
        },
    )
    assert response.status_code == 200 and "full http(s) URL" in response.content.decode()
    assert Tenant.objects.count() == 1


def test_edit_form_changes_settings_and_audits(admin_client, tenant):
    form = admin_client.get(reverse("tenant-edit", args=["acme"]))
    assert form.status_code == 200 and 'value="Acme Corp"' in form.content.decode()
    response = admin_client.post(
        reverse("tenant-edit", args=["acme"]),
        {
            "name": "Acme Corp",
            "is_active": "on",
            "lever_environment": "eu",
            "trigger_stage_ids": "stage-background-check",
            "note_author_user_id": "user-1",
            "backcheck_base_url": "https://backcheck.example.test/v1",
            "cma": "on",
        },
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.cma and tenant.lever_base_url == "https://api.eu.lever.co/v1"
    fields = set(
        TenantAuditEntry.objects.filter(action="setting_changed").values_list("field", flat=True)
    )
    assert fields == {"cma", "lever_base_url"}


def test_secret_page_is_write_only_and_replaces_the_value(admin_client, tenant):
    url = reverse("tenant-secret", args=["acme", "lever-api-key"])
    page = admin_client.get(url).content.decode()
    assert 'type="password"' in page and "••••" + CANARY_API_KEY[-4:] in page
    assert_no_canary(page)
    response = admin_client.post(url, {"value": NEW_KEY})
    assert response.status_code == 302
    assert Tenant.objects.get(slug="acme").lever_api_key.reveal() == NEW_KEY
    after = admin_client.get(url).content.decode()
    assert NEW_KEY not in after and "••••" + NEW_KEY[-4:] in after


def test_secret_page_refuses_an_empty_or_malformed_value(admin_client, tenant):
    url = reverse("tenant-secret", args=["acme", "lever-api-key"])
    assert "required" in admin_client.post(url, {"value": ""}).content.decode()
    response = admin_client.post(url, {"value": "has spaces but long enough to count"})
    assert response.status_code == 200 and "20-200" in response.content.decode()
    assert "has spaces" not in response.content.decode()
    assert Tenant.objects.get(slug="acme").lever_api_key.reveal() == CANARY_API_KEY


def test_unknown_secret_name_is_404(admin_client, tenant):
    assert admin_client.get(reverse("tenant-secret", args=["acme", "password"])).status_code == 404


def test_signature_token_change_over_from_the_ui(admin_client, tenant):
    url = reverse("tenant-secret", args=["acme", "lever-signature-token"])
    admin_client.post(url, {"value": "the-new-signature-token-000001"})
    page = admin_client.get(reverse("tenant-detail", args=["acme"])).content.decode()
    assert "Previous signature token" in page and "••••" + CANARY_TOKEN[-4:] in page
    admin_client.post(url, {"action": "retire"})
    assert Tenant.objects.get(slug="acme").lever_signature_token_previous is None


def test_package_catalog_editor_adds_edits_and_removes(admin_client, tenant):
    url = reverse("tenant-packages", args=["acme"])
    response = admin_client.post(
        url,
        {
            "action": "add",
            "new-code": "exec",
            "new-name": "Executive",
            "new-lever_tag": "vip",
            "new-is_default": "on",
        },
    )
    assert response.status_code == 302
    exec_package = Package.objects.get(tenant=tenant, code="exec")
    assert exec_package.is_default and exec_package.lever_tag == "vip"
    assert not Package.objects.get(tenant=tenant, code="std-ca").is_default
    prefix = f"p{exec_package.pk}"
    response = admin_client.post(
        url,
        {
            "action": "update",
            "package": exec_package.pk,
            f"{prefix}-code": "exec",
            f"{prefix}-name": "Executive Plus",
            f"{prefix}-lever_tag": "vip",
        },
    )
    assert response.status_code == 302
    exec_package.refresh_from_db()
    assert exec_package.name == "Executive Plus" and not exec_package.is_default
    duplicate = admin_client.post(url, {"action": "add", "new-code": "exec", "new-name": "Dup"})
    assert duplicate.status_code == 200 and "already in use" in duplicate.content.decode()
    admin_client.post(url, {"action": "remove", "package": exec_package.pk})
    assert list(tenant.packages.values_list("code", flat=True)) == ["std-ca"]


def test_package_of_another_tenant_cannot_be_edited_through_this_one(
    admin_client, tenant, other_tenant
):
    foreign = other_tenant.packages.get()
    response = admin_client.post(
        reverse("tenant-packages", args=["acme"]), {"action": "remove", "package": foreign.pk}
    )
    assert response.status_code == 404
    assert Package.objects.filter(pk=foreign.pk).exists()


def test_assigning_account_managers_from_the_ui(admin_client, tenant, account_manager):
    url = reverse("tenant-managers", args=["acme"])
    assert "am-alice" in admin_client.get(url).content.decode()
    assert admin_client.post(url, {"managers": [account_manager.pk]}).status_code == 302
    assert list(tenant.account_managers.all()) == [account_manager]


def test_django_admin_shows_secrets_masked_only(admin_client, tenant):
    pages = [
        "/admin/connectors/tenant/",
        f"/admin/connectors/tenant/{tenant.pk}/change/",
        "/admin/connectors/package/",
        "/admin/connectors/tenantauditentry/",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert_no_canary(response.content.decode())
    change = admin_client.get(pages[1]).content.decode()
    assert "••••" + CANARY_API_KEY[-4:] in change


def test_django_admin_edit_goes_through_the_service_and_is_audited(admin_client, tenant):
    url = f"/admin/connectors/tenant/{tenant.pk}/change/"
    response = admin_client.post(
        url,
        {
            "name": "Acme Admin-Edited",
            "is_active": "on",
            "lever_base_url": tenant.lever_base_url,
            "trigger_stage_ids": '["stage-background-check"]',
            "note_author_user_id": "user-1",
            "backcheck_base_url": tenant.backcheck_base_url,
            "packages-TOTAL_FORMS": "1",
            "packages-INITIAL_FORMS": "1",
            "packages-MIN_NUM_FORMS": "0",
            "packages-MAX_NUM_FORMS": "1000",
            "packages-0-id": str(tenant.packages.get().pk),
            "packages-0-tenant": str(tenant.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Tenant.objects.get(pk=tenant.pk).lever_api_key.reveal() == CANARY_API_KEY
    entry = TenantAuditEntry.objects.filter(field="name").get()
    assert entry.actor_label == "root-admin"


def test_django_admin_is_for_super_admins_only(client, django_user_model, tenant):
    staff = django_user_model.objects.create_user("staffer", password="pw-staff-1", is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/connectors/tenant/").status_code == 403
    assert client.get(f"/admin/connectors/tenant/{tenant.pk}/change/").status_code == 403


def test_the_tenant_page_shows_the_customer_s_lever_set_up_per_the_guide(client, account_manager):
    tenant = TenantFactory(
        name="Setup Co",
        slug="setup-co",
        no_secrets=True,
        lever_base_url=LEVER_BASE_URL_PRESETS["production"],
        backcheck_base_url="",
        trigger_stage_ids=[],
        packages=[],
        managers=[account_manager],
    )
    client.force_login(account_manager)

    html = client.get(f"/tenants/{tenant.slug}/").content.decode()

    assert 'id="lever-setup"' in html and "Super Admin" in html
    assert "Background and reference checks" in html and "Generate new key" in html
    assert "API Credentials" not in html
    assert "Candidate Stage Change" in html and "Verify Connection" in html
    assert tenant.webhook_url in html and 'data-copy-target="setup-webhook-url"' in html
