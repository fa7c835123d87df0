"""Opening orders: a new order for a stage change, a case that cannot be ordered, and such a case
tried again once its cause is fixed in Lever (docs/CONTRACT.md §2, §6)."""

from __future__ import annotations

import dataclasses

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.backcheck.credentials import generate_callback_credentials, hash_callback_password
from connectors.backcheck.mapping import Candidate
from connectors.models import Package, Tenant
from orders import jobs
from orders.models import InboundEvent, Order, StatusEvent
from orders.services.notes import note_enqueue
from orders.services.order_records import (
    ActiveOrderExists,
    InvalidOrderState,
    active_order_for,
    order_record_action,
    order_record_fact,
)
from orders.services.order_snapshots import order_view


def order_open(
    *,
    tenant: Tenant,
    opportunity_id: str,
    candidate: Candidate,
    candidate_name: str,
    lever_url: str,
    package: Package,
    trigger_event: InboundEvent | None,
    trigger_stage_id: str,
    launched_by: str,
) -> Order:
    """Commit the order and its callback credentials, then submit it on commit.

    The row and its credentials exist before the create request (docs/CONTRACT.md §6), so any callback
    can be authenticated. One active order per opportunity is a database constraint.
    """
    username, password = generate_callback_credentials()
    try:
        with transaction.atomic():
            order = Order.objects.create(
                tenant=tenant,
                opportunity_id=opportunity_id,
                candidate_name=candidate_name,
                candidate_email=candidate.email,
                candidate_phone=candidate.phone or "",
                lever_url=lever_url or "",
                package=package,
                package_code=package.code,
                package_name=package.name,
                trigger_event=trigger_event,
                trigger_stage_id=trigger_stage_id,
                launched_by=launched_by,
                callback_username=username,
                callback_password_hash=hash_callback_password(password),
                pending_callback_password=password,
            )
            order_record_fact(
                order=order,
                inbound_event=trigger_event,
                source=StatusEvent.Source.SYSTEM,
                actor=launched_by,
                reason=f"Order opened for package {package.name} ({package.code}).",
            )
    except IntegrityError:
        existing = active_order_for(tenant=tenant, opportunity_id=opportunity_id)
        if existing is None:
            raise
        raise ActiveOrderExists(existing) from None
    jobs.submit_order_later(order.pk)
    return order


def order_record_cannot_order(
    *,
    tenant: Tenant,
    opportunity_id: str,
    candidate_name: str,
    candidate_email: str,
    candidate_phone: str,
    lever_url: str,
    package: Package | None,
    reason: str,
    note_text: str,
    trigger_event: InboundEvent | None,
    trigger_stage_id: str,
) -> Order:
    """A stage change that cannot be ordered (no email, no matching package) becomes a case in
    Error, never sent to Backcheck, with the same words as the Error note Lever gets."""
    message = note_text.splitlines()[-1].removeprefix("Error: ")
    view = dataclasses.replace(order_view(Order()), status="Error", error_message=message)
    username, password = generate_callback_credentials()
    with transaction.atomic():
        order = Order.objects.create(
            tenant=tenant,
            opportunity_id=opportunity_id,
            candidate_name=candidate_name,
            candidate_email=candidate_email,
            candidate_phone=candidate_phone,
            lever_url=lever_url,
            package=package,
            package_code=package.code if package else "",
            package_name=package.name if package else "",
            trigger_event=trigger_event,
            trigger_stage_id=trigger_stage_id,
            launched_by="webhook",
            is_active=False,
            submit_state=Order.SubmitState.NOT_SENT,
            cannot_order=reason,
            status="Error",
            error_message=message,
            state=view.to_json(),
            callback_username=username,
            callback_password_hash=hash_callback_password(password),
        )
        StatusEvent.objects.create(
            order=order,
            inbound_event=trigger_event,
            source=StatusEvent.Source.SYSTEM,
            outcome=StatusEvent.Outcome.APPLIED,
            from_status="",
            to_status="Error",
            reason=message[:500],
        )
        note_enqueue(
            tenant=tenant,
            order=order,
            opportunity_id=opportunity_id,
            kind="error",
            text=note_text,
            inbound_event=trigger_event,
        )
    return order


def order_reopen_for_submit(
    *, order: Order, candidate: Candidate, candidate_name: str, package: Package, actor: str
) -> Order:
    """Turn a case that could not be ordered into a real order once its cause is fixed in Lever,
    and submit it. Raises ActiveOrderExists when another order is active for the opportunity."""
    username, password = generate_callback_credentials()
    try:
        with transaction.atomic():
            locked = Order.objects.select_for_update().get(pk=order.pk)
            if not locked.cannot_order or locked.status != "Error":
                raise InvalidOrderState("Only a case that could not be ordered can be tried again.")
            Order.objects.filter(pk=locked.pk).update(
                candidate_name=candidate_name,
                candidate_email=candidate.email,
                candidate_phone=candidate.phone or "",
                package=package,
                package_code=package.code,
                package_name=package.name,
                is_active=True,
                submit_state=Order.SubmitState.PENDING,
                submit_attempts=0,
                submit_next_attempt_at=None,
                submit_error="",
                cannot_order="",
                status="",
                error_message="",
                state=None,
                callback_username=username,
                callback_password_hash=hash_callback_password(password),
                pending_callback_password=password,
                updated_at=timezone.now(),
            )
            order_record_action(
                locked,
                actor,
                "try_again",
                f"Tried again: read from Lever, ordering package {package.name} ({package.code}).",
            )
    except IntegrityError:
        existing = active_order_for(tenant=order.tenant, opportunity_id=order.opportunity_id)
        if existing is None:
            raise
        raise ActiveOrderExists(existing) from None
    jobs.submit_order_later(order.pk)
    return Order.objects.get(pk=order.pk)
