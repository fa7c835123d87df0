"""Benchmark 3: end-to-end latency with no backlog, N cases one after the other.

    .venv/bin/python -m bench.e2e_latency              # 30 cases
    .venv/bin/python -m bench.e2e_latency --smoke      # 5 cases

Everything real: gunicorn, a Celery worker, PostgreSQL, Redis, the fake Lever and fake Backcheck
on 127.0.0.1. For each case: (a) the fake Lever moves the candidate into the trigger stage and
POSTs the signed webhook; timed until the `Status: New` note is on the fake Lever; (b) the fake
Backcheck applies `consent` and POSTs the callback; timed until the `Status: In Progress` note is
there. Targets: p95 ≤ 2 s for each (docs/CONTRACT.md), and the latency floor: stage change → New
note p95 ≤ 150 ms, callback → In Progress note p95 ≤ 50 ms, each also shown as a ratio to the same
run's bare round trips (the calls the worker makes, through the connector clients, no Celery).

"No backlog" includes the tenant's Lever rate limit: a case makes three Lever calls (read the
opportunity, two notes), so cases run back to back would ask for 15 calls/s against the 10/s
limit and every call would wait for its slot (exactly 100 ms a call: a measure of the limiter,
not of the pipeline). Each case therefore starts once the tenant's limiter bucket is full again.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench import harness


def _wait_note(lever, api_key: str, opportunity_id: str, line: str, timeout: float) -> float:
    def seen() -> bool:
        return any(line in n["value"].splitlines() for n in lever.notes(api_key, opportunity_id))

    harness.wait_until(seen, timeout, f"a note with {line!r}", every=0.002)
    return time.perf_counter()


def _wait_limiter_idle(api_key: str) -> None:
    """Until the key's GCRA arrival time is not ahead of Redis's clock: the burst is available."""
    import redis

    from connectors.lever.ratelimit import KEY_PREFIX, key_fingerprint

    client = redis.Redis.from_url(harness.REDIS_URL)
    tat_key = f"{KEY_PREFIX}:{{{key_fingerprint(api_key)}}}:tat"

    def idle() -> bool:
        seconds, micros = client.time()
        tat = float(client.get(tat_key) or 0)
        return tat <= seconds * 1_000_000 + micros

    harness.wait_until(idle, 10, "the tenant's rate limiter to be idle", every=0.01)
    client.close()


def _bare_round_trip(tenant, opportunity_id: str, case: int) -> tuple[float, float]:
    """What the worker's three calls cost without Celery or the database: the Lever GET, the
    Backcheck POST and the Lever note POST through the connector clients (same limiter, same
    fakes). Returns (all three, the note POST alone) in seconds."""
    from connectors.backcheck.client import BackcheckClient
    from connectors.backcheck.mapping import Candidate
    from connectors.lever.client import LeverClient

    started = time.perf_counter()
    with LeverClient.for_tenant(tenant) as lever, BackcheckClient.for_tenant(tenant) as backcheck:
        lever.get_opportunity(opportunity_id)
        backcheck.create_screening(
            client_reference_id=f"bench-bare-{case}",
            package_id="std-ca",
            candidate=Candidate("Bare", f"Trip {case}", f"bare{case}@example.com", None),
            callback_uri="http://127.0.0.1:9/unused",
            callback_username="bench",
            callback_password="bench-bare-callback-password",
        )
        note_started = time.perf_counter()
        lever.create_note(opportunity_id, value=f"bench bare round trip {case}")
        done = time.perf_counter()
    return done - started, done - note_started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--cases", type=int, default=None)
    args = parser.parse_args(argv)
    cases = args.cases or (5 if args.smoke else 30)

    port = harness.free_port()
    public = f"http://127.0.0.1:{port}"
    env = harness.prepare(PUBLIC_BASE_URL=public)
    from connectors.backcheck.fake import FakeBackcheck
    from connectors.lever.fake import BG_CHECK_STAGE_ID, FakeLever
    from orders.models import Order
    from tests.support.wired import wire_tenant

    report = harness.Report(f"End to end, no backlog ({cases} cases in sequence)")
    lever = FakeLever().start()
    backcheck = FakeBackcheck(callback_retry_seconds=1.0).start()
    try:
        wired = wire_tenant(
            lever, backcheck, public, key_prefix="bench-e2e-", name="Bench E2E", slug="bench-e2e"
        )
        api_key, tenant, webhook_url = wired.api_key, wired.tenant, wired.webhook_url
        tenant.refresh_from_db()  # the stored secrets, as the worker reads them
        opportunities = [
            lever.add_opportunity(
                api_key,
                name=f"Case {i} Candidate",
                emails=[f"case{i}@example.com"],
                tags=["standard-ca"],
                stage="applicant-new",
            )
            for i in range(cases + 1)
        ]
        bare_opportunity = lever.add_opportunity(
            api_key, name="Bare Trip", emails=["bare@example.com"], stage="applicant-new"
        )
        to_new, to_progress, bare, bare_note = [], [], [], []
        with harness.start_gunicorn(env, port), harness.start_worker(env, 4):
            for i, opp in enumerate(opportunities):
                _wait_limiter_idle(api_key)
                trip, note_trip = _bare_round_trip(tenant, bare_opportunity, i)
                _wait_limiter_idle(api_key)
                started = time.perf_counter()
                lever.move_to_stage(api_key, opp, BG_CHECK_STAGE_ID, webhook_url=webhook_url)
                if lever.webhook_deliveries[-1]["status"] != 200:
                    raise SystemExit(f"bench: webhook answered {lever.webhook_deliveries[-1]}")
                new_at = _wait_note(lever, api_key, opp, "Status: New", 30)

                def screened(o: str = opp) -> Order | None:
                    return (
                        Order.objects.filter(tenant=tenant, opportunity_id=o)
                        .exclude(screening_id="")
                        .first()
                    )

                order = harness.wait_until(screened, 10, "the order's screening id")
                consent_at = time.perf_counter()
                backcheck.consent(order.screening_id)
                progress_at = _wait_note(lever, api_key, opp, "Status: In Progress", 30)
                if i == 0:
                    continue  # the first case warms caches and connections: not counted
                bare.append(trip)
                bare_note.append(note_trip)
                to_new.append(new_at - started)
                to_progress.append(progress_at - consent_at)
    finally:
        backcheck.stop()
        lever.stop()

    bare_p50 = harness.percentile(bare, 50) * 1000
    bare_note_p50 = harness.percentile(bare_note, 50) * 1000
    report.row("bare round trips (Lever GET + Backcheck POST + Lever POST), median", bare_p50, "ms")
    report.row("bare Lever note POST, median", bare_note_p50, "ms")
    for name, values, floor_ms, baseline in (
        ("stage change → New note", to_new, 150, bare_p50),
        ("callback → In Progress note", to_progress, 50, bare_note_p50),
    ):
        p50 = harness.percentile(values, 50) * 1000
        p95 = harness.percentile(values, 95) * 1000
        report.row(f"{name}, median", p50, "ms", baseline)
        report.row(f"{name}, p95", p95, "ms", baseline)
        report.row(f"{name}, max", max(values) * 1000, "ms")
        report.check(f"{name}: p95 ≤ 2 s", p95 / 1000, "≤ 2", p95 <= 2000, not args.smoke)
        report.check(
            f"{name}: p95 ≤ {floor_ms} ms", p95, f"≤ {floor_ms}", p95 <= floor_ms, not args.smoke
        )
    return report.finish("e2e_latency", smoke=args.smoke)


if __name__ == "__main__":
    sys.exit(main())
