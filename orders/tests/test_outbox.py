"""The one durable-job mechanism (orders.outbox), kind by kind, against both fakes over HTTP.

For each job kind: a tenant missing the setting the job needs → the job is failed (never
re-enqueued for ever), shown in Needs attention with the fix, and Replay after the fix delivers
it; a failure that persists → failed after that kind's attempt cap. Also: a cancel whose publish
was lost (broker down) is sent by the sweeper; two claims of one row → one winner; a note with
the same text as the previous one is not enqueued.

Tasks are called here as the worker calls them (the broker only carries ids); publishes are not
run (pytest-django's transaction is never committed), which is exactly a lost publish.
"""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from orders import outbox
from orders.models import CancelRequest, InboundEvent, LeverNote, Order
from orders.services.notes import NOTE_JOB, note_enqueue, notes_sweep
from orders.services.order_cancellation import (
    CANCEL_JOB,
    cancel_replay,
    cancels_sweep,
    order_request_cancel,
)
from orders.services.order_submission import SUBMIT_JOB, orders_submit_sweep
from orders.services.stage_change import INBOUND_JOB, inbound_events_sweep
from orders.tasks import cancel_order, deliver_notes, process_inbound, submit_order, sweep_outbox
from tests.support.services import service_unavailable
from tests.support.wired import DEAD, attention_page, stage_change, submitted_order, unset

pytestmark = pytest.mark.django_db

LEASE = timedelta(seconds=settings.OUTBOX_LEASE_S)


def _make_due(model, pk: int, field: str = "next_attempt_at") -> None:
    """Skip the back-off wait (the retry's countdown message would arrive then)."""
    model.objects.filter(pk=pk).update(**{field: None})


# --- inbound processing ----------------------------------------------------------------------


def test_inbound_without_a_lever_key_fails_visibly_and_replay_after_the_fix_succeeds(
    w, manager_client
):
    unset(w.tenant, lever_api_key=None)
    event = stage_change(w)

    process_inbound(event.pk)
    event.refresh_from_db()
    assert event.state == "failed" and event.attempts == 1
    assert event.reason == "Lever API key missing — set it, then Replay."
    assert event.lease_until is None
    # Nothing left for the sweeper: failed is final, not re-enqueued every lease.
    assert inbound_events_sweep(now=timezone.now() + 3 * LEASE) == []
    page = attention_page(manager_client)
    assert "Lever API key missing — set it, then Replay." in page
    assert f'name="event" value="{event.pk}"' in page

    unset(w.tenant, lever_api_key=w.api_key)
    response = manager_client.post(
        reverse("attention-replay"), {"event": [event.pk], "confirm": "on"}
    )
    assert response.status_code == 302
    process_inbound(event.pk)
    event.refresh_from_db()
    assert event.state == "processed" and event.outcome == "order_opened"
    assert Order.objects.filter(tenant=w.tenant, opportunity_id=w.candidate("ada")).count() == 1


def test_inbound_with_lever_unreachable_fails_after_its_cap(w, settings):
    settings.INBOUND_MAX_ATTEMPTS = 3
    settings.NOTE_MAX_ATTEMPTS = 10  # the cap is the kind's own
    unset(w.tenant, lever_base_url=DEAD + "/v1")
    event = stage_change(w)
    for attempt in (1, 2):
        process_inbound(event.pk)  # the task re-publishes itself with a countdown
        event.refresh_from_db()
        assert event.state == "received" and event.attempts == attempt
        _make_due(InboundEvent, event.pk)
    process_inbound(event.pk)
    event.refresh_from_db()
    assert event.state == "failed" and event.attempts == 3
    assert "could not be reached after 3 attempts" in event.reason
    assert event.reason.endswith("Replay once it answers again.")


def test_an_inbound_event_whose_workers_keep_dying_is_failed_by_the_sweep_at_its_cap(w, settings):
    settings.INBOUND_MAX_ATTEMPTS = 2
    event = stage_change(w)
    now = timezone.now()
    for _ in range(2):
        assert outbox.claim(INBOUND_JOB, event.pk, now=now)
        now += LEASE * 2  # the worker died; its lease ran out
        swept = inbound_events_sweep(now=now)
        event.refresh_from_db()
    assert swept == [] and event.state == "failed" and event.attempts == 2
    assert "worker stopped before finishing, 2 times" in event.reason


