"""Fixtures shared by the orders tests: a tenant with secrets and signed Lever deliveries."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable

import pytest

from connectors.lever.signature import compute_signature
from connectors.models import Package, Tenant
from orders.tests.dashboard_factories import make_tenant

# A tenant wired to both fakes over HTTP (`w`), and an account manager's client for it.
from orders.tests.wired import fakes, fast_retries, manager_client, w  # noqa: F401, E402

SIGNATURE_TOKEN = "sig-token-current-0123456789abcdef"
PREVIOUS_TOKEN = "sig-token-previous-0123456789abcdef"
TRIGGER_STAGE = "00922a60-7c15-422b-b086-f62000824fd7"


@pytest.fixture
def tenant(db) -> Tenant:
    tenant = Tenant.objects.create(
        name="Acme Corp",
        slug="acme",
        lever_base_url="http://127.0.0.1:9/v1",
        backcheck_base_url="http://127.0.0.1:9",
        trigger_stage_ids=[TRIGGER_STAGE],
        lever_api_key="lever-key-acme-0123456789abcdef",
        lever_signature_token=SIGNATURE_TOKEN,
        backcheck_client_id="bc-client-acme",
        backcheck_client_secret="bc-secret-acme-0123456789",
    )
    Package.objects.create(tenant=tenant, code="std-ca", name="Standard Canada", is_default=True)
    return tenant


@pytest.fixture
def other_tenant(db) -> Tenant:
    return Tenant.objects.create(
        name="Globex",
        slug="globex",
        lever_base_url="http://127.0.0.1:9/v1",
        trigger_stage_ids=[TRIGGER_STAGE],
        lever_signature_token="sig-token-globex-0123456789",
    )


def signed(
    *,
    token_secret: str = SIGNATURE_TOKEN,
    event: str = "candidateStageChange",
    data: dict | None = None,
    triggered_at: int | None = None,
    token: str | None = None,
    event_id: str | None = None,
) -> dict:
    token = token or secrets.token_hex(24)
    triggered_at = triggered_at if triggered_at is not None else int(time.time() * 1000)
    body = {
        "id": event_id or secrets.token_hex(8),
        "event": event,
        "triggeredAt": triggered_at,
        "token": token,
        "signature": compute_signature(token_secret, token, triggered_at),
        "data": data
        if data is not None
        else {
            "opportunityId": "opp-1",
            "candidateId": "opp-1",
            "contactId": "c-1",
            "toStageId": TRIGGER_STAGE,
            "fromStageId": "lead-new",
        },
    }
    return body


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
        make_tenant("acme", name="Acme Corp", managers=(account_manager,)),
        make_tenant("globex", name="Globex", managers=(other_account_manager,)),
    )


@pytest.fixture
def alice(client, account_manager):
    client.force_login(account_manager)
    return client
