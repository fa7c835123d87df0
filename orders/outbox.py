"""The one durable-job mechanism behind every outbound step.

Four kinds of job use it: processing a Lever stage change (`InboundEvent`), submitting an order
to Backcheck (`Order.submit_*`), cancelling it (`CancelRequest`) and posting a note to Lever
(`LeverNote`). Each row is the truth about its job; the broker only carries wake-ups. For every
kind the same rules hold:

- **Conditional claim.** A worker takes a row with one `UPDATE … WHERE state = <waiting> AND due`
  that also counts the attempt and sets a lease. Two workers holding the same id: exactly one
  update matches, the other does nothing.
- **Lease.** A claimed row that is not finished by the end of its lease (`OUTBOX_LEASE_S`) belongs
  to a worker that died; the sweep gives it back.
- **Attempt cap per kind** (`INBOUND_MAX_ATTEMPTS`, `SUBMIT_MAX_ATTEMPTS`, `CANCEL_MAX_ATTEMPTS`,
  `NOTE_MAX_ATTEMPTS`), counting lost workers too: nothing is retried for ever.
- **One back-off function** for every retry: capped exponential with jitter, never shorter than
  what the other side asked for.
- **A final `failed` state with the reason in plain words** and the action that fixes it. A
  failed row is shown in Needs attention and replayed from there.
- **The sweep** (beat, every `OUTBOX_SWEEP_INTERVAL_S`): rows nobody is working on are published
  again (at most once per lease); rows that used every attempt are failed instead.

Errors are typed: `NotConfigured` (a tenant setting is missing) and `HttpError` of kind
``permanent`` fail the job at once; other `HttpError`s and unexpected exceptions are retried
until the kind's cap.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from connectors.http import HttpError, NotConfigured

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retry:
    """Come back in `countdown` seconds (the task re-publishes itself with that countdown)."""

    countdown: float


@dataclass(frozen=True)
class JobKind:
    """Where one kind of job keeps its state on its row."""

    name: str
    model: type[models.Model]
    cap_setting: str
    service: str  # who is called: "Lever" or "Backcheck", for the plain-words reasons
    ready: str  # state values…
    failed: str
    # …and field names; the defaults are the ones the job models share.
    state: str = "state"
    attempts: str = "attempts"
    next_at: str = "next_attempt_at"
    requeued: str = "requeued_at"
    created: str = "created_at"
    error: str = "last_error"
    # The state of a claimed row and the field holding its lease. A kind without them keeps the
    # row `ready` while claimed and holds the lease in `next_at` (a claimed row is simply not due
    # until the lease ends).
    running: str | None = None
    lease: str | None = None
    # Extra fields written when a row fails (e.g. `processed_at`), from the reason.
    fail_fields: Callable[[str], dict[str, Any]] = field(default=lambda reason: {})
    # Rows of the model that are not jobs of this kind (e.g. Backcheck callbacks).
    scope: Q = field(default_factory=Q)

    @property
    def max_attempts(self) -> int:
        return int(getattr(settings, self.cap_setting))

    def rows(self) -> QuerySet[Any]:
        return self.model.objects.filter(self.scope)  # type: ignore[attr-defined]  # job models keep `objects`


# --- timing --------------------------------------------------------------------------------


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: NOTE_RETRY_BASE_S doubling per
    attempt up to NOTE_RETRY_MAX_S, jittered to half–full so that workers do not return together,
    and never less than the other side's Retry-After."""
    delay = min(settings.NOTE_RETRY_MAX_S, settings.NOTE_RETRY_BASE_S * 2 ** max(0, attempts - 1))
    delay *= random.uniform(0.5, 1.0)
    return max(delay, retry_after or 0.0)


def _lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_S)


# --- claim, retry, fail ----------------------------------------------------------------------


def _due(kind: JobKind, now: datetime) -> Q:
    return Q(**{f"{kind.next_at}__isnull": True}) | Q(**{f"{kind.next_at}__lte": now})


def claim(kind: JobKind, pk: int, *, now: datetime | None = None) -> bool:
    """Take row `pk` for one attempt. True for exactly one of any number of concurrent callers,
    and only while the row is waiting and due."""
    now = now or timezone.now()
    changes: dict[str, Any] = {kind.attempts: F(kind.attempts) + 1}
    if kind.running is not None:
        changes[kind.state] = kind.running
        changes[kind.lease] = now + _lease()  # type: ignore[index]  # set with `running`
    else:
        changes[kind.next_at] = now + _lease()
    return (
        kind.rows().filter(_due(kind, now), **{"pk": pk, kind.state: kind.ready}).update(**changes)
        == 1
    )


