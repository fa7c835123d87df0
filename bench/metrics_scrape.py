"""Benchmark: the /metrics scrape against a long history of note attempts (docs/PERFORMANCE.md).

    .venv/bin/python -m bench.metrics_scrape            # 1,000,000 attempts on 200,000 notes
    .venv/bin/python -m bench.metrics_scrape --smoke    # 20,000 attempts, a few seconds

The history is written with generate_series (no ORM, no per-row save), then counted into
NoteAttemptTally by the data migration's own query (orders/migrations/0007_note_attempt_tally.py),
as an upgrade would. Scrapes go through the whole middleware stack with the Django test client,
with the collector's cache off, interleaved with the baseline measured in the same run: /healthz,
which reads nothing. The scrape is measured on the same notes before their attempts are inserted
too, and the grouping of every attempt the scrape used to run is timed on the same data.

Gates: the scrape reports exactly the attempts and retries inserted; with the full history, the
attempts make the scrape at most 1.5× slower and its p95 is ≤ 50 ms (in smoke mode the timings
are reported, not gating). The notes are still counted by state at each scrape, so their number,
not the attempts', sets the scrape's cost (docs/PERFORMANCE.md §5).
"""

from __future__ import annotations

import argparse
import importlib
import time
from typing import Any

from bench import harness

TARGET_P95_MS = 50.0
# The attempts must not make the scrape slower than noise on a shared machine.
HISTORY_RATIO = 1.5
# Outcomes by share of attempts: most notes go through at once.
OUTCOMES = [("delivered", 88), ("transient", 6), ("ambiguous", 2), ("found", 2), ("lost", 1)]
OUTCOMES.append(("permanent", 100 - sum(share for _, share in OUTCOMES)))


def _seed_notes(notes: int) -> int:
    """`notes` notes of one tenant, delivered but for a small backlog; the first one's id."""
    from django.db import connection
    from django.utils import timezone

    from orders.models import LeverNote
    from tests.support.factories import TenantFactory

    tenant = TenantFactory(
        name="Bench Metrics", slug="bench-metrics", lever_base_url="http://127.0.0.1:9/v1"
    )
    note_table = LeverNote._meta.db_table
    with connection.cursor() as cursor:
        # Ids are consecutive from the first.
        cursor.execute(
            f"""
            INSERT INTO {note_table} (tenant_id, opportunity_id, kind, text, is_resync, state,
                attempts, lever_note_id, last_error, created_at, delivered_at)
            SELECT %s, 'opp-' || g, 'order', 'Background check: Completed', false,
                CASE WHEN g %% 1000 = 0 THEN 'pending' WHEN g %% 997 = 0 THEN 'failed'
                     ELSE 'delivered' END,
                1, '', '', %s - g * interval '1 second', %s - g * interval '1 second'
            FROM generate_series(1, %s) AS g
            """,
            [tenant.pk, timezone.now(), timezone.now(), notes],
        )
        cursor.execute(f"SELECT min(id) FROM {note_table} WHERE tenant_id = %s", [tenant.pk])
        return cursor.fetchone()[0]


