"""Writes on orders: open, submit to Backcheck, apply a screening snapshot, cancel, resync,
reconcile (docs/CONTRACT.md §2–§4, §6, §7)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from connectors.backcheck.client import BackcheckClient
from connectors.backcheck.credentials import (
    generate_callback_credentials,
    hash_callback_password,
)
from connectors.backcheck.mapping import Candidate, split_name
from connectors.backcheck.schema import Screening
from connectors.http import HttpError
from connectors.models import Package, Tenant
from orders import jobs, outbox
from orders.models import (
    CancelRequest,
    InboundEvent,
    Order,
    OrderAction,
    ScreeningService,
    StatusEvent,
)
from orders.notes import notes_for_decision, render_order_note, render_piecemeal_note
from orders.outbox import JobKind, Retry
from orders.services.notes import extras_enqueue, note_enqueue
from orders.state import ACTIVE_STATUSES, Decision, OrderView, apply_snapshot, view_from_screening

logger = logging.getLogger(__name__)

CALLBACK_PATH = "/api/v1/callbacks/backcheck/"
CANCELLABLE = frozenset({"Initiated", "In Progress"})


class ActiveOrderExists(Exception):
    def __init__(self, order: Order) -> None:
        super().__init__(f"Order {order.pk} is already active for this opportunity.")
        self.order = order


class InvalidOrderState(Exception):
    """The action does not fit the order's current state (the API answers 409)."""


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
    view = dataclasses.replace(_view_of(Order()), status="Error", error_message=message)
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
            _record_action(
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
        _record_action(locked, actor, "replay_submit", "Sending to Backcheck again.")
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
        locked = Order.objects.select_for_update().select_related("tenant").get(pk=order.pk)
        old = _view_of(locked)
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


def _view_of(order: Order) -> OrderView:
    if order.state:
        return OrderView.from_json(order.state)
    # Before Backcheck has answered, the order is treated as just Initiated with nothing known.
    return OrderView(
        status="Initiated",
        order_number=None,
        piecemeal_status=None,
        score=None,
        report_url=None,
        completed_at=None,
        error_message=None,
        services=(),
        last_updated_at=None,
        last_rank=None,
    )


def order_apply_screening(
    *,
    order_id: int,
    screening: Screening,
    source: str,
    inbound_event: InboundEvent | None = None,
    actor: str = "",
) -> Decision:
    """Apply one screening snapshot to an order: history, fields, services and notes."""
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("tenant").get(pk=order_id)
        tenant = order.tenant
        first = order.state is None
        current = _view_of(order)
        seen = set(order.history.exclude(payload_hash="").values_list("payload_hash", flat=True))
        if first:
            new = view_from_screening(screening)
            decision = Decision(outcome="applied", reason="", old=current, new=new)
        else:
            decision = apply_snapshot(current, screening, seen_hashes=seen)
        from_status = "" if first else current.status
        StatusEvent.objects.create(
            order=order,
            inbound_event=inbound_event,
            source=source,
            outcome=decision.outcome,
            reason=decision.reason[:500],
            from_status=from_status,
            to_status=decision.new.status if decision.outcome == "applied" else from_status,
            arrived_status=screening.status,
            arrived_piecemeal_status=screening.piecemeal_status or "",
            arrived_score=screening.score or "",
            arrived_updated_at=screening.updated_at,
            payload_hash=screening.canonical_hash(),
            actor=actor,
        )
        now = timezone.now()
        fields: dict[str, Any] = {"updated_at": now}
        if source in (StatusEvent.Source.CALLBACK, StatusEvent.Source.RECONCILE):
            fields["last_heard_at"] = now
        if decision.outcome == "applied":
            new = decision.new
            fields.update(
                state=new.to_json(),
                status=new.status,
                order_number=new.order_number or "",
                piecemeal_status=new.piecemeal_status or "",
                score=new.score or "",
                report_url=new.report_url or "",
                completed_at=new.completed_at,
                error_message=new.error_message or "",
                screening_id=order.screening_id or screening.id,
            )
            if new.status not in ACTIVE_STATUSES:
                fields["is_active"] = False
            elif (
                not order.is_active
                and not Order.objects.filter(
                    tenant=tenant, opportunity_id=order.opportunity_id, is_active=True
                ).exists()
            ):
                fields["is_active"] = True  # e.g. Error → In Progress with no newer order
            _sync_services(order, new)
            if first:
                texts = _first_notes(new, screening, tenant=tenant, package_name=order.package_name)
            else:
                texts = notes_for_decision(
                    decision,
                    piecemeal=tenant.piecemeal,
                    cma=tenant.cma,
                    package_name=order.package_name,
                )
            for kind, text in texts:
                note_enqueue(
                    tenant=tenant,
                    order=order,
                    opportunity_id=order.opportunity_id,
                    kind=kind,
                    text=text,
                    inbound_event=inbound_event,
                )
            extras_enqueue(
                tenant=tenant,
                order=order,
                old_status=None if first else current.status,
                new_status=new.status,
                score=new.score,
                inbound_event=inbound_event,
            )
        Order.objects.filter(pk=order.pk).update(**fields)
    return decision


def _record_action(order: Order, actor: str, action: str, reason: str) -> None:
    """A person's action on a case: audited, and a line in the case's timeline."""
    OrderAction.objects.create(order=order, actor=actor, action=action)
    order_record_fact(order=order, source=StatusEvent.Source.ACTION, actor=actor, reason=reason)


def _first_notes(
    new: OrderView, screening: Screening, *, tenant: Tenant, package_name: str
) -> list[tuple[str, str]]:
    """The notes of the first snapshot an order gets.

    That is normally Backcheck's answer to the create (Initiated: the New note). When the answer
    was lost (the worker died after Backcheck had accepted the order), the first word is a later
    callback or the re-read after the retried create. The order was submitted all the same, so
    Lever gets the New note first, then the notes of the way from Initiated to where it is now.
    """
    if screening.status == "Initiated":
        return [("order", render_order_note(new, package_name=package_name))]
    submitted = dataclasses.replace(
        screening,
        status="Initiated",
        piecemeal_status=None,
        score=None,
        report_url=None,
        completed_at=None,
        error=None,
        services=(),
    )
    initiated = view_from_screening(submitted)
    since = Decision(outcome="applied", reason="", old=initiated, new=new)
    return [
        ("order", render_order_note(initiated, package_name=package_name)),
        *notes_for_decision(
            since, piecemeal=tenant.piecemeal, cma=tenant.cma, package_name=package_name
        ),
    ]


def _sync_services(order: Order, view: OrderView) -> None:
    keep = []
    for position, service in enumerate(view.services):
        ScreeningService.objects.update_or_create(
            order=order,
            service_id=service.id,
            defaults={
                "position": position,
                "name": service.name,
                "status": service.status,
                "score": service.score or "",
                "completed_at": service.completed_at,
                "report_url": service.report_url or "",
            },
        )
        keep.append(service.id)
    ScreeningService.objects.filter(order=order).exclude(service_id__in=keep).delete()


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
            _record_action(locked, actor, "cancel", "Cancellation requested.")
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


def order_resync(*, order: Order, actor: str) -> None:
    """Post the order's current state to Lever again (or resubmit an order Backcheck never got)."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().select_related("tenant").get(pk=order.pk)
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


def orders_submit_sweep(*, now: datetime | None = None) -> list[int]:
    """Orders whose submission nobody is working on (lost publish, killed worker)."""
    return outbox.sweep(SUBMIT_JOB, now=now)
