"""Folding the hourly order counts' deltas into the counts (migration 0011).

Triggers append one (tenant, hour, status, ±1) row per change of an order, so writers never
wait on each other; readers add the pending deltas (orders/selectors/counts.py). Folding keeps
what readers add up small. Beat runs it every 30 seconds
(integration_portal/settings.py, CELERY_BEAT_SCHEDULE).
"""

from __future__ import annotations

from django.db import connection


def order_counts_fold() -> int:
    """Move the pending deltas into the hourly counts; how many were folded.

    0 on SQLite (no triggers there: the pages count rows), and when another fold is running
    (it takes the same deltas; one fold at a time, held by an advisory lock).
    """
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT orders_order_hour_fold()")
        return int(cursor.fetchone()[0])