# --- order submission ------------------------------------------------------------------------


def test_submit_without_backcheck_credentials_fails_visibly_and_replay_sends_it(w, manager_client):
    unset(w.tenant, backcheck_client_secret=None)
    event = stage_change(w)
    process_inbound(event.pk)
    order = Order.objects.get(tenant=w.tenant)

    submit_order(order.pk)
    order.refresh_from_db()
    assert order.submit_state == "failed" and order.submit_attempts == 1
    assert order.submit_error == "Backcheck client secret missing — set it, then Replay."
    assert order.is_active and order.status == "" and not order.screening_id
    assert orders_submit_sweep(now=timezone.now() + 3 * LEASE) == []
    page = attention_page(manager_client)
    assert "Backcheck client secret missing — set it, then Replay." in page
    assert f'name="submit" value="{order.pk}"' in page

    unset(w.tenant, backcheck_client_secret=w.backcheck.client_secret)
    response = manager_client.post(
        reverse("attention-replay"), {"submit": [order.pk], "confirm": "on"}
    )
    assert response.status_code == 302
    submit_order(order.pk)
    order.refresh_from_db()
    assert order.submit_state == "submitted" and order.status == "Initiated"
    assert w.backcheck.screening(order.screening_id)["clientReferenceId"] == str(order.reference)


def test_submit_with_backcheck_unreachable_fails_after_its_cap(w, settings):
    settings.SUBMIT_MAX_ATTEMPTS = 2
    event = stage_change(w)
    process_inbound(event.pk)
    order = Order.objects.get(tenant=w.tenant)
    unset(w.tenant, backcheck_base_url=DEAD)
    submit_order(order.pk)
    order.refresh_from_db()
    assert order.submit_state == "pending" and order.submit_attempts == 1
    _make_due(Order, order.pk, "submit_next_attempt_at")
    submit_order(order.pk)
    order.refresh_from_db()
    assert order.submit_state == "failed" and order.submit_attempts == 2
    assert order.status == "Error" and "after 2 attempts" in order.error_message


def test_a_submission_whose_workers_keep_dying_is_failed_by_the_sweep(w, settings):
    settings.SUBMIT_MAX_ATTEMPTS = 1
    event = stage_change(w)
    process_inbound(event.pk)
    order = Order.objects.get(tenant=w.tenant)
    assert outbox.claim(SUBMIT_JOB, order.pk)
    assert orders_submit_sweep(now=timezone.now() + LEASE * 2) == []
    order.refresh_from_db()
    assert order.submit_state == "failed" and "worker stopped" in order.submit_error


# --- cancellation ----------------------------------------------------------------------------


def test_cancel_without_backcheck_credentials_fails_visibly_and_replay_cancels(w, manager_client):
    order = submitted_order(w)
    unset(w.tenant, backcheck_client_secret=None)
    request = order_request_cancel(order=order, actor="am-outbox")

    cancel_order(order.pk)
    request.refresh_from_db()
    assert request.state == "failed" and request.attempts == 1
    assert request.last_error == "Backcheck client secret missing — set it, then Replay."
    assert cancels_sweep(now=timezone.now() + 3 * LEASE) == []
    assert order.history.filter(
        source="cancel", outcome="rejected", reason__contains="secret missing"
    ).exists()
    page = attention_page(manager_client)
    assert "Cancellations not sent" in page
    assert f'name="cancel" value="{request.pk}"' in page

    unset(w.tenant, backcheck_client_secret=w.backcheck.client_secret)
    response = manager_client.post(
        reverse("attention-replay"), {"cancel": [request.pk], "confirm": "on"}
    )
    assert response.status_code == 302
    cancel_order(order.pk)
    request.refresh_from_db()
    order.refresh_from_db()
    assert request.state == "done" and order.status == "Canceled"
    assert w.backcheck.screening(order.screening_id)["status"] == "Canceled"


