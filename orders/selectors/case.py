"""The case page: one (already scoped) order with its whole history, one query per table."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from orders.case_rules import lever_marker
from orders.models import (
    CancelRequest,
    InboundEvent,
    LeverNote,
    NoteAttempt,
    Order,
    ScreeningService,
)
from orders.presenters.timeline import TimelineEntry, build_timeline, key_events
from orders.state import ACTIVE_STATUSES

# Only an order Backcheck is still working on can be cancelled (the cancel service refuses the
# rest; the page hides the button for them).
CANCELLABLE = ACTIVE_STATUSES


@dataclass
class CaseDetail:
    order: Order
    services: list[ScreeningService]
    notes: list[LeverNote]
    timeline: list[TimelineEntry]
    can_cancel: bool
    failed_note_ids: set[int]
    key_timeline: list[TimelineEntry] = field(default_factory=list)
    cancel: CancelRequest | None = None  # the latest cancellation asked for
    lever_marker: str = ""  # "Lever not updated — 1 failed note", when Lever is behind

    @property
    def cancel_pending(self) -> bool:
        return self.cancel is not None and self.cancel.state in (
            CancelRequest.State.PENDING,
            CancelRequest.State.SENDING,
        )


def case_detail(*, order: Order) -> CaseDetail:
    """The whole history of one (already scoped) order, one query per table."""
    services = list(order.services.all())
    notes = list(order.notes.all().order_by("created_at", "id"))
    attempts = list(NoteAttempt.objects.filter(note__order=order).order_by("started_at", "id"))
    history = list(order.history.all())
    actions = list(order.actions.all())
    event_ids = Q(order=order)
    if order.trigger_event_id:
        event_ids |= Q(pk=order.trigger_event_id)
    events = list(InboundEvent.objects.filter(event_ids).defer("raw_body"))
    timeline = build_timeline(events, history, notes, attempts, actions)
    cancel = order.cancel_requests.order_by("-created_at", "-id").first()
    failed = sum(1 for n in notes if n.state == LeverNote.State.FAILED)
    blocked = sum(1 for n in notes if n.state == LeverNote.State.BLOCKED)
    return CaseDetail(
        order=order,
        services=services,
        notes=notes,
        timeline=timeline,
        can_cancel=order.status in CANCELLABLE
        and bool(order.screening_id)
        and not (cancel is not None and cancel.state in ("pending", "sending")),
        failed_note_ids={n.pk for n in notes if n.state == LeverNote.State.FAILED},
        key_timeline=key_events(timeline, notes),
        cancel=cancel,
        lever_marker=lever_marker(failed, blocked),
    )


def case_note(*, order: Order, note_id: int) -> LeverNote:
    """A note of the (already scoped) order, or LeverNote.DoesNotExist."""
    return LeverNote.objects.get(pk=note_id, order=order)


def case_event(*, order: Order, event_id: int) -> InboundEvent | None:
    """One stored webhook or callback of the (already scoped) order: its own events, or the
    webhook that opened it; None for any other."""
    events = InboundEvent.objects.filter(pk=event_id, tenant_id=order.tenant_id)
    return events.filter(order=order).first() or (
        events.first() if order.trigger_event_id == event_id else None
    )
