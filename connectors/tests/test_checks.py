"""`tenants check` and the "Test connection" button against the fake Lever and Backcheck."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from connectors.backcheck.fake import FakeBackcheck
from connectors.checks import tenant_check
from connectors.lever.fake import FakeLever
from connectors.models import Tenant
from connectors.tenants import credentials, packages, services
from tests.support.canaries import (
    CANARY_API_KEY,
    CANARY_CLIENT_ID,
    CANARY_CLIENT_SECRET,
    assert_no_canary,
)

pytestmark = pytest.mark.django_db

STAGES = [
    {"id": "stage-background-check", "text": "Background Check"},
    {"id": "applicant-new", "text": "New applicant"},
]
USERS = [
    {
        "id": "user-1",
        "name": "Rita Recruiter",
        "email": "rita@example.test",
        "accessRole": "super admin",
    }
]


@pytest.fixture
def fakes():
    with (
        FakeLever() as lever,
        FakeBackcheck(
            client_id=CANARY_CLIENT_ID,
            client_secret=CANARY_CLIENT_SECRET,
            packages={"std-ca": "Standard Canada", "exec": "Executive"},
        ) as backcheck,
    ):
        lever.add_account(CANARY_API_KEY, users=USERS, stages=STAGES)
        yield lever, backcheck


@pytest.fixture
def wired_tenant(tenant, fakes):
    lever, backcheck = fakes
    # Pointed at the fakes without the service, which would clear the credentials bound to the
    # old URLs.
    Tenant.objects.filter(pk=tenant.pk).update(
        lever_base_url=lever.base_url, backcheck_base_url=backcheck.url
    )
    return Tenant.objects.get(pk=tenant.pk)


def run_check(slug: str) -> str:
    out = io.StringIO()
    call_command("tenants", "check", slug, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_check_of_a_well_configured_tenant_is_ok_and_stored(wired_tenant, caplog):
    caplog.set_level("DEBUG")
    out = run_check("acme")
    assert "Lever: ok" in out and 'trigger stage stage-background-check: "Background Check"' in out
    assert "note author user-1: Rita Recruiter" in out
    assert "Backcheck: ok" in out and "package std-ca: found" in out
    assert "Overall: ok" in out
    stored = Tenant.objects.get(slug="acme")
    assert stored.last_check_result["status"] == "ok" and stored.last_check_at is not None
    assert_no_canary(out + json.dumps(stored.last_check_result) + caplog.text)


def test_check_flags_unknown_stages_and_missing_packages(wired_tenant):
    services.tenant_update(tenant=wired_tenant, actor="cli", trigger_stage_ids=["no-such-stage"])
    packages.package_add(tenant=wired_tenant, actor="cli", code="gone", name="Retired package")
    with pytest.raises(CommandError, match="Lever ok, Backcheck error"):
        run_check("acme")
    result = Tenant.objects.get(slug="acme").last_check_result
    assert result["lever"]["stages"] == [{"id": "no-such-stage", "name": None, "known": False}]
    found = {p["code"]: p["found"] for p in result["backcheck"]["packages"]}
    assert found == {"gone": False, "std-ca": True}
    assert "gone" in result["backcheck"]["detail"] and result["status"] == "failed"


def test_check_with_a_wrong_lever_key_exits_non_zero(wired_tenant):
    credentials.tenant_set_secret(
        tenant=wired_tenant, actor="cli", name="lever-api-key", value="not-the-right-key-000000"
    )
    with pytest.raises(CommandError, match="Lever invalid_key, Backcheck ok"):
        run_check("acme")


def test_check_with_wrong_backcheck_credentials_reports_them(wired_tenant):
    credentials.tenant_set_secret(
        tenant=wired_tenant, actor="cli", name="backcheck-client-secret", value="wrong-secret-1"
    )
    result = tenant_check(Tenant.objects.get(slug="acme"))
    assert result["backcheck"]["status"] == "invalid_credentials"
    assert result["lever"]["status"] == "ok" and result["status"] == "failed"
    assert_no_canary(json.dumps(result))


def test_check_of_unreachable_providers_is_reported_not_raised(tenant):
    Tenant.objects.filter(pk=tenant.pk).update(
        lever_base_url="http://127.0.0.1:9/v1", backcheck_base_url="http://127.0.0.1:9"
    )
    result = tenant_check(Tenant.objects.get(slug="acme"))
    assert result["lever"]["status"] == "unreachable"
    assert result["backcheck"]["status"] == "unreachable"


def test_test_connection_button_shows_the_stored_result(client, account_manager, wired_tenant):
    services.tenant_assign_managers(tenant=wired_tenant, actor="cli", users=[account_manager])
    client.force_login(account_manager)
    response = client.post(reverse("tenant-check", args=["acme"]))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    stored = Tenant.objects.get(slug="acme")
    assert "Lever and Backcheck are both reachable" in page
    assert "“Background Check”" in page and "Rita Recruiter" in page
    assert stored.last_check_at.strftime("%Y-%m-%d %H:%M:%S") in page
    assert_no_canary(page)


def test_test_connection_is_refused_for_a_tenant_not_assigned(
    client, account_manager, wired_tenant
):
    client.force_login(account_manager)
    assert client.post(reverse("tenant-check", args=["acme"])).status_code == 404
    assert client.get(reverse("tenant-check", args=["acme"])).status_code == 405
    assert Tenant.objects.get(slug="acme").last_check_result is None
