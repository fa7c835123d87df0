"""The Lever note outbox: queueing, replay, skip and sweep (docs/CONTRACT.md §3, §7).

Notes of one order are delivered in order: only the oldest undelivered note of a group (an order,
or for notes without an order the tenant's opportunity) is ever sent. A note that fails for good
blocks the ones behind it until an operator replays or skips it. Sending a group's notes is
orders.services.delivery.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from connectors.models import Tenant
from orders import jobs, outbox
from orders.models import InboundEvent, LeverNote, NoteAttempt, Order, OrderAction
from orders.outbox import JobKind
from orders.services.extras import EXTRA_KINDS, extra_rows

logger = logging.getLogger(__name__)

_UNFINISHED = (
    LeverNote.State.PENDING,
    LeverNote.State.SENDING,
    LeverNote.State.FAILED,
    LeverNote.State.BLOCKED,
)


# Posting a note is a durable job (orders.outbox); delivery order within a group is this
# module's own rule on top of it.
NOTE_JOB = JobKind(
    name="note",
    model=LeverNote,
    cap_setting="NOTE_MAX_ATTEMPTS",
    service="Lever",
    ready=LeverNote.State.PENDING,
    running=LeverNote.State.SENDING,
    lease="lease_until",
    failed=LeverNote.State.FAILED,
)


def _group(note: LeverNote) -> QuerySet[LeverNote]:
    if note.order_id:
        return LeverNote.objects.filter(order_id=note.order_id)
    return LeverNote.objects.filter(
        tenant_id=note.tenant_id, opportunity_id=note.opportunity_id, order__isnull=True
    )


def _group_for(*, tenant: Tenant, order: Order | None, opportunity_id: str) -> QuerySet[LeverNote]:
    if order is not None:
        return LeverNote.objects.filter(order=order)
    return LeverNote.objects.filter(
        tenant=tenant, opportunity_id=opportunity_id, order__isnull=True
    )


def note_enqueue(
    *,
    tenant: Tenant,
    order: Order | None,
    opportunity_id: str,
    kind: str,
    text: str,
    inbound_event: InboundEvent | None = None,
    is_resync: bool = False,
) -> LeverNote | None:
    """Add a note to the outbox; None when it would repeat the previous note (docs/CONTRACT.md §3)."""
    group = _group_for(tenant=tenant, order=order, opportunity_id=opportunity_id)
    if order is not None and not is_resync and kind not in EXTRA_KINDS:
        # Per order, a note equal to the previous one says nothing new (docs/CONTRACT.md §3). Notes
        # without an order ("cannot order" errors) are repeated: each answers a new stage move.
        previous = (
            group.exclude(state=LeverNote.State.SKIPPED)
            .exclude(kind__in=EXTRA_KINDS)
            .order_by("-created_at", "-id")
        )
        last = previous.values_list("text", flat=True).first()
        if last == text:
            return None
    held = group.filter(state__in=[LeverNote.State.FAILED, LeverNote.State.BLOCKED]).exists()
    note = LeverNote.objects.create(
        tenant=tenant,
        order=order,
        inbound_event=inbound_event,
        opportunity_id=opportunity_id,
        kind=kind,
        text=text,
        is_resync=is_resync,
        state=LeverNote.State.BLOCKED if held else LeverNote.State.PENDING,
    )
    if not held:
        jobs.deliver_notes_later(note.pk)
    return note


def extras_enqueue(
    *,
    tenant: Tenant,
    order: Order,
    old_status: str | None,
    new_status: str,
    score: str | None,
    inbound_event: InboundEvent | None = None,
) -> list[LeverNote]:
    """Queue the Lever extras a status change asks for (orders.services.extras) in the order's
    note group, so they are sent in order after the note they follow."""
    queued = []
    for kind, text in extra_rows(
        tenant=tenant, old_status=old_status, new_status=new_status, score=score
    ):
        row = note_enqueue(
            tenant=tenant,
            order=order,
            opportunity_id=order.opportunity_id,
            kind=kind,
            text=text,
            inbound_event=inbound_event,
        )
        if row is not None:
            queued.append(row)
    return queued


def group_head(note: LeverNote) -> LeverNote | None:
    head = _group(note).filter(state__in=_UNFINISHED).order_by("created_at", "id").first()
    if head is not None and head.tenant_id == note.tenant_id and LeverNote.tenant.is_cached(note):
        # A group is one tenant's: the tenant already loaded (and its secrets decrypted) serves
        # the head too, instead of a query when sending reads `head.tenant`.
        head.tenant = note.tenant
    return head


def block_behind(note: LeverNote) -> None:
    _group(note).filter(state=LeverNote.State.PENDING).filter(
        Q(created_at__gt=note.created_at) | Q(created_at=note.created_at, id__gt=note.id)
    ).update(state=LeverNote.State.BLOCKED)


def record_attempt(
    note: LeverNote,
    *,
    started: datetime,
    outcome: str,
    duration_ms: int = 0,
    http_status: int | None = None,
    error: str = "",
    task_id: str = "",
) -> None:
    NoteAttempt.objects.create(
        note=note,
        started_at=started,
        duration_ms=duration_ms,
        outcome=outcome,
        http_status=http_status,
        error=error[:2000],
        task_id=task_id,
    )


def note_replay(*, note: LeverNote, actor: str) -> None:
    """Send a failed note again, and release the notes it was holding."""
    with transaction.atomic():
        if not outbox.replay(NOTE_JOB, note.pk, requeued_at=None):
            raise ValueError("Only a failed note can be replayed.")
        _release_blocked(note)
        _audit(note, actor, "replay_note")
    jobs.deliver_notes_later(note.pk)


def note_skip(*, note: LeverNote, actor: str) -> None:
    """Give up on a failed note on purpose, and release the notes behind it."""
    with transaction.atomic():
        updated = LeverNote.objects.filter(pk=note.pk, state=LeverNote.State.FAILED).update(
            state=LeverNote.State.SKIPPED
        )
        if not updated:
            raise ValueError("Only a failed note can be skipped.")
        _release_blocked(note)
        _audit(note, actor, "skip_note")
        following = group_head(note)
    if following is not None:
        jobs.deliver_notes_later(following.pk)


def _release_blocked(note: LeverNote) -> None:
    group = _group(note)
    if group.filter(state=LeverNote.State.FAILED).exclude(pk=note.pk).exists():
        return  # another failed note still holds the queue
    group.filter(state=LeverNote.State.BLOCKED).update(
        state=LeverNote.State.PENDING, next_attempt_at=None
    )


def _audit(note: LeverNote, actor: str, action: str) -> None:
    if note.order_id:
        OrderAction.objects.create(
            order_id=note.order_id, actor=actor, action=action, detail=f"note #{note.pk}"
        )


def notes_sweep(*, now: datetime | None = None) -> list[int]:
    """Notes nobody is working on (lost publishes, killed workers): the ids to re-enqueue."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.OUTBOX_LEASE_S)
    lost: list[int] = []
    # A worker died holding the note: the send may have reached Lever, so look before resending.
    for note in outbox.expired(NOTE_JOB, now):
        with transaction.atomic():
            claimed_at = note.lease_until - lease if note.lease_until else now
            moved = LeverNote.objects.filter(
                pk=note.pk, state=LeverNote.State.SENDING, lease_until=note.lease_until
            ).update(
                state=LeverNote.State.PENDING,
                lease_until=None,
                next_attempt_at=None,
                requeued_at=now,
                check_before_send_since=note.check_before_send_since or claimed_at,
            )
            if moved:
                record_attempt(
                    note,
                    started=claimed_at,
                    outcome=NoteAttempt.Outcome.LOST,
                    error="the worker stopped before recording the result",
                )
        if moved and note.attempts < NOTE_JOB.max_attempts:
            lost.append(note.pk)
    # Out of attempts (its last worker died): failed, and the notes behind it wait.
    outbox.fail_exhausted(NOTE_JOB, now, on_fail=_fail_exhausted)
    # The oldest stuck note of each group stands for the group (the task delivers the group's
    # head); a group whose note was re-enqueued within the lease is left to that copy.
    heads: dict[tuple[Any, ...], int] = {}
    rows = (
        outbox.stuck(NOTE_JOB, now)
        .order_by("created_at", "id")
        .values_list("pk", "order_id", "tenant_id", "opportunity_id")
    )
    for pk, *key in rows:
        heads.setdefault(tuple(key), pk)
    return lost + outbox.claim_stuck(
        LeverNote.objects.filter(pk__in=heads.values()), field="requeued_at", now=now
    )


def _fail_exhausted(note_id: int, reason: str) -> None:
    outbox.fail(NOTE_JOB, note_id, reason=reason)
    block_behind(LeverNote.objects.get(pk=note_id))
