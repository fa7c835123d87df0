"""`backcheck_check(tenant)` against the fake Backcheck, with tenants in the real database."""

import json

import pytest

from connectors.backcheck.checks import backcheck_check
from connectors.backcheck.client import BackcheckClient
from connectors.models import Tenant
from tests.support.factories import TenantFactory
from tests.support.harness import closed_port_url

pytestmark = pytest.mark.django_db


def _tenant(fake, *, secret=None, codes=("std-ca",), base_url=None) -> Tenant:
    tenant = TenantFactory(
        name="Acme",
        slug="acme",
        no_secrets=True,
        backcheck_base_url=base_url or fake.url,
        backcheck_client_id=fake.client_id,
        backcheck_client_secret=secret or fake.client_secret,
        packages=[{"code": code, "name": f"Package {code}"} for code in codes],
    )
    return Tenant.objects.get(pk=tenant.pk)  # as the callers load it: secrets decrypted


def test_check_is_ok_when_a_token_is_obtained_and_every_package_exists(fake) -> None:
    result = backcheck_check(_tenant(fake))
    assert result["status"] == "ok"
    assert result["packages"] == [{"code": "std-ca", "name": "Package std-ca", "found": True}]
    assert result["checked_at"] and json.loads(json.dumps(result)) == result


def test_check_flags_packages_that_backcheck_does_not_have(fake) -> None:
    result = backcheck_check(_tenant(fake, codes=("std-ca", "exec-us")))
    assert result["status"] == "error"
    assert "exec-us" in result["detail"]
    assert {p["code"]: p["found"] for p in result["packages"]} == {
        "exec-us": False,
        "std-ca": True,
    }


def test_check_reports_invalid_credentials_and_never_the_secret(fake) -> None:
    secret = "wrong-secret-value-123456"
    result = backcheck_check(_tenant(fake, secret=secret))
    assert result["status"] == "invalid_credentials"
    assert result["packages"][0]["found"] is False
    dumped = json.dumps(result)
    assert secret not in dumped and fake.client_id not in dumped


def test_check_obtains_a_fresh_token_rather_than_trusting_a_cached_one(fake) -> None:
    tenant = _tenant(fake)
    BackcheckClient.for_tenant(tenant).list_packages()  # a token is now cached
    fake.client_secret = "rotated-on-backchecks-side"
    assert backcheck_check(tenant)["status"] == "invalid_credentials"


def test_check_reports_unreachable_when_backcheck_is_down(fake) -> None:
    result = backcheck_check(_tenant(fake, base_url=closed_port_url()))
    assert result["status"] == "unreachable"


def test_check_reports_unreachable_on_a_503(fake) -> None:
    fake.fail_next(1)
    assert backcheck_check(_tenant(fake))["status"] == "unreachable"


def test_check_reports_not_configured_without_credentials(fake) -> None:
    tenant = TenantFactory(
        name="Bare",
        slug="bare",
        no_secrets=True,
        backcheck_base_url="",
        packages=[{"code": "std-ca", "name": "Standard"}],
    )
    result = backcheck_check(Tenant.objects.get(pk=tenant.pk))
    assert result["status"] == "not_configured"
    assert "Backcheck base URL" in result["detail"] and "client secret" in result["detail"]
    assert result["packages"] == [{"code": "std-ca", "name": "Standard", "found": False}]
    assert fake.requests == []


def test_for_tenant_uses_the_tenants_decrypted_credentials(fake, receiver) -> None:
    with BackcheckClient.for_tenant(_tenant(fake)) as client:
        assert [package.id for package in client.list_packages()] == ["std-ca"]
    assert "fake-backcheck-secret" not in repr(client)