def _release(kind: JobKind) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if kind.running is not None:
        fields[kind.state] = kind.ready
        fields[kind.lease] = None  # type: ignore[index]  # set with `running`
    return fields


def retry_later(
    kind: JobKind, pk: int, *, delay: float, error: str = "", refund: bool = False, **extra: Any
) -> Retry:
    """Give the claimed row back, due in `delay` seconds. `refund`: nothing was sent (our own
    rate limiter said wait), so this was not an attempt."""
    fields = _release(kind)
    fields[kind.next_at] = timezone.now() + timedelta(seconds=delay)
    if refund:
        fields[kind.attempts] = F(kind.attempts) - 1
    if error:
        fields[kind.error] = error[:2000]
    fields.update(extra)
    kind.rows().filter(pk=pk).update(**fields)
    return Retry(delay)


def fail(kind: JobKind, pk: int, *, reason: str, **extra: Any) -> None:
    """The final state: failed, with the reason (shown in Needs attention) and no lease."""
    fields: dict[str, Any] = {kind.state: kind.failed, kind.error: reason[:2000]}
    if kind.lease is not None:
        fields[kind.lease] = None
    fields.update(kind.fail_fields(reason))
    fields.update(extra)
    kind.rows().filter(pk=pk).update(**fields)
    logger.warning("%s job %s failed: %s", kind.name, pk, reason)


def replay(kind: JobKind, pk: int, **extra: Any) -> bool:
    """A failed row waits again with a fresh set of attempts. False if it was not failed."""
    fields: dict[str, Any] = {kind.state: kind.ready, kind.attempts: 0, kind.next_at: None}
    fields.update(extra)
    return kind.rows().filter(**{"pk": pk, kind.state: kind.failed}).update(**fields) == 1


# --- what an error means ---------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    retry: bool
    delay: float = 0.0
    reason: str = ""  # plain words, for a final failure


def plain_reason(kind: JobKind, exc: BaseException, attempts: int) -> str:
    """Why the job failed and what fixes it, for Needs attention."""
    service = kind.service
    if isinstance(exc, NotConfigured):
        return exc.fix
    if isinstance(exc, HttpError):
        if exc.status in (401, 403):
            return (
                f"{service} refused the tenant's credentials (HTTP {exc.status}) — check them "
                "on the tenant, then Replay."
            )
        if exc.kind == "permanent":
            return f"{service} refused the request ({exc}) — Replay once it is fixed."
        return (
            f"{service} could not be reached after {attempts} attempts ({exc}) — "
            "Replay once it answers again."
        )
    return (
        f"Failed after {attempts} attempts: {type(exc).__name__} in the portal — "
        "see the worker log, then Replay."
    )


def verdict(kind: JobKind, exc: BaseException, attempts: int) -> Verdict:
    """Retry (with its delay) or fail for good, for the `attempts`-th attempt ending in `exc`."""
    if isinstance(exc, NotConfigured):
        return Verdict(False, reason=plain_reason(kind, exc, attempts))
    if isinstance(exc, HttpError) and exc.kind == "permanent":
        return Verdict(False, reason=plain_reason(kind, exc, attempts))
    if attempts >= kind.max_attempts:
        return Verdict(False, reason=plain_reason(kind, exc, attempts))
    retry_after = exc.retry_after_s if isinstance(exc, HttpError) else None
    return Verdict(True, delay=backoff(attempts, retry_after))


# --- the sweep -------------------------------------------------------------------------------


def expired(kind: JobKind, now: datetime) -> QuerySet:
    """Claimed rows whose lease ran out: their worker died (or hangs) mid-attempt."""
    if kind.running is None:
        return kind.rows().none()
    return kind.rows().filter(**{kind.state: kind.running, f"{kind.lease}__lt": now})


def release_expired(kind: JobKind, now: datetime) -> None:
    """Put rows whose worker died back in the queue, due now (kinds with their own look-before-
    resend step do that themselves with `expired`)."""
    expired(kind, now).update(**_release(kind), **{kind.next_at: None})


def exhausted(kind: JobKind, now: datetime) -> QuerySet:
    """Waiting rows that have used every attempt (their last worker died): to fail, not resend."""
    return (
        kind.rows()
        .filter(**{kind.state: kind.ready, f"{kind.attempts}__gte": kind.max_attempts})
        .filter(_due(kind, now))
    )