def test_cancel_with_backcheck_unreachable_fails_after_its_cap(w, settings):
    settings.CANCEL_MAX_ATTEMPTS = 2
    order = submitted_order(w)
    unset(w.tenant, backcheck_base_url=DEAD)
    request = order_request_cancel(order=order, actor="am")
    cancel_order(order.pk)
    request.refresh_from_db()
    assert request.state == "pending" and request.attempts == 1
    _make_due(CancelRequest, request.pk)
    cancel_order(order.pk, 2)  # a message in the previous release's shape
    request.refresh_from_db()
    assert request.state == "failed" and request.attempts == 2
    assert "could not be reached after 2 attempts" in request.last_error


def test_a_cancel_requested_while_the_broker_is_down_is_sent_by_the_sweeper(w):
    order = submitted_order(w)
    # The request commits; its publish is lost (here it never runs), as with Redis down.
    request = order_request_cancel(order=order, actor="am")
    assert cancels_sweep(now=timezone.now() + LEASE / 2) == []  # not stuck yet
    later = timezone.now() + LEASE + timedelta(seconds=1)
    assert cancels_sweep(now=later) == [order.pk]
    assert cancels_sweep(now=later + timedelta(seconds=1)) == []  # once per lease
    # Beat's sweep task covers cancellations (its publishes are lost here too).
    CancelRequest.objects.filter(pk=request.pk).update(
        requeued_at=None, created_at=timezone.now() - 2 * LEASE
    )
    assert sweep_outbox()["cancels"] == 1
    cancel_order(order.pk)  # what the sweeper published
    request.refresh_from_db()
    order.refresh_from_db()
    assert request.state == "done" and order.status == "Canceled"


def test_a_cancel_task_of_the_previous_release_is_still_accepted(w):
    order = submitted_order(w)
    # The previous release kept no row: only cancel_requested_at and a task message.
    Order.objects.filter(pk=order.pk).update(cancel_requested_at=timezone.now())
    cancel_order(order.pk, 3)
    order.refresh_from_db()
    assert order.status == "Canceled"
    assert order.cancel_requests.get().state == "done"


def test_asking_twice_while_a_cancel_is_pending_adds_nothing(w):
    order = submitted_order(w)
    first = order_request_cancel(order=order, actor="am")
    assert order_request_cancel(order=order, actor="am") == first
    assert order.cancel_requests.count() == 1


def test_a_failed_cancel_of_an_order_that_has_finished_meanwhile_is_not_replayed(w):
    order = submitted_order(w)
    unset(w.tenant, backcheck_client_id=None)
    request = order_request_cancel(order=order, actor="am")
    cancel_order(order.pk)
    request.refresh_from_db()
    assert request.state == "failed"
    Order.objects.filter(pk=order.pk).update(status="Completed", is_active=False)
    request = CancelRequest.objects.select_related("order").get(pk=request.pk)
    with pytest.raises(ValueError, match="Completed now"):
        cancel_replay(request=request, actor="am")
    request.refresh_from_db()
    assert request.state == "failed"


# --- note delivery ---------------------------------------------------------------------------


def _note(w, order: Order, text: str) -> LeverNote:
    note = note_enqueue(
        tenant=w.tenant, order=order, opportunity_id=order.opportunity_id, kind="order", text=text
    )
    assert note is not None
    return note


