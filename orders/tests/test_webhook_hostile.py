"""Hostile deliveries to the Lever webhook: unsigned floods, replays, deep nesting."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import InboundEvent
from tests.support.factories import TenantFactory
from tests.support.lever import signed

pytestmark = pytest.mark.django_db


def unsigned_test(padding: int = 0) -> dict:
    body = signed(data={}, event="candidateHired", token_secret="not-this-tenants-token")
    if padding:
        body["padding"] = "x" * padding
    return body


# --- unsigned Verify Connection deliveries --------------------------------------------------


def test_an_unsigned_test_delivery_keeps_only_its_hash_and_first_kib(post_webhook):
    body = unsigned_test(padding=200 * 1024)
    raw = json.dumps(body).encode()
    response = post_webhook(None, raw=raw)
    assert response.status_code == 200 and response.json() == {"status": "test"}
    event = InboundEvent.objects.get()
    assert event.signature_verified is False
    assert len(event.raw_body) == 1024 and raw.decode().startswith(event.raw_body)
    assert event.payload_hash == hashlib.sha256(raw).hexdigest()


def test_unsigned_test_deliveries_are_rate_limited_per_tenant(post_webhook, tenant):
    for _ in range(20):  # the hourly allowance
        assert post_webhook(unsigned_test()).status_code == 200
    refused = post_webhook(unsigned_test())
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited" and refused.json()["detail"]
    assert InboundEvent.objects.count() == 20
    # Signed deliveries are not counted and not limited.
    assert post_webhook(signed(data={}, event="candidateHired")).json() == {"status": "test"}
    assert post_webhook(signed()).json() == {"status": "accepted"}
    # Another tenant has its own allowance.
    other = TenantFactory(name="Other", slug="other", trigger_stage_ids=["x"], no_secrets=True)
    assert post_webhook(unsigned_test(), webhook_id=other.webhook_id).status_code == 200


def test_old_unsigned_test_deliveries_are_pruned(post_webhook, tenant):
    post_webhook(unsigned_test())
    post_webhook(signed(data={}, event="candidateHired"))
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(days=8))
    post_webhook(unsigned_test())
    kept = InboundEvent.objects.order_by("pk")
    assert [e.signature_verified for e in kept] == [True, False]
    assert kept[1].received_at > timezone.now() - timedelta(minutes=1)


# --- replays of a signed test delivery --------------------------------------------------------


def test_a_signed_test_delivery_cannot_be_replayed_as_a_stage_change(post_webhook, tenant):
    test = signed(data={}, event="candidateHired")
    assert post_webhook(test).json() == {"status": "test"}
    # Only token and triggeredAt are signed: the same three values with new data.
    replay = {**test, "event": "candidateStageChange", "id": "evt-replay"}
    replay["data"] = signed()["data"]
    response = post_webhook(replay)
    assert response.status_code == 200 and response.json() == {"status": "duplicate"}
    assert InboundEvent.objects.count() == 1  # nothing opened, nothing queued
    assert InboundEvent.objects.get().lever_token == test["token"]


def test_a_token_is_single_use_across_all_of_a_tenants_events(post_webhook, tenant):
    change = signed()
    assert post_webhook(change).json() == {"status": "accepted"}
    test_with_same_token = {**change, "data": {}, "id": "evt-other"}
    assert post_webhook(test_with_same_token).json() == {"status": "duplicate"}
    again = signed(data={}, event="candidateHired")
    assert post_webhook(again).json() == {"status": "test"}
    assert post_webhook(again).json() == {"status": "duplicate"}
    assert InboundEvent.objects.count() == 2


# --- deeply nested JSON -------------------------------------------------------------------------


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_on_the_webhook_is_a_400_with_the_error_shape(post_webhook, opener):
    raw = (opener * (60_000 // len(opener))).encode()  # under the 256 KiB limit
    response = post_webhook(None, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json" and response.json()["detail"]
    assert not InboundEvent.objects.exists()


def test_deeply_nested_json_on_the_callback_is_a_400_with_the_error_shape(client):
    response = client.post(
        "/api/v1/callbacks/backcheck/",
        data=b"[" * 60_000,
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json" and response.json()["detail"]


def test_a_nested_but_reasonable_body_still_parses(post_webhook):
    body = signed(data={}, event="candidateHired")
    body["extra"] = json.loads("[" * 40 + "]" * 40)
    body["text"] = '[{"\\"' * 100  # brackets inside a string are not nesting
    assert post_webhook(body).json() == {"status": "test"}
