"""The webhook endpoint's in-memory tenant snapshot (connectors/tenants/webhook_tenants.py).

A snapshot may be seconds old in other processes; these tests pin what that can and cannot do.
"Another process" is played by a queryset `.update()`, which, like a change made elsewhere,
does not reach this process's signal handlers.
"""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError

from connectors.models import Tenant
from connectors.tenants import webhook_tenants
from connectors.tenants.webhook_tenants import WEBHOOK_TENANT_TTL_S, webhook_tenant_get
from orders.models import InboundEvent, Order
from orders.services.inbound import lever_webhook_store
from orders.services.stage_change import inbound_process
from tests.support.factories import TenantFactory
from tests.support.lever import SIGNATURE_TOKEN, TRIGGER_STAGE, signed

pytestmark = pytest.mark.django_db

NEW_TOKEN = "sig-token-rotated-0123456789abcdef"


def test_a_token_set_by_another_process_is_accepted_at_once(post_webhook, tenant):
    assert post_webhook(signed()).json()["status"] == "accepted"  # snapshot taken
    Tenant.objects.filter(pk=tenant.pk).update(lever_signature_token=NEW_TOKEN)
    response = post_webhook(signed(token_secret=NEW_TOKEN))
    assert response.status_code == 200 and response.json()["status"] == "accepted"


def test_a_tenant_saved_in_this_process_is_read_again_at_once(post_webhook, tenant):
    assert post_webhook(signed()).json()["status"] == "accepted"
    tenant.is_active = False
    tenant.save()
    assert post_webhook(signed()).json() == {
        "status": "ignored",
        "reason": "The tenant is inactive.",
    }


def test_another_process_s_change_is_seen_once_the_snapshot_expires(
    post_webhook, tenant, monkeypatch
):
    clock = [1000.0]
    monkeypatch.setattr(webhook_tenants.time, "monotonic", lambda: clock[0])
    assert post_webhook(signed()).json()["status"] == "accepted"
    Tenant.objects.filter(pk=tenant.pk).update(trigger_stage_ids=["another-stage"])
    clock[0] += WEBHOOK_TENANT_TTL_S + 0.1
    response = post_webhook(signed())
    assert response.json()["status"] == "ignored"
    assert "is not a trigger stage" in response.json()["reason"]


def test_a_signature_that_matches_no_stored_token_is_still_401(post_webhook, tenant):
    post_webhook(signed())
    response = post_webhook(signed(token_secret="not-the-token-0123456789"))
    assert response.status_code == 401
    assert InboundEvent.objects.count() == 1


def test_the_snapshot_never_shows_a_token(tenant):
    snapshot = webhook_tenant_get(webhook_id=tenant.webhook_id)
    assert snapshot is not None and SIGNATURE_TOKEN not in repr(snapshot)
    assert [t.reveal() for t in snapshot.signature_tokens] == [SIGNATURE_TOKEN]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"is_active": False}, "The tenant is inactive."),
        ({"trigger_stage_ids": ["offer"]}, "is not a trigger stage"),
    ],
    ids=["deactivated", "trigger-stage-removed"],
)
def test_the_worker_ignores_an_event_the_tenant_s_current_settings_refuse(
    post_webhook, tenant, change, reason
):
    """Stored while the settings allowed it, processed after they changed: no order."""
    assert post_webhook(signed()).json()["status"] == "accepted"
    Tenant.objects.filter(pk=tenant.pk).update(**change)
    event = InboundEvent.objects.get()
    # The tenant's Lever URL is a closed port: any Lever call would fail the event instead.
    assert inbound_process(event_id=event.pk) is None
    event.refresh_from_db()
    assert event.state == InboundEvent.State.IGNORED and event.outcome == "ignored"
    assert reason in event.reason
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_snapshot_of_a_deleted_tenant_is_an_error_not_a_duplicate():
    tenant = TenantFactory(
        name="Gone Ltd",
        slug="gone",
        no_secrets=True,
        backcheck_base_url="",
        trigger_stage_ids=[TRIGGER_STAGE],
        lever_signature_token=SIGNATURE_TOKEN,
        packages=[{"code": "std", "name": "Standard", "is_default": True}],
    )
    snapshot = webhook_tenant_get(webhook_id=tenant.webhook_id)
    tenant.delete()
    body = signed()
    with pytest.raises(IntegrityError):  # the endpoint answers 503, so Lever retries
        lever_webhook_store(tenant=snapshot, body=body, raw=json.dumps(body))
    assert not InboundEvent.objects.exists()
