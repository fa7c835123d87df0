"""Fixtures shared by the orders tests: tenants with secrets and signed Lever deliveries.

The tenant wired to both fakes (`w`, `manager_client`) is in the root conftest.py; builders and
webhook bodies are in tests/support.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from connectors.models import Tenant
from tests.support.factories import TenantFactory
from tests.support.history import dashboard_tenant
from tests.support.lever import SIGNATURE_TOKEN, TRIGGER_STAGE


@pytest.fixture
def tenant(db) -> Tenant:
    return TenantFactory(
        name="Acme Corp",
        slug="acme",
        lever_api_key="lever-key-acme-0123456789abcdef",
        lever_signature_token=SIGNATURE_TOKEN,
        backcheck_client_id="bc-client-acme",
        backcheck_client_secret="bc-secret-acme-0123456789",
    )


@pytest.fixture
def other_tenant(db) -> Tenant:
    """Only a signature token: no Lever key, no Backcheck credentials, no package."""
    return TenantFactory(
        name="Globex",
        slug="globex",
        backcheck_base_url="",
        trigger_stage_ids=[TRIGGER_STAGE],
        lever_api_key=None,
        lever_signature_token="sig-token-globex-0123456789",
        backcheck_client_id=None,
        backcheck_client_secret=None,
        packages=[],
    )


@pytest.fixture
def post_webhook(client, tenant) -> Callable:
    def post(body: object, *, webhook_id: str | None = None, raw: bytes | None = None):
        payload = raw if raw is not None else json.dumps(body).encode()
        return client.post(
            f"/api/v1/webhooks/lever/{webhook_id or tenant.webhook_id}/",
            data=payload,
            content_type="application/json",
        )

    return post


@pytest.fixture
def tenants(account_manager, other_account_manager):
    """Two tenants for the dashboard tests: Alice manages Acme, Bob manages Globex."""
    return (
        dashboard_tenant("acme", name="Acme Corp", managers=(account_manager,)),
        dashboard_tenant("globex", name="Globex", managers=(other_account_manager,)),
    )


@pytest.fixture
def alice(client, account_manager):
    client.force_login(account_manager)
    return client
