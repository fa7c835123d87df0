"""The background work the order flow asks for, published by task name.

Services call these after they commit the row that is the job's truth (docs/CONTRACT.md §7);
publishing waits for the commit, and in a web request for the answer to be sent
(integration_portal/publishing.py). The tasks in orders/tasks.py carry these names and call the
services, so the services never import the tasks: imports go one way, tasks → services → jobs.
"""

from __future__ import annotations

from integration_portal.publishing import enqueue

PROCESS_INBOUND = "orders.process_inbound"
SUBMIT_ORDER = "orders.submit_order"
DELIVER_NOTES = "orders.deliver_notes"
CANCEL_ORDER = "orders.cancel_order"
RECONCILE_ORDER = "orders.reconcile_order"
SWEEP_OUTBOX = "orders.sweep_outbox"
RECONCILE_QUIET_ORDERS = "orders.reconcile_quiet_orders"
EMAIL_ATTENTION = "orders.email_attention"
PURGE_PAYLOADS = "orders.purge_payloads"
FOLD_ORDER_COUNTS = "orders.fold_order_counts"
ERASE_LEVER_DELETED = "orders.erase_lever_deleted"
ERASE_LEVER_DELETED_FOR_TENANT = "orders.erase_lever_deleted_for_tenant"


def _countdown(countdown: float | None) -> float | None:
    return None if countdown is None else max(0.0, countdown)


def process_inbound_later(event_id: int, *, countdown: float | None = None) -> None:
    """Process a stored Lever webhook (orders.services.stage_change.inbound_process)."""
    enqueue(PROCESS_INBOUND, event_id, countdown=_countdown(countdown))


def submit_order_later(order_id: int, *, countdown: float | None = None) -> None:
    """Send an order to Backcheck (orders.services.order_submission.order_submit)."""
    enqueue(SUBMIT_ORDER, order_id, countdown=_countdown(countdown))


def deliver_notes_later(
    note_id: int, booked_at: float | None = None, *, countdown: float | None = None
) -> None:
    """Deliver the notes of `note_id`'s group (orders.services.delivery.notes_deliver); `booked_at`
    is the rate-limiter slot booked for that run."""
    args: tuple = (note_id,) if booked_at is None else (note_id, booked_at)
    enqueue(DELIVER_NOTES, *args, countdown=_countdown(countdown))


def cancel_order_later(order_id: int, *, countdown: float | None = None) -> None:
    """Send an order's pending cancel request (orders.services.order_cancellation.order_cancel_submit)."""
    enqueue(CANCEL_ORDER, order_id, countdown=_countdown(countdown))


def reconcile_order_later(order_id: int) -> None:
    """Poll Backcheck for one order (orders.services.order_sync.order_reconcile)."""
    enqueue(RECONCILE_ORDER, order_id)


def erase_lever_deleted_for_tenant_later(
    tenant_id: int,
    offset: str | None = None,
    started_at: float | None = None,
    *,
    countdown: float | None = None,
) -> None:
    """Read one tenant's deleted opportunities from Lever and erase the candidates the portal
    knows (orders.services.lifecycle.lever_deleted_erase); `offset` and `started_at` resume a
    run the rate limiter stopped."""
    enqueue(
        ERASE_LEVER_DELETED_FOR_TENANT,
        tenant_id,
        offset,
        started_at,
        countdown=_countdown(countdown),
    )
