"""A tenant wired to both fakes over HTTP, and helpers to drive and observe its cases.

`wire_tenant` gives a tenant (TenantFactory) its own Lever account on the fake Lever (the demo
data, signed with SIGNATURE_TOKEN) and the fake Backcheck's credentials. In-process tests call the
tasks as the worker does (`stage_change`, `submitted_order`); their publishes are never run
(pytest-django's transaction is not committed), which is exactly a lost publish.
"""

from __future__ import annotations

import json
import secrets

from django.urls import reverse

from connectors.backcheck.fake import FakeBackcheck
from connectors.demo_data import DEMO_SEED
from connectors.lever.fake import FakeLever, seed_account
from connectors.models import Tenant
from orders.models import InboundEvent, Order
from orders.tasks import process_inbound, submit_order
from tests.support.factories import DEAD_URL, TenantFactory
from tests.support.harness import wait_until

STAGE = DEMO_SEED["background_check_stage_id"]
SIGNATURE_TOKEN = "e2e-signature-token-0123456789abcdef"
# A port nothing listens on: every call is refused before anything is sent (transient).
DEAD = DEAD_URL


class Wired:
    """A tenant wired to fresh fakes, and helpers to drive and observe a case."""

    def __init__(
        self,
        tenant: Tenant,
        lever: FakeLever,
        backcheck: FakeBackcheck,
        api_key: str,
        live_server_url: str,
    ) -> None:
        self.tenant = tenant
        self.lever = lever
        self.backcheck = backcheck
        self.api_key = api_key
        self.webhook_url = f"{live_server_url}/api/v1/webhooks/lever/{tenant.webhook_id}/"
        self.extra: list[str] = []

    def candidate(self, name: str) -> str:
        return DEMO_SEED["candidates"][name]["opportunity_id"]

    def trigger(self, name: str) -> dict:
        return self.lever.move_to_stage(
            self.api_key, self.candidate(name), STAGE, webhook_url=self.webhook_url
        )

    def notes(self, name: str) -> list[str]:
        return [n["value"] for n in self.lever.notes(self.api_key, self.candidate(name))]

    def wait_notes(self, name: str, count: int, timeout: float = 20.0) -> list[str]:
        wait_until(
            lambda: len(self.notes(name)) >= count,
            timeout=timeout,
            message=f"{count} notes on {name} (have {self.notes(name)!r})",
        )
        return self.notes(name)

    def order(self, name: str) -> Order | None:
        return (
            Order.objects.filter(tenant=self.tenant, opportunity_id=self.candidate(name))
            .order_by("-id")
            .first()
        )

    def wait_order(self, name: str, predicate=lambda o: o is not None, timeout: float = 20.0):
        def check():
            order = self.order(name)
            return order if order is not None and predicate(order) else None

        return wait_until(check, timeout=timeout, message=f"order of {name}")


def wire_tenant(
    lever: FakeLever,
    backcheck: FakeBackcheck,
    portal_url: str,
    *,
    key_prefix: str,
    name: str,
    slug: str,
    default_package: bool = True,
    **fields,
) -> Wired:
    """A tenant with its own Lever account on `lever` (the demo seed, SIGNATURE_TOKEN) and
    `backcheck`'s credentials, and a "std-ca" package tagged "standard-ca"."""
    api_key = key_prefix + secrets.token_hex(12)
    seed_account(lever, api_key, SIGNATURE_TOKEN, DEMO_SEED)
    tenant = TenantFactory(
        name=name,
        slug=slug,
        lever_base_url=lever.base_url,
        backcheck_base_url=backcheck.url,
        trigger_stage_ids=[STAGE],
        lever_api_key=api_key,
        lever_signature_token=SIGNATURE_TOKEN,
        backcheck_client_id=backcheck.client_id,
        backcheck_client_secret=backcheck.client_secret,
        packages=[
            {
                "code": "std-ca",
                "name": "Standard Canada",
                "lever_tag": "standard-ca",
                "is_default": default_package,
            }
        ],
        **fields,
    )
    return Wired(tenant, lever, backcheck, api_key, portal_url)


def stage_body(w: Wired, opportunity_id: str) -> dict:
    """Move the candidate in fake Lever and return the signed webhook, without sending it."""
    return w.lever.move_to_stage(w.api_key, opportunity_id, STAGE)


def stage_change(w: Wired, name: str = "ada", stage: str = STAGE) -> InboundEvent:
    """The stored event of a move to `stage`, as the webhook endpoint stores it."""
    body = w.lever.move_to_stage(w.api_key, w.candidate(name), stage)
    return InboundEvent.objects.create(
        source=InboundEvent.Source.LEVER,
        tenant=w.tenant,
        event_type="candidateStageChange",
        lever_token=body["token"],
        opportunity_id=w.candidate(name),
        to_stage_id=stage,
        signature_verified=True,
        raw_body=json.dumps(body),
    )


def unset(tenant: Tenant, **fields) -> None:
    for name, value in fields.items():
        setattr(tenant, name, value)
    tenant.save()


def attention_page(client) -> str:
    return client.get(reverse("attention")).content.decode()


def submitted_order(w: Wired, name: str = "ada") -> Order:
    event = stage_change(w, name)
    assert process_inbound(event.pk) is None
    order = Order.objects.get(tenant=w.tenant, opportunity_id=w.candidate(name))
    submit_order(order.pk)
    order.refresh_from_db()
    assert order.submit_state == "submitted" and order.status == "Initiated"
    return order
