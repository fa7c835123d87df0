"""Orders: one screening order per Lever opportunity, its services and its status history
(docs/CONTRACT.md §2, §3).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from connectors.fields import EncryptedSecretField
from connectors.models import Package, Tenant
from orders.models.inbound import InboundEvent
from orders.state import LEVER_STATUS


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
