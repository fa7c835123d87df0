"""The Backcheck callback endpoint, check by check in docs/CONTRACT.md §5's order, and what it applies."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest

from connectors.backcheck.credentials import generate_callback_credentials, hash_callback_password
from orders.models import InboundEvent, LeverNote, Order, StatusEvent

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).parent / "fixtures"
URL = "/api/v1/callbacks/backcheck/"


def _payload(name: str, order: Order) -> dict:
    body = json.loads((FIXTURES / name).read_text())
    body["payload"]["clientReferenceId"] = str(order.reference)
    return body


def _make_order(tenant, *, opportunity_id="opp-1", status="Initiated"):
    username, password = generate_callback_credentials()
    order = Order.objects.create(
        tenant=tenant,
        opportunity_id=opportunity_id,
        candidate_name="José Núñez-O'Brien",
        candidate_email="jose@example.com",
        package_code="std-ca",
        package_name="Standard Canada",
        callback_username=username,
        callback_password_hash=hash_callback_password(password),
        submit_state=Order.SubmitState.SUBMITTED,
        screening_id="scr_4f9a1c2e7b10",
        order_number="BC-2026-000123",
        status=status,
        state={
            "status": status,
            "order_number": "BC-2026-000123",
            "piecemeal_status": None,
            "score": None,
            "report_url": None,
            "completed_at": None,
            "error_message": None,
            "services": [],
            "last_updated_at": "2026-11-24T08:00:00+00:00",
            "last_rank": 0,
        },
    )
    return order, (username, password)


def _auth(creds) -> str:
    return "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()


@pytest.fixture
def post(client):
    def post(body, creds=None, *, raw: bytes | None = None, header: str | None = None):
        headers = {}
        if header is not None:
            headers["HTTP_AUTHORIZATION"] = header
        elif creds is not None:
            headers["HTTP_AUTHORIZATION"] = _auth(creds)
        data = raw if raw is not None else json.dumps(body).encode()
        return client.post(URL, data=data, content_type="application/json", **headers)

    return post


def test_a_valid_callback_is_stored_applied_and_queues_the_notes(post, tenant):
    tenant.piecemeal = True
    tenant.save()
    order, creds = _make_order(tenant)
    response = post(_payload("callback_piecemeal_in_production.json", order), creds)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "applied"}
    order.refresh_from_db()
    assert order.status == "In Progress" and order.piecemeal_status == "In Production"
    assert [s.status for s in order.services.all()] == ["Complete", "Not Started"]
    event = InboundEvent.objects.get(order=order)
    assert event.outcome == "applied" and event.source == "backcheck"
    assert list(LeverNote.objects.filter(order=order).values_list("kind", flat=True)) == [
        "piecemeal",
        "order",
    ]


def test_the_same_callback_twice_is_a_duplicate_and_queues_nothing_more(post, tenant):
    order, creds = _make_order(tenant)
    body = _payload("callback_completed.json", order)
    assert post(body, creds).json() == {"status": "applied"}
    notes = LeverNote.objects.count()
    assert post(body, creds).json() == {"status": "duplicate"}
    assert LeverNote.objects.count() == notes
    assert InboundEvent.objects.filter(order=order).count() == 2


def test_an_older_callback_after_a_newer_one_is_stale(post, tenant):
    order, creds = _make_order(tenant)
    post(_payload("callback_completed.json", order), creds)
    response = post(_payload("callback_piecemeal_in_production.json", order), creds)
    assert response.json() == {"status": "stale"}
    order.refresh_from_db()
    assert order.status == "Completed" and order.score == "Amber"


def test_a_forbidden_transition_is_answered_200_and_recorded_as_rejected(post, tenant):
    order, creds = _make_order(tenant)
    post(_payload("callback_completed.json", order), creds)
    error = _payload("callback_error.json", order)  # newer, but Completed is terminal
    response = post(error, creds)
    assert response.status_code == 200 and response.json() == {"status": "rejected"}
    event = StatusEvent.objects.filter(order=order).last()
    assert event.outcome == "rejected" and event.reason
    order.refresh_from_db()
    assert order.status == "Completed"


def test_missing_or_malformed_credentials_are_401(post, tenant):
    order, _ = _make_order(tenant)
    body = _payload("callback_completed.json", order)
    for header in (
        None,
        "Bearer abc",
        "Basic !!!",
        "Basic " + base64.b64encode(b"nocolon").decode(),
    ):
        response = post(body, header=header) if header else post(body)
        assert response.status_code == 401, header
        assert response.json()["error"] == "unauthorized"
    assert not InboundEvent.objects.exists()


def test_body_over_256_kib_is_413(post, tenant):
    order, creds = _make_order(tenant)
    assert post(None, creds, raw=b"{" + b" " * 300_000 + b"}").status_code == 413


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("payload"), "payload"),
        (lambda b: b["payload"].pop("updatedAt"), "payload.updatedAt"),
        (lambda b: b["payload"].update(services="x"), "payload.services"),
        (lambda b: b["payload"].update(status=3), "payload.status"),
        (lambda b: b.update(type="invoice"), "type"),
    ],
)
def test_a_body_not_of_the_callback_shape_is_400_naming_the_field(post, tenant, mutate, field):
    order, creds = _make_order(tenant)
    body = _payload("callback_completed.json", order)
    mutate(body)
    response = post(body, creds)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not InboundEvent.objects.exists()


def test_unknown_client_reference_is_404(post, tenant):
    order, creds = _make_order(tenant)
    body = _payload("callback_completed.json", order)
    body["payload"]["clientReferenceId"] = "9b2e4c1a-0000-4000-8000-000000000000"
    assert post(body, creds).status_code == 404


def test_another_orders_credentials_are_401(post, tenant):
    order, _ = _make_order(tenant)
    _, other_creds = _make_order(tenant, opportunity_id="opp-2")
    response = post(_payload("callback_completed.json", order), other_creds)
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: p.update(status="Done"), "payload.status"),
        (lambda p: p.update(score="Purple"), "payload.score"),
        (lambda p: p["services"][0].update(score="Blue"), "payload.services[0].score"),
        (lambda p: p.update(id="scr_someone_else"), "payload.id"),
    ],
)
def test_unknown_values_or_another_screening_are_400_after_authentication(
    post, tenant, mutate, field
):
    order, creds = _make_order(tenant)
    body = _payload("callback_completed.json", order)
    mutate(body["payload"])
    response = post(body, creds)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert not InboundEvent.objects.exists()
    # An unknown value with the wrong credentials is a 401: nothing is revealed before auth.
    other = copy.deepcopy(body)
    _, wrong = _make_order(tenant, opportunity_id="opp-3")
    assert post(other, wrong).status_code == 401


def test_secrets_and_credentials_never_appear_in_answers(post, tenant):
    order, creds = _make_order(tenant)
    response = post(_payload("callback_completed.json", order), creds)
    assert creds[1] not in response.content.decode()
