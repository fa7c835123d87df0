"""What operators and the portal do to an order after it exists: cancel requests (a durable job)
and the audit trail of operator actions.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from orders.models.order import Order


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
