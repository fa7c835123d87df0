"""The Lever webhook endpoint, check by check in docs/CONTRACT.md §5's order."""

from __future__ import annotations

import json
import time

import pytest

from connectors.models import Tenant
from orders.models import InboundEvent
from tests.support.lever import PREVIOUS_TOKEN, SIGNATURE_TOKEN, signed

pytestmark = pytest.mark.django_db


def test_signed_stage_change_to_a_trigger_stage_is_stored_and_accepted(post_webhook, tenant):
    body = signed()
    response = post_webhook(body)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "accepted"}
    event = InboundEvent.objects.get()
    assert event.tenant == tenant and event.lever_token == body["token"]
    assert event.state == InboundEvent.State.RECEIVED and event.signature_verified
    assert json.loads(event.raw_body) == body


def test_body_over_256_kib_is_413_before_anything_else(post_webhook):
    response = post_webhook(None, webhook_id="unknown", raw=b" " * (256 * 1024 + 1))
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert not InboundEvent.objects.exists()


def test_unknown_webhook_id_is_404(post_webhook):
    response = post_webhook(signed(), webhook_id="no-such-id")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe", b""])
def test_a_body_that_is_not_a_json_object_is_400(post_webhook, raw):
    response = post_webhook(None, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"
    assert not InboundEvent.objects.exists()


def test_verify_connection_test_is_answered_and_never_acted_on(post_webhook, tenant):
    response = post_webhook(signed(data={}, event="candidateHired"))
    assert response.status_code == 200 and response.json() == {"status": "test"}
    event = InboundEvent.objects.get()
    assert event.outcome == "test" and event.state == InboundEvent.State.IGNORED
    assert event.signature_verified is True and event.lever_token is not None


def test_verify_connection_test_is_answered_before_the_token_is_known(post_webhook, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(lever_signature_token=None)
    response = post_webhook(signed(data={}, token_secret="whatever-lever-signed-with"))
    assert response.status_code == 200 and response.json() == {"status": "test"}
    assert InboundEvent.objects.get().signature_verified is False


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(signature="0" * 64),
        lambda b: b.pop("signature"),
        lambda b: b.pop("token"),
        lambda b: b.pop("triggeredAt"),
        lambda b: b.update(token=b["token"] + "x"),
        lambda b: b.update(triggeredAt=b["triggeredAt"] + 1),
    ],
    ids=[
        "wrong-signature",
        "no-signature",
        "no-token",
        "no-triggeredAt",
        "token-changed",
        "triggeredAt-changed",
    ],
)
def test_bad_or_missing_signature_fields_are_401_and_nothing_is_written(post_webhook, mutate):
    body = signed()
    mutate(body)
    response = post_webhook(body)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    assert not InboundEvent.objects.exists()


def test_a_delivery_signed_with_another_tenants_token_is_401(post_webhook, other_tenant):
    response = post_webhook(signed(token_secret="sig-token-globex-0123456789"))
    assert response.status_code == 401


def test_previous_token_is_accepted_during_a_change_over(post_webhook, tenant):
    tenant.lever_signature_token_previous = PREVIOUS_TOKEN
    tenant.save()
    response = post_webhook(signed(token_secret=PREVIOUS_TOKEN))
    assert response.status_code == 200 and response.json()["status"] == "accepted"


@pytest.mark.parametrize("offset_s", [-(1209600 + 60), 300 + 60], ids=["stale", "future"])
def test_a_stage_change_outside_the_freshness_window_is_401(post_webhook, offset_s):
    body = signed(triggered_at=int((time.time() + offset_s) * 1000))
    response = post_webhook(body)
    assert response.status_code == 401 and response.json()["error"] == "stale_event"
    assert not InboundEvent.objects.exists()


def test_a_delivery_rerun_from_lever_thirteen_days_later_is_accepted_once(post_webhook):
    """Lever's webhook log lets an admin re-run deliveries of the last two weeks."""
    body = signed(triggered_at=int((time.time() - 13 * 24 * 3600) * 1000))
    assert post_webhook(body).json()["status"] == "accepted"
    assert post_webhook(body).json()["status"] == "duplicate"
    assert InboundEvent.objects.count() == 1


def test_the_freshness_window_does_not_apply_to_other_events(post_webhook):
    old = int((time.time() - 400000) * 1000)
    response = post_webhook(
        signed(event="candidateHired", triggered_at=old, data={"opportunityId": "opp-1"})
    )
    assert response.status_code == 200 and response.json()["status"] == "ignored"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["data"].pop("opportunityId"), "data.opportunityId"),
        (lambda b: b["data"].update(toStageId=42), "data.toStageId"),
        (lambda b: b.update(data="oops"), "data"),
        (lambda b: b.update(event=7), "event"),
        (lambda b: b.update(id=["x"]), "id"),
    ],
)
def test_a_missing_or_ill_typed_field_is_400_naming_it(post_webhook, mutate, field):
    body = signed()
    mutate(body)
    response = post_webhook(body)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not InboundEvent.objects.exists()


def test_same_token_is_a_duplicate_even_with_a_new_id_and_other_data(post_webhook):
    body = signed()
    assert post_webhook(body).json()["status"] == "accepted"
    replay = dict(body, id="another-id", data=dict(body["data"], opportunityId="opp-evil"))
    response = post_webhook(replay)
    assert response.status_code == 200 and response.json() == {"status": "duplicate"}
    assert InboundEvent.objects.count() == 1


def test_same_id_with_a_new_token_is_a_duplicate(post_webhook):
    body = signed(event_id="evt-1")
    post_webhook(body)
    response = post_webhook(signed(event_id="evt-1"))
    assert response.json() == {"status": "duplicate"}
    assert InboundEvent.objects.count() == 1


def test_a_stage_that_is_not_a_trigger_is_stored_and_ignored(post_webhook):
    body = signed(data={"opportunityId": "opp-1", "toStageId": "offer"})
    response = post_webhook(body)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored" and "offer" in response.json()["reason"]
    assert InboundEvent.objects.get().state == InboundEvent.State.IGNORED


def test_an_inactive_tenant_stores_and_ignores(post_webhook, tenant):
    Tenant.objects.filter(pk=tenant.pk).update(is_active=False)
    response = post_webhook(signed())
    assert response.json() == {"status": "ignored", "reason": "The tenant is inactive."}


def test_a_verified_delivery_confirms_the_signature_token(post_webhook, tenant):
    assert tenant.signature_token_confirmed_at is None
    post_webhook(signed())
    tenant.refresh_from_db()
    assert tenant.signature_token_confirmed_at is not None


def test_no_secret_appears_in_any_answer(post_webhook, tenant):
    answers = [post_webhook(signed()), post_webhook(signed(token_secret="bad-token-xyz-123"))]
    assert [r.status_code for r in answers] == [200, 401]
    for response in answers:
        assert SIGNATURE_TOKEN not in response.content.decode()
