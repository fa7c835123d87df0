"""Each tenant's health: last webhook, callback and delivered note, the last error, and how many
notes failed — for the orders list and the tenant overview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, OuterRef, QuerySet, Subquery

from connectors.models import Tenant, TenantQuerySet
from connectors.tenants.access import tenants_visible_to
from orders.models import InboundEvent, LeverNote, NoteAttempt


@dataclass
class TenantHealth:
    tenant: Tenant
    last_webhook_at: datetime | None
    last_callback_at: datetime | None
    last_note_delivered_at: datetime | None
    last_error_at: datetime | None
    last_error: str
    failed_notes: int

    @property
    def check_status(self) -> str:
        result = self.tenant.last_check_result or {}
        return str(result.get("status") or "")

    @property
    def lever_warnings(self) -> list[dict]:
        """Lever reads the key was refused (403), newest first: [{"read", "at", "detail"}]."""
        warnings = self.tenant.lever_permission_warnings or {}
        rows = [
            {"read": read, "at": str(w.get("at") or ""), "detail": str(w.get("detail") or "")}
            for read, w in warnings.items()
            if isinstance(w, dict)
        ]
        for row in rows:
            row["seen"] = row["at"][:16].replace("T", " ")  # UTC, like the page's other times
        return sorted(rows, key=lambda row: row["at"], reverse=True)


_ERROR_OUTCOMES = (
    NoteAttempt.Outcome.PERMANENT,
    NoteAttempt.Outcome.TRANSIENT,
    NoteAttempt.Outcome.AMBIGUOUS,
)


def tenant_health(*, tenants: TenantQuerySet) -> list[TenantHealth]:
    """Health of each tenant in `tenants` (already scoped to the user): one query in all."""
    inbound = InboundEvent.objects.filter(tenant=OuterRef("pk")).order_by("-received_at")
    last_error = NoteAttempt.objects.filter(
        note__tenant=OuterRef("pk"), outcome__in=_ERROR_OUTCOMES
    ).order_by("-started_at", "-id")
    failed_event = InboundEvent.objects.filter(
        tenant=OuterRef("pk"), state=InboundEvent.State.FAILED
    ).order_by("-received_at", "-id")
    # Tenants with the h_* annotations below, which the model's type does not know.
    rows: QuerySet[Any] = (
        tenants.without_secrets()
        .annotate(
            h_webhook=Subquery(
                inbound.filter(source=InboundEvent.Source.LEVER).values("received_at")[:1]
            ),
            h_callback=Subquery(
                inbound.filter(source=InboundEvent.Source.BACKCHECK).values("received_at")[:1]
            ),
            h_delivered=Subquery(
                LeverNote.objects.filter(tenant=OuterRef("pk"), state=LeverNote.State.DELIVERED)
                .order_by()
                .values("tenant")
                .annotate(m=Max("delivered_at"))
                .values("m")[:1]
            ),
            h_attempt_error_at=Subquery(last_error.values("started_at")[:1]),
            h_attempt_error=Subquery(last_error.values("error")[:1]),
            h_event_error_at=Subquery(failed_event.values("received_at")[:1]),
            h_event_error=Subquery(failed_event.values("reason")[:1]),
            h_failed_notes=Subquery(
                LeverNote.objects.filter(tenant=OuterRef("pk"), state=LeverNote.State.FAILED)
                .order_by()
                .values("tenant")
                .annotate(c=Count("id"))
                .values("c")[:1]
            ),
        )
        .order_by("name")
    )
    result = []
    for t in rows:
        error_at, error = t.h_attempt_error_at, t.h_attempt_error or ""
        if t.h_event_error_at and (error_at is None or t.h_event_error_at > error_at):
            error_at, error = t.h_event_error_at, t.h_event_error or ""
        result.append(
            TenantHealth(
                tenant=t,
                last_webhook_at=t.h_webhook,
                last_callback_at=t.h_callback,
                last_note_delivered_at=t.h_delivered,
                last_error_at=error_at,
                last_error=error,
                failed_notes=t.h_failed_notes or 0,
            )
        )
    return result


def tenant_health_for_user(*, user: Any) -> list[TenantHealth]:
    return tenant_health(tenants=tenants_visible_to(user))


def tenant_health_of(*, tenant: Tenant) -> list[TenantHealth]:
    """Health of one (already scoped) tenant, for its overview page."""
    return tenant_health(tenants=Tenant.objects.filter(pk=tenant.pk))
