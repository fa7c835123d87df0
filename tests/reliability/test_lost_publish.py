"""Fault 4: the process dies between commit and enqueue (docs/CONTRACT.md §7): webhooks, callbacks and
cancellations.

The portal process's broker URL points at a closed port, so every publish after a commit fails,
exactly as if the process had died right after committing. The rows are the truth: the beat
sweeper must find them and the worker (on the real broker) must finish the work.
"""

from __future__ import annotations

import time

import pytest
import requests
from django.contrib.auth import get_user_model

from integration_portal.api_tokens.models import ApiToken
from orders.models import CancelRequest, InboundEvent, LeverNote
from tests.e2e.conftest import wait_until
from tests.reliability.conftest import (
    FAST_ENV,
    free_port,
    make_tenant,
    record,
    stage_body,
)

pytestmark = [pytest.mark.e2e]

LEASE = float(FAST_ENV["OUTBOX_LEASE_S"])
SWEEP = float(FAST_ENV["OUTBOX_SWEEP_INTERVAL_S"])


def test_work_committed_but_never_published_is_delivered_by_the_sweeper(stack, fakes):
    lever, backcheck = fakes
    dead_broker = f"redis://127.0.0.1:{free_port()}/0"
    stack.up(portal_env={"CELERY_BROKER_URL": dead_broker})
    w = make_tenant(stack, lever, backcheck)

    body = stage_body(w, w.candidate("ada"))
    answered = time.monotonic()
    response = requests.post(w.webhook_url, json=body, timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    event = InboundEvent.objects.get(tenant=w.tenant)
    assert event.state == "received"  # stored, and the portal could not publish it

    w.wait_notes("ada", 1, timeout=LEASE + SWEEP + 15)
    webhook_to_note = time.monotonic() - answered
    order = w.order("ada")
    assert order.screening_id and order.status == "Initiated"
    # Only the first hop needed the sweeper: past the lease, within one sweep interval (plus the
    # worker's own round trips to both fakes).
    assert webhook_to_note <= LEASE + SWEEP + 3.0, webhook_to_note

    # A callback through the same portal: applied in the request, its note's publish lost.
    called = time.monotonic()
    backcheck.consent(order.screening_id)
    backcheck.wait_for_callbacks(1, screening_id=order.screening_id)
    notes = w.wait_notes("ada", 2, timeout=LEASE + SWEEP + 10)
    callback_to_note = time.monotonic() - called
    assert callback_to_note <= LEASE + SWEEP + 2.0, callback_to_note
    assert [n.splitlines()[1] for n in notes] == ["Status: New", "Status: In Progress"]
    assert "could not publish" in stack.procs[0].output()
    # Lever has the note before the worker records the delivery: wait for the row, not the fake.
    wait_until(
        lambda: LeverNote.objects.filter(order=order, state="delivered").count() == 2,
        timeout=5,
        message="both notes recorded as delivered",
    )
    time.sleep(SWEEP * 2)  # a later sweep finds nothing left to send
    assert len(w.notes("ada")) == 2

    # A cancel through the same portal: answered 202, its publish lost; the sweeper sends the
    # cancel request row (the attempt count no longer rides in the task message).
    user = get_user_model().objects.create_superuser("rel-admin", "rel@example.test", "pw-rel-1")
    _, token = ApiToken.issue(user=user)
    requested = time.monotonic()
    response = requests.post(
        f"{stack.portal_url}/api/v1/orders/{order.pk}/cancel/",
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert response.status_code == 202 and response.json() == {"status": "queued"}
    w.wait_order("ada", lambda o: o.status == "Canceled", timeout=LEASE + SWEEP + 10)
    cancel_to_canceled = time.monotonic() - requested
    assert CancelRequest.objects.get(order=order).state == "done"
    assert backcheck.screening(order.screening_id)["status"] == "Canceled"
    record(
        "lost-publish",
        lease_s=LEASE,
        sweep_s=SWEEP,
        webhook_to_first_note_s=webhook_to_note,
        callback_to_note_s=callback_to_note,
        cancel_to_canceled_s=cancel_to_canceled,
    )
