"""Reads on orders, always scoped to what the user may see (connectors.access)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from connectors.access import scope_to_user
from orders.models import Order

if TYPE_CHECKING:
    from integration_portal.users import AnyUser


def order_list(*, user: AnyUser, filters: dict[str, Any] | None = None) -> QuerySet[Order]:
    filters = filters or {}
    qs = scope_to_user(Order.objects.select_related("tenant"), user)
    if filters.get("tenant"):
        qs = qs.filter(tenant__slug=filters["tenant"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("score"):
        qs = qs.filter(score=filters["score"])
    if filters.get("package"):
        qs = qs.filter(package_code=filters["package"])
    if filters.get("opportunity_id"):
        qs = qs.filter(opportunity_id=filters["opportunity_id"])
    if filters.get("active") is not None:
        qs = qs.filter(is_active=filters["active"])
    created_from: date | None = filters.get("created_from")
    created_to: date | None = filters.get("created_to")
    if created_from:
        qs = qs.filter(created_at__date__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__date__lte=created_to)
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(
            Q(candidate_name__icontains=q)
            | Q(candidate_email__iexact=q)
            | Q(order_number__iexact=q)
            | Q(opportunity_id=q)
        )
    return qs.order_by("-created_at", "-id")


def order_get(*, user: AnyUser, order_id: int) -> Order:
    """The order, or Order.DoesNotExist for one the user may not see (the view answers 404)."""
    return scope_to_user(Order.objects.select_related("tenant"), user).get(pk=order_id)
