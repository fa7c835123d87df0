"""Cancelling orders: a cancel request is a durable job (orders/outbox.py) sent to Backcheck; the
status changes only when Backcheck confirms (docs/CONTRACT.md §7)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.backcheck.client import BackcheckClient
from connectors.http import HttpError
from orders import jobs, outbox
from orders.models import CancelRequest, Order, OrderAction, StatusEvent
from orders.outbox import JobKind, Retry
from orders.services.order_records import InvalidOrderState, order_record_action
from orders.services.order_snapshots import order_apply_screening
from orders.services.order_sync import order_reconcile

logger = logging.getLogger(__name__)

CANCELLABLE = frozenset({"Initiated", "In Progress"})


def _cancel_failed_fields(reason: str) -> dict[str, Any]:
    return {"finished_at": timezone.now()}


CANCEL_JOB = JobKind(
    name="cancel",
    model=CancelRequest,
    cap_setting="CANCEL_MAX_ATTEMPTS",
    service="Backcheck",
    ready=CancelRequest.State.PENDING,
    running=CancelRequest.State.SENDING,
    lease="lease_until",
    failed=CancelRequest.State.FAILED,
    fail_fields=_cancel_failed_fields,
)


def order_request_cancel(*, order: Order, actor: str) -> CancelRequest:
    """Ask Backcheck to cancel; the status changes only when Backcheck confirms.

    The request is a row of its own (a durable job), so a cancel asked for while the broker is
    down is sent by the sweeper once it is back. Asking again while one is pending adds nothing.
    """
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.status not in CANCELLABLE or not locked.screening_id:
            raise InvalidOrderState(
                f"An order that is {locked.status or 'not yet at Backcheck'} cannot be cancelled."
            )
        request = locked.cancel_requests.filter(state__in=_OPEN_CANCEL).first()
        if request is None:
            request = CancelRequest.objects.create(order=locked, requested_by=actor)
            Order.objects.filter(pk=locked.pk).update(cancel_requested_at=timezone.now())
            order_record_action(locked, actor, "cancel", "Cancellation requested.")
    jobs.cancel_order_later(order.pk)
    return request


_OPEN_CANCEL = (CancelRequest.State.PENDING, CancelRequest.State.SENDING)


def _open_cancel_request(order_id: int) -> CancelRequest | None:
    open_request = (
        CancelRequest.objects.filter(order_id=order_id, state__in=_OPEN_CANCEL)
        .order_by("id")
        .first()
    )
    if open_request is not None:
        return open_request
    # A message queued by the previous release, which kept no row: adopt it as a request.
    order = Order.objects.filter(pk=order_id).first()
    if (
        order is None
        or order.cancel_requested_at is None
        or order.status not in CANCELLABLE
        or order.cancel_requests.exists()
    ):
        return None
    try:
        with transaction.atomic():
            return CancelRequest.objects.create(order=order)
    except IntegrityError:
        return CancelRequest.objects.filter(order_id=order_id, state__in=_OPEN_CANCEL).first()


def order_cancel_submit(*, order_id: int, attempt: int = 1) -> Retry | None:
    """Send the order's pending cancel request. `attempt` is what the previous release's task
    messages carry; attempts are counted on the request row now."""
    request = _open_cancel_request(order_id)
    if request is None:
        return None
    return outbox.run(CANCEL_JOB, request.pk, _cancel, on_fail=_cancel_failed)


def _cancel(request: CancelRequest) -> None:
    order = Order.objects.select_related("tenant").get(pk=request.order_id)
    if order.status not in CANCELLABLE:
        if order.status == "Canceled":
            _cancel_finish(request, CancelRequest.State.DONE, "")
        else:
            _cancel_refused(
                request, order, f"Not canceled: the screening is already {order.status}."
            )
        return
    try:
        with BackcheckClient.for_tenant(order.tenant) as client:
            screening = client.cancel_screening(order.screening_id)
    except HttpError as exc:
        if exc.status in (409, 422):
            _cancel_refused(request, order, f"Backcheck refused the cancel: {exc.message}")
            return
        raise  # the job retries or fails it
    with transaction.atomic():
        order_apply_screening(
            order_id=order.pk, screening=screening, source=StatusEvent.Source.CANCEL
        )
        _cancel_finish(request, CancelRequest.State.DONE, "")


def _cancel_finish(request: CancelRequest, state: str, reason: str) -> None:
    CancelRequest.objects.filter(pk=request.pk).update(
        state=state, lease_until=None, last_error=reason[:2000], finished_at=timezone.now()
    )


def _cancel_refused(request: CancelRequest, order: Order, reason: str) -> None:
    """Backcheck said no: the case shows it in error colours and fetches the screening, so that
    its status is Backcheck's (the refusal usually means it moved on)."""
    with transaction.atomic():
        _cancel_finish(request, CancelRequest.State.REFUSED, reason)
        StatusEvent.objects.create(
            order=order,
            source=StatusEvent.Source.CANCEL,
            outcome=StatusEvent.Outcome.REJECTED,
            from_status=order.status,
            to_status=order.status,
            reason=reason[:500],
        )
    logger.warning("cancel of order %s refused: %s", order.pk, reason)
    # Usually the screening moved on meanwhile: show Backcheck's status now, not at the next
    # reconcile (a failed fetch leaves that to the reconciler).
    order_reconcile(order_id=order.pk)


def _cancel_failed(request_id: int, reason: str) -> None:
    with transaction.atomic():
        outbox.fail(CANCEL_JOB, request_id, reason=reason)
        request = CancelRequest.objects.select_related("order").get(pk=request_id)
        StatusEvent.objects.create(
            order=request.order,
            source=StatusEvent.Source.CANCEL,
            outcome=StatusEvent.Outcome.REJECTED,
            from_status=request.order.status,
            to_status=request.order.status,
            reason=f"Cancellation not sent: {reason}"[:500],
        )


def cancel_replay(*, request: CancelRequest, actor: str) -> None:
    """Send a failed cancel request again (after its cause is fixed)."""
    try:
        with transaction.atomic():
            if request.order.status not in CANCELLABLE:
                raise ValueError(
                    f"The order is {request.order.status or 'not at Backcheck'} now: "
                    "nothing to cancel."
                )
            if not outbox.replay(CANCEL_JOB, request.pk, requeued_at=None, finished_at=None):
                raise ValueError("Only a failed cancellation can be sent again.")
            OrderAction.objects.create(order=request.order, actor=actor, action="replay_cancel")
    except IntegrityError:
        raise ValueError("Another cancellation of this order is already pending.") from None
    jobs.cancel_order_later(request.order_id)


def cancel_dismiss(*, request: CancelRequest, actor: str) -> None:
    """An operator has read a refused cancellation: it leaves Needs attention."""
    updated = CancelRequest.objects.filter(
        pk=request.pk, state=CancelRequest.State.REFUSED, dismissed_at__isnull=True
    ).update(dismissed_at=timezone.now())
    if not updated:
        raise ValueError("Only a refused cancellation can be dismissed.")
    OrderAction.objects.create(order_id=request.order_id, actor=actor, action="dismiss_cancel")


def cancels_sweep(*, now: datetime | None = None) -> list[int]:
    """Order ids whose cancel request nobody is working on (lost publish, killed worker)."""
    ids = outbox.sweep(CANCEL_JOB, now=now, on_fail=_cancel_failed)
    return list(
        CancelRequest.objects.filter(pk__in=ids).values_list("order_id", flat=True).distinct()
    )
