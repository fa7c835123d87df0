"""Applying a Backcheck screening snapshot to an order: history, fields, services and the notes
Lever gets (docs/CONTRACT.md §3, §4)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.backcheck.schema import Screening
from connectors.models import Tenant
from orders.models import InboundEvent, Order, ScreeningService, StatusEvent
from orders.notes import notes_for_decision, render_order_note
from orders.services.notes import extras_enqueue, note_enqueue
from orders.state import ACTIVE_STATUSES, Decision, OrderView, apply_snapshot, view_from_screening


def order_view(order: Order) -> OrderView:
    if order.state:
        return OrderView.from_json(order.state)
    return OrderView.before_backcheck()


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
        order = (
            Order.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=order_id)
        )
        tenant = order.tenant
        first = order.state is None
        current = order_view(order)
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
