"""Badges and the tenant-health partial for templates.

Badges carry a text label and a shape besides their colour, so they read without colour (and
the shape is drawn by CSS, not a glyph a font may lack).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from connectors.models import Tenant
from orders import dashboard
from orders.state import LEVER_STATUS

register = template.Library()

_STATUS_CLASS = {
    "": "pending",
    "Initiated": "initiated",
    "In Progress": "progress",
    "Error": "error",
    "Completed": "completed",
    "Canceled": "canceled",
}
_NOTE_CLASS = {
    "pending": "progress",
    "sending": "progress",
    "delivered": "completed",
    "failed": "error",
    "blocked": "blocked",
    "skipped": "canceled",
}
_OUTCOME_CLASS = {
    "applied": "completed",
    "delivered": "completed",
    "found": "completed",
    "processed": "completed",
    "accepted": "completed",
    "order_opened": "completed",
    "stale": "canceled",
    "duplicate": "canceled",
    "ignored": "canceled",
    "test": "canceled",
    "recorded": "initiated",
    "rejected": "error",
    "failed": "error",
    "permanent": "error",
    "transient": "warn",
    "ambiguous": "warn",
    "lost": "warn",
    "blocked": "blocked",
    "pending": "progress",
    "sending": "progress",
    "skipped": "canceled",
}


@register.simple_tag
def status_badge(status: str) -> str:
    label = dashboard.status_label(status)
    lever = LEVER_STATUS.get(status)
    title = f"Lever shows: {lever}" if lever and lever != label else ""
    return format_html(
        '<span class="badge st st-{}"{}><span class="shape" aria-hidden="true"></span>{}</span>',
        _STATUS_CLASS.get(status, "pending"),
        format_html(' title="{}"', title) if title else "",
        label,
    )


@register.simple_tag
def score_badge(score: str) -> str:
    if not score:
        return format_html('<span class="muted">{}</span>', "—")
    return format_html(
        '<span class="badge sc sc-{}"><span class="shape" aria-hidden="true"></span>{}</span>',
        score.lower(),
        score,
    )


@register.simple_tag
def outcome_badge(outcome: str) -> str:
    """Outcome of a history entry, a note's state, or an attempt's outcome."""
    if not outcome:
        return ""
    css = _OUTCOME_CLASS.get(outcome) or _NOTE_CLASS.get(outcome) or "initiated"
    return format_html(
        '<span class="badge st st-{}"><span class="shape" aria-hidden="true"></span>{}</span>',
        css,
        outcome.replace("_", " "),
    )


@register.inclusion_tag("orders/_tenant_health.html")
def tenant_health(tenant: Tenant) -> dict[str, Any]:
    """Health of one tenant, for the tenant overview (the tenant is already scoped there)."""
    return {
        "health": dashboard.tenant_health(tenants=Tenant.objects.filter(pk=tenant.pk)),
        "single": True,
    }
