"""The account managers' pages: orders list, case detail and its actions, needs attention,
manual launch.

Every lookup goes through connectors.tenants.access (another tenant's order, note or event → 404).
Actions are confirmed on a page of their own (no inline JS: the CSP is default-src 'self'), then
call one service, which writes the OrderAction audit row; the view only reports the outcome.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integration_portal.users import AuthenticatedHttpRequest
from orders.case_rules import DEFAULT_QUIET_DAYS, DEFAULT_SORT, status_label
from orders.filters import DashboardOrderFilter
from orders.forms import BulkReplayForm, LaunchForm, ProfileForm
from orders.models import CancelRequest, LeverNote, Order, UserProfile
from orders.selectors.attention import attention, cancel_request_get, replay_selection
from orders.selectors.case import case_detail, case_event, case_note
from orders.selectors.export import order_export_rows
from orders.selectors.health import tenant_health_for_user
from orders.selectors.order_list import order_filter, order_list_page
from orders.selectors.orders import order_get
from orders.services.launch import LaunchError, order_launch_manual
from orders.services.notes import note_replay, note_skip
from orders.services.orders import (
    InvalidOrderState,
    cancel_dismiss,
    cancel_replay,
    order_request_cancel,
    order_resync,
    order_submit_replay,
)
from orders.services.stage_change import TryAgainRefused, case_try_again, inbound_replay


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


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


def _filters(request: HttpRequest) -> DashboardOrderFilter:
    return order_filter(user=request.user, data=request.GET)


def _query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    filterset = _filters(request)
    filters = filterset.values()
    listing = order_list_page(
        user=request.user, filterset=filterset, page_number=request.GET.get("page")
    )
    status_param = request.GET.get("status", "")
    counts = [
        {
            "status": status,
            "param": status or "pending",
            "label": status_label(status),
            "count": n,
            "current": status_param == (status or "pending"),
        }
        for status, n in listing.counts
    ]
    context = {
        "form": filterset.form,
        "filters": filters,
        "listing": listing,
        "page": listing.page,
        "counts": counts,
        "sort": filters.get("sort") or DEFAULT_SORT,
        "query_no_page": _query_without(request, "page"),
        "query_no_status": _query_without(request, "page", "status"),
        "query_no_sort": _query_without(request, "page", "sort"),
        "query": request.GET.urlencode(),
        "health": tenant_health_for_user(user=request.user),
        "quiet_days": filters["days"],
    }
    return render(request, "orders/order_list.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet (CSV injection): candidate
    # names come from Lever and are not ours to trust.
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


@login_required
@require_GET
def order_export(request: HttpRequest) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    rows = order_export_rows(user=request.user, filterset=_filters(request))
    stream = (writer.writerow([_csv_safe(str(v)) for v in row]) for row in rows)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return StreamingHttpResponse(
        stream,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="orders-{stamp}.csv"'},
    )


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
        order_resync(order=order, actor=_actor(request))
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
        order_request_cancel(order=order, actor=_actor(request))
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
        case_try_again(order=order, actor=_actor(request))
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
        service(note=note, actor=_actor(request))
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"Note #{note.pk} {'queued again' if action == 'replay' else 'skipped'}."
        )
    return redirect("order-detail", order_id=order.pk)


@login_required
@require_GET
def attention_view(request: HttpRequest) -> HttpResponse:
    try:
        days = max(1, min(365, int(request.GET.get("days", DEFAULT_QUIET_DAYS))))
    except ValueError:
        days = DEFAULT_QUIET_DAYS
    data = attention(user=request.user, days=days)
    return render(request, "orders/attention.html", {"a": data, "days": days})


@login_required
@require_POST
def attention_replay(request: HttpRequest) -> HttpResponse:
    form = BulkReplayForm(request.POST)
    if not form.is_valid():
        for error in form.non_field_errors() or ["Select notes or events by their checkboxes."]:
            messages.error(request, str(error))  # ErrorList items are strings
        return redirect("attention")
    data = form.cleaned_data
    note_ids, event_ids = data["note"], data["event"]
    submit_ids, cancel_ids = data["submit"], data["cancel"]
    chosen = replay_selection(
        user=request.user,
        note_ids=note_ids,
        event_ids=event_ids,
        submit_ids=submit_ids,
        cancel_ids=cancel_ids,
    )
    notes, events, submits, cancels = chosen.notes, chosen.events, chosen.submits, chosen.cancels
    if (
        len(notes) != len(set(note_ids))
        or len(events) != len(set(event_ids))
        or len(submits) != len(set(submit_ids))
        or len(cancels) != len(set(cancel_ids))
    ):
        raise Http404("No such note, event, order or cancellation.")
    if not data["confirm"]:
        return render(
            request,
            "orders/attention_confirm.html",
            {
                "notes": notes,
                "events": events,
                "submits": submits,
                "cancels": cancels,
                "total": chosen.total,
            },
        )
    done, problems = 0, []
    actor = _actor(request)
    jobs = (
        [(f"Note #{n.pk}", note_replay, {"note": n, "actor": actor}) for n in notes]
        + [(f"Event #{e.pk}", inbound_replay, {"event": e}) for e in events]
        + [(f"Order #{o.pk}", order_submit_replay, {"order": o, "actor": actor}) for o in submits]
        + [(f"Cancel #{c.pk}", cancel_replay, {"request": c, "actor": actor}) for c in cancels]
    )
    for label, service, kwargs in jobs:
        try:
            service(**kwargs)
            done += 1
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
    if done:
        messages.success(request, f"Queued again: {done}.")
    for problem in problems:
        messages.error(request, problem)
    return redirect("attention")


@login_required
@require_POST
def attention_dismiss(request: HttpRequest) -> HttpResponse:
    """Mark a refused cancellation as read: it leaves Needs attention, stays in the timeline."""
    try:
        request_id = int(request.POST.get("cancel", ""))
    except ValueError:
        messages.error(request, "Choose a refused cancellation to dismiss.")
        return redirect("attention")
    try:
        cancel = cancel_request_get(user=request.user, request_id=request_id)
    except CancelRequest.DoesNotExist:
        raise Http404("No such cancellation.") from None
    try:
        cancel_dismiss(request=cancel, actor=_actor(request))
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, f"Refused cancellation of case #{cancel.order_id} dismissed.")
    return redirect("attention")


@login_required
@require_http_methods(["GET", "POST"])
def order_launch_view(request: HttpRequest) -> HttpResponse:
    initial = {}
    if request.method == "GET" and request.GET.get("tenant"):
        initial["tenant"] = (
            LaunchForm(user=request.user)
            .fields["tenant"]
            .queryset.filter(slug=request.GET["tenant"])  # type: ignore[attr-defined]  # ModelChoiceField
            .first()
        )
    form = LaunchForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            order = order_launch_manual(
                tenant=form.cleaned_data["tenant"],
                reference=form.cleaned_data["reference"],
                package=form.cleaned_data["package"],
                actor=_actor(request),
            )
        except LaunchError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, f"Order {order.pk} opened; it is being sent to Backcheck now."
            )
            return redirect("order-detail", order_id=order.pk)
    return render(request, "orders/launch.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The signed-in user's own preferences."""
    profile, _ = UserProfile.objects.get_or_create(user=request.user)
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(
            request,
            "Attention emails are on." if profile.attention_emails else "Attention emails are off.",
        )
        return redirect("profile")
    return render(request, "orders/profile.html", {"form": form, "profile": profile})
