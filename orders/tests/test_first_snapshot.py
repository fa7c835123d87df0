"""An order whose create answer was lost still gets its New note, first and once.

The worker can die after Backcheck accepted the order and before the portal recorded the answer;
the first word then comes from a callback (or the re-read after the retried create).
"""

from __future__ import annotations

import pytest

from orders.models import LeverNote, Order
from tests.support.history import apply, dashboard_tenant, make_order

pytestmark = pytest.mark.django_db


def unrecorded_order(tenant) -> Order:
    order = make_order(tenant, status="")
    Order.objects.filter(pk=order.pk).update(state=None)  # no snapshot applied yet
    return Order.objects.get(pk=order.pk)


def statuses(order: Order) -> list[tuple[str, str]]:
    return [
        (note.kind, note.text.splitlines()[1])
        for note in LeverNote.objects.filter(order=order).order_by("created_at", "id")
    ]


def test_a_first_callback_past_initiated_posts_the_new_note_before_its_own():
    order = unrecorded_order(dashboard_tenant("acme"))

    apply(order, status="In Progress")

    assert statuses(order) == [("order", "Status: New"), ("order", "Status: In Progress")]
    assert Order.objects.get(pk=order.pk).status == "In Progress"


def test_with_piecemeal_the_services_note_comes_between_new_and_the_status():
    tenant = dashboard_tenant("acme")
    tenant.piecemeal = True
    tenant.save(update_fields=["piecemeal"])
    order = unrecorded_order(tenant)

    apply(order, status="In Progress", piecemealStatus="In Production")

    assert statuses(order) == [
        ("order", "Status: New"),
        ("piecemeal", "Status: In Production"),
        ("order", "Status: In Progress"),
    ]


def test_the_usual_first_snapshot_initiated_posts_the_new_note_alone():
    order = unrecorded_order(dashboard_tenant("acme"))

    apply(order, status="Initiated", services=[])

    assert statuses(order) == [("order", "Status: New")]
