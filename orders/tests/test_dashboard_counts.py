"""The orders list's counts at scale (orders/selectors/counts.py): exact from the hourly counts
PostgreSQL keeps (migrations 0008 and 0011), bounded when the filters need the rows themselves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection

from orders.models import Order
from orders.selectors import counts
from orders.services.order_counts import order_counts_fold
from tests.support.history import make_order

pytestmark = pytest.mark.django_db


def _hour_rows(tenant, table: str = "orders_order_counts") -> dict[tuple[datetime, str], int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT hour, status, SUM(n) FROM {table} WHERE tenant_id = %s "  # noqa: S608
            "GROUP BY hour, status HAVING SUM(n) <> 0",
            [tenant.pk],
        )
        return {(hour, status): int(n) for hour, status, n in cursor.fetchall()}


def _pending_deltas() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM orders_order_hour_delta")
        return cursor.fetchone()[0]


def _live(tenant) -> dict[tuple[datetime, str], int]:
    rows: dict[tuple[datetime, str], int] = {}
    for created, status in Order.objects.filter(tenant=tenant).values_list("created_at", "status"):
        key = (
            created.astimezone(UTC).replace(minute=0, second=0, microsecond=0, tzinfo=None),
            status,
        )
        rows[key] = rows.get(key, 0) + 1
    return rows


def test_the_hourly_counts_follow_every_write_to_orders(postgres, tenants):
    acme, globex = tenants
    a = make_order(acme, status="Initiated")
    b = make_order(acme, status="In Progress")
    make_order(globex, status="Completed")
    assert _hour_rows(acme) == _live(acme)
    Order.objects.filter(pk=a.pk).update(status="Completed")  # a callback's status change
    Order.objects.filter(pk=b.pk).update(created_at=datetime(2026, 1, 5, 10, 30, tzinfo=UTC))
    assert _hour_rows(acme) == _live(acme)
    Order.objects.filter(pk=b.pk).update(tenant=globex)
    assert _hour_rows(acme) == _live(acme) and _hour_rows(globex) == _live(globex)
    Order.objects.filter(pk=a.pk).delete()
    assert _hour_rows(acme) == _live(acme) == {}


def test_folding_moves_the_deltas_into_the_counts_and_changes_no_total(postgres, tenants):
    acme, globex = tenants
    a = make_order(acme, status="Initiated")
    make_order(acme, status="Initiated")
    make_order(globex, status="Completed")
    Order.objects.filter(pk=a.pk).update(status="Completed")
    assert _pending_deltas() == 5  # three inserts, and a status change's -1 and +1
    assert _hour_rows(acme, "orders_order_hour_count") == {}  # nothing folded yet
    before = (_hour_rows(acme), _hour_rows(globex))

    assert order_counts_fold() == 5
    assert _pending_deltas() == 0
    assert (_hour_rows(acme), _hour_rows(globex)) == before == (_live(acme), _live(globex))
    assert _hour_rows(acme, "orders_order_hour_count") == _live(acme)

    Order.objects.filter(pk=a.pk).update(status="Error")  # later changes add to folded counts
    assert _hour_rows(acme) == _live(acme)
    assert order_counts_fold() == 2 and _hour_rows(acme) == _live(acme)
    assert order_counts_fold() == 0


def test_the_page_counts_from_the_hours_exactly_and_from_rows_when_filtered(
    postgres, alice, tenants
):
    acme, _ = tenants
    for status in ("In Progress", "In Progress", "Completed", "Error"):
        make_order(acme, status=status, score="Green" if status == "Completed" else "")
    # Only the hourly counts can know about this one: the rows say otherwise.
    order_counts_fold()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orders_order_hour_count SET n = n + 5 WHERE tenant_id = %s AND status = %s",
            [acme.pk, "Error"],
        )
    plain = dict((c["status"], c["count"]) for c in alice.get("/").context["counts"])
    assert plain["Error"] == 6 and plain["In Progress"] == 2
    searched = dict((c["status"], c["count"]) for c in alice.get("/?q=ada").context["counts"])
    assert searched["Error"] == 1 and searched["In Progress"] == 2


def test_bounded_counts_stop_at_the_cap_and_say_so(alice, tenants, monkeypatch):
    acme, _ = tenants
    for _ in range(4):
        make_order(acme, status="In Progress", score="Red")
    monkeypatch.setattr(counts, "COUNT_CAP", 3)
    monkeypatch.setattr("orders.selectors.order_list.COUNT_CAP", 3)
    response = alice.get("/?score=Red")
    by_status = dict((c["status"], c["count"]) for c in response.context["counts"])
    # Read from the newest cap + 1 rows: lower bounds, each flagged.
    assert str(by_status["In Progress"]) == "4+" and str(by_status["Completed"]) == "0+"
    assert "4+ orders" in response.content.decode()
    assert response.context["listing"].chart.too_many == 3


def test_active_false_is_a_filter_the_hourly_counts_cannot_answer(postgres, alice, tenants):
    acme, _ = tenants
    make_order(acme, status="In Progress")
    make_order(acme, status="Completed")
    counted = dict((c["status"], c["count"]) for c in alice.get("/?active=false").context["counts"])
    assert counted["In Progress"] == 0 and counted["Completed"] == 1


def test_a_user_with_no_tenants_sees_empty_pages_not_an_error(client, account_manager):
    client.force_login(account_manager)  # manages no tenant: every scoped query matches nothing
    for url in ("/", "/?q=ada", "/attention/"):
        assert client.get(url).status_code == 200, url
