"""The orders list as CSV: the same filters and sort as the page (orders/filters.py), every
matching row, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orders.case_rules import iso as _iso
from orders.filters import DashboardOrderFilter
from orders.selectors.order_list import order_queryset, order_sorted
from orders.state import LEVER_STATUS


def order_export_rows(*, user: Any, filterset: DashboardOrderFilter) -> Iterator[list[str]]:
    """The filtered, sorted set as CSV rows (header first), streamed in chunks."""
    yield [
        "id",
        "tenant",
        "reference number",
        "candidate",
        "email",
        "lever opportunity id",
        "package",
        "status",
        "lever status",
        "piecemeal status",
        "score",
        "created (UTC)",
        "last heard (UTC)",
        "completed (UTC)",
        "report url",
        "lever url",
        "launched by",
    ]
    qs = order_sorted(
        order_queryset(user=user, filterset=filterset), filterset.values().get("sort")
    )
    rows = qs.values_list(
        "pk",
        "tenant__slug",
        "order_number",
        "candidate_name",
        "candidate_email",
        "opportunity_id",
        "package_name",
        "status",
        "piecemeal_status",
        "score",
        "created_at",
        "last_heard_at",
        "completed_at",
        "report_url",
        "lever_url",
        "launched_by",
    )
    for row in rows.iterator(chunk_size=2000):
        (pk, slug, number, name, email, opp, package, status, piecemeal, score, created,
         heard, completed, report, lever, launched) = row  # fmt: skip
        yield [
            str(pk),
            slug,
            number,
            name,
            email,
            opp,
            package,
            status,
            LEVER_STATUS.get(status, ""),
            piecemeal,
            score,
            _iso(created),
            _iso(heard),
            _iso(completed),
            report,
            lever,
            launched,
        ]
