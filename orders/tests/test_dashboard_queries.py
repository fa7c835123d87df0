"""Each page runs the same number of queries with 10 rows as with 1,000 (no N+1)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import LeverNote, Order
from orders.selectors.attention import attention_count
from tests.support.history import (
    bulk_history,
    bulk_orders,
    dashboard_tenant,
    failed_event,
    failed_note,
    make_order,
)

pytestmark = pytest.mark.django_db


def _count(client, url, params=None) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200, url
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


def _no_time(sql: str) -> str:
    # Timestamp literals as PostgreSQL ('…'::timestamptz) and SQLite ('2026-01-01 10:00:00.1')
    # render them: "now" moves between two page loads.
    sql = re.sub(r"'[^']*'::timestamptz", "'…'", sql)
    return re.sub(r"'\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d)?'", "'…'", sql)


def _seed(tenant, n: int) -> None:
    bulk_orders(tenant, n)
    orders = list(Order.objects.filter(tenant=tenant).order_by("pk")[: max(1, n // 10)])
    for order in orders:
        failed_note(order)
        failed_event(tenant, opportunity_id=order.opportunity_id)


@pytest.fixture
def alice(client, account_manager):
    client.force_login(account_manager)
    return client


@pytest.mark.parametrize(
    "params",
    [{}, {"attention": "on"}, {"q": "candidate", "sort": "candidate"}, {"status": "Completed"}],
    ids=["plain", "attention", "search", "status"],
)
def test_orders_list_queries_do_not_grow_with_rows(alice, account_manager, params):
    small = dashboard_tenant("small", managers=(account_manager,))
    _seed(small, 10)
    few, _ = _count(alice, "/", params)
    big = dashboard_tenant("big", managers=(account_manager,))
    _seed(big, 1000)
    many, sql = _count(alice, "/", params)
    assert few == many, sql
    # The Needs attention link's count is counted by its own queries, the same on every page.
    with CaptureQueriesContext(connection) as ctx:
        attention_count(user=account_manager)
    attention_sql = {_no_time(q["sql"]) for q in ctx.captured_queries}
    assert attention_sql and attention_sql <= {_no_time(q) for q in sql}
    count_queries = [
        q
        for q in sql
        if "COUNT(" in q.upper()
        and "GROUP BY" not in q.upper()
        and _no_time(q) not in attention_sql
    ]
    assert count_queries == [], "pagination must take its total from the status counts"


def test_csv_export_queries_do_not_grow_with_rows(alice, account_manager):
    tenant = dashboard_tenant("t", managers=(account_manager,))
    bulk_orders(tenant, 10)
    few, _ = _count(alice, reverse("order-export"))
    bulk_orders(tenant, 1000, start=10)
    many, _ = _count(alice, reverse("order-export"))
    assert few == many


def test_case_detail_queries_do_not_grow_with_history(alice, account_manager):
    tenant = dashboard_tenant("t", managers=(account_manager,))
    small, big = make_order(tenant), make_order(tenant)
    bulk_history(small, 10)
    bulk_history(big, 1000)
    failed_note(small)
    failed_note(big)
    few, _ = _count(alice, reverse("order-detail", args=[small.pk]))
    many, sql = _count(alice, reverse("order-detail", args=[big.pk]))
    assert few == many, sql
    assert LeverNote.objects.filter(order=big).count() > 250


def test_attention_queries_do_not_grow_with_rows(alice, account_manager):
    tenant = dashboard_tenant("t", managers=(account_manager,))
    _seed(tenant, 10)
    few, _ = _count(alice, reverse("attention"))
    _seed(dashboard_tenant("u", managers=(account_manager,)), 1000)
    many, sql = _count(alice, reverse("attention"))
    assert few == many, sql


@pytest.mark.parametrize(
    "model", ["order", "levernote", "inboundevent", "statusevent", "noteattempt"]
)
def test_admin_changelist_queries_do_not_grow_with_rows(client, super_admin, model):
    client.force_login(super_admin)
    tenant = dashboard_tenant("t")
    _seed(tenant, 10)
    bulk_history(Order.objects.first(), 10)
    url = reverse(f"admin:orders_{model}_changelist")
    few, _ = _count(client, url)
    _seed(dashboard_tenant("u"), 1000)
    bulk_history(Order.objects.last(), 1000)
    many, sql = _count(client, url)
    assert few == many, sql
