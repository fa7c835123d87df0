"""Counting orders without counting a million rows per request (docs/PERFORMANCE.md §4).

Two ways, chosen per request:
- exact, from `orders_order_counts` (orders per tenant, UTC hour and status: the folded counts
  plus the deltas PostgreSQL triggers append, migrations 0008 and 0011) when the filters are only
  tenant, status and creation days: a few thousand rows whatever the number of orders;
- bounded otherwise (search, score, package, needs attention…, and always on SQLite): the
  counts are read from at most COUNT_CAP + 1 matching rows; past that they are lower bounds and
  say so ("1000+").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from connectors.tenants.access import is_super_admin, visible_tenant_ids

COUNT_CAP = 1000
HOUR_COUNTS = "orders_order_counts"  # a view: folded counts + pending deltas

# Dashboard filters the hour counts answer; any other with a value means counting rows.
_COUNTED_BY_HOUR = frozenset({"tenant", "status", "created_from", "created_to", "sort", "days"})


class Bounded(int):
    """A count that may have stopped at its cap: prints "1000+" then (an int everywhere else)."""

    more: bool

    def __new__(cls, value: int, more: bool = False) -> Bounded:
        self = super().__new__(cls, value)
        self.more = more
        return self

    def __str__(self) -> str:
        return f"{int(self)}+" if self.more else str(int(self))

    def __add__(self, other: object) -> Bounded:
        if not isinstance(other, int):
            return NotImplemented
        return Bounded(int(self) + int(other), self.more or getattr(other, "more", False))

    __radd__ = __add__


def bounded_count(qs: QuerySet, cap: int | None = None) -> Bounded:
    """COUNT(*) of at most cap + 1 rows (cap: COUNT_CAP)."""
    cap = COUNT_CAP if cap is None else cap
    n = qs.order_by().values("pk")[: cap + 1].count()
    return Bounded(min(n, cap), n > cap)


def bounded_counts(named: dict[str, QuerySet], cap: int | None = None) -> dict[str, Bounded]:
    """bounded_count of several querysets (of any models) in one query: a UNION ALL of one
    LIMITed read each, counted by name."""
    cap = COUNT_CAP if cap is None else cap
    parts, params = [], []
    for i, (name, qs) in enumerate(named.items()):
        # The queryset's own order stays: it names the index that reads the few rows asked for
        # and stops (unordered, the planner may prefer a sequential scan that stops early).
        sub = qs.values("pk")[: cap + 1]
        try:
            sql, sub_params = sub.query.sql_with_params()
        except EmptyResultSet:  # e.g. a user with no tenants: nothing to count, no SQL
            continue
        parts.append(f"SELECT CAST(%s AS varchar(64)) AS k FROM ({sql}) AS b{i}")  # noqa: S608 # nosec B608
        params.extend([name, *sub_params])
    # Compiled querysets and bound values only: nothing from outside is pasted into the SQL.
    if not parts:
        return {name: Bounded(0) for name in named}
    sql = "SELECT u.k, COUNT(*) FROM (" + " UNION ALL ".join(parts) + ") AS u GROUP BY u.k"  # noqa: S608 # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = dict(cursor.fetchall())
    return {name: Bounded(min(rows.get(name, 0), cap), rows.get(name, 0) > cap) for name in named}


def bounded_status_counts(
    qs: QuerySet, statuses: Iterable[str], cap: int | None = None
) -> dict[str, Bounded]:
    """Per status, how many rows of `qs` have it, read from at most cap + 1 rows (newest first,
    so the (tenant, created_at) index serves it and stops early): one query. When more rows
    match, each count is what those rows hold, flagged: "at least" (printed "312+")."""
    cap = COUNT_CAP if cap is None else cap
    newest = qs.order_by("-created_at", "-id").values("status")[: cap + 1]
    try:
        sql, params = newest.query.sql_with_params()
    except EmptyResultSet:  # a user with no tenants
        return {s: Bounded(0) for s in statuses}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.status, COUNT(*) FROM ({sql}) AS u GROUP BY u.status",  # noqa: S608 # nosec B608
            params,
        )
        rows = dict(cursor.fetchall())
    # Past the cap every count is a lower bound, and true as one: "at least 312 In Progress".
    more = sum(rows.values()) > cap
    keys = [*statuses, *sorted(set(rows) - set(statuses))]
    return {s: Bounded(rows.get(s, 0), more) for s in keys}


def hour_counts_apply(values: dict[str, Any]) -> bool:
    """Whether the hour counts answer these (cleaned, valid) dashboard filters exactly."""
    if connection.vendor != "postgresql":
        return False
    for name, value in values.items():
        # Not given, or an unticked box, is no filter; `active=false` is one.
        unused = value is None or value == "" or (value is False and name != "active")
        if name not in _COUNTED_BY_HOUR and not unused:
            return False
    # Hours are UTC hours: a day of a zone with a half-hour offset does not start on one.
    for day in (values.get("created_from"), values.get("created_to")):
        if day and _day_start(day).minute:
            return False
    return True


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def _where(user: Any, values: dict[str, Any], start: date | None, end: date | None):
    """SQL conditions and parameters on the hour counts for the user's tenants and filters."""
    where: list[str] = ["n <> 0"]
    params: list[object] = []
    if not is_super_admin(user):
        where.append("tenant_id = ANY(%s)")
        params.append(visible_tenant_ids(user))
    if values.get("tenant"):
        # By slug, within the tenants already allowed above.
        where.append("tenant_id IN (SELECT id FROM connectors_tenant WHERE slug = %s)")
        params.append(values["tenant"])
    if start:
        where.append("hour >= %s")
        params.append(_day_start(start).astimezone(UTC).replace(tzinfo=None))
    if end:
        where.append("hour < %s")
        params.append(_day_start(end + timedelta(days=1)).astimezone(UTC).replace(tzinfo=None))
    return " AND ".join(where), params


def hour_status_counts(*, user: Any, values: dict[str, Any]) -> dict[str, int]:
    """Exact per-status counts from the hour counts (one query)."""
    where, params = _where(user, values, values.get("created_from"), values.get("created_to"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status, SUM(n) FROM {HOUR_COUNTS} WHERE {where} GROUP BY status",  # noqa: S608 # nosec B608
            params,
        )
        return {status: int(n) for status, n in cursor.fetchall()}


def hour_day_counts(
    *, user: Any, values: dict[str, Any], start: date, end: date
) -> dict[date, dict[str, int]]:
    """Exact {local day: {status: n}} from the hour counts over start..end (one query)."""
    where, params = _where(user, values, start, end)
    zone = timezone.get_current_timezone_name()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ((hour AT TIME ZONE 'UTC') AT TIME ZONE %s)::date AS day, status, SUM(n) "  # noqa: S608 # nosec B608
            f"FROM {HOUR_COUNTS} WHERE {where} GROUP BY 1, 2",
            [zone, *params],
        )
        per: dict[date, dict[str, int]] = {}
        for day, status, n in cursor.fetchall():
            per.setdefault(day, {})[status] = int(n)
    return per
