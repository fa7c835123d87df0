"""One filter definition (orders/filters.py, docs/CONTRACT.md §5 "Order filters"): the same
parameters answer the same rows on the orders list, in its CSV export and from the order API."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.test import override_settings

from connectors.models import Tenant
from orders.filters import OrderFilter
from orders.models import Order
from tests.support.history import make_order

pytestmark = pytest.mark.django_db


def _page_ids(client, query: str) -> set[int]:
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    return {o.pk for o in response.context["page"].object_list}


def _csv_ids(client, query: str) -> set[int]:
    response = client.get(f"/orders/export.csv?{query}")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return {int(row[0]) for row in rows[1:]}


def _api_ids(client, query: str) -> set[int]:
    response = client.get(f"/api/v1/orders/?{query}")
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def _everywhere(client, query: str) -> set[int]:
    page, export, api = _page_ids(client, query), _csv_ids(client, query), _api_ids(client, query)
    assert page == export == api, (query, page, export, api)
    return page


@pytest.fixture
def orders(tenants):
    acme, globex = tenants
    return {
        "ada": make_order(
            acme,
            name="Ada Lovelace",
            email="Ada.Lovelace@Example.com",
            order_number="BC-2026-000123",
            opportunity_id="250d8f03-738a-4bba-a671-8a3d73477145",
            status="Completed",
            score="Green",
        ),
        "grace": make_order(acme, name="Grace Hopper", email="grace@navy.example", score="Red"),
        "pending": make_order(acme, name="Pending Person", status=""),
        "theirs": make_order(globex, name="Ada Other", email="ada@globex.example"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=lovelace@example", {"ada"}),  # email: case-insensitive substring
        ("q=ADA.LOVELACE%40EXAMPLE.COM", {"ada"}),  # …which includes the whole address
        ("q=bc-2026-000123", {"ada"}),  # reference number, as typed in lower case
        ("q=https://hire.lever.co/candidates/250d8f03-738a-4bba-a671-8a3d73477145", {"ada"}),
        ("q=hopper", {"grace"}),
        ("score=Red", {"grace"}),
        ("status=Completed", {"ada"}),
        ("tenant=acme&q=ada", {"ada"}),
        ("tenant=globex", set()),  # not Alice's tenant: nothing, never "all tenants"
        ("", {"ada", "grace", "pending"}),
    ],
)
def test_the_same_filter_answers_the_same_rows_on_page_csv_and_api(alice, orders, query, expected):
    assert _everywhere(alice, query) == {orders[name].pk for name in expected}


def test_an_order_id_typed_in_the_search_finds_that_order(alice, orders):
    assert _everywhere(alice, f"q={orders['grace'].pk}") >= {orders["grace"].pk}


@override_settings(TIME_ZONE="America/Toronto")
def test_created_days_are_half_open_days_of_the_configured_time_zone(alice, tenants):
    acme, _ = tenants
    late = make_order(acme, name="Late Evening")  # 22:00 on the 19th in Toronto
    early = make_order(acme, name="Early Morning")  # 00:00 on the 20th in Toronto, exactly
    Order.objects.filter(pk=late.pk).update(created_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    Order.objects.filter(pk=early.pk).update(created_at=datetime(2026, 11, 20, 5, 0, tzinfo=UTC))
    on_20th = "created_from=2026-11-20&created_to=2026-11-20"
    assert _everywhere(alice, on_20th) == {early.pk}
    assert _everywhere(alice, "created_to=2026-11-19") == {late.pk}


def test_date_filters_are_ranges_on_the_column_so_its_index_serves_them():
    filterset = OrderFilter({"created_from": "2026-11-01", "created_to": "2026-11-30"})
    assert filterset.is_valid()
    sql = str(filterset.qs.query).lower()
    # A cast or a time-zone conversion of created_at hides it from the (tenant, created_at) index.
    assert "::date" not in sql and "at time zone" not in sql and "django_datetime" not in sql
    assert '"orders_order"."created_at" >=' in sql and '"orders_order"."created_at" <' in sql


def test_the_page_drops_a_bad_value_but_the_api_answers_400_naming_it(alice, orders):
    everything = {orders[n].pk for n in ("ada", "grace", "pending")}
    assert _page_ids(alice, "score=Purple") == everything
    response = alice.get("/api/v1/orders/?score=Purple&active=maybe")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"score", "active"}


def test_pending_is_the_empty_status_on_the_page(alice, orders):
    assert _page_ids(alice, "status=pending") == {orders["pending"].pk}


def test_tenant_lists_leave_every_encrypted_column_unloaded(tenants):
    secret = set(Tenant.secret_field_names())
    assert secret == {
        "lever_api_key",
        "lever_signature_token",
        "lever_signature_token_previous",
        "backcheck_client_id",
        "backcheck_client_secret",
    }
    tenant = Tenant.objects.without_secrets().get(slug="acme")
    assert secret <= tenant.get_deferred_fields()
    assert "name" not in tenant.get_deferred_fields()
