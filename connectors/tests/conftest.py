"""Fixtures of the tenant set-up tests: tenants with canary credentials (tests/support/canaries.py).

A test that finds a canary in a page, a log record or command output has found a leaked secret.
"""

from __future__ import annotations

import pytest

from connectors.models import LEVER_BASE_URL_PRESETS
from connectors.tenants import services
from tests.support.factories import TenantFactory

# How the set-up pages leave a tenant: the Lever sandbox preset, a Backcheck URL, one stage.
SET_UP = {
    "lever_base_url": LEVER_BASE_URL_PRESETS["sandbox"],
    "backcheck_base_url": "https://backcheck.example.test/v1",
    "trigger_stage_ids": ["stage-background-check"],
    "note_author_user_id": "user-1",
}


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="acme", name="Acme Corp", canaries=True, **SET_UP)


@pytest.fixture
def other_tenant(db):
    return TenantFactory(slug="globex", name="Globex", no_secrets=True, **SET_UP)


@pytest.fixture
def managed_tenant(tenant, account_manager):
    services.tenant_assign_managers(tenant=tenant, actor="cli", users=[account_manager])
    return tenant
