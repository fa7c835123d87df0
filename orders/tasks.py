"""Celery tasks: ids in, one service call, the retry policy here (STYLE.md habit 5).

A task never sleeps waiting for a rate limit or a back-off: it re-publishes itself with a
countdown, so one busy tenant cannot starve the others' worker slots. The rows are the truth; a
lost message is recovered by `sweep_outbox`, never by the broker's visibility timeout.
"""

from __future__ import annotations

import logging

from celery import shared_task

from orders.queue import enqueue

logger = logging.getLogger(__name__)


def _again(task, countdown: float, *args) -> None:
    enqueue(task, *args, countdown=max(0.0, countdown))


@shared_task(name="orders.process_inbound", bind=True)
def process_inbound(self, event_id: int) -> None:
    from orders.services.inbound import inbound_process

    result = inbound_process(event_id=event_id)
    if result is not None:
        _again(process_inbound, result.countdown, event_id)


@shared_task(name="orders.submit_order", bind=True)
def submit_order(self, order_id: int) -> None:
    from orders.services.orders import order_submit

    result = order_submit(order_id=order_id)
    if result is not None:
        _again(submit_order, result.countdown, order_id)


@shared_task(name="orders.deliver_notes", bind=True)
def deliver_notes(self, note_id: int, booked_at: float | None = None) -> None:
    from orders.services.notes import notes_deliver

    result = notes_deliver(note_id=note_id, task_id=self.request.id or "", booked_at=booked_at)
    if result is not None:
        _again(deliver_notes, result.countdown, result.note_id, result.booked_at)


@shared_task(name="orders.cancel_order", bind=True)
def cancel_order(self, order_id: int, attempt: int = 1) -> None:
    """Send the order's pending cancel request. `attempt` is accepted for messages queued by the
    previous release (which counted attempts in the message); the row counts them now."""
    from orders.services.orders import order_cancel_submit

    result = order_cancel_submit(order_id=order_id, attempt=attempt)
    if result is not None:
        _again(cancel_order, result.countdown, order_id)


@shared_task(name="orders.reconcile_order")
def reconcile_order(order_id: int) -> None:
    from orders.services.orders import order_reconcile

    order_reconcile(order_id=order_id)


@shared_task(name="orders.sweep_outbox")
def sweep_outbox() -> dict:
    """Re-enqueue inbound events, order submissions, cancellations and notes that nobody is
    working on; fail those that have used every attempt (orders.outbox)."""
    from orders.services.inbound import inbound_events_sweep
    from orders.services.notes import notes_sweep
    from orders.services.orders import cancels_sweep, orders_submit_sweep

    events = inbound_events_sweep()
    for event_id in events:
        enqueue(process_inbound, event_id)
    orders = orders_submit_sweep()
    for order_id in orders:
        enqueue(submit_order, order_id)
    cancels = cancels_sweep()
    for order_id in cancels:
        enqueue(cancel_order, order_id)
    notes = notes_sweep()
    for note_id in notes:
        enqueue(deliver_notes, note_id)
    counts = {
        "inbound": len(events),
        "orders": len(orders),
        "cancels": len(cancels),
        "notes": len(notes),
    }
    if any(counts.values()):
        logger.info("sweeper re-enqueued %s", counts)
    return counts


@shared_task(name="orders.reconcile_quiet_orders")
def reconcile_quiet_orders() -> int:
    """Poll Backcheck for active orders that have been quiet for RECONCILE_AFTER_S."""
    from orders.services.orders import orders_due_for_reconcile

    ids = list(orders_due_for_reconcile().values_list("pk", flat=True)[:500])
    for order_id in ids:
        enqueue(reconcile_order, order_id)
    return len(ids)


@shared_task(name="orders.email_attention")
def email_attention() -> int:
    """Email account managers about cases of their tenants that need attention (batched)."""
    from orders.services.attention_mail import attention_emails_send

    return attention_emails_send()


@shared_task(name="orders.purge_payloads")
def purge_payloads() -> int:
    """Blank raw webhook and callback bodies older than PAYLOAD_RETENTION_DAYS (batched)."""
    from orders.services.lifecycle import payloads_purge

    return payloads_purge()


@shared_task(name="orders.erase_lever_deleted")
def erase_lever_deleted() -> int:
    """One job per active tenant: erase the candidates deleted in Lever since it last looked."""
    from orders.services.lifecycle import tenants_for_deleted_check

    ids = tenants_for_deleted_check()
    for tenant_id in ids:
        enqueue(erase_lever_deleted_for_tenant, tenant_id)
    return len(ids)


@shared_task(name="orders.erase_lever_deleted_for_tenant", bind=True)
def erase_lever_deleted_for_tenant(
    self, tenant_id: int, offset: str | None = None, started_at: float | None = None
) -> None:
    from orders.services.lifecycle import lever_deleted_erase

    result = lever_deleted_erase(tenant_id=tenant_id, offset=offset, started_at=started_at)
    if result is not None:
        _again(
            erase_lever_deleted_for_tenant,
            result.countdown,
            tenant_id,
            result.offset,
            result.started_at,
        )
