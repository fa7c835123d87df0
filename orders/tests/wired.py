"""A tenant wired to both fakes over HTTP, for in-process tests of the services and pages.

Tasks are called as the worker calls them; their publishes are never run (pytest-django's
transaction is not committed), which is exactly a lost publish.
"""

from __future__ import annotations

import json
import secrets

import pytest
from django.urls import reverse

from connectors.backcheck.fake import FakeBackcheck
from connectors.lever.fake import FakeLever
from connectors.management.demo_data import DEMO_SEED
from connectors.models import Tenant
from orders.models import InboundEvent, Order
from orders.tasks import process_inbound, submit_order
from tests.e2e.conftest import wire_tenant

STAGE = DEMO_SEED["background_check_stage_id"]
# A port nothing listens on: every call is refused before anything is sent (transient).
DEAD = "http://127.0.0.1:9"


@pytest.fixture
def fakes():
    lever = FakeLever(webhook_retry_gaps=(0.05,)).start()
    backcheck = FakeBackcheck(step_seconds=0.2, callback_retry_seconds=600).start()
    yield lever, backcheck
    lever.stop()
    backcheck.stop()


@pytest.fixture
def w(fakes, fast_retries):
    lever, backcheck = fakes
    return wire_tenant(
        lever,
        backcheck,
        "http://127.0.0.1:9",
        key_prefix="outbox-key-",
        name="Outbox Corp",
        slug="outbox-" + secrets.token_hex(3),
    )


@pytest.fixture
def manager_client(client, django_user_model, w):
    user = django_user_model.objects.create_user("am-outbox", "am@example.test", "pw-am-1")
    w.tenant.account_managers.add(user)
    client.force_login(user)
    return client


@pytest.fixture
def fast_retries(settings):
    settings.NOTE_RETRY_BASE_S = 0.01
    settings.NOTE_RETRY_MAX_S = 0.02
    settings.HTTP_CONNECT_TIMEOUT_S = 1


def stage_change(w, name: str = "ada", stage: str = STAGE) -> InboundEvent:
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


def submitted_order(w, name: str = "ada") -> Order:
    event = stage_change(w, name)
    assert process_inbound(event.pk) is None
    order = Order.objects.get(tenant=w.tenant, opportunity_id=w.candidate(name))
    submit_order(order.pk)
    order.refresh_from_db()
    assert order.submit_state == "submitted" and order.status == "Initiated"
    return order
