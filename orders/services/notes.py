"""The Lever note outbox (docs/CONTRACT.md §3, §7).

Notes of one order are delivered in order: only the oldest undelivered note of a group (an order,
or for notes without an order the tenant's opportunity) is ever sent. A note that fails for good
blocks the ones behind it until an operator replays or skips it. Rows are claimed with
conditional updates, so two workers never send the same note, and a note whose send may have
reached Lever is looked for before it is posted again (Lever has no idempotency key).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from connectors.http import HttpError
from connectors.lever.client import LeverClient, LeverNotConfigured, RateLimited
from connectors.lever_interpret import create_note_as_author, same_note_text
from connectors.models import Tenant
from integration_portal import metrics
from orders import jobs, outbox
from orders.models import InboundEvent, LeverNote, NoteAttempt, Order, OrderAction
from orders.notes import notifies_followers
from orders.outbox import JobKind
from orders.services.extras import EXTRA_KINDS, extra_rows, extra_send

logger = logging.getLogger(__name__)

# How far back from the start of an ambiguous attempt a note of ours counts as that attempt
# (docs/CONTRACT.md §7: "created since the attempt started (−60 s)").
AMBIGUOUS_LOOKBACK = timedelta(seconds=60)
# Notes delivered back to back by one task before it hands over (keeps one busy order from
# holding a worker slot for long).
MAX_NOTES_PER_RUN = 20
# How far ahead a task may book a rate-limiter slot (seconds); with a longer queue it waits this
# long and asks again. At 10/s this lets 300 orders of one tenant wait with a slot each.
BOOKING_HORIZON_S = 30.0
# How late after its booked slot a task may still send (seconds). Bookings leave rate × grace of
# the burst unused, so sends up to this late still keep Lever within burst + rate × T.
BOOKING_GRACE_S = 0.5

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


@dataclass(frozen=True)
class Reschedule:
    note_id: int
    countdown: float
    booked_at: float | None = None  # epoch time of the limiter slot booked for that run


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


def _head(note: LeverNote) -> LeverNote | None:
    head = _group(note).filter(state__in=_UNFINISHED).order_by("created_at", "id").first()
    if head is not None and head.tenant_id == note.tenant_id and LeverNote.tenant.is_cached(note):
        # A group is one tenant's: the tenant already loaded (and its secrets decrypted) serves
        # the head too, instead of a query when sending reads `head.tenant`.
        head.tenant = note.tenant
    return head


def _block_behind(note: LeverNote) -> None:
    _group(note).filter(state=LeverNote.State.PENDING).filter(
        Q(created_at__gt=note.created_at) | Q(created_at=note.created_at, id__gt=note.id)
    ).update(state=LeverNote.State.BLOCKED)


def _find_posted(client: LeverClient, note: LeverNote, since: datetime) -> str | None:
    threshold_ms = int((since - AMBIGUOUS_LOOKBACK).timestamp() * 1000)
    for posted in client.list_notes(note.opportunity_id):
        if same_note_text(posted.text, note.text) and (posted.created_at or 0) >= threshold_ms:
            return posted.id
    return None


def _record(
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


def _send_one(
    note: LeverNote, client: LeverClient, task_id: str
) -> Reschedule | Literal[True] | None:
    """Send the claimed `note`. True: delivered; Reschedule: try later; None: failed for good."""
    tenant = note.tenant
    started = timezone.now()
    try:
        if note.kind in EXTRA_KINDS:
            extra_send(client, note)
            _mark_delivered(
                note,
                lever_note_id="",
                started=started,
                outcome=NoteAttempt.Outcome.DELIVERED,
                duration_ms=int((timezone.now() - started).total_seconds() * 1000),
                http_status=200,
                task_id=task_id,
            )
            return True
        if note.check_before_send_since is not None:
            found = _find_posted(client, note, note.check_before_send_since)
            if found:
                _mark_delivered(
                    note,
                    lever_note_id=found,
                    started=started,
                    outcome=NoteAttempt.Outcome.FOUND,
                    task_id=task_id,
                )
                return True
        lever_note_id = create_note_as_author(
            client,
            note.opportunity_id,
            value=note.text,
            secret=tenant.notes_secret,
            perform_as=tenant.note_author_user_id or None,
            tenant=tenant,
            notify_followers=tenant.notify_followers and notifies_followers(note.kind, note.text),
        )
    except RateLimited as exc:
        # Not an attempt: nothing was sent. Release the claim and come back when allowed.
        wait = max(0.05, exc.retry_after_s or 0.1)
        metrics.limiter_wait(note.tenant_id, wait)
        LeverNote.objects.filter(pk=note.pk, state=LeverNote.State.SENDING).update(
            state=LeverNote.State.PENDING,
            lease_until=None,
            attempts=F("attempts") - 1,
            next_attempt_at=timezone.now() + timedelta(seconds=wait),
        )
        return Reschedule(note.pk, wait)
    except HttpError as exc:
        return _failed_attempt(note, exc, started, task_id)
    duration = int((timezone.now() - started).total_seconds() * 1000)
    _mark_delivered(
        note,
        lever_note_id=lever_note_id,
        started=started,
        outcome=NoteAttempt.Outcome.DELIVERED,
        duration_ms=duration,
        http_status=201,
        task_id=task_id,
    )
    return True


def _mark_delivered(
    note: LeverNote,
    *,
    lever_note_id: str,
    started: datetime,
    outcome: str,
    duration_ms: int = 0,
    http_status: int | None = None,
    task_id: str = "",
) -> None:
    with transaction.atomic():
        LeverNote.objects.filter(pk=note.pk).update(
            state=LeverNote.State.DELIVERED,
            lever_note_id=lever_note_id or "",
            delivered_at=timezone.now(),
            lease_until=None,
            next_attempt_at=None,
            last_http_status=http_status,
            last_duration_ms=duration_ms,
            last_error="",
        )
        _record(
            note,
            started=started,
            outcome=outcome,
            duration_ms=duration_ms,
            http_status=http_status,
            task_id=task_id,
        )


def _failed_attempt(
    note: LeverNote, exc: HttpError, started: datetime, task_id: str
) -> Reschedule | None:
    attempts = note.attempts
    kind = exc.kind
    outcome = {
        "transient": NoteAttempt.Outcome.TRANSIENT,
        "ambiguous": NoteAttempt.Outcome.AMBIGUOUS,
    }.get(kind, NoteAttempt.Outcome.PERMANENT)
    error = str(exc)
    fields: dict[str, Any] = {
        "lease_until": None,
        "last_error": error[:2000],
        "last_http_status": exc.status,
        "last_duration_ms": exc.duration_ms,
    }
    if kind == "ambiguous" and note.check_before_send_since is None:
        fields["check_before_send_since"] = started
    with transaction.atomic():
        _record(
            note,
            started=started,
            outcome=outcome,
            duration_ms=exc.duration_ms,
            http_status=exc.status,
            error=error,
            task_id=task_id,
        )
        decision = outbox.verdict(NOTE_JOB, exc, attempts)
        if decision.retry:
            delay = decision.delay
            LeverNote.objects.filter(pk=note.pk).update(
                state=LeverNote.State.PENDING,
                next_attempt_at=timezone.now() + timedelta(seconds=delay),
                **fields,
            )
            logger.info(
                "note %s attempt %s failed (%s); retry in %.1fs", note.pk, attempts, error, delay
            )
            return Reschedule(note.pk, delay)
        fields.pop("last_error")
        outbox.fail(NOTE_JOB, note.pk, reason=decision.reason, **fields)
        _block_behind(note)
    logger.warning("note %s failed after %s attempts: %s", note.pk, attempts, error)
    return None


def _claim(note: LeverNote) -> bool:
    return outbox.claim(NOTE_JOB, note.pk)


def notes_deliver(
    *, note_id: int, task_id: str = "", booked_at: float | None = None
) -> Reschedule | None:
    """Deliver the head of `note_id`'s group, then the notes behind it, in order.

    Each send first books its slot with the tenant's Lever rate limiter. A slot in the future
    means: come back exactly then (`booked_at`), so a backlog of many orders wakes one task per
    slot instead of every task polling the limiter together. A task that wakes more than
    BOOKING_GRACE_S after its slot lets the slot go and books again: late tasks sending together
    would otherwise burst past the limit.
    """
    try:
        note = LeverNote.objects.select_related("tenant").get(pk=note_id)
    except LeverNote.DoesNotExist:
        return None
    head = _head(note)
    if head is None:
        return None
    if head.state == LeverNote.State.FAILED:
        # A note added while the head was failing may have missed being blocked.
        _block_behind(head)
        return None
    if head.pk != note_id:
        # Every note is published, but only the head's task works the order: it sends the notes
        # behind the head itself. Without this, each waiting note's task would book a rate-limiter
        # slot of its own and leave it unused. (Kept cheap: a backlog is mostly such tasks.)
        return None
    booked = booked_at is not None and time.time() - booked_at <= BOOKING_GRACE_S
    if booked_at is not None and not booked:
        metrics.booked_slot_missed(note.tenant_id)
    try:
        client = LeverClient.for_tenant(note.tenant, prepaid=1 if booked else 0)
    except LeverNotConfigured as exc:
        # Permanent until someone sets the key: the head fails (one attempt, recorded), the
        # notes behind it wait, and Replay sends them once the key is there.
        if _claim(head):
            with transaction.atomic():
                _record(
                    head,
                    started=timezone.now(),
                    outcome=NoteAttempt.Outcome.PERMANENT,
                    error=exc.fix,
                    task_id=task_id,
                )
                outbox.fail(NOTE_JOB, head.pk, reason=exc.fix, last_http_status=None)
                _block_behind(head)
        elif head.state == LeverNote.State.PENDING and head.next_attempt_at:
            wait = (head.next_attempt_at - timezone.now()).total_seconds()
            if wait > 0:
                return Reschedule(head.pk, wait)  # a retry not due yet: fail it when it is
        return None
    try:
        for run in range(MAX_NOTES_PER_RUN):
            if run:
                head = _head(note)
            if head is not None and head.state == LeverNote.State.FAILED:
                _block_behind(head)
                return None
            if head is None or head.state != LeverNote.State.PENDING:
                return None  # done, held by a failure, or another worker has it
            now = timezone.now()
            if head.next_attempt_at and head.next_attempt_at > now:
                return Reschedule(head.pk, (head.next_attempt_at - now).total_seconds())
            if not booked:
                delay = client.reserve(max_wait=BOOKING_HORIZON_S, grace=BOOKING_GRACE_S)
                if delay is None:  # blocked after a 429, or the queue is longer than the horizon
                    wait = (client.blocked_for() or BOOKING_HORIZON_S) * random.uniform(1.0, 1.2)
                    metrics.limiter_wait(note.tenant_id, wait)
                    return Reschedule(head.pk, wait)
                if delay > 0:
                    metrics.limiter_wait(note.tenant_id, delay)
                    return Reschedule(head.pk, delay, booked_at=time.time() + delay)
            booked = False  # the slot is the client's now; the next note books its own
            if not _claim(head):
                return None
            # The claim changed only these; the rest of the row is as `_head` read it.
            head.state = LeverNote.State.SENDING
            head.attempts += 1
            result = _send_one(head, client, task_id)
            if result is not True:
                return result
            note = head
        following = _head(note)  # a long queue: hand over to a fresh run for the next head
        return Reschedule(following.pk, 0) if following is not None else None
    finally:
        client.close()


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
        following = _head(note)
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
                _record(
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
    _block_behind(LeverNote.objects.get(pk=note_id))
