"""Badges and the tenant-health partial for templates.

Badges carry a text label and a shape besides their colour, so they read without colour (and
the shape is drawn by CSS, not a glyph a font may lack).
"""

from __future__ import annotations

import html
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from connectors.backcheck.schema import http_url as _http_url
from connectors.models import Tenant
from orders.case_rules import status_label
from orders.presenters.timeline import TimelineEntry
from orders.selectors.attention import attention_count as _attention_count
from orders.selectors.health import tenant_health_of
from orders.state import LEVER_STATUS

register = template.Library()


@register.filter
def http_url(value: Any) -> str:
    """The value when it is an absolute http(s) URL, else "": only those are rendered as links."""
    return _http_url(value) or ""


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
    label = status_label(status)
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
        "health": tenant_health_of(tenant=tenant),
        "single": True,
    }


_badge_cache: dict[str, str] = {}


def _badge(outcome: str) -> str:
    if outcome not in _badge_cache:
        _badge_cache[outcome] = str(outcome_badge(outcome))
    return _badge_cache[outcome]


# The case page can hold thousands of entries: the timeline and the notes are built here with
# plain string joins and html.escape (the template engine and format_html per value made a
# 1,000-entry case miss its time budget). Every value from the database goes through _e().
def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


@register.simple_tag
def render_timeline(entries: list[TimelineEntry], order_id: int) -> SafeString:
    """The case timeline, newest first."""
    event_url = reverse("order-event", args=[order_id, 0])[: -len("0/")]
    out = ['<ol class="timeline">']
    for e in entries:
        at = timezone.localtime(e.at)
        parts = [
            f'<li class="tl tl-{_e(e.kind)}"><div class="tl-head">'
            f'<time datetime="{at.isoformat()}">{at.strftime("%Y-%m-%d %H:%M:%S")}</time> '
            f"<strong>{_e(e.title)}</strong> {_badge(e.outcome)}</div>"
        ]
        if e.detail:
            parts.append(f'<div class="muted tl-detail">{_e(" · ".join(e.detail))}</div>')
        if e.reason:
            parts.append(f'<div class="tl-reason">{_e(e.reason)}</div>')
        meta = []
        if e.actor:
            meta.append(f"By {_e(e.actor)}")
        if e.event_id:
            meta.append(
                f'<a href="{event_url}{int(e.event_id)}/">Payload of event #{int(e.event_id)}</a>'
            )
        if e.note_id:
            meta.append(f'<a href="#note-{int(e.note_id)}">Note #{int(e.note_id)}</a>')
        if meta:
            parts.append(f'<div class="tl-meta">{" ".join(meta)}</div>')
        parts.append("</li>")
        out.append("".join(parts))
    out.append("</ol>")
    return mark_safe("\n".join(out))  # noqa: S308 — every value above is escaped by _e()


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@register.simple_tag(takes_context=True)
def attention_count(context) -> int:
    """How many things in Needs attention want someone (for the link's count)."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return 0
    return _attention_count(user=user)


@register.simple_tag
def render_notes(notes: list, order_id: int) -> SafeString:
    """The order's Lever notes exactly as posted, oldest first, with replay/skip for failed."""
    if not notes:
        return mark_safe('<p class="muted">No notes yet.</p>')  # noqa: S308
    out = []
    for n in notes:
        pk = int(n.pk)
        facts = [
            f"Queued {_when(n.created_at)} UTC",
            f"{n.attempts} attempt" + ("" if n.attempts == 1 else "s"),
        ]
        if n.delivered_at:
            facts.append(f"delivered {_when(n.delivered_at)}")
        if n.last_http_status:
            facts.append(f"HTTP {int(n.last_http_status)}")
        if n.last_duration_ms is not None:
            facts.append(f"{int(n.last_duration_ms)} ms")
        parts = [
            f'<article class="note" id="note-{pk}" aria-labelledby="note-{pk}-h">'
            f'<h3 id="note-{pk}-h" class="h4">Note #{pk} · {_e(n.get_kind_display())}'
            f"{' · resync' if n.is_resync else ''} {_badge(n.state)}</h3>"
            f'<p class="muted">{_e(" · ".join(facts))}</p>'
        ]
        if n.last_error and n.state != "delivered":
            parts.append(f'<p class="error">Last error: {_e(n.last_error)}</p>')
        if n.state == "blocked":
            parts.append(
                "<p>Waiting behind a failed note of this order: replay or skip that one first.</p>"
            )
        parts.append(f'<pre class="note-text">{_e(n.text)}</pre>')
        if n.state == "failed":
            replay = reverse("note-replay", args=[order_id, pk])
            skip = reverse("note-skip", args=[order_id, pk])
            parts.append(
                f'<div class="row"><a class="button primary" href="{replay}">Replay note #{pk}…</a>'
                f'<a class="button" href="{skip}">Skip note #{pk}…</a></div>'
            )
        parts.append("</article>")
        out.append("".join(parts))
    return mark_safe("\n".join(out))  # noqa: S308 — every value above is escaped by _e()
