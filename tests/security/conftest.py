"""A small two-tenant world for the security sweeps, and the reliability harness's fixtures."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest

# The process-level harness (throwaway Redis, portal and worker processes, fakes).
from tests.reliability.conftest import fakes, rel_services, stack  # noqa: F401

CANARY = {
    "lever_api_key": "canary-lever-key-" + secrets.token_hex(16),
    "lever_signature_token": "canary-signature-" + secrets.token_hex(16),
    "backcheck_client_id": "canary-client-id-" + secrets.token_hex(16),
    "backcheck_client_secret": "canary-client-secret-" + secrets.token_hex(16),
}


def leaked(text: str) -> list[str]:
    """The canary values (or a 16-character prefix of one) found in `text`."""
    return [name for name, value in CANARY.items() if value in text or value[:24] in text]


@dataclass
class Side:
    tenant: object
    order: object
    event: object
    note: object
    link: object
    token: str


@dataclass
class World:
    a: Side  # assigned to account_manager (am-alice); carries the canary secrets
    b: Side  # assigned to other_account_manager (am-bob)


def _side(slug: str, manager, secrets_: dict) -> Side:
    from connectors.backcheck.credentials import hash_callback_password
    from connectors.models import Package, Tenant
    from connectors.tenants.intake import intake_link_create
    from orders.models import InboundEvent, LeverNote, Order

    tenant = Tenant.objects.create(
        name=f"Tenant {slug}",
        slug=slug,
        lever_base_url="http://127.0.0.1:9/v1",
        backcheck_base_url="http://127.0.0.1:9",
        trigger_stage_ids=["stage-bg"],
        **secrets_,
    )
    tenant.account_managers.add(manager)
    package = Package.objects.create(
        tenant=tenant, code="std", name="Standard", lever_tag="std", is_default=True
    )
    event = InboundEvent.objects.create(
        source="lever",
        tenant=tenant,
        event_type="candidateStageChange",
        lever_token=slug,
        opportunity_id=f"opp-{slug}",
        to_stage_id="stage-bg",
        raw_body="{}",
        state="processed",
        outcome="order_opened",
    )
    order = Order.objects.create(
        tenant=tenant,
        opportunity_id=f"opp-{slug}",
        candidate_name="Ada Lovelace",
        candidate_email="ada@example.com",
        package=package,
        package_code="std",
        package_name="Standard",
        trigger_event=event,
        launched_by="webhook",
        callback_username="cb-" + secrets.token_hex(8),
        callback_password_hash=hash_callback_password("pw-" + secrets.token_hex(8)),
        submit_state="submitted",
        screening_id=f"scr_{slug}",
        status="In Progress",
        order_number=f"BC-{slug}",
    )
    InboundEvent.objects.filter(pk=event.pk).update(order=order)
    note = LeverNote.objects.create(
        tenant=tenant,
        order=order,
        opportunity_id=order.opportunity_id,
        kind="order",
        text="Sterling Backcheck background check",
        state="failed",
        attempts=10,
        last_error="HTTP 500: boom",
    )
    link, token = intake_link_create(tenant=tenant, actor="security-sweep")
    return Side(tenant, order, event, note, link, token)


@pytest.fixture
def world(db, account_manager, other_account_manager, super_admin) -> World:
    other = {name: f"other-{name}-{secrets.token_hex(8)}" for name in CANARY}
    return World(
        a=_side("tenant-a", account_manager, CANARY),
        b=_side("tenant-b", other_account_manager, other),
    )
