"""Needs attention: what failed or waits on a person, replayed or dismissed in bulk."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from orders.case_rules import DEFAULT_QUIET_DAYS
from orders.forms import BulkReplayForm
from orders.models import CancelRequest
from orders.selectors.attention import attention, cancel_request_get, replay_selection
from orders.services.notes import note_replay
from orders.services.order_cancellation import cancel_dismiss, cancel_replay
from orders.services.order_submission import order_submit_replay
from orders.services.stage_change import inbound_replay
from orders.views.actor import request_actor


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
    actor = request_actor(request)
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
        cancel_dismiss(request=cancel, actor=request_actor(request))
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.info(request, f"Refused cancellation of case #{cancel.order_id} dismissed.")
    return redirect("attention")
