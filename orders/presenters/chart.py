"""The orders list's chart: orders created per period, stacked by status, as SVG geometry.

Pure functions of counts already read (orders/selectors/order_list.py reads them): no queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from orders.case_rules import STATUS_ORDER, status_label


@dataclass
class Bar:
    # Strings, already formatted: the template prints them as they are (no per-number l10n).
    x: str
    y: str
    width: str
    height: str
    status: str
    label: str
    count: int


@dataclass
class Chart:
    """Orders created per period, stacked by their current status; drawn as SVG, no JS."""

    buckets: list[tuple[date, dict[str, int]]]
    unit: str  # day | week | month
    bars: list[Bar] = field(default_factory=list)
    max_total: int = 0
    width: int = 720
    height: int = 200
    statuses: list[str] = field(default_factory=list)
    ticks: list[tuple[str, str]] = field(default_factory=list)
    # More orders match than are charted under filters the hourly counts cannot answer: the
    # page says so instead of drawing a part as if it were the whole.
    too_many: int = 0

    @property
    def empty(self) -> bool:
        return self.max_total == 0

    @property
    def table(self) -> list[tuple[date, list[int]]]:
        """The chart's numbers for the table under it (periods with orders only)."""
        return [
            (day, [counts.get(s, 0) for s in self.statuses])
            for day, counts in self.buckets
            if any(counts.values())
        ]


CHART_PLOT_TOP = 10
CHART_PLOT_BOTTOM = 170
CHART_LEFT = 36


def chart_window(filters: dict[str, Any], today: date) -> tuple[date, date]:
    """The days the chart covers: the created filter's range, else the last 30 days."""
    end = filters.get("created_to") or today
    start = filters.get("created_from") or end - timedelta(days=29)
    if start > end:
        start = end
    return start, end


def chart_unit(start: date, end: date) -> str:
    """A bar per day up to two months, per week up to a year, else per month."""
    span = (end - start).days + 1
    if span <= 62:
        return "day"
    if span <= 366:
        return "week"
    return "month"


def bucket_of(day: date, unit: str) -> date:
    """The first day of the bar `day` belongs to (Monday of its week, first of its month)."""
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def build_chart(per_day: dict[date, dict[str, int]], *, start: date, end: date, unit: str) -> Chart:
    """The chart of `per_day` ({day: {status: n}}) over start..end, one bar per `unit`."""
    counts: dict[date, dict[str, int]] = {}
    for day, by_status in per_day.items():
        bucket = counts.setdefault(bucket_of(day, unit), {})
        for status, n in by_status.items():
            bucket[status] = bucket.get(status, 0) + n
    keys = bucket_keys(start, end, unit)
    chart = Chart(buckets=[(k, counts.get(k, {})) for k in keys], unit=unit)
    _layout(chart)
    return chart


def bucket_keys(start: date, end: date, unit: str) -> list[date]:
    keys: list[date] = []
    if unit == "day":
        d = start
        while d <= end:
            keys.append(d)
            d += timedelta(days=1)
    elif unit == "week":
        d = start - timedelta(days=start.weekday())
        while d <= end:
            keys.append(d)
            d += timedelta(days=7)
    else:
        d = start.replace(day=1)
        while d <= end:
            keys.append(d)
            d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys


def _layout(chart: Chart) -> None:
    seen = {s for _, counts in chart.buckets for s, n in counts.items() if n}
    chart.statuses = [s for s in STATUS_ORDER if s in seen] + sorted(seen - set(STATUS_ORDER))
    chart.max_total = max((sum(c.values()) for _, c in chart.buckets), default=0)
    if not chart.buckets or chart.max_total == 0:
        return
    plot_w = chart.width - CHART_LEFT - 4
    plot_h = CHART_PLOT_BOTTOM - CHART_PLOT_TOP
    slot = plot_w / len(chart.buckets)
    bar_w = max(1.0, slot * 0.8)
    fmt = "%b %Y" if chart.unit == "month" else "%m-%d"
    every = max(1, len(chart.buckets) // 8)
    for i, (day, counts) in enumerate(chart.buckets):
        x = CHART_LEFT + i * slot + (slot - bar_w) / 2
        y = float(CHART_PLOT_BOTTOM)
        for status in chart.statuses:
            n = counts.get(status, 0)
            if not n:
                continue
            h = plot_h * n / chart.max_total
            y -= h
            chart.bars.append(
                Bar(
                    x=f"{x:.2f}",
                    y=f"{y:.2f}",
                    width=f"{bar_w:.2f}",
                    height=f"{h:.2f}",
                    status=status,
                    label=f"{day.isoformat()}: {n} {status_label(status)}",
                    count=n,
                )
            )
        if i % every == 0:
            chart.ticks.append((f"{x + bar_w / 2:.2f}", day.strftime(fmt)))
