"""Orders and everything that happens to them (docs/CONTRACT.md §2, §3, §7).

- `InboundEvent`: every Lever webhook and Backcheck callback, stored before it is acknowledged.
- `Order`: one screening order for one Lever opportunity; `ScreeningService` its services.
- `StatusEvent`: the append-only status history (what arrived, from → to, and the outcome).
- `LeverNote` / `NoteAttempt`: the outbox of notes to post on the candidate, FIFO per order, and
  one row per delivery attempt; `NoteAttemptTally` their running totals for /metrics.

History is never deleted: every foreign key into it is PROTECT, and the admin allows no delete.
What is erased is candidate personal data, never a row (orders/services/lifecycle.py): raw bodies
after PAYLOAD_RETENTION_DAYS, and names, emails, phones and bodies of candidates deleted in Lever.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q

from connectors.fields import EncryptedSecretField
from connectors.models import Package, Tenant
from orders.state import LEVER_STATUS


class InboundEvent(models.Model):
    class Source(models.TextChoices):
        LEVER = "lever", "Lever webhook"
        BACKCHECK = "backcheck", "Backcheck callback"

    class State(models.TextChoices):
        RECEIVED = "received", "Received"  # stored, waiting for a worker
        PROCESSING = "processing", "Processing"  # claimed by a worker until lease_until
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"  # a permanent error; replayable

    source = models.CharField(max_length=16, choices=Source.choices)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="inbound_events")
    order = models.ForeignKey(
        "Order", null=True, blank=True, on_delete=models.PROTECT, related_name="inbound_events"
    )
    event_type = models.CharField(
        max_length=64
    )  # candidateStageChange, verifyConnection, screening
    # Lever's envelope `token` and `id`, each unique per tenant (docs/LEVER.md, Delivery). NULL,
    # not "", when absent, so that the conditional unique constraints skip them.
    lever_token = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    lever_event_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    opportunity_id = models.CharField(max_length=100, blank=True, db_index=True)
    to_stage_id = models.CharField(max_length=100, blank=True)
    signature_verified = models.BooleanField(null=True)
    raw_body = models.TextField()
    payload_hash = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    outcome = models.CharField(
        max_length=32, blank=True
    )  # accepted, test, ignored, applied, stale…
    reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # When the beat sweeper last re-enqueued it (orders.outbox.claim_stuck).
    requeued_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # When `raw_body` was blanked (retention or erasure, orders/services/lifecycle.py).
    body_erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "lever_token"],
                condition=Q(lever_token__isnull=False),
                name="inbound_unique_lever_token",
            ),
            models.UniqueConstraint(
                fields=["tenant", "lever_event_id"],
                condition=Q(lever_event_id__isnull=False),
                name="inbound_unique_lever_event_id",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="inbound_state_due"),
            # The retention sweep reads only the bodies still kept, oldest first.
            models.Index(
                fields=["received_at"],
                condition=Q(body_erased_at__isnull=True),
                name="inbound_body_kept",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} #{self.pk} ({self.event_type}, {self.state})"


class Order(models.Model):
    class SubmitState(models.TextChoices):
        PENDING = "pending", "Waiting to be sent to Backcheck"
        SUBMITTED = "submitted", "Accepted by Backcheck"
        FAILED = "failed", "Refused by Backcheck"
        NOT_SENT = "not_sent", "Cannot be ordered"  # see `cannot_order`

    class CannotOrder(models.TextChoices):
        NO_EMAIL = "no_email", "No email address in Lever"
        NO_PACKAGE = "no_package", "No matching package"

    # The stable id the encrypted column is bound to (connectors/fields.py); never changes.
    ENCRYPTION_ROW_ID = "reference"

    # Sent as `clientReferenceId`: random, so a callback cannot guess another order's reference.
    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="orders")
    opportunity_id = models.CharField(max_length=100)
    candidate_name = models.CharField(max_length=300, blank=True)
    candidate_email = models.CharField(max_length=300, blank=True)
    candidate_phone = models.CharField(max_length=100, blank=True)
    lever_url = models.URLField(max_length=500, blank=True)
    package = models.ForeignKey(Package, null=True, blank=True, on_delete=models.SET_NULL)
    package_code = models.CharField(max_length=100)
    package_name = models.CharField(max_length=200)
    trigger_event = models.ForeignKey(
        InboundEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    trigger_stage_id = models.CharField(max_length=100, blank=True)
    launched_by = models.CharField(max_length=150, blank=True)  # "webhook" or the user who launched

    # One active order per (tenant, opportunity), enforced by the database (docs/CONTRACT.md §4).
    is_active = models.BooleanField(default=True)
    submit_state = models.CharField(
        max_length=16, choices=SubmitState.choices, default=SubmitState.PENDING
    )
    submit_attempts = models.PositiveIntegerField(default=0)
    submit_next_attempt_at = models.DateTimeField(null=True, blank=True)
    submit_requeued_at = models.DateTimeField(null=True, blank=True)  # by the sweeper
    submit_error = models.TextField(blank=True)
    # Why a stage change could not be ordered (the case is in Error and never went to Backcheck);
    # "Try again" re-reads the candidate from Lever. Blank for every other order.
    cannot_order = models.CharField(max_length=16, choices=CannotOrder.choices, blank=True)

    screening_id = models.CharField(max_length=100, blank=True, db_index=True)
    order_number = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=32, blank=True, db_index=True)  # Backcheck order status
    piecemeal_status = models.CharField(max_length=32, blank=True)
    score = models.CharField(max_length=16, blank=True, db_index=True)
    report_url = models.URLField(max_length=1000, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    state = models.JSONField(null=True, blank=True)  # orders.state.OrderView.to_json()

    callback_username = models.CharField(max_length=100, unique=True)
    callback_password_hash = models.CharField(max_length=128)
    # The password itself is kept (encrypted) only until Backcheck has accepted the order, so a
    # retried create sends the same credentials; it is wiped on acceptance (docs/CONTRACT.md §6).
    pending_callback_password = EncryptedSecretField()

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)
    last_heard_at = models.DateTimeField(null=True, blank=True)  # last callback or reconcile
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # The opportunity was deleted in Lever and the candidate's personal data erased here.
    personal_data_erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "opportunity_id"],
                condition=Q(is_active=True),
                name="one_active_order_per_opportunity",
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="order_tenant_status"),
            models.Index(fields=["is_active", "last_heard_at"], name="order_active_heard"),
            # The dashboard (orders/dashboard.py, measured by bench/dashboard.py): the chart and
            # date filters, sorting by candidate, and search by Lever opportunity id. Substring
            # search on name and email uses trigram indexes made in migration 0002 (PostgreSQL).
            models.Index(fields=["tenant", "created_at", "status"], name="order_tenant_created"),
            models.Index(fields=["tenant", "candidate_name", "id"], name="order_tenant_candidate"),
            models.Index(fields=["opportunity_id"], name="order_opportunity"),
        ]

    def __str__(self) -> str:
        return (
            f"Order {self.order_number or self.pk} · {self.candidate_name or self.opportunity_id}"
        )

    @property
    def lever_status(self) -> str:
        return LEVER_STATUS.get(self.status, "")


class ScreeningService(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="services")
    position = models.PositiveIntegerField()
    service_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=32)
    score = models.CharField(max_length=16, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    report_url = models.URLField(max_length=1000, blank=True)

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "service_id"], name="service_unique_per_order")
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"


class StatusEvent(models.Model):
    """One row per thing that arrived for an order and what it did. Append-only."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        STALE = "stale", "Stale"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"
        RECORDED = "recorded", "Recorded"  # an action or fact without a status change

    class Source(models.TextChoices):
        CREATE = "create", "Order created"
        CALLBACK = "callback", "Backcheck callback"
        RECONCILE = "reconcile", "Reconciled from Backcheck"
        CANCEL = "cancel", "Cancel response"
        ACTION = "action", "User action"
        SYSTEM = "system", "Portal"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="history")
    inbound_event = models.ForeignKey(
        InboundEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="status_events"
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=500, blank=True)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    arrived_status = models.CharField(max_length=32, blank=True)
    arrived_piecemeal_status = models.CharField(max_length=32, blank=True)
    arrived_score = models.CharField(max_length=16, blank=True)
    arrived_updated_at = models.DateTimeField(null=True, blank=True)
    payload_hash = models.CharField(max_length=64, blank=True, db_index=True)
    actor = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "payload_hash"], name="status_order_hash")]

    def __str__(self) -> str:
        return f"{self.outcome}: {self.from_status or '—'} → {self.to_status or '—'}"


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


