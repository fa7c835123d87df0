"""Every Lever webhook and Backcheck callback, stored before it is acknowledged
(docs/CONTRACT.md §2).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from connectors.models import Tenant


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
