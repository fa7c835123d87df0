"""Note attempts are counted at event time (NoteAttemptTally), so /metrics never reads the
history of attempts (docs/PERFORMANCE.md)."""

from __future__ import annotations

import random
import re
import threading
from collections import defaultdict

import pytest
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.metrics import outbox_families
from orders.models import LeverNote, NoteAttempt, NoteAttemptTally

OUTCOMES = [choice for choice, _ in NoteAttempt.Outcome.choices]


def _note(tenant, n: int) -> LeverNote:
    return LeverNote.objects.create(
        tenant=tenant, opportunity_id=f"opp-{n}", kind="order", text="t"
    )


def _families() -> dict[str, list]:
    return {family.name: family.samples for family in outbox_families()}


def _expected(attempts: list[tuple[int, str, int]]) -> dict:
    """Deliveries, cumulative buckets, sums and retries computed from the attempts themselves."""
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, int] = defaultdict(int)
    buckets: dict[tuple[str, str], int] = defaultdict(int)
    seen: set[int] = set()
    retries = 0
    for note_id, outcome, ms in attempts:
        counts[outcome] += 1
        sums[outcome] += ms
        for bound in NoteAttemptTally.BUCKETS_MS:
            if ms <= bound:
                buckets[(outcome, str(bound / 1000))] += 1
        retries += note_id in seen
        seen.add(note_id)
    return {"counts": dict(counts), "sums": dict(sums), "buckets": buckets, "retries": retries}


def _read(families: dict) -> dict:
    counts = {s.labels["outcome"]: s.value for s in families["portal_note_deliveries"]}
    sums = {
        s.labels["outcome"]: round(s.value * 1000)
        for s in families["portal_note_delivery_seconds"]
        if s.name.endswith("_sum")
    }
    buckets = {
        (s.labels["outcome"], s.labels["le"]): s.value
        for s in families["portal_note_delivery_seconds"]
        if s.name.endswith("_bucket") and s.labels["le"] != "+Inf"
    }
    [retries] = families["portal_note_retries"]
    return {
        "counts": counts,
        "sums": sums,
        "buckets": {key: n for key, n in buckets.items() if n},
        "retries": retries.value,
    }


@pytest.mark.django_db
def test_the_tally_gives_what_grouping_every_attempt_would(tenant):
    rng = random.Random(20261130)
    notes = [_note(tenant, n) for n in range(5)]
    recorded = []
    for _ in range(60):
        note = rng.choice(notes)
        outcome = rng.choice(OUTCOMES)
        ms = rng.choice([0, 25, 26, 99, 250, 1200, 19999, 20000, 20001, 90000])
        NoteAttempt.objects.create(
            note=note, started_at=timezone.now(), outcome=outcome, duration_ms=ms
        )
        recorded.append((note.pk, outcome, ms))
    expected = _expected(recorded)
    expected["buckets"] = dict(expected["buckets"])
    assert _read(_families()) == expected


@pytest.mark.django_db
def test_a_scrape_reads_the_tally_not_the_attempts(tenant):
    note = _note(tenant, 1)
    for outcome in OUTCOMES:
        NoteAttempt.objects.create(note=note, started_at=timezone.now(), outcome=outcome)
    with CaptureQueriesContext(connection) as queries:
        families = _families()
    assert sum(s.value for s in families["portal_note_deliveries"]) == len(OUTCOMES)
    table = re.compile(rf"\b{NoteAttempt._meta.db_table}\b")
    assert not [q["sql"] for q in queries if table.search(q["sql"])]


@pytest.mark.django_db
def test_an_edited_attempt_is_not_counted_again(tenant):
    attempt = NoteAttempt.objects.create(
        note=_note(tenant, 1), started_at=timezone.now(), outcome="transient", duration_ms=40
    )
    attempt.error = "edited"
    attempt.save()
    assert NoteAttemptTally.objects.get().attempts == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_attempts_of_a_bucket_are_all_counted(tenant, postgres):
    """Workers recording the first attempts of one bucket at once: one creates the row, the
    others meet its unique constraint and add to it."""
    notes = [_note(tenant, n) for n in range(4)]
    start = threading.Barrier(len(notes))
    errors: list[BaseException] = []

    def worker(note: LeverNote) -> None:
        try:
            start.wait()
            for _ in range(10):
                NoteAttempt.objects.create(
                    note=note, started_at=timezone.now(), outcome="delivered", duration_ms=30
                )
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(note,)) for note in notes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    row = NoteAttemptTally.objects.get()
    assert (row.outcome, row.le, row.attempts, row.total_ms, row.retries) == (
        "delivered",
        "0.05",
        40,
        1200,
        36,
    )


@pytest.mark.django_db(transaction=True)
def test_the_migration_tallies_the_attempts_recorded_before_it(tenant):
    executor = MigrationExecutor(connection)
    before, after = ("orders", "0004_lever_note_extra_kinds"), ("orders", "0007_note_attempt_tally")
    executor.migrate([before])
    try:
        old = executor.loader.project_state([before]).apps
        Note, Attempt = old.get_model("orders", "LeverNote"), old.get_model("orders", "NoteAttempt")
        first = Note.objects.create(
            tenant_id=tenant.pk, opportunity_id="o1", kind="order", text="a"
        )
        second = Note.objects.create(
            tenant_id=tenant.pk, opportunity_id="o2", kind="order", text="b"
        )
        now = timezone.now()
        recorded = [
            (first.pk, "transient", 3000),
            (first.pk, "transient", 30000),
            (first.pk, "delivered", 180),
            (second.pk, "delivered", 40),
            (second.pk, "found", 0),
        ]
        for note_id, outcome, ms in recorded:
            Attempt.objects.create(note_id=note_id, started_at=now, outcome=outcome, duration_ms=ms)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([after])
    # The rest of the migrations, as the test database had them.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    expected = _expected(recorded)
    expected["buckets"] = dict(expected["buckets"])
    assert _read(_families()) == expected
