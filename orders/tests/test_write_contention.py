"""Writers of one tenant's orders never wait on each other's locks (PostgreSQL).

Applying a callback locks its order and nothing shared with the tenant's other work: not the
tenant row (every insert that references the tenant checks it when it commits, so workers that
waited on it deadlocked under load), and not a count row shared with the tenant's other orders
(the hourly counts take deltas, migration 0011). Each test holds one writer's transaction open on
a second connection and checks that the other writer gets through within a lock timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from orders.models import Order
from tests.support.factories import TenantFactory
from tests.support.history import apply, make_order
from tests.support.services import service_unavailable

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres() -> None:
    if connection.vendor != "postgresql":
        service_unavailable("row locks need PostgreSQL (DATABASE_URL)")


@contextmanager
def held_open(write: Callable[[], None]) -> Iterator[None]:
    """Run `write` in a transaction on another connection, and keep it open until the block ends."""
    holding, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with transaction.atomic():
                write()
                holding.set()
                release.wait(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failure.append(exc)
            holding.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        assert not failure, failure
        yield
    finally:
        release.set()
        thread.join(timeout=30)
    assert not failure, failure


def within_lock_timeout(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '2s'")
        cursor.execute(sql, params)


def test_applying_a_callback_leaves_the_tenant_row_free_for_other_writers():
    tenant = TenantFactory()
    order = make_order(tenant, status="In Progress")
    with held_open(lambda: apply(order, status="Completed", score="Green")):
        # What PostgreSQL does when another worker's insert of a note, an order or an event
        # for this tenant commits (the foreign key check).
        within_lock_timeout(
            "SELECT 1 FROM connectors_tenant WHERE id = %s FOR KEY SHARE", [tenant.pk]
        )
    assert Order.objects.get(pk=order.pk).status == "Completed"


def test_two_status_changes_of_one_tenant_in_one_hour_do_not_wait_on_a_count_row():
    tenant = TenantFactory()
    first, second = (make_order(tenant, status="In Progress") for _ in range(2))
    with held_open(lambda: apply(first, status="Completed", score="Green")):
        # Same tenant, hour and statuses as the open transaction's change.
        within_lock_timeout(
            "UPDATE orders_order SET status = 'Completed' WHERE id = %s", [second.pk]
        )
    assert set(Order.objects.values_list("status", flat=True)) == {"Completed"}
