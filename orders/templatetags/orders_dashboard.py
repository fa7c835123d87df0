"""Badges and the tenant-health partial for templates.

Badges carry a text label and a shape besides their colour, so they read without colour (and
the shape is drawn by CSS, not a glyph a font may lack).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

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


def _badge(outcome: str) -> SafeString:
    return outcome_badge(outcome)


@register.simple_tag
def render_timeline(entries: list[dashboard.TimelineEntry], order_id: int) -> SafeString:
    """The case timeline as HTML, built in Python: a case can have thousands of entries, and
    the template engine's per-variable lookups made a 1,000-entry page miss its time budget."""
    event_url = reverse("order-event", args=[order_id, 0])[: -len("0/")]
    items = []
    for e in entries:
        at = timezone.localtime(e.at)
        detail = (
            format_html(
                '<div class="muted tl-detail">{}</div>',
                " · ".join(e.detail),
            )
            if e.detail
            else ""
        )
        reason = format_html('<div class="tl-reason">{}</div>', e.reason) if e.reason else ""
        meta = []
        if e.actor:
            meta.append(format_html("By {}", e.actor))
        if e.event_id:
            meta.append(
                format_html(
                    '<a href="{}{}/">Payload of event #{}</a>', event_url, e.event_id, e.event_id
                )
            )
        if e.note_id:
            meta.append(format_html('<a href="#note-{}">Note #{}</a>', e.note_id, e.note_id))
        meta_html = (
            format_html(
                '<div class="tl-meta">{}</div>', format_html_join(" ", "{}", ((m,) for m in meta))
            )
            if meta
            else ""
        )
        items.append(
            (
                e.kind,
                at.isoformat(),
                at.strftime("%Y-%m-%d %H:%M:%S"),
                e.title,
                _badge(e.outcome),
                detail,
                reason,
                meta_html,
            )
        )
    return format_html(
        '<ol class="timeline">{}</ol>',
        format_html_join(
            "\n",
            '<li class="tl tl-{}"><div class="tl-head"><time datetime="{}">{}</time> '
            "<strong>{}</strong> {}</div>{}{}{}</li>",
            items,
        ),
    )
