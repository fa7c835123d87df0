"""The beat sweeper's choices (docs/CONTRACT.md §7): what it re-enqueues, and how often.

A row is re-enqueued once it has been stuck for OUTBOX_LEASE_S, and then at most once per lease:
its copy may be waiting behind a backlog, and one more copy every sweep would grow that backlog.
The tasks that publish these ids run against a real worker in tests/reliability.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from connectors.models import Tenant
from orders.models import InboundEvent, LeverNote, NoteAttempt, Order
from orders.services.notes import notes_sweep
from orders.services.order_submission import orders_submit_sweep
from orders.services.stage_change import inbound_events_sweep
from tests.support.history import dashboard_tenant, make_order
from tests.support.services import service_unavailable

LEASE = timedelta(seconds=settings.OUTBOX_LEASE_S)
SECOND = timedelta(seconds=1)


def _event(tenant: Tenant) -> InboundEvent:
    return InboundEvent.objects.create(
        source=InboundEvent.Source.LEVER,
        tenant=tenant,
        event_type="candidateStageChange",
        raw_body="{}",
    )


def _note(tenant: Tenant, order: Order | None, **fields) -> LeverNote:
    return LeverNote.objects.create(
        tenant=tenant,
        order=order,
        opportunity_id=order.opportunity_id if order else "opp-without-order",
        kind=LeverNote.Kind.ORDER,
        text="Sterling Backcheck background check\nStatus: New",
        **fields,
    )


def _stuck_since_now() -> datetime:
    """A sweep time at which rows created just now have been stuck for a lease."""
    return timezone.now() + LEASE + SECOND


@pytest.fixture
def tenant(db) -> Tenant:
    return dashboard_tenant("sweep")


def test_an_event_is_requeued_once_stuck_for_a_lease_then_once_per_lease(tenant):
    event = _event(tenant)
    assert inbound_events_sweep(now=timezone.now() + LEASE - SECOND) == []

    first = _stuck_since_now()
    assert inbound_events_sweep(now=first) == [event.pk]
    # Its copy may be waiting in a long queue: no second copy at the next sweeps...
    assert inbound_events_sweep(now=first + SECOND) == []
    assert inbound_events_sweep(now=first + LEASE - SECOND) == []
    # ...but if that copy is lost too, another one a lease later.
    assert inbound_events_sweep(now=first + LEASE + SECOND) == [event.pk]


def test_an_event_whose_worker_died_is_released_and_requeued(tenant):
    event = _event(tenant)
    claimed_until = timezone.now() + LEASE
    InboundEvent.objects.filter(pk=event.pk).update(
        state=InboundEvent.State.PROCESSING, lease_until=claimed_until
    )
    assert inbound_events_sweep(now=claimed_until + SECOND) == [event.pk]
    event.refresh_from_db()
    assert (event.state, event.lease_until) == (InboundEvent.State.RECEIVED, None)


def test_a_processed_event_is_never_requeued(tenant):
    event = _event(tenant)
    InboundEvent.objects.filter(pk=event.pk).update(state=InboundEvent.State.PROCESSED)
    assert inbound_events_sweep(now=_stuck_since_now()) == []


def test_an_order_waiting_to_be_submitted_is_requeued_once_per_lease(tenant):
    order = make_order(tenant)
    Order.objects.filter(pk=order.pk).update(submit_state=Order.SubmitState.PENDING)
    first = _stuck_since_now()
    assert orders_submit_sweep(now=first) == [order.pk]
    assert orders_submit_sweep(now=first + SECOND) == []
    assert orders_submit_sweep(now=first + LEASE + SECOND) == [order.pk]


def test_an_order_claim_that_ran_out_is_requeued_when_its_lease_ends(tenant):
    """A worker died mid-submit: recovered one lease after the claim, not two."""
    order = make_order(tenant)
    claimed_at = timezone.now()
    Order.objects.filter(pk=order.pk).update(
        submit_state=Order.SubmitState.PENDING,
        submit_attempts=1,
        submit_next_attempt_at=claimed_at + LEASE,
    )
    assert orders_submit_sweep(now=claimed_at + LEASE - SECOND) == []
    assert orders_submit_sweep(now=claimed_at + LEASE + SECOND) == [order.pk]


def test_only_the_oldest_stuck_note_of_each_group_is_requeued_once_per_lease(tenant):
    first_order, second_order = make_order(tenant), make_order(tenant)
    head = _note(tenant, first_order)
    _note(tenant, first_order)  # behind `head`: the task delivers it after the head
    other_head = _note(tenant, second_order)
    orderless = _note(tenant, None)
    _note(tenant, first_order, state=LeverNote.State.DELIVERED)

    first = _stuck_since_now()
    assert sorted(notes_sweep(now=first)) == sorted([head.pk, other_head.pk, orderless.pk])
    # The group's head was just re-enqueued: the note behind it must not stand in for it.
    assert notes_sweep(now=first + SECOND) == []
    assert sorted(notes_sweep(now=first + LEASE + SECOND)) == sorted(
        [head.pk, other_head.pk, orderless.pk]
    )


def test_a_note_held_by_a_dead_worker_is_requeued_once_and_marked_lost(tenant):
    order = make_order(tenant)
    claimed_until = timezone.now() + LEASE
    note = _note(tenant, order, state=LeverNote.State.SENDING, lease_until=claimed_until)

    swept = notes_sweep(now=claimed_until + SECOND)
    assert swept == [note.pk]  # once: not again as its group's stuck head
    note.refresh_from_db()
    assert note.state == LeverNote.State.PENDING
    assert note.check_before_send_since is not None  # the send may have reached Lever
    assert list(note.attempts_log.values_list("outcome", flat=True)) == [NoteAttempt.Outcome.LOST]
    assert notes_sweep(now=claimed_until + 2 * SECOND) == []


@pytest.mark.django_db(transaction=True)
def test_overlapping_sweeps_split_the_rows_instead_of_each_sending_all():
    """After a broker outage beat's queued sweeps run side by side; a row another sweep is
    claiming is skipped, not sent twice."""
    if connection.vendor != "postgresql":
        service_unavailable("row locks (SELECT … FOR UPDATE SKIP LOCKED) need PostgreSQL")
    tenant = dashboard_tenant("overlap")
    held, other = _event(tenant), _event(tenant)
    locked, release = threading.Event(), threading.Event()

    def other_sweep_holding(pk: int) -> None:
        with transaction.atomic():
            list(InboundEvent.objects.select_for_update().filter(pk=pk))
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_sweep_holding, args=(held.pk,))
    thread.start()
    try:
        assert locked.wait(10)
        assert inbound_events_sweep(now=_stuck_since_now()) == [other.pk]
    finally:
        release.set()
        thread.join(10)
