"""Fixtures of the tenant set-up tests: tenants with canary credentials.

The canaries are distinctive strings: a test that finds one in a page, a log record or command
output has found a leaked secret.
"""

from __future__ import annotations

import pytest

from connectors.tenants import services

CANARY_API_KEY = "CANARYleverKEY-7f3a9c1e5b2d4f60"
CANARY_TOKEN = "CANARYsigTOKEN-a1b2c3d4e5f6a7b8"
CANARY_CLIENT_ID = "CANARYclientID-1234"
CANARY_CLIENT_SECRET = "CANARYclientSECRET-zz99"
CANARIES = (CANARY_API_KEY, CANARY_TOKEN, CANARY_CLIENT_ID, CANARY_CLIENT_SECRET)


def assert_no_canary(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text, f"secret {canary[:12]}… leaked"
        # The distinctive middle part alone would still be a leak (e.g. a partial echo).
        assert canary[6:18] not in text, f"part of secret {canary[:12]}… leaked"


def make_tenant(slug: str, name: str, *, with_secrets: bool = True):
    tenant = services.tenant_create(
        actor="cli",
        name=name,
        slug=slug,
        lever_base_url="sandbox",
        backcheck_base_url="https://backcheck.example.test/v1",
        trigger_stage_ids=["stage-background-check"],
        note_author_user_id="user-1",
    )
    if with_secrets:
        for secret_name, value in (
            ("lever-api-key", CANARY_API_KEY),
            ("lever-signature-token", CANARY_TOKEN),
            ("backcheck-client-id", CANARY_CLIENT_ID),
            ("backcheck-client-secret", CANARY_CLIENT_SECRET),
        ):
            services.tenant_set_secret(tenant=tenant, actor="cli", name=secret_name, value=value)
    services.package_add(
        tenant=tenant, actor="cli", code="std-ca", name="Standard Canada", is_default=True
    )
    return tenant


@pytest.fixture
def tenant(db):
    return make_tenant("acme", "Acme Corp")


@pytest.fixture
def other_tenant(db):
    return make_tenant("globex", "Globex", with_secrets=False)


@pytest.fixture
def managed_tenant(tenant, account_manager):
    services.tenant_assign_managers(tenant=tenant, actor="cli", users=[account_manager])
    return tenant