class CancelRequest(models.Model):
    """A request to cancel an order at Backcheck: a durable job of its own (orders.outbox).

    Until Backcheck answers, the case says "cancel pending". Backcheck confirming makes it `done`;
    Backcheck saying no (e.g. the screening is already complete) makes it `refused`, shown in
    error colours and in Needs attention; not getting through after every attempt, or a tenant
    without Backcheck credentials, makes it `failed`, replayable.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Sending"  # claimed by a worker until lease_until
        DONE = "done", "Canceled by Backcheck"
        REFUSED = "refused", "Refused by Backcheck"
        FAILED = "failed", "Failed"  # not delivered; replayable

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="cancel_requests")
    requested_by = models.CharField(max_length=150, blank=True)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    requeued_at = models.DateTimeField(null=True, blank=True)  # by the sweeper
    last_error = models.TextField(blank=True)  # the reason, in plain words, once refused/failed
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # An operator has read a refusal in Needs attention and dismissed it.
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(state__in=["pending", "sending"]),
                name="one_open_cancel_per_order",
            )
        ]

    def __str__(self) -> str:
        return f"Cancel of order {self.order_id} ({self.state})"


class OrderAction(models.Model):
    """Audit of what people did to an order: resync, cancel, replay, skip, manual launch."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="actions")
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=32)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.actor} {self.action}"


class UserProfile(models.Model):
    """A portal user's own preferences. A user without a row has the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_profile"
    )
    attention_emails = models.BooleanField(
        "Email me when a case of my tenants needs attention",
        default=True,
        help_text="At most one email every 15 minutes, listing the cases with links.",
    )
    attention_emailed_at = models.DateTimeField(null=True, blank=True)
    # The attention items ("note:12", "cancel:3", …) the emails so far have covered and that
    # still need attention: only items not in here make a new email.
    attention_notified = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Profile of {self.user}"


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
