"""The vocabulary of a case shared by the filters, the selectors and the presenters: statuses and
their labels, sorts, the attention rules, and tenant rows without their secrets. It imports no
other module of the dashboard, so they can all depend on it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from connectors.models import Tenant
from orders.models import LeverNote, Order

# The statuses in the order a case moves through them; "" is an order Backcheck has not
# answered yet (still being submitted).
STATUS_ORDER: tuple[str, ...] = ("", "Initiated", "In Progress", "Error", "Completed", "Canceled")
STATUS_LABELS: dict[str, str] = {"": "Submitting", **{s: s for s in STATUS_ORDER if s}}
SCORES: tuple[str, ...] = ("Green", "Amber", "Red")
DEFAULT_QUIET_DAYS = 3
PAGE_SIZE = 50
# A section of the needs-attention page lists at most one list page of rows (newest first) and
# says how many there are in all: a page of 10,000 failed notes helps nobody, the count does.
ATTENTION_LIMIT = PAGE_SIZE

SORTS: dict[str, tuple[str, ...]] = {
    "created": ("created_at", "id"),
    "updated": ("updated_at", "id"),
    "heard": ("last_heard_at", "id"),
    "candidate": ("candidate_name", "id"),
    "status": ("status", "id"),
    "score": ("score", "id"),
    "tenant": ("tenant__name", "id"),
    "number": ("order_number", "id"),
}
DEFAULT_SORT = "-created"

NOTE_TROUBLE = (LeverNote.State.FAILED, LeverNote.State.BLOCKED)


def with_tenant(qs: QuerySet, prefix: str = "tenant") -> QuerySet:
    """select_related(prefix) without the tenant's secret columns (Tenant.secret_field_names):
    decrypting four secrets per row was most of the list page's time."""
    return qs.select_related(prefix).defer(*[f"{prefix}__{f}" for f in Tenant.secret_field_names()])


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status or "Submitting")


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def quiet_q(*, days: int, now: datetime | None = None) -> Q:
    """Active orders that have heard nothing from Backcheck for `days` days."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    return Q(is_active=True) & (
        Q(last_heard_at__lt=cutoff) | Q(last_heard_at__isnull=True, created_at__lt=cutoff)
    )


def attention_q(*, days: int, now: datetime | None = None) -> Q:
    """Error orders, orders with a failed or blocked note, and quiet active orders."""
    # IN (subquery), not EXISTS: inside an OR, PostgreSQL runs EXISTS once per order (100k
    # times) but hashes an IN list of the few orders with troubled notes once.
    troubled = LeverNote.objects.filter(state__in=NOTE_TROUBLE, order__isnull=False).values(
        "order_id"
    )
    return Q(status="Error") | Q(pk__in=troubled) | quiet_q(days=days, now=now)


def lever_marker(failed: int, blocked: int) -> str:
    """What a case row and header say when Lever has not got every note of the case."""
    if not failed and not blocked:
        return ""
    parts = []
    if failed:
        parts.append(f"{failed} failed note{'' if failed == 1 else 's'}")
    if blocked:
        parts.append(f"{blocked} blocked")
    return "Lever not updated — " + ", ".join(parts)


def annotate_lever_markers(orders: Iterable[Order]) -> None:
    """Set `lever_marker` on each order of a page: one query for the whole page."""
    orders = list(orders)
    counts: dict[int, dict[str, int]] = {}
    rows = (
        LeverNote.objects.filter(order_id__in=[o.pk for o in orders], state__in=NOTE_TROUBLE)
        .values_list("order_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for order_id, state, n in rows:
        counts.setdefault(order_id, {})[state] = n
    for order in orders:
        c = counts.get(order.pk, {})
        # Read by the list template as `order.lever_marker`: a display attribute, not a field.
        setattr(  # noqa: B010
            order,
            "lever_marker",
            lever_marker(c.get(LeverNote.State.FAILED, 0), c.get(LeverNote.State.BLOCKED, 0)),
        )
