"""An order's pending callback password is encrypted bound to its order
(connectors/crypto.py, enc:v2)."""

import pytest
from django.db import connection

from orders.models import Order
from tests.support.factories import TenantFactory


@pytest.mark.django_db
def test_the_order_callback_password_is_bound_to_its_order():
    tenant = TenantFactory()
    order = Order.objects.create(
        tenant=tenant, opportunity_id="opp-1", pending_callback_password="pw-" + "x" * 30
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pending_callback_password FROM orders_order WHERE id = %s", [order.pk]
        )
        (stored,) = cursor.fetchone()
    assert stored.startswith(f"enc:v2:test-k1:{order.reference}:")
    assert Order.objects.get(pk=order.pk).pending_callback_password.reveal() == "pw-" + "x" * 30
