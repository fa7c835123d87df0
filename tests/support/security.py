"""A small two-tenant world for the security sweeps: each side a tenant with an order, its
trigger event, a failed note and an open intake link; side `a` carries the canary secrets."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from connectors.models import IntakeLink, Tenant
from connectors.tenants.intake_links import intake_link_create
from orders.models import InboundEvent, LeverNote, Order
from tests.support.factories import (
    InboundEventFactory,
    LeverNoteFactory,
    OrderFactory,
    TenantFactory,
)

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
    tenant: Tenant
    order: Order
    event: InboundEvent
    note: LeverNote
    link: IntakeLink
    token: str


@dataclass
class World:
    a: Side  # assigned to account_manager (am-alice); carries the canary secrets
    b: Side  # assigned to other_account_manager (am-bob)


def build_side(slug: str, manager, secrets_: dict) -> Side:
    tenant = TenantFactory(
        name=f"Tenant {slug}",
        slug=slug,
        trigger_stage_ids=["stage-bg"],
        managers=[manager],
        packages=[{"code": "std", "name": "Standard", "lever_tag": "std", "is_default": True}],
        **secrets_,
    )
    package = tenant.packages.get()
    event = InboundEventFactory(
        tenant=tenant,
        lever_token=slug,
        opportunity_id=f"opp-{slug}",
        to_stage_id="stage-bg",
        signature_verified=None,
        raw_body="{}",
        state="processed",
        outcome="order_opened",
    )
    order = OrderFactory(
        tenant=tenant,
        opportunity_id=f"opp-{slug}",
        candidate_email="ada@example.com",
        package=package,
        package_code="std",
        package_name="Standard",
        trigger_event=event,
        launched_by="webhook",
        screening_id=f"scr_{slug}",
        order_number=f"BC-{slug}",
    )
    InboundEvent.objects.filter(pk=event.pk).update(order=order)
    note = LeverNoteFactory(
        order=order,
        text="Sterling Backcheck background check",
        state="failed",
        attempts=10,
        last_error="HTTP 500: boom",
    )
    link, token = intake_link_create(tenant=tenant, actor="security-sweep")
    return Side(tenant, order, event, note, link, token)


def build_world(account_manager, other_account_manager) -> World:
    other = {name: f"other-{name}-{secrets.token_hex(8)}" for name in CANARY}
    return World(
        a=build_side("tenant-a", account_manager, CANARY),
        b=build_side("tenant-b", other_account_manager, other),
    )