def _seed_attempts(attempts: int, notes: int, first: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from orders.models import NoteAttempt

    attempt_table = NoteAttempt._meta.db_table
    # Outcome of attempt g: its position in 0..99 picks the outcome by share.
    bounds, total = [], 0
    for outcome, share in OUTCOMES:
        total += share
        bounds.append(f"WHEN (g * 37) %% 100 < {total} THEN '{outcome}'")
    outcome_sql = "CASE " + " ".join(bounds) + " END"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {attempt_table} (note_id, started_at, duration_ms, outcome, http_status,
                error, task_id)
            SELECT %s + (g %% %s), %s - g * interval '1 second', (g::bigint * 7919) %% 30000,
                {outcome_sql}, 201, '', ''
            FROM generate_series(0, %s - 1) AS g
            """,
            [first, notes, timezone.now(), attempts],
        )


def _tally_history() -> float:
    """Count the inserted history with the data migration's own query; its seconds."""
    from django.apps import apps
    from django.db import connection, transaction

    migration = importlib.import_module("orders.migrations.0007_note_attempt_tally")
    started = time.perf_counter()
    with transaction.atomic(), connection.schema_editor() as editor:
        migration.tally_existing_attempts(apps, editor)
    return time.perf_counter() - started


def _old_grouping_ms(rounds: int) -> list[float]:
    """The aggregate the scrape ran over every attempt before NoteAttemptTally."""
    from django.db.models import Count, Q, Sum

    from orders.models import NoteAttempt, NoteAttemptTally

    buckets = {
        f"le_{bound}": Count("id", filter=Q(duration_ms__lte=bound))
        for bound in NoteAttemptTally.BUCKETS_MS
    }
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        rows = NoteAttempt.objects.values("outcome").annotate(
            n=Count("id"), total_ms=Sum("duration_ms"), **buckets
        )
        list(rows.order_by("outcome"))
        NoteAttempt.objects.aggregate(n=Count("note_id", distinct=True))
        times.append((time.perf_counter() - started) * 1000)
    return times


def _scraped(body: str) -> tuple[float, float]:
    from prometheus_client.parser import text_string_to_metric_families

    attempts = retries = 0.0
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == "portal_note_deliveries_total":
                attempts += sample.value
            elif sample.name == "portal_note_retries_total":
                retries += sample.value
    return attempts, retries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--attempts", type=int, default=None)
    parser.add_argument("--notes", type=int, default=None)
    args = parser.parse_args(argv)
    attempts = args.attempts or (20_000 if args.smoke else 1_000_000)
    notes = args.notes or max(1, attempts // 5)
    rounds = 60 if args.smoke else 300

    env = harness.prepare()
    from django.db import connection
    from django.test import Client

    from integration_portal import metrics

    metrics._database_collector.cache_s = 0  # every scrape runs its queries
    client = Client(HTTP_HOST="127.0.0.1")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {env['METRICS_TOKEN']}"}

    def timed(path: str, **headers: Any) -> tuple[float, str]:
        t0 = time.perf_counter()
        response = client.get(path, **headers)
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, (path, response.status_code)
        return elapsed, response.content.decode()

    def measure() -> tuple[list[float], list[float], str]:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        for _ in range(10):  # warm both paths (imports, plans, caches)
            timed("/metrics", **auth)
            timed("/healthz")
        scrape, health, body = [], [], ""
        for _ in range(rounds):
            elapsed, body = timed("/metrics", **auth)
            scrape.append(elapsed)
            health.append(timed("/healthz")[0])
        return scrape, health, body

    first = _seed_notes(notes)
    # The same notes without their attempts: what the scrape costs apart from attempt history.
    no_history_ms, _, _ = measure()
    started = time.perf_counter()
    _seed_attempts(attempts, notes, first)
    seed_s = time.perf_counter() - started
    tally_s = _tally_history()
    scrape_ms, health_ms, body = measure()
    old_ms = _old_grouping_ms(5 if args.smoke else 10)

    report = harness.Report(
        f"/metrics scrape ({'smoke' if args.smoke else 'full'}; {attempts:,} attempts on "
        f"{notes:,} notes)"
    )
    base50, base95 = harness.percentile(health_ms, 50), harness.percentile(health_ms, 95)
    p50, p95 = harness.percentile(scrape_ms, 50), harness.percentile(scrape_ms, 95)
    report.row("insert the attempts (generate_series)", seed_s, "s")
    report.row("tally the history (data migration query)", tally_s, "s")
    report.row("scrape p50", p50, "ms", base50)
    report.row("scrape p95", p95, "ms", base95)
    report.row("baseline /healthz p95", base95, "ms")
    no50 = harness.percentile(no_history_ms, 50)
    report.row("scrape p50, same notes without attempts", no50, "ms")
    report.row("scrape p50 with ÷ without the attempts", p50 / no50, "x")
    report.row("before: grouping every attempt, p50", harness.percentile(old_ms, 50), "ms", p50)

    seen_attempts, seen_retries = _scraped(body)
    report.check("attempts reported", seen_attempts, f"= {attempts}", seen_attempts == attempts)
    expected_retries = max(0, attempts - notes)
    report.check(
        "retries reported", seen_retries, f"= {expected_retries}", seen_retries == expected_retries
    )
    report.check(
        "scrape with ÷ without the attempts (p50)",
        p50 / no50,
        f"≤ {HISTORY_RATIO:.1f}",
        p50 / no50 <= HISTORY_RATIO,
        gating=not args.smoke,
    )
    report.check(
        "scrape p95 (ms)",
        p95,
        f"≤ {TARGET_P95_MS:.0f}",
        p95 <= TARGET_P95_MS,
        gating=not args.smoke,
    )
    return report.finish("metrics_scrape", smoke=args.smoke)


if __name__ == "__main__":
    raise SystemExit(main())
