"""The outbox of notes to post on the candidate in Lever, one row per delivery attempt, and their
running totals for /metrics (docs/CONTRACT.md §3, §7).
"""

from __future__ import annotations

from django.db import IntegrityError, models, transaction
from django.db.models import F, Q

from connectors.models import Tenant
from orders.models.inbound import InboundEvent
from orders.models.order import Order


class LeverNote(models.Model):
    """A note to post on the candidate in Lever: the outbox row (docs/CONTRACT.md §3, §7)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"  # claimed by a worker until lease_until
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"  # permanent error or attempts exhausted; replayable
        BLOCKED = "blocked", "Blocked"  # waits behind a failed note of the same order
        SKIPPED = "skipped", "Skipped"  # an operator chose not to deliver it

    class Kind(models.TextChoices):
        ORDER = "order", "Order status"
        PIECEMEAL = "piecemeal", "Piecemeal"
        ERROR = "error", "Cannot order"
        # Lever extras through the same outbox (orders/services/extras.py): one request each.
        TAG_ADD = "tag_add", "Status tag added"
        TAG_REMOVE = "tag_remove", "Status tag removed"
        STAGE = "stage", "Auto-advance"

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="notes")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="notes"
    )
    inbound_event = models.ForeignKey(
        InboundEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="notes"
    )
    opportunity_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField()
    is_resync = models.BooleanField(default=False)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    requeued_at = models.DateTimeField(null=True, blank=True)  # by the sweeper
    # Set when an attempt may have reached Lever (docs/CONTRACT.md §7): look before posting again.
    check_before_send_since = models.DateTimeField(null=True, blank=True)
    lever_note_id = models.CharField(max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    last_http_status = models.PositiveIntegerField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "state"], name="note_order_state"),
            models.Index(fields=["state", "next_attempt_at"], name="note_state_due"),
            # The newest delivery for /metrics (orders/metrics.py) without reading every note.
            models.Index(
                fields=["delivered_at"], name="note_delivered_at", condition=Q(state="delivered")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} note #{self.pk} ({self.state})"


class NoteAttempt(models.Model):
    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        FOUND = "found", "Found already posted"
        TRANSIENT = "transient", "Transient error"
        AMBIGUOUS = "ambiguous", "Ambiguous error"
        PERMANENT = "permanent", "Permanent error"
        LOST = "lost", "Worker lost"

    note = models.ForeignKey(LeverNote, on_delete=models.PROTECT, related_name="attempts_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.outcome} ({self.http_status or '—'})"

    def save(self, *args, **kwargs) -> None:
        # A new attempt is counted in NoteAttemptTally in the same transaction as its row, so the
        # totals /metrics reads equal the rows in every process (web and workers alike).
        if not self._state.adding:
            super().save(*args, **kwargs)
            return
        # No savepoint of its own inside a caller's transaction (two round trips fewer per
        # attempt): an error here propagates and rolls back the caller's transaction with it.
        with transaction.atomic(savepoint=False):
            retry = NoteAttempt.objects.filter(note_id=self.note_id).exists()
            super().save(*args, **kwargs)
            NoteAttemptTally.count(
                outcome=self.outcome, duration_ms=self.duration_ms or 0, retry=retry
            )


class NoteAttemptTally(models.Model):
    """Running totals of `NoteAttempt` rows, by outcome and latency bucket, for /metrics.

    Each attempt adds itself to one row (`NoteAttempt.save`), so a scrape reads a few dozen rows
    however long the history grows (docs/PERFORMANCE.md). Buckets are not cumulative here: a row
    counts the attempts that took more than the previous bound and at most `le` seconds.
    """

    # Milliseconds, as NoteAttempt.duration_ms stores them.
    BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 20000)
    INF = "+Inf"

    outcome = models.CharField(max_length=16)
    le = models.CharField(
        max_length=16
    )  # the bucket's upper bound in seconds, as Prometheus's `le`
    attempts = models.BigIntegerField(default=0)
    total_ms = models.BigIntegerField(default=0)
    retries = models.BigIntegerField(default=0)  # attempts after their note's first one

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["outcome", "le"], name="note_attempt_tally_bucket")
        ]

    def __str__(self) -> str:
        return f"{self.outcome} ≤ {self.le}s: {self.attempts}"

    @classmethod
    def bucket(cls, duration_ms: int) -> str:
        for bound in cls.BUCKETS_MS:
            if duration_ms <= bound:
                return str(bound / 1000)
        return cls.INF

    @classmethod
    def count(cls, *, outcome: str, duration_ms: int, retry: bool) -> None:
        """Add one attempt. Call inside the transaction that stores it."""
        row = cls.objects.filter(outcome=outcome, le=cls.bucket(duration_ms))
        add = {
            "attempts": F("attempts") + 1,
            "total_ms": F("total_ms") + duration_ms,
            "retries": F("retries") + int(retry),
        }
        if row.update(**add):
            return
        try:
            with transaction.atomic():
                cls.objects.create(
                    outcome=outcome,
                    le=cls.bucket(duration_ms),
                    attempts=1,
                    total_ms=duration_ms,
                    retries=int(retry),
                )
        except IntegrityError:  # another transaction created the row first: add to it
            row.update(**add)
