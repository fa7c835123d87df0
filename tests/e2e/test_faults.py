"""Lever and Backcheck misbehaving: notes still arrive exactly once, in order."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from connectors.models import Tenant
from orders.models import LeverNote, NoteAttempt
from orders.tasks import reconcile_quiet_orders
from tests.support.harness import wait_until

pytestmark = [pytest.mark.e2e]


def _open_order(w):
    w.trigger("ada")
    order = w.wait_order("ada", lambda o: o.screening_id)
    w.wait_notes("ada", 1)
    return order


def test_lever_answering_500_for_a_while_delays_notes_but_keeps_them_in_order(wired):
    w = wired(piecemeal=True)
    order = _open_order(w)
    w.lever.inject_fault(status=500, count=4, method="POST", path_contains="/notes")
    w.backcheck.consent(order.screening_id)
    w.backcheck.complete(order.screening_id, "Green")
    notes = w.wait_notes("ada", 5, timeout=30)
    statuses = [n.splitlines()[1] for n in notes]
    assert statuses == [
        "Status: New",
        "Status: In Production",
        "Status: In Progress",
        "Status: Fulfilled",
        "Status: Completed",
    ]
    assert (
        NoteAttempt.objects.filter(note__order=order, outcome="transient", http_status=500).count()
        == 4
    )


def test_a_401_fails_the_note_blocks_the_rest_and_replay_delivers_all_once_in_order(wired):
    w = wired(piecemeal=True)
    order = _open_order(w)
    good_key = w.api_key
    tenant = Tenant.objects.get(pk=w.tenant.pk)
    tenant.lever_api_key = "a-revoked-lever-key-0000000000"
    tenant.save()
    w.backcheck.consent(order.screening_id)
    w.backcheck.complete(order.screening_id, "Green")
    wait_until(
        lambda: LeverNote.objects.filter(order=order, state="failed").count() == 1,
        message="the first note to fail",
    )
    wait_until(
        lambda: LeverNote.objects.filter(order=order, state="blocked").count() == 3,
        message="the later notes to be blocked",
    )
    failed = LeverNote.objects.get(order=order, state="failed")
    assert failed.last_http_status == 401 and failed.attempts == 1  # permanent: no retries
    assert len(w.notes("ada")) == 1
    tenant.lever_api_key = good_key
    tenant.save()
    call_command("replay", "--failed", "--tenant", tenant.slug)
    notes = w.wait_notes("ada", 5)
    assert [n.splitlines()[1] for n in notes] == [
        "Status: New",
        "Status: In Production",
        "Status: In Progress",
        "Status: Fulfilled",
        "Status: Completed",
    ]
    wait_until(
        lambda: not LeverNote.objects.filter(order=order).exclude(state="delivered").exists()
    )


@pytest.mark.parametrize("fault", ["drop_after_read", "drop_after_apply"])
def test_a_dropped_connection_on_a_note_post_ends_with_exactly_one_note(wired, fault):
    w = wired()
    order = _open_order(w)
    w.lever.inject_fault(method="POST", path_contains="/notes", **{fault: True})
    w.backcheck.consent(order.screening_id)
    wait_until(
        lambda: LeverNote.objects.filter(order=order, state="delivered").count() == 2,
        timeout=30,
        message="the In Progress note to be delivered",
    )
    notes = w.notes("ada")
    assert [n.splitlines()[1] for n in notes] == ["Status: New", "Status: In Progress"]
    attempts = list(
        NoteAttempt.objects.filter(note__order=order)
        .order_by("started_at")
        .values_list("outcome", flat=True)
    )
    expected_last = "found" if fault == "drop_after_apply" else "delivered"
    assert attempts == ["delivered", "ambiguous", expected_last]


def test_when_callbacks_stop_the_reconciler_brings_the_order_to_its_final_state(wired, settings):
    w = wired()
    order = _open_order(w)
    w.backcheck.stop_callbacks(order.screening_id)
    w.backcheck.consent(order.screening_id)
    w.backcheck.complete(order.screening_id, "Amber")
    assert w.backcheck.delivered_callbacks(order.screening_id) == []
    settings.RECONCILE_AFTER_S = 0
    assert reconcile_quiet_orders() == 1
    final = w.wait_order("ada", lambda o: o.status == "Completed")
    assert final.score == "Amber" and not final.is_active
    notes = w.wait_notes("ada", 2)
    assert notes[-1].splitlines()[1] == "Status: Completed"
    assert final.history.filter(source="reconcile", outcome="applied").count() == 1
