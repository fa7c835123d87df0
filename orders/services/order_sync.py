"""Bringing an order back in step: its state posted to Lever again (resync), and Backcheck's
screening read and applied like a callback (reconcile, docs/CONTRACT.md §6)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from connectors.backcheck.client import BackcheckClient
from connectors.http import HttpError
from orders import jobs
from orders.models import Order, OrderAction, StatusEvent
from orders.notes import render_order_note, render_piecemeal_note
from orders.services.notes import note_enqueue
from orders.services.order_records import InvalidOrderState, order_record_fact
from orders.services.order_snapshots import order_apply_screening
from orders.state import Decision, OrderView

logger = logging.getLogger(__name__)


def order_resync(*, order: Order, actor: str) -> None:
    """Post the order's current state to Lever again (or resubmit an order Backcheck never got)."""
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=order.pk)
        )
        OrderAction.objects.create(order=locked, actor=actor, action="resync")
        if locked.submit_state == Order.SubmitState.PENDING and not locked.state:
            Order.objects.filter(pk=locked.pk).update(submit_next_attempt_at=None)
            jobs.submit_order_later(locked.pk)
            return
        if not locked.state:
            raise InvalidOrderState("The order has no status to resync yet.")
        view = OrderView.from_json(locked.state)
        order_record_fact(
            order=locked,
            source=StatusEvent.Source.ACTION,
            actor=actor,
            reason="Resync to Lever requested.",
        )
        tenant = locked.tenant
        if tenant.piecemeal and view.piecemeal_status:
            note_enqueue(
                tenant=tenant,
                order=locked,
                opportunity_id=locked.opportunity_id,
                kind="piecemeal",
                text=render_piecemeal_note(view, cma=tenant.cma),
                is_resync=True,
            )
        note_enqueue(
            tenant=tenant,
            order=locked,
            opportunity_id=locked.opportunity_id,
            kind="order",
            text=render_order_note(view, package_name=locked.package_name),
            is_resync=True,
        )


def orders_due_for_reconcile(*, now: datetime | None = None) -> QuerySet[Order]:
    now = now or timezone.now()
    quiet_since = now - timedelta(seconds=settings.RECONCILE_AFTER_S)
    return (
        Order.objects.filter(is_active=True, submit_state=Order.SubmitState.SUBMITTED)
        .filter(
            Q(last_heard_at__lt=quiet_since)
            | Q(last_heard_at__isnull=True, created_at__lt=quiet_since)
        )
        .exclude(screening_id="")
    )


def order_reconcile(*, order_id: int) -> Decision | None:
    """Read the screening from Backcheck and apply it like a callback (docs/CONTRACT.md §6)."""
    order = Order.objects.select_related("tenant").get(pk=order_id)
    if not order.screening_id:
        return None
    try:
        with BackcheckClient.for_tenant(order.tenant) as client:
            screening = client.get_screening(order.screening_id)
    except HttpError as exc:
        logger.warning("reconcile of order %s failed: %s", order.pk, exc)
        # Hearing nothing is not news: next run tries again (last_heard_at unchanged).
        return None
    return order_apply_screening(
        order_id=order.pk, screening=screening, source=StatusEvent.Source.RECONCILE
    )
