"""The two public write endpoints under attack (docs/CONTRACT.md §5): forged, stale, oversize and
malformed requests are refused with nothing written anywhere; a replayed delivery creates
nothing; one order's callback credentials do not open another order."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid

import pytest
from django.apps import apps
from django.test import Client

from connectors.backcheck.credentials import hash_callback_password
from connectors.lever.signature import compute_signature
from connectors.models import Tenant
from orders.models import InboundEvent, LeverNote, Order, StatusEvent
from tests.support.factories import TenantFactory

pytestmark = [pytest.mark.django_db]

TOKEN = "security-signature-token-0123456789"
STAGE = "stage-background-check"
CALLBACK = "/api/v1/callbacks/backcheck/"


def _rows() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in ("orders", "connectors", "auth", "sessions", "api_tokens")
        for model in apps.get_app_config(app).get_models()
    }


def _webhook(*, token_key: str = TOKEN, triggered_at: int | None = None, **data) -> dict:
    token = secrets.token_hex(16)
    triggered_at = triggered_at or int(time.time() * 1000)
    return {
        "id": str(uuid.uuid4()),
        "event": "candidateStageChange",
        "triggeredAt": triggered_at,
        "token": token,
        "signature": compute_signature(token_key, token, triggered_at),
        "data": {
            "opportunityId": "opp-1",
            "toStageId": STAGE,
            "fromStageId": "lead-new",
            "candidateId": "opp-1",
            "contactId": "c-1",
            **data,
        },
    }


@pytest.fixture
def tenant(db) -> Tenant:
    return TenantFactory(
        name="Acme",
        slug="acme",
        trigger_stage_ids=[STAGE],
        lever_signature_token=TOKEN,
        lever_api_key="acme-lever-key-0123456789abcdef",
        backcheck_base_url="",
        backcheck_client_id=None,
        backcheck_client_secret=None,
        packages=[{"code": "std", "name": "Standard", "is_default": True}],
    )


def _post(client: Client, url: str, body, **extra):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(url, data=raw, content_type="application/json", **extra)


@pytest.mark.parametrize(
    "case",
    [
        "forged_signature",
        "other_tenants_token",
        "stale",
        "from_the_future",
        "oversize",
        "not_json",
        "json_array",
        "missing_opportunity",
        "unknown_webhook_id",
    ],
)
def test_a_bad_webhook_is_refused_and_writes_nothing(tenant, case):
    other = TenantFactory(
        name="Other",
        slug="other",
        no_secrets=True,
        lever_base_url="http://x.test/v1",
        lever_signature_token="other-token-abcdefghijklmnopqrstuv",
    )
    url = f"/api/v1/webhooks/lever/{tenant.webhook_id}/"
    body: object = _webhook()
    expected = 401
    if case == "forged_signature":
        body["signature"] = "0" * 64
    elif case == "other_tenants_token":
        body = _webhook(token_key="other-token-abcdefghijklmnopqrstuv")
    elif case == "stale":
        body = _webhook(triggered_at=int((time.time() - 15 * 86400) * 1000))
    elif case == "from_the_future":
        body = _webhook(triggered_at=int((time.time() + 3600) * 1000))
    elif case == "oversize":
        body = _webhook(padding="x" * (300 * 1024))
        expected = 413
    elif case == "not_json":
        body, expected = b"\xff{not json", 400
    elif case == "json_array":
        body, expected = b"[1, 2]", 400
    elif case == "missing_opportunity":
        body = _webhook()
        del body["data"]["opportunityId"]
        expected = 400
    elif case == "unknown_webhook_id":
        url, expected = f"/api/v1/webhooks/lever/{other.webhook_id}x/", 404
    before = _rows()
    response = _post(Client(), url, body)
    assert response.status_code == expected, response.content
    assert set(response.json()) <= {"error", "detail", "fields"}
    if case == "missing_opportunity":
        assert "data.opportunityId" in response.json()["fields"]
    assert _rows() == before


def test_a_replayed_webhook_is_a_duplicate_with_any_id(tenant):
    client = Client()
    url = f"/api/v1/webhooks/lever/{tenant.webhook_id}/"
    body = _webhook()
    assert _post(client, url, body).json() == {"status": "accepted"}
    before = _rows()
    assert _post(client, url, body).json() == {"status": "duplicate"}
    for new_id in (str(uuid.uuid4()), "another-id", None):  # None: the id left out
        replay = (
            dict(body, id=new_id)
            if new_id is not None
            else {k: v for k, v in body.items() if k != "id"}
        )
        response = _post(client, url, replay)
        assert response.status_code == 200 and response.json() == {"status": "duplicate"}, new_id
    assert _rows() == before
    assert InboundEvent.objects.filter(tenant=tenant).count() == 1


def _order(tenant: Tenant, password: str) -> Order:
    return Order.objects.create(
        tenant=tenant,
        opportunity_id="opp-" + secrets.token_hex(4),
        candidate_email="a@x.test",
        package_code="std",
        package_name="Standard",
        callback_username="cb-" + secrets.token_hex(6),
        callback_password_hash=hash_callback_password(password),
        submit_state="submitted",
        screening_id="scr_" + secrets.token_hex(4),
    )


def _callback(order: Order, **changes) -> dict:
    payload = {
        "id": order.screening_id,
        "orderNumber": "BC-1",
        "clientReferenceId": str(order.reference),
        "packageId": "std",
        "status": "In Progress",
        "piecemealStatus": None,
        "score": None,
        "reportUrl": None,
        "updatedAt": "2026-11-25T10:00:00Z",
        "completedAt": None,
        "error": None,
        "services": [],
    }
    payload.update(changes)
    return {"type": "screening", "payload": payload}


def _basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.mark.parametrize(
    "case",
    [
        "no_credentials",
        "malformed_credentials",
        "wrong_password",
        "another_orders_credentials",
        "oversize",
        "malformed_body",
        "unknown_reference",
        "unknown_status",
        "another_screening",
    ],
)
def test_a_bad_callback_is_refused_and_writes_nothing(tenant, case):
    order, other = _order(tenant, "pw-order-1"), _order(tenant, "pw-order-2")
    body: object = _callback(order)
    auth = _basic(order.callback_username, "pw-order-1")
    expected = {
        "no_credentials": 401,
        "malformed_credentials": 401,
        "wrong_password": 401,
        "another_orders_credentials": 401,
        "oversize": 413,
        "malformed_body": 400,
        "unknown_reference": 404,
        "unknown_status": 400,
        "another_screening": 400,
    }[case]
    if case == "no_credentials":
        auth = {}
    elif case == "malformed_credentials":
        auth = {"HTTP_AUTHORIZATION": "Basic !!!not-base64"}
    elif case == "wrong_password":
        auth = _basic(order.callback_username, "pw-guess")
    elif case == "another_orders_credentials":
        auth = _basic(other.callback_username, "pw-order-2")
    elif case == "oversize":
        body = _callback(order, reportUrl="https://r.test/" + "x" * (300 * 1024))
    elif case == "malformed_body":
        body = {"type": "screening", "payload": {"id": 5}}
    elif case == "unknown_reference":
        body = _callback(order, clientReferenceId=str(uuid.uuid4()))
    elif case == "unknown_status":
        body = _callback(order, status="Approved")
    elif case == "another_screening":
        body = _callback(order, id=other.screening_id)
    before = _rows()
    response = _post(Client(), CALLBACK, body, **auth)
    assert response.status_code == expected, response.content
    if expected == 400:
        assert response.json().get("fields"), response.json()
    assert _rows() == before


def test_a_replayed_callback_changes_nothing_and_posts_no_note(tenant):
    order = _order(tenant, "pw-order-1")
    auth = _basic(order.callback_username, "pw-order-1")
    body = _callback(order)
    assert _post(Client(), CALLBACK, body, **auth).json() == {"status": "applied"}
    order.refresh_from_db()
    state, notes = order.state, LeverNote.objects.count()
    for _ in range(3):
        assert _post(Client(), CALLBACK, body, **auth).json() == {"status": "duplicate"}
    order.refresh_from_db()
    assert order.state == state and LeverNote.objects.count() == notes
    assert StatusEvent.objects.filter(order=order, outcome="duplicate").count() == 3
