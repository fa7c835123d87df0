"""Order API (docs/CONTRACT.md §5): tenant-scoped list/detail, resync and cancel."""

from __future__ import annotations

import pytest

from connectors.backcheck.credentials import generate_callback_credentials, hash_callback_password
from integration_portal.api_tokens.models import ApiToken
from orders.models import LeverNote, Order, OrderAction, StatusEvent

pytestmark = pytest.mark.django_db

VIEW = {
    "status": "In Progress",
    "order_number": "BC-2026-000001",
    "piecemeal_status": None,
    "score": None,
    "report_url": None,
    "completed_at": None,
    "error_message": None,
    "services": [],
    "last_updated_at": "2026-11-24T09:00:00+00:00",
    "last_rank": 1,
}


def _order(tenant, *, status="In Progress", opportunity_id="opp-1", **fields) -> Order:
    username, password = generate_callback_credentials()
    values = {
        "candidate_name": "Ada Lovelace",
        "candidate_email": "ada@example.com",
        "package_code": "std-ca",
        "package_name": "Standard Canada",
        "screening_id": "scr_1",
        "order_number": "BC-2026-000001",
        **fields,
    }
    return Order.objects.create(
        tenant=tenant,
        opportunity_id=opportunity_id,
        callback_username=username,
        callback_password_hash=hash_callback_password(password),
        submit_state=Order.SubmitState.SUBMITTED,
        status=status,
        state=dict(VIEW, status=status),
        is_active=status in ("Initiated", "In Progress"),
        **values,
    )


@pytest.fixture
def am_client(client, account_manager, tenant):
    tenant.account_managers.add(account_manager)
    client.force_login(account_manager)
    return client


def test_the_list_shows_only_the_users_tenants(am_client, tenant, other_tenant):
    mine = _order(tenant)
    _order(other_tenant)
    response = am_client.get("/api/v1/orders/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["results"][0]["id"] == mine.pk
    assert body["results"][0]["lever_status"] == "In Progress"


def test_filters_and_search(am_client, tenant):
    _order(tenant, status="Completed", opportunity_id="opp-a", score="Green")
    _order(tenant, status="In Progress", opportunity_id="opp-b", candidate_email="b@example.com")
    assert am_client.get("/api/v1/orders/?status=Completed").json()["count"] == 1
    assert am_client.get("/api/v1/orders/?score=Green").json()["count"] == 1
    assert am_client.get("/api/v1/orders/?q=opp-b").json()["count"] == 1
    assert am_client.get("/api/v1/orders/?q=ada").json()["count"] == 2


def test_a_bad_filter_is_400_naming_it(am_client):
    response = am_client.get("/api/v1/orders/?status=Done&created_from=yesterday")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"status", "created_from"}


def test_detail_carries_history_services_and_notes(am_client, tenant):
    order = _order(tenant)
    StatusEvent.objects.create(
        order=order,
        source="callback",
        outcome="applied",
        from_status="Initiated",
        to_status="In Progress",
    )
    LeverNote.objects.create(
        tenant=tenant,
        order=order,
        opportunity_id="opp-1",
        kind="order",
        text="Sterling Backcheck background check\nStatus: In Progress",
    )
    body = am_client.get(f"/api/v1/orders/{order.pk}/").json()
    assert body["history"][0]["to_status"] == "In Progress"
    assert body["notes"][0]["text"].endswith("Status: In Progress")
    assert "callback_password_hash" not in body and "callback_username" not in body


def test_another_tenants_order_is_404_on_every_endpoint(am_client, other_tenant):
    theirs = _order(other_tenant)
    for method, path in [("get", ""), ("post", "resync/"), ("post", "cancel/")]:
        response = getattr(am_client, method)(f"/api/v1/orders/{theirs.pk}/{path}")
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
    assert not OrderAction.objects.exists()


def test_anonymous_requests_are_refused(client, tenant):
    order = _order(tenant)
    assert client.get("/api/v1/orders/").status_code in (401, 403)
    assert client.post(f"/api/v1/orders/{order.pk}/resync/").status_code in (401, 403)


def test_token_auth_works_for_scripts(client, account_manager, tenant):
    tenant.account_managers.add(account_manager)
    _order(tenant)
    _, token = ApiToken.issue(user=account_manager)
    response = client.get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200 and response.json()["count"] == 1


def test_resync_queues_the_current_notes_again_and_is_audited(am_client, tenant):
    order = _order(tenant)
    LeverNote.objects.create(
        tenant=tenant,
        order=order,
        opportunity_id="opp-1",
        kind="order",
        state="delivered",
        text="Sterling Backcheck background check\nStatus: In Progress\n"
        "Reference number: BC-2026-000001\nPackage: Standard Canada",
    )
    response = am_client.post(f"/api/v1/orders/{order.pk}/resync/")
    assert response.status_code == 202 and response.json() == {"status": "queued"}
    resync = LeverNote.objects.get(order=order, is_resync=True)
    assert resync.state == "pending"  # the same text again: a resync is never deduplicated
    assert OrderAction.objects.get(order=order).action == "resync"


def test_cancel_of_an_active_order_is_queued_and_the_status_waits_for_backcheck(am_client, tenant):
    order = _order(tenant)
    response = am_client.post(f"/api/v1/orders/{order.pk}/cancel/")
    assert response.status_code == 202
    order.refresh_from_db()
    assert order.status == "In Progress" and order.cancel_requested_at is not None


@pytest.mark.parametrize("status", ["Completed", "Canceled", "Error"])
def test_cancel_of_a_finished_order_is_409(am_client, tenant, status):
    order = _order(tenant, status=status)
    response = am_client.post(f"/api/v1/orders/{order.pk}/cancel/")
    assert response.status_code == 409
    assert response.json()["error"] == "invalid_state"


def test_the_schema_describes_the_endpoints(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    text = response.content.decode()
    for path in (
        "/api/v1/orders/",
        "/api/v1/webhooks/lever/{webhook_id}/",
        "/api/v1/callbacks/backcheck/",
    ):
        assert path in text
