"""Property: whatever order callbacks arrive in, with duplicates, the stored order ends as the
in-order delivery leaves it, through the real endpoint and database."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.backcheck.credentials import generate_callback_credentials, hash_callback_password
from connectors.backcheck.fake.script import (
    DEFAULT_SERVICES,
    apply_step,
    callback_body,
    new_screening,
)
from orders.models import LeverNote, Order, StatusEvent

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SCRIPTS = {
    "standard": [
        ("consent", ()),
        ("complete-service", ("Criminal Record Check", "Green")),
        ("complete", ("Green",)),
    ],
    "error-then-recover": [
        ("consent", ()),
        ("error", ("Expired",)),
        ("consent", ()),
        ("complete", ("Red",)),
    ],
    "cancel": [("consent", ()), ("cancel", ())],
}


def _callbacks(script: str, reference: str) -> list[dict]:
    state = new_screening(
        screening_id="scr_prop",
        order_number="BC-2026-000777",
        client_reference_id=reference,
        package_id="std-ca",
        at=START,
        services=DEFAULT_SERVICES,
    )
    bodies = []
    for index, (step, args) in enumerate(SCRIPTS[script], start=1):
        state = apply_step(state, step, args, at=START.replace(minute=index))
        bodies.append(callback_body(state))
    return bodies


def _new_order(tenant) -> tuple[Order, str]:
    username, password = generate_callback_credentials()
    order = Order.objects.create(
        tenant=tenant,
        opportunity_id=f"opp-{Order.objects.count()}",
        candidate_name="Ada",
        candidate_email="ada@example.com",
        package_code="std-ca",
        package_name="Standard Canada",
        callback_username=username,
        callback_password_hash=hash_callback_password(password),
        submit_state=Order.SubmitState.SUBMITTED,
        screening_id="scr_prop",
    )
    header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    return order, header


def _final(order: Order) -> tuple:
    order.refresh_from_db()
    services = tuple(order.services.values_list("name", "status", "score"))
    return (
        order.status,
        order.piecemeal_status,
        order.score,
        order.report_url,
        order.is_active,
        services,
    )


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=st.sampled_from(sorted(SCRIPTS)), data=st.data())
def test_any_arrival_order_with_duplicates_ends_in_the_in_order_state(client, tenant, script, data):
    tenant.piecemeal = True
    tenant.save()
    in_order, header = _new_order(tenant)
    for body in _callbacks(script, str(in_order.reference)):
        client.post(
            "/api/v1/callbacks/backcheck/",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=header,
        )
    expected = _final(in_order)

    shuffled, header = _new_order(tenant)
    bodies = _callbacks(script, str(shuffled.reference))
    arrivals = data.draw(
        st.permutations(bodies + data.draw(st.lists(st.sampled_from(bodies), max_size=4)))
    )
    outcomes = []
    for body in arrivals:
        response = client.post(
            "/api/v1/callbacks/backcheck/",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=header,
        )
        assert response.status_code == 200
        outcomes.append(response.json()["status"])
    assert _final(shuffled) == expected
    assert outcomes.count("applied") <= len(bodies)
    assert set(outcomes) <= {"applied", "stale", "duplicate"}
    # Never more notes than in-order delivery posts, and no note text twice in a row.
    texts = list(LeverNote.objects.filter(order=shuffled).values_list("text", flat=True))
    assert len(texts) <= LeverNote.objects.filter(order=in_order).count()
    assert all(a != b for a, b in zip(texts, texts[1:], strict=False))
    assert StatusEvent.objects.filter(order=shuffled).count() == len(arrivals)
