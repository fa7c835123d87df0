"""Reads on single orders and the order API's list, always scoped to what the user may see
(connectors.tenants.access). The API's filters are orders/filters.py's OrderFilter."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from connectors.tenants.access import scope_to_user
from orders.case_rules import with_tenant
from orders.models import LeverNote, Order


def order_list(*, user: Any) -> QuerySet[Order]:
    """The user's orders, newest first (the API filters them with OrderFilter)."""
    return with_tenant(scope_to_user(Order.objects.all(), user)).order_by("-created_at", "-id")


def order_get(*, user: Any, order_id: int) -> Order:
    """The order, or Order.DoesNotExist for one the user may not see (the view answers 404).

    With its whole tenant: actions on the order go on to call Lever or Backcheck with it."""
    return scope_to_user(Order.objects.select_related("tenant"), user).get(pk=order_id)


def order_get_with_history(*, user: Any, order_id: int) -> Order:
    """The order with its services, history, notes and their attempts (the API's detail)."""
    return (
        with_tenant(scope_to_user(Order.objects.all(), user))
        .prefetch_related(
            "services",
            "history",
            Prefetch("notes", queryset=LeverNote.objects.prefetch_related("attempts_log")),
        )
        .get(pk=order_id)
    )
