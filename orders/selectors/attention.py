"""The Needs attention page: what failed and waits for a person, per kind, newest first; the
count in the navigation; and the rows a bulk replay acts on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q

from connectors.tenants.access import scope_to_user
from orders.case_rules import (
    ATTENTION_LIMIT,
    DEFAULT_QUIET_DAYS,
    quiet_q,
    with_tenant,
)
from orders.models import CancelRequest, InboundEvent, LeverNote, Order
from orders.selectors.counts import Bounded, bounded_counts


@dataclass
class Attention:
    failed_notes: list[LeverNote]
    failed_notes_total: Bounded
    blocked_notes: list[LeverNote]
    blocked_notes_total: Bounded
    failed_events: list[InboundEvent]
    failed_events_total: Bounded
    cannot_order: list[Order]
    cannot_order_total: Bounded
    failed_submits: list[Order]
    failed_submits_total: Bounded
    failed_cancels: list[CancelRequest]
    failed_cancels_total: Bounded
    refused_cancels: list[CancelRequest]
    refused_cancels_total: Bounded
    quiet_orders: list[Order]
    quiet_orders_total: Bounded
    days: int


def attention(*, user: Any, days: int = DEFAULT_QUIET_DAYS) -> Attention:
    notes = (
        with_tenant(scope_to_user(LeverNote.objects.all(), user))
        .select_related("order")
        .defer("order__state", "order__pending_callback_password")
    )
    failed = notes.filter(state=LeverNote.State.FAILED).order_by("-created_at", "-id")
    blocked = notes.filter(state=LeverNote.State.BLOCKED).order_by("-created_at", "-id")
    events = (
        with_tenant(scope_to_user(InboundEvent.objects.all(), user))
        .filter(state=InboundEvent.State.FAILED)
        .defer("raw_body")
        .order_by("-received_at", "-id")
    )
    newer = Order.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        opportunity_id=OuterRef("opportunity_id"),
        created_at__gt=OuterRef("created_at"),
    )
    cannot_order = (
        with_tenant(scope_to_user(Order.objects.all(), user))
        .filter(status="Error")
        .exclude(cannot_order="")
        .filter(~Exists(newer))
        .defer("state", "pending_callback_password")
        .order_by("-created_at", "-id")
    )
    submits = (
        with_tenant(scope_to_user(Order.objects.all(), user))
        .filter(submit_state=Order.SubmitState.FAILED, state__isnull=True)
        .defer("pending_callback_password")
        .order_by("-created_at", "-id")
    )
    cancels = (
        with_tenant(
            scope_to_user(CancelRequest.objects.all(), user, "order__tenant"), "order__tenant"
        )
        .select_related("order")
        .defer("order__state", "order__pending_callback_password")
        .order_by("-created_at", "-id")
    )
    failed_cancels = cancels.filter(state=CancelRequest.State.FAILED)
    refused_cancels = cancels.filter(state=CancelRequest.State.REFUSED, dismissed_at__isnull=True)
    quiet = (
        with_tenant(scope_to_user(Order.objects.all(), user))
        .filter(quiet_q(days=days))
        .defer("state")
        .order_by("created_at", "id")
    )
    totals = bounded_counts(
        {
            "failed_notes": failed,
            "blocked_notes": blocked,
            "failed_events": events,
            "cannot_order": cannot_order,
            "failed_submits": submits,
            "failed_cancels": failed_cancels,
            "refused_cancels": refused_cancels,
            "quiet_orders": quiet,
        }
    )
    return Attention(
        failed_notes=list(failed[:ATTENTION_LIMIT]),
        failed_notes_total=totals["failed_notes"],
        blocked_notes=list(blocked[:ATTENTION_LIMIT]),
        blocked_notes_total=totals["blocked_notes"],
        failed_events=list(events[:ATTENTION_LIMIT]),
        failed_events_total=totals["failed_events"],
        cannot_order=list(cannot_order[:ATTENTION_LIMIT]),
        cannot_order_total=totals["cannot_order"],
        failed_submits=list(submits[:ATTENTION_LIMIT]),
        failed_submits_total=totals["failed_submits"],
        failed_cancels=list(failed_cancels[:ATTENTION_LIMIT]),
        failed_cancels_total=totals["failed_cancels"],
        refused_cancels=list(refused_cancels[:ATTENTION_LIMIT]),
        refused_cancels_total=totals["refused_cancels"],
        quiet_orders=list(quiet[:ATTENTION_LIMIT]),
        quiet_orders_total=totals["quiet_orders"],
        days=days,
    )


def attention_count(*, user: Any, days: int = DEFAULT_QUIET_DAYS) -> Bounded:
    """Everything the Needs attention page asks someone to act on (blocked notes wait behind a
    failed one, which is counted). Counted once per request; each kind stops at COUNT_CAP
    ("1000+"): past that the number no longer changes what anyone does."""
    cached = getattr(user, "_attention_count", None)
    if cached is not None:
        return cached
    orders = scope_to_user(Order.objects.all(), user)
    newer = Order.objects.filter(
        tenant_id=OuterRef("tenant_id"),
        opportunity_id=OuterRef("opportunity_id"),
        created_at__gt=OuterRef("created_at"),
    )
    cancels = scope_to_user(CancelRequest.objects.all(), user, "order__tenant")
    kinds = bounded_counts(
        {
            "failed_notes": scope_to_user(
                LeverNote.objects.filter(state=LeverNote.State.FAILED), user
            ).order_by("-created_at"),
            "failed_events": scope_to_user(
                InboundEvent.objects.filter(state=InboundEvent.State.FAILED), user
            ).order_by("-received_at"),
            "failed_submits": orders.filter(
                submit_state=Order.SubmitState.FAILED, state__isnull=True
            ).order_by("-created_at"),
            "cannot_order": orders.filter(status="Error")
            .exclude(cannot_order="")
            .filter(~Exists(newer))
            .order_by("-created_at"),
            "cancels": cancels.filter(
                Q(state=CancelRequest.State.FAILED)
                | Q(state=CancelRequest.State.REFUSED, dismissed_at__isnull=True)
            ),
            "quiet_orders": orders.filter(quiet_q(days=days)).order_by("created_at"),
        }
    )
    total = sum(kinds.values(), Bounded(0))
    try:
        user._attention_count = total
    except AttributeError:
        pass
    return total


@dataclass
class ReplaySelection:
    notes: list[LeverNote]
    events: list[InboundEvent]
    submits: list[Order]
    cancels: list[CancelRequest]

    @property
    def total(self) -> int:
        return len(self.notes) + len(self.events) + len(self.submits) + len(self.cancels)


def replay_selection(
    *, user: Any, note_ids: list[int], event_ids: list[int], submit_ids: list[int],
    cancel_ids: list[int]
) -> ReplaySelection:  # fmt: skip
    """The checked rows of the page, within the user's tenants (four queries). The caller
    compares the counts with the ids asked for: another tenant's row is simply not found."""
    return ReplaySelection(
        notes=list(
            with_tenant(scope_to_user(LeverNote.objects.all(), user))
            .filter(pk__in=note_ids)
            .select_related("order")
        ),
        events=list(
            with_tenant(scope_to_user(InboundEvent.objects.all(), user))
            .filter(pk__in=event_ids)
            .defer("raw_body")
        ),
        submits=list(
            with_tenant(scope_to_user(Order.objects.all(), user))
            .filter(pk__in=submit_ids)
            .defer("state")
        ),
        cancels=list(
            with_tenant(
                scope_to_user(CancelRequest.objects.all(), user, "order__tenant"), "order__tenant"
            )
            .filter(pk__in=cancel_ids)
            .select_related("order")
        ),
    )


def cancel_request_get(*, user: Any, request_id: int) -> CancelRequest:
    """A cancellation within the user's tenants, or CancelRequest.DoesNotExist."""
    return scope_to_user(CancelRequest.objects.select_related("order"), user, "order__tenant").get(
        pk=request_id
    )