def fail_exhausted(
    kind: JobKind, now: datetime, on_fail: Callable[[int, str], None] | None = None
) -> list[int]:
    ids = list(exhausted(kind, now).values_list("pk", flat=True))
    for pk in ids:
        with transaction.atomic():
            locked = exhausted(kind, now).filter(pk=pk).select_for_update(skip_locked=True).first()
            if locked is None:
                continue
            attempts = getattr(locked, kind.attempts)
            reason = (
                f"The worker stopped before finishing, {attempts} times in a row — see the worker "
                "log, then Replay."
            )
            if on_fail is not None:
                on_fail(pk, reason)
            else:
                fail(kind, pk, reason=reason)
    return ids


def stuck(kind: JobKind, now: datetime) -> QuerySet:
    """Waiting rows that nobody has picked up for a lease: their publish was lost, or their
    retry's countdown message was."""
    lease = _lease()
    # A kind whose lease lives in next_at is overdue as soon as next_at passes; for the others a
    # due retry gets a lease of grace for its own countdown message to arrive.
    grace = lease if kind.running is not None else timedelta(0)
    return (
        kind.rows()
        .filter(**{kind.state: kind.ready, f"{kind.attempts}__lt": kind.max_attempts})
        .filter(
            Q(**{f"{kind.next_at}__lt": now - grace})
            | Q(**{f"{kind.next_at}__isnull": True, f"{kind.created}__lt": now - lease})
        )
    )


def claim_stuck(rows: QuerySet, *, field: str, now: datetime) -> list[int]:
    """The ids of `rows` the beat sweeper should re-enqueue now, each marked `field=now`.

    A row re-enqueued less than OUTBOX_LEASE_S ago is left out: its copy may still be waiting
    behind a backlog, and sending one more every sweep would grow that backlog (after a Redis
    outage, by the whole backlog once a sweep interval). Sweeps that overlap, such as beat's
    messages queued up while the workers were away, split the rows instead of each sending all.
    """
    not_recent = Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": now - _lease()})
    with transaction.atomic():
        ids = list(
            rows.filter(not_recent).select_for_update(skip_locked=True).values_list("pk", flat=True)
        )
        rows.model.objects.filter(pk__in=ids).update(**{field: now})
    return ids


def sweep(
    kind: JobKind,
    *,
    now: datetime | None = None,
    on_fail: Callable[[int, str], None] | None = None,
    rows: QuerySet | None = None,
) -> list[int]:
    """The ids to publish again for `kind` (each at most once per lease); rows out of attempts
    are failed instead. `rows` narrows the stuck rows (notes: one per group)."""
    now = now or timezone.now()
    release_expired(kind, now)
    fail_exhausted(kind, now, on_fail)
    candidates = stuck(kind, now) if rows is None else rows
    return claim_stuck(candidates, field=kind.requeued, now=now)


# --- running one attempt ---------------------------------------------------------------------


def run(
    kind: JobKind,
    pk: int,
    work: Callable[[Any], Retry | None],
    *,
    on_fail: Callable[[int, str], None] | None = None,
) -> Retry | None:
    """Claim row `pk`, call `work(row)` once, and map what it raised to retry or fail.

    Returns a `Retry` when the task should come back later, None when the job is finished (done,
    failed, or another worker has it). `work` marks the row done itself, in the same transaction
    as its effects. A `Retry` returned by `work` (e.g. a rate limit: nothing was sent) gives the
    attempt back.
    """
    row = kind.rows().filter(pk=pk).first()
    if row is None or getattr(row, kind.state) != kind.ready:
        return None
    now = timezone.now()
    due_at = getattr(row, kind.next_at)
    if due_at is not None and due_at > now:
        return Retry((due_at - now).total_seconds())  # a copy that arrived early
    if not claim(kind, pk, now=now):
        return None  # another worker took it
    row.refresh_from_db()
    attempts = getattr(row, kind.attempts)
    try:
        result = work(row)
    except Exception as exc:
        decision = verdict(kind, exc, attempts)
        if decision.retry:
            logger.info(
                "%s job %s attempt %s failed (%s); retry in %.1fs",
                kind.name,
                pk,
                attempts,
                exc,
                decision.delay,
            )
            return retry_later(kind, pk, delay=decision.delay, error=str(exc) or type(exc).__name__)
        if not isinstance(exc, NotConfigured | HttpError):
            logger.exception("%s job %s failed", kind.name, pk)
        if on_fail is not None:
            on_fail(pk, decision.reason)
        else:
            fail(kind, pk, reason=decision.reason)
        return None
    if isinstance(result, Retry):
        return retry_later(kind, pk, delay=result.countdown, refund=True)
    return None
