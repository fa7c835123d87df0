"""The order flow's metrics read from its tables at each /metrics scrape.

Registered by OrdersConfig.ready() with integration_portal.metrics, which serves them (and caches
them for a few seconds). Note attempts are read from `NoteAttemptTally`, kept at event time, so
their cost does not grow with the history of attempts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Max, Min, Sum
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from orders.models import InboundEvent, LeverNote, NoteAttemptTally


def _le_value(le: str) -> float:
    return math.inf if le == NoteAttemptTally.INF else float(le)


def _attempt_families() -> Iterator[Any]:
    rows = NoteAttemptTally.objects.values("outcome", "le").annotate(
        n=Sum("attempts"), ms=Sum("total_ms"), retries=Sum("retries")
    )
    by_outcome: dict[str, list[tuple[float, int, int]]] = {}
    retries = 0
    for row in rows.order_by():
        by_outcome.setdefault(row["outcome"], []).append(
            (_le_value(row["le"]), row["n"], row["ms"])
        )
        retries += row["retries"]

    attempts = HistogramMetricFamily(
        "portal_note_delivery_seconds",
        "Lever note delivery attempts by outcome (delivered, found, transient, ambiguous, "
        "permanent, lost) and how long the call took.",
        labels=["outcome"],
    )
    deliveries = CounterMetricFamily(
        "portal_note_deliveries",
        "Lever note delivery attempts by outcome.",
        labels=["outcome"],
    )
    for outcome in sorted(by_outcome):
        buckets = by_outcome[outcome]
        total = sum(n for _, n, _ in buckets)
        deliveries.add_metric([outcome], total)
        cumulative = [
            (str(bound / 1000), sum(n for le, n, _ in buckets if le <= bound / 1000))
            for bound in NoteAttemptTally.BUCKETS_MS
        ]
        cumulative.append(("+Inf", total))
        attempts.add_metric(
            [outcome], buckets=cumulative, sum_value=sum(ms for _, _, ms in buckets) / 1000
        )
    yield deliveries
    yield attempts

    family = CounterMetricFamily(
        "portal_note_retries",
        "Lever note delivery attempts after a note's first one (back-off retries, sweeps, "
        "replays).",
    )
    family.add_metric([], retries)
    yield family


def outbox_families() -> Iterator[Any]:
    """Note deliveries, retries, and the outbox and inbound backlogs."""
    yield from _attempt_families()

    outbox = GaugeMetricFamily(
        "portal_outbox_notes",
        "Lever notes by outbox state (pending, sending, failed, blocked: the backlog).",
        labels=["state"],
    )
    by_state = dict(LeverNote.objects.values_list("state").annotate(n=Count("*")).order_by("state"))
    for state in LeverNote.State.values:
        outbox.add_metric([state], by_state.get(state, 0))
    yield outbox

    oldest = GaugeMetricFamily(
        "portal_outbox_oldest_pending_seconds",
        "Age of the oldest undelivered note that is pending or being sent (0 when none).",
    )
    first = LeverNote.objects.filter(
        state__in=[LeverNote.State.PENDING, LeverNote.State.SENDING]
    ).aggregate(at=Min("created_at"))["at"]
    oldest.add_metric([], (timezone.now() - first).total_seconds() if first else 0.0)
    yield oldest

    inbound = GaugeMetricFamily(
        "portal_inbound_events",
        "Stored webhooks and callbacks by source and processing state.",
        labels=["source", "state"],
    )
    rows = InboundEvent.objects.values_list("source", "state").annotate(n=Count("*"))
    counts = {(source, state): n for source, state, n in rows.order_by("source", "state")}
    for source in InboundEvent.Source.values:
        for state in InboundEvent.State.values:
            inbound.add_metric([source, state], counts.get((source, state), 0))
    yield inbound

    last = GaugeMetricFamily(
        "portal_note_last_delivered_timestamp_seconds",
        "Unix time of the newest delivered note (0 when none).",
    )
    newest = LeverNote.objects.filter(state=LeverNote.State.DELIVERED).aggregate(
        at=Max("delivered_at")
    )["at"]
    last.add_metric([], newest.timestamp() if newest else 0.0)
    yield last
