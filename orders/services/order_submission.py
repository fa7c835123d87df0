"""Submitting orders to Backcheck: a durable job (orders/outbox.py), its failure, its replay and
its sweep (docs/CONTRACT.md §2, §6)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from django.conf import settings
from django.db import transaction

from connectors.backcheck.client import BackcheckClient
from connectors.backcheck.mapping import Candidate, split_name
from connectors.http import HttpError
from orders import jobs, outbox
from orders.models import Order, StatusEvent
from orders.notes import render_order_note
from orders.outbox import JobKind, Retry
from orders.services.notes import extras_enqueue, note_enqueue
from orders.services.order_records import order_record_action
from orders.services.order_snapshots import order_apply_screening, order_view

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/api/v1/callbacks/backcheck/"


def callback_uri() -> str:
    base: str = settings.PUBLIC_BASE_URL
    return base + CALLBACK_PATH


# Submitting an order to Backcheck is a durable job (orders.outbox). The row stays `pending`
# while claimed; the claim's lease is held in `submit_next_attempt_at`.
SUBMIT_JOB = JobKind(
    name="submit",
    model=Order,
    cap_setting="SUBMIT_MAX_ATTEMPTS",
    service="Backcheck",
    state="submit_state",
    attempts="submit_attempts",
    next_at="submit_next_attempt_at",
    requeued="submit_requeued_at",
    error="submit_error",
    ready=Order.SubmitState.PENDING,
    failed=Order.SubmitState.FAILED,
)


def order_submit(*, order_id: int) -> Retry | None:
    """Create the screening at Backcheck. A 409 means it exists already: same outcome."""
    return outbox.run(SUBMIT_JOB, order_id, _submit)


def _submit(order: Order) -> None:
    attempts = order.submit_attempts
    password = order.pending_callback_password
    if password is None:
        raise RuntimeError(f"order {order.pk} has no pending callback password to submit with")
    given, family = split_name(order.candidate_name)
    candidate = Candidate(
        given_name=given,
        family_name=family,
        email=order.candidate_email,
        phone=order.candidate_phone or None,
    )
    try:
        with BackcheckClient.for_tenant(order.tenant) as client:
            screening = client.create_screening(
                client_reference_id=str(order.reference),
                package_id=order.package_code,
                candidate=candidate,
                callback_uri=callback_uri(),
                callback_username=order.callback_username,
                callback_password=password.reveal(),
            )
    except HttpError as exc:
        if outbox.verdict(SUBMIT_JOB, exc, attempts).retry:
            raise  # the job retries it after its back-off
        _submit_failed(order, exc, attempts)
        return
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(
            submit_state=Order.SubmitState.SUBMITTED,
            submit_error="",
            submit_next_attempt_at=None,
            screening_id=screening.id,
            pending_callback_password=None,
        )
        order_apply_screening(
            order_id=order.pk, screening=screening, source=StatusEvent.Source.CREATE
        )


def order_submit_replay(*, order: Order, actor: str) -> None:
    """Send an order whose submission failed before Backcheck saw it (e.g. the tenant had no
    Backcheck credentials) again, once the cause is fixed."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.state is not None or locked.pending_callback_password is None:
            raise ValueError("Only an order that never reached Backcheck can be sent again.")
        if not outbox.replay(SUBMIT_JOB, locked.pk, submit_error="", submit_requeued_at=None):
            raise ValueError("Only an order whose submission failed can be sent again.")
        order_record_action(locked, actor, "replay_submit", "Sending to Backcheck again.")
    jobs.submit_order_later(order.pk)


def _submit_failed(order: Order, exc: HttpError, attempts: int) -> None:
    error = str(exc)
    # Refused, or out of attempts: the order ends in Error and Lever hears why (docs/CONTRACT.md §2).
    message = (
        f"Backcheck refused the order: {exc.message}"
        if exc.kind == "permanent"
        else f"Backcheck could not be reached after {attempts} attempts ({exc.message})."
    )
    with transaction.atomic():
        locked = (
            Order.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=order.pk)
        )
        old = order_view(locked)
        new = dataclasses.replace(old, status="Error", error_message=message)
        Order.objects.filter(pk=order.pk).update(
            submit_state=Order.SubmitState.FAILED,
            submit_error=error[:2000],
            is_active=False,
            status="Error",
            error_message=message,
            state=new.to_json(),
            pending_callback_password=None,
            submit_next_attempt_at=None,
        )
        StatusEvent.objects.create(
            order=locked,
            source=StatusEvent.Source.SYSTEM,
            outcome=StatusEvent.Outcome.APPLIED,
            from_status=locked.status,
            to_status="Error",
            reason=message[:500],
        )
        note_enqueue(
            tenant=locked.tenant,
            order=locked,
            opportunity_id=locked.opportunity_id,
            kind="order",
            text=render_order_note(new, package_name=locked.package_name),
        )
        # No snapshot was ever applied, so no status tag was set before this one.
        extras_enqueue(
            tenant=locked.tenant, order=locked, old_status=None, new_status="Error", score=None
        )
    logger.warning("order %s submit failed: %s", order.pk, error)


def orders_submit_sweep(*, now: datetime | None = None) -> list[int]:
    """Orders whose submission nobody is working on (lost publish, killed worker)."""
    return outbox.sweep(SUBMIT_JOB, now=now)
