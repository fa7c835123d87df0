"""A case: its detail page, one stored webhook or callback, and the actions on it (resync,
cancel, try again, replay or skip a note), each confirmed on a page of its own."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from orders.case_rules import status_label
from orders.models import LeverNote, Order
from orders.selectors.case import case_detail, case_event, case_note
from orders.selectors.orders import order_get
from orders.services.notes import note_replay, note_skip
from orders.services.order_cancellation import order_request_cancel
from orders.services.order_records import InvalidOrderState
from orders.services.order_sync import order_resync
from orders.services.stage_change import TryAgainRefused, case_try_again
from orders.views.actor import request_actor


def _order(request: HttpRequest, order_id: int) -> Order:
    try:
        return order_get(user=request.user, order_id=order_id)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None


def _note(request: HttpRequest, order: Order, note_id: int) -> LeverNote:
    try:
        return case_note(order=order, note_id=note_id)
    except LeverNote.DoesNotExist:
        raise Http404("No such note.") from None


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order(request, order_id)
    case = case_detail(order=order)
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "case": case,
            "status_label": status_label(order.status),
            "show_all": request.GET.get("timeline") == "all",
        },
    )


@login_required
@require_GET
def inbound_event_detail(request: HttpRequest, order_id: int, event_id: int) -> HttpResponse:
    """The stored body of one webhook or callback of the case (for "what exactly arrived?")."""
    order = _order(request, order_id)
    event = case_event(order=order, event_id=event_id)
    if event is None:
        raise Http404("No such event.")
    return render(request, "orders/inbound_event.html", {"order": order, "event": event})


def _confirm_page(request: HttpRequest, order: Order, **context: Any) -> HttpResponse:
    return render(request, "orders/confirm.html", {"order": order, **context})


@login_required
@require_http_methods(["GET", "POST"])
def order_resync_view(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order(request, order_id)
    if request.method == "GET":
        return _confirm_page(
            request,
            order,
            title="Resync to Lever",
            question=f"Post the current status of order {order.order_number or order.pk} to "
            f"{order.candidate_name or 'the candidate'} in Lever again?",
            explain="A new note with the order's current status is queued for Lever, even if "
            "the same text was posted before. Use it when the candidate's notes in Lever are "
            "missing or out of date.",
            button="Resync to Lever",
            danger=False,
        )
    try:
        order_resync(order=order, actor=request_actor(request))
    except InvalidOrderState as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Resync queued: the new note is shown in the timeline.")
    return redirect("order-detail", order_id=order.pk)


@login_required
@require_http_methods(["GET", "POST"])
def order_cancel_view(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order(request, order_id)
    if request.method == "GET":
        return _confirm_page(
            request,
            order,
            title="Cancel order",
            question=f"Ask Backcheck to cancel order {order.order_number or order.pk} for "
            f"{order.candidate_name or 'this candidate'}?",
            explain="Backcheck stops the check; the status changes to Canceled when Backcheck "
            "confirms, and Lever gets a note. This cannot be undone: a new check needs a new "
            "order.",
            button="Cancel the order",
            danger=True,
        )
    try:
        order_request_cancel(order=order, actor=request_actor(request))
    except InvalidOrderState as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, "Cancellation requested. The status changes when Backcheck confirms."
        )
    return redirect("order-detail", order_id=order.pk)


@login_required
@require_http_methods(["GET", "POST"])
def order_try_again_view(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _order(request, order_id)
    if request.method == "GET":
        return _confirm_page(
            request,
            order,
            title="Try again",
            question=f"Read {order.candidate_name or 'this candidate'} from Lever again and "
            "order the check if it can be ordered now?",
            explain=f"This case could not be ordered: {order.error_message} If that has been "
            "fixed in Lever, the order goes to Backcheck; if not, nothing changes and nothing "
            "is posted to Lever.",
            button="Try again",
        )
    try:
        case_try_again(order=order, actor=request_actor(request))
    except TryAgainRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Ordered: the case is on its way to Backcheck.")
    return redirect("order-detail", order_id=order.pk)


@login_required
@require_http_methods(["GET", "POST"])
def note_action_view(
    request: HttpRequest, order_id: int, note_id: int, action: str
) -> HttpResponse:
    order = _order(request, order_id)
    note = _note(request, order, note_id)
    if request.method == "GET":
        replay = action == "replay"
        return _confirm_page(
            request,
            order,
            title=f"{'Replay' if replay else 'Skip'} note #{note.pk}",
            question=(
                f"Send note #{note.pk} to Lever again?"
                if replay
                else f"Skip note #{note.pk} and never send it?"
            ),
            explain=(
                "The note is queued again; notes waiting behind it are released."
                if replay
                else "The note stays in the history as skipped; notes waiting behind it are "
                "released and sent."
            ),
            note=note,
            button="Replay note" if replay else "Skip note",
            danger=not replay,
        )
    service = note_replay if action == "replay" else note_skip
    try:
        service(note=note, actor=request_actor(request))
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Note #{note.pk} {'queued again' if action == 'replay' else 'skipped'}."
        )
    return redirect("order-detail", order_id=order.pk)
