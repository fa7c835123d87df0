"""Delivering a group of Lever notes, in order (docs/CONTRACT.md §3, §7).

Only the head of a group (orders.services.notes) is sent. Rows are claimed with conditional
updates, so two workers never send the same note, and a note whose send may have reached Lever is
looked for before it is posted again (Lever has no idempotency key).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connectors.http import HttpError
from connectors.lever.client import LeverClient, LeverNotConfigured, RateLimited
from connectors.lever_interpret import create_note_as_author, same_note_text
from integration_portal import metrics
from orders import outbox
from orders.models import LeverNote, NoteAttempt
from orders.notes import notifies_followers
from orders.services.extras import EXTRA_KINDS, extra_send
from orders.services.notes import NOTE_JOB, block_behind, group_head, record_attempt

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


@dataclass(frozen=True)
class Reschedule:
    note_id: int
    countdown: float
    booked_at: float | None = None  # epoch time of the limiter slot booked for that run


def _find_posted(client: LeverClient, note: LeverNote, since: datetime) -> str | None:
    threshold_ms = int((since - AMBIGUOUS_LOOKBACK).timestamp() * 1000)
    for posted in client.list_notes(note.opportunity_id):
        if same_note_text(posted.text, note.text) and (posted.created_at or 0) >= threshold_ms:
            return posted.id
    return None


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
        record_attempt(
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
        record_attempt(
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
        block_behind(note)
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
    head = group_head(note)
    if head is None:
        return None
    if head.state == LeverNote.State.FAILED:
        # A note added while the head was failing may have missed being blocked.
        block_behind(head)
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
                record_attempt(
                    head,
                    started=timezone.now(),
                    outcome=NoteAttempt.Outcome.PERMANENT,
                    error=exc.fix,
                    task_id=task_id,
                )
                outbox.fail(NOTE_JOB, head.pk, reason=exc.fix, last_http_status=None)
                block_behind(head)
        elif head.state == LeverNote.State.PENDING and head.next_attempt_at:
            wait = (head.next_attempt_at - timezone.now()).total_seconds()
            if wait > 0:
                return Reschedule(head.pk, wait)  # a retry not due yet: fail it when it is
        return None
    try:
        for run in range(MAX_NOTES_PER_RUN):
            if run:
                head = group_head(note)
            if head is not None and head.state == LeverNote.State.FAILED:
                block_behind(head)
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
            # The claim changed only these; the rest of the row is as `group_head` read it.
            head.state = LeverNote.State.SENDING
            head.attempts += 1
            result = _send_one(head, client, task_id)
            if result is not True:
                return result
            note = head
        following = group_head(note)  # a long queue: hand over to a fresh run for the next head
        return Reschedule(following.pk, 0) if following is not None else None
    finally:
        client.close()