def test_notes_without_a_lever_key_fail_visibly_and_replay_delivers_them_in_order(
    w, manager_client
):
    order = submitted_order(w)  # its first note is queued, not yet delivered
    first = LeverNote.objects.get(order=order)
    second = _note(w, order, "Sterling Backcheck background check\nStatus: In Progress")
    unset(w.tenant, lever_api_key=None)

    deliver_notes(first.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == "failed" and first.attempts == 1
    assert first.last_error == "Lever API key missing — set it, then Replay."
    assert second.state == "blocked"
    assert notes_sweep(now=timezone.now() + 3 * LEASE) == []
    page = attention_page(manager_client)
    assert "Lever API key missing — set it, then Replay." in page

    assert f'name="note" value="{first.pk}"' in page

    unset(w.tenant, lever_api_key=w.api_key)
    response = manager_client.post(
        reverse("attention-replay"), {"note": [first.pk], "confirm": "on"}
    )
    assert response.status_code == 302
    deliver_notes(first.pk)
    assert [n["value"].splitlines()[1] for n in w.lever.notes(w.api_key, order.opportunity_id)] == [
        "Status: New",
        "Status: In Progress",
    ]


def test_notes_with_lever_unreachable_fail_after_their_cap(w, settings):
    settings.NOTE_MAX_ATTEMPTS = 2
    settings.INBOUND_MAX_ATTEMPTS = 10
    order = submitted_order(w)
    note = LeverNote.objects.get(order=order)
    unset(w.tenant, lever_base_url=DEAD + "/v1")
    deliver_notes(note.pk)
    note.refresh_from_db()
    assert note.state == "pending" and note.attempts == 1
    _make_due(LeverNote, note.pk)
    deliver_notes(note.pk)
    note.refresh_from_db()
    assert note.state == "failed" and note.attempts == 2
    assert "could not be reached after 2 attempts" in note.last_error


def test_identical_note_text_is_enqueued_once(w):
    order = submitted_order(w)
    text = "Sterling Backcheck background check\nStatus: In Progress"
    assert _note(w, order, text)
    assert (
        note_enqueue(
            tenant=w.tenant,
            order=order,
            opportunity_id=order.opportunity_id,
            kind="order",
            text=text,
        )
        is None
    )
    assert LeverNote.objects.filter(order=order, text=text).count() == 1


# --- claims ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["inbound", "submit", "cancel", "note"])
def test_claiming_one_row_twice_has_exactly_one_winner(w, kind):
    if kind == "inbound":
        job, pk = INBOUND_JOB, stage_change(w).pk
    else:
        order = submitted_order(w)
        if kind == "submit":
            Order.objects.filter(pk=order.pk).update(
                submit_state="pending", submit_next_attempt_at=None
            )
            job, pk = SUBMIT_JOB, order.pk
        elif kind == "cancel":
            job, pk = CANCEL_JOB, order_request_cancel(order=order, actor="am").pk
        else:
            job, pk = NOTE_JOB, LeverNote.objects.get(order=order).pk
    assert [outbox.claim(job, pk), outbox.claim(job, pk)] == [True, False]


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_note_have_exactly_one_winner(w):
    if connection.vendor != "postgresql":
        service_unavailable("row locking needs PostgreSQL (DATABASE_URL)")
    order = submitted_order(w)
    note = LeverNote.objects.get(order=order)
    barrier = threading.Barrier(8)
    results: list[bool] = []

    def claim() -> None:
        barrier.wait()
        try:
            results.append(outbox.claim(NOTE_JOB, note.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    note.refresh_from_db()
    assert note.state == "sending" and note.attempts == 1


def test_a_delivered_note_is_never_claimed_again(w):
    order = submitted_order(w)
    note = LeverNote.objects.get(order=order)
    deliver_notes(note.pk)
    note.refresh_from_db()
    assert note.state == "delivered"
    assert not outbox.claim(NOTE_JOB, note.pk)
    deliver_notes(note.pk)
    assert len(w.lever.notes(w.api_key, order.opportunity_id)) == 1


def test_replay_failed_from_the_command_line_covers_submissions_and_cancellations(w):
    unset(w.tenant, backcheck_client_secret=None)
    event = stage_change(w)
    process_inbound(event.pk)
    order = Order.objects.get(tenant=w.tenant)
    submit_order(order.pk)
    order.refresh_from_db()
    assert order.submit_state == "failed"
    unset(w.tenant, backcheck_client_secret=w.backcheck.client_secret)
    out = io.StringIO()
    call_command("replay", "--failed", "--tenant", w.tenant.slug, stdout=out)
    assert "1 order submission(s)" in out.getvalue()
    submit_order(order.pk)
    order.refresh_from_db()
    assert order.submit_state == "submitted"

    unset(w.tenant, backcheck_client_secret=None)
    request = order_request_cancel(order=order, actor="am")
    cancel_order(order.pk)
    request.refresh_from_db()
    assert request.state == "failed"
    unset(w.tenant, backcheck_client_secret=w.backcheck.client_secret)
    call_command("replay", "--failed", "--tenant", w.tenant.slug, stdout=out)
    cancel_order(order.pk)
    order.refresh_from_db()
    assert order.status == "Canceled"
