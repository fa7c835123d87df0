"""Celery tasks: ids in, one service call, the retry policy here.

A task never sleeps waiting for a rate limit or a back-off: it re-publishes itself with a
countdown, so one busy tenant cannot starve the others' worker slots. The rows are the truth; a
lost message is recovered by `sweep_outbox`, never by the broker's visibility timeout.

Task names live in orders/jobs.py, through which the services publish them by name.
"""

from __future__ import annotations

import logging

from celery import shared_task

from orders import jobs
from orders.services.attention_mail import attention_emails_send
from orders.services.delivery import notes_deliver
from orders.services.lifecycle import (
    lever_deleted_erase,
    payloads_purge,
    tenants_for_deleted_check,
)
from orders.services.notes import notes_sweep
from orders.services.order_cancellation import cancels_sweep, order_cancel_submit
from orders.services.order_counts import order_counts_fold
from orders.services.order_submission import order_submit, orders_submit_sweep
from orders.services.order_sync import order_reconcile, orders_due_for_reconcile
from orders.services.stage_change import inbound_events_sweep, inbound_process

logger = logging.getLogger(__name__)


@shared_task(name=jobs.PROCESS_INBOUND, bind=True)
def process_inbound(self, event_id: int) -> None:
    result = inbound_process(event_id=event_id)
    if result is not None:
        jobs.process_inbound_later(event_id, countdown=result.countdown)


@shared_task(name=jobs.SUBMIT_ORDER, bind=True)
def submit_order(self, order_id: int) -> None:
    result = order_submit(order_id=order_id)
    if result is not None:
        jobs.submit_order_later(order_id, countdown=result.countdown)


@shared_task(name=jobs.DELIVER_NOTES, bind=True)
def deliver_notes(self, note_id: int, booked_at: float | None = None) -> None:
    result = notes_deliver(note_id=note_id, task_id=self.request.id or "", booked_at=booked_at)
    if result is not None:
        jobs.deliver_notes_later(result.note_id, result.booked_at, countdown=result.countdown)


@shared_task(name=jobs.CANCEL_ORDER, bind=True)
def cancel_order(self, order_id: int, attempt: int = 1) -> None:
    """Send the order's pending cancel request. `attempt` is accepted for messages queued by the
    previous release (which counted attempts in the message); the row counts them now."""
    result = order_cancel_submit(order_id=order_id, attempt=attempt)
    if result is not None:
        jobs.cancel_order_later(order_id, countdown=result.countdown)


@shared_task(name=jobs.RECONCILE_ORDER)
def reconcile_order(order_id: int) -> None:
    order_reconcile(order_id=order_id)


@shared_task(name=jobs.SWEEP_OUTBOX)
def sweep_outbox() -> dict:
    """Re-enqueue inbound events, order submissions, cancellations and notes that nobody is
    working on; fail those that have used every attempt (orders.outbox)."""
    events = inbound_events_sweep()
    for event_id in events:
        jobs.process_inbound_later(event_id)
    orders = orders_submit_sweep()
    for order_id in orders:
        jobs.submit_order_later(order_id)
    cancels = cancels_sweep()
    for order_id in cancels:
        jobs.cancel_order_later(order_id)
    notes = notes_sweep()
    for note_id in notes:
        jobs.deliver_notes_later(note_id)
    counts = {
        "inbound": len(events),
        "orders": len(orders),
        "cancels": len(cancels),
        "notes": len(notes),
    }
    if any(counts.values()):
        logger.info("sweeper re-enqueued %s", counts)
    return counts


@shared_task(name=jobs.RECONCILE_QUIET_ORDERS)
def reconcile_quiet_orders() -> int:
    """Poll Backcheck for active orders that have been quiet for RECONCILE_AFTER_S."""
    ids = list(orders_due_for_reconcile().values_list("pk", flat=True)[:500])
    for order_id in ids:
        jobs.reconcile_order_later(order_id)
    return len(ids)


@shared_task(name=jobs.EMAIL_ATTENTION)
def email_attention() -> int:
    """Email account managers about cases of their tenants that need attention (batched)."""
    return attention_emails_send()


@shared_task(name=jobs.PURGE_PAYLOADS)
def purge_payloads() -> int:
    """Blank raw webhook and callback bodies older than PAYLOAD_RETENTION_DAYS (batched)."""
    return payloads_purge()


@shared_task(name=jobs.FOLD_ORDER_COUNTS)
def fold_order_counts() -> int:
    """Fold the hourly order counts' pending deltas into the counts."""
    return order_counts_fold()


@shared_task(name=jobs.ERASE_LEVER_DELETED)
def erase_lever_deleted() -> int:
    """One job per active tenant: erase the candidates deleted in Lever since it last looked."""
    ids = tenants_for_deleted_check()
    for tenant_id in ids:
        jobs.erase_lever_deleted_for_tenant_later(tenant_id)
    return len(ids)


@shared_task(name=jobs.ERASE_LEVER_DELETED_FOR_TENANT)
def erase_lever_deleted_for_tenant(
    tenant_id: int, offset: str | None = None, started_at: float | None = None
) -> None:
    result = lever_deleted_erase(tenant_id=tenant_id, offset=offset, started_at=started_at)
    if result is not None:
        jobs.erase_lever_deleted_for_tenant_later(
            tenant_id, result.offset, result.started_at, countdown=result.countdown
        )
