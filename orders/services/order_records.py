"""The order history's plain lines: facts and people's actions, and the errors the order services
raise when an action does not fit (docs/CONTRACT.md §7)."""

from __future__ import annotations

from connectors.models import Tenant
from orders.models import InboundEvent, Order, OrderAction, StatusEvent


class ActiveOrderExists(Exception):
    def __init__(self, order: Order) -> None:
        super().__init__(f"Order {order.pk} is already active for this opportunity.")
        self.order = order


class InvalidOrderState(Exception):
    """The action does not fit the order's current state (the API answers 409)."""


def order_record_fact(
    *,
    order: Order,
    source: str,
    reason: str,
    actor: str = "",
    inbound_event: InboundEvent | None = None,
) -> StatusEvent:
    """A line in the order's history that changes no status (an action, a refusal, a note)."""
    return StatusEvent.objects.create(
        order=order,
        inbound_event=inbound_event,
        source=source,
        outcome=StatusEvent.Outcome.RECORDED,
        actor=actor,
        from_status=order.status,
        to_status=order.status,
        reason=reason[:500],
    )


def active_order_for(*, tenant: Tenant, opportunity_id: str) -> Order | None:
    return Order.objects.filter(
        tenant=tenant, opportunity_id=opportunity_id, is_active=True
    ).first()


def order_record_action(order: Order, actor: str, action: str, reason: str) -> None:
    """A person's action on a case: audited, and a line in the case's timeline."""
    OrderAction.objects.create(order=order, actor=actor, action=action)
    order_record_fact(order=order, source=StatusEvent.Source.ACTION, actor=actor, reason=reason)
