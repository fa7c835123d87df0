"""The orders list and its CSV export: the same filters (orders/filters.py) for both."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from orders.case_rules import DEFAULT_SORT, status_label
from orders.filters import DashboardOrderFilter
from orders.selectors.export import order_export_rows
from orders.selectors.health import tenant_health_for_user
from orders.selectors.order_list import order_filter, order_list_page


def _filters(request: HttpRequest) -> DashboardOrderFilter:
    return order_filter(user=request.user, data=request.GET)


def _query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    filterset = _filters(request)
    filters = filterset.values()
    listing = order_list_page(
        user=request.user, filterset=filterset, page_number=request.GET.get("page")
    )
    status_param = request.GET.get("status", "")
    counts = [
        {
            "status": status,
            "param": status or "pending",
            "label": status_label(status),
            "count": n,
            "current": status_param == (status or "pending"),
        }
        for status, n in listing.counts
    ]
    context = {
        "form": filterset.form,
        "filters": filters,
        "listing": listing,
        "page": listing.page,
        "counts": counts,
        "sort": filters.get("sort") or DEFAULT_SORT,
        "query_no_page": _query_without(request, "page"),
        "query_no_status": _query_without(request, "page", "status"),
        "query_no_sort": _query_without(request, "page", "sort"),
        "query": request.GET.urlencode(),
        "health": tenant_health_for_user(user=request.user),
        "quiet_days": filters["days"],
    }
    return render(request, "orders/order_list.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet (CSV injection): candidate
    # names come from Lever and are not ours to trust.
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


@login_required
@require_GET
def order_export(request: HttpRequest) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    rows = order_export_rows(user=request.user, filterset=_filters(request))
    stream = (writer.writerow([_csv_safe(str(v)) for v in row]) for row in rows)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return StreamingHttpResponse(
        stream,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="orders-{stamp}.csv"'},
    )
