"""The orders list: the visible orders matching the filters (orders/filters.py), a page of them,
the per-status counts and the chart.

Scoped through connectors.tenants.access (another tenant's rows never load). The page runs a fixed number
of queries whatever the row count: the counts are one aggregate, the list's total comes from them
(so pagination never runs a second COUNT(*)), and related rows come in one query per table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import cached_property

from connectors.models import Package
from connectors.tenants.access import scope_to_user, tenants_visible_to
from orders.case_rules import (
    DEFAULT_SORT,
    PAGE_SIZE,
    SORTS,
    STATUS_ORDER,
    annotate_lever_markers,
    with_tenant,
)
from orders.filters import DashboardOrderFilter, day_start
from orders.models import Order
from orders.presenters.chart import Chart, build_chart, chart_unit, chart_window
from orders.selectors.counts import (
    COUNT_CAP,
    Bounded,
    bounded_status_counts,
    hour_counts_apply,
    hour_day_counts,
    hour_status_counts,
)


def filter_choices(*, user: Any) -> dict[str, list[tuple[str, str]]]:
    """Tenants and package codes the user may filter on: two small queries."""
    tenants = list(tenants_visible_to(user).order_by("name").values_list("slug", "name"))
    packages = (
        scope_to_user(Package.objects.all(), user)
        .order_by("name", "code")
        .values_list("code", "name")
        .distinct()
    )
    seen: dict[str, str] = {}
    for code, name in packages:
        seen.setdefault(code, f"{name} ({code})")
    return {"tenants": tenants, "packages": sorted(seen.items(), key=lambda kv: kv[1].lower())}


def order_filter(*, user: Any, data: Any) -> DashboardOrderFilter:
    """The dashboard's filters bound to `data` (the query string), with the user's pick lists."""
    return DashboardOrderFilter(data, choices=filter_choices(user=user))


def order_queryset(
    *, user: Any, filterset: DashboardOrderFilter, without: frozenset[str] = frozenset()
) -> QuerySet:
    """Visible orders matching the filters, unsorted; `without` names filters left out."""
    filterset.is_valid()
    return filterset.filter_queryset(scope_to_user(Order.objects.all(), user), without=without)


def order_sorted(qs: QuerySet, sort: str | None) -> QuerySet:
    sort = sort or DEFAULT_SORT
    key = sort.lstrip("-")
    fields = SORTS.get(key) or SORTS["created"]
    desc = sort.startswith("-") if key in SORTS else True
    return qs.order_by(*[f"-{f}" if desc else f for f in fields])


def status_counts(*, user: Any, filterset: DashboardOrderFilter) -> list[tuple[str, Bounded]]:
    """(status, count) for every status, in STATUS_ORDER, over the filtered set without its
    status filter (each count says what clicking that status would show): one query, exact from
    the hourly counts when they answer the filters, else bounded (orders/selectors/counts.py)."""
    values = filterset.values()
    if hour_counts_apply(values):
        exact = hour_status_counts(user=user, values=values)
        statuses = list(STATUS_ORDER) + sorted(s for s in exact if s not in STATUS_ORDER)
        return [(s, Bounded(exact.get(s, 0))) for s in statuses]
    rows = order_queryset(user=user, filterset=filterset, without=frozenset({"status"}))
    return list(bounded_status_counts(rows, STATUS_ORDER).items())


class KnownCountPaginator(Paginator):
    """A paginator told its total up front (from the status counts): no COUNT(*) of its own."""

    def __init__(self, object_list: Any, per_page: int, *, count: int, exact: bool = True):
        super().__init__(object_list, per_page)
        self._known_count = count
        self._exact = exact  # a bounded count (counts.Bounded) has no "other end" to read from

    @cached_property
    def count(self) -> int:
        return self._known_count

    def page(self, number: Any) -> Page:
        """Pages past the middle are read from the other end, in reverse order: OFFSET 99,950
        walks 99,950 rows, the reversed query only 50 (the total is known, so the offset from
        the end is too)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if (
            bottom <= self.count // 2
            or not self._exact
            or not isinstance(self.object_list, QuerySet)
        ):
            return Page(self.object_list[bottom:top], number, self)
        rows = list(self.object_list.reverse()[self.count - top : self.count - bottom])
        rows.reverse()
        return Page(rows, number, self)


@dataclass
class OrderListPage:
    page: Page
    counts: list[tuple[str, Bounded]]
    total: Bounded  # all statuses, other filters applied
    chart: Chart


def order_list_page(
    *, user: Any, filterset: DashboardOrderFilter, page_number: Any
) -> OrderListPage:
    values = filterset.values()
    counts = status_counts(user=user, filterset=filterset)
    total = sum((n for _, n in counts), Bounded(0))
    status = values.get("status")
    matching = dict(counts).get(status, Bounded(0)) if status is not None else total
    qs = order_sorted(order_queryset(user=user, filterset=filterset), values.get("sort"))
    qs = with_tenant(qs).defer("state", "error_message", "submit_error")
    paginator = KnownCountPaginator(
        qs, PAGE_SIZE, count=matching, exact=not getattr(matching, "more", False)
    )
    page = paginator.get_page(page_number)
    annotate_lever_markers(page.object_list)
    return OrderListPage(
        page=page, counts=counts, total=total, chart=status_chart(user=user, filterset=filterset)
    )


def status_chart(*, user: Any, filterset: DashboardOrderFilter) -> Chart:
    """Orders created per day, week or month of the chart's window, by status: one query."""
    values = filterset.values()
    start, end = chart_window(values, timezone.localdate())
    unit = chart_unit(start, end)
    if hour_counts_apply(values):
        return build_chart(
            hour_day_counts(user=user, values=values, start=start, end=end),
            start=start,
            end=end,
            unit=unit,
        )
    rows = list(
        order_queryset(
            user=user,
            filterset=filterset,
            without=frozenset({"status", "created_from", "created_to"}),
        )
        .filter(created_at__gte=day_start(start), created_at__lt=day_start(end + timedelta(1)))
        .order_by("-created_at", "-id")  # the (tenant, created_at) index, stopping early
        .values_list("created_at", "status")[: COUNT_CAP + 1]
    )
    if len(rows) > COUNT_CAP:
        chart = build_chart({}, start=start, end=end, unit=unit)
        chart.too_many = COUNT_CAP
        return chart
    per_day: dict[date, dict[str, int]] = {}
    for created_at, status in rows:
        day = timezone.localtime(created_at).date()
        per_day.setdefault(day, {})
        per_day[day][status] = per_day[day].get(status, 0) + 1
    return build_chart(per_day, start=start, end=end, unit=unit)
