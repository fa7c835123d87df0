"""Benchmark 3: end-to-end latency with no backlog, N cases one after the other.

    .venv/bin/python -m bench.e2e_latency              # 30 cases
    .venv/bin/python -m bench.e2e_latency --smoke      # 5 cases

Everything real: gunicorn, a Celery worker, PostgreSQL, Redis, the fake Lever and fake Backcheck
on 127.0.0.1. For each case: (a) the fake Lever moves the candidate into the trigger stage and
POSTs the signed webhook; timed until the `Status: New` note is on the fake Lever; (b) the fake
Backcheck applies `consent` and POSTs the callback; timed until the `Status: In Progress` note is
there. Target: p95 ≤ 2 s for each.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench import harness

SIGNATURE_TOKEN = "bench-e2e-signature-token-0123456789"


def _wait_note(lever, api_key: str, opportunity_id: str, line: str, timeout: float) -> float:
    def seen() -> bool:
        return any(line in n["value"].splitlines() for n in lever.notes(api_key, opportunity_id))

    harness.wait_until(seen, timeout, f"a note with {line!r}", every=0.002)
    return time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--cases", type=int, default=None)
    args = parser.parse_args(argv)
    cases = args.cases or (5 if args.smoke else 30)

    port = harness.free_port()
    public = f"http://127.0.0.1:{port}"
    env = harness.prepare(PUBLIC_BASE_URL=public)
    from connectors.backcheck.fake_server import FakeBackcheck
    from connectors.lever.fake_server import BG_CHECK_STAGE_ID, FakeLever, seed_demo
    from connectors.models import Package, Tenant
    from orders.models import Order

    report = harness.Report(f"End to end, no backlog ({cases} cases in sequence)")
    lever = FakeLever().start()
    backcheck = FakeBackcheck(callback_retry_seconds=1.0).start()
    try:
        api_key = "bench-e2e-lever-key-0123456789abcdef"
        seed_demo(lever, api_key, SIGNATURE_TOKEN)
        tenant = Tenant.objects.create(
            name="Bench E2E",
            slug="bench-e2e",
            lever_base_url=lever.base_url,
            backcheck_base_url=backcheck.url,
            trigger_stage_ids=[BG_CHECK_STAGE_ID],
            lever_api_key=api_key,
            lever_signature_token=SIGNATURE_TOKEN,
            backcheck_client_id=backcheck.client_id,
            backcheck_client_secret=backcheck.client_secret,
        )
        Package.objects.create(
            tenant=tenant,
            code="std-ca",
            name="Standard Canada",
            lever_tag="standard-ca",
            is_default=True,
        )
        webhook_url = f"{public}/api/v1/webhooks/lever/{tenant.webhook_id}/"
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
        to_new, to_progress = [], []
        with harness.start_gunicorn(env, port), harness.start_worker(env, 4):
            for i, opp in enumerate(opportunities):
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
                to_new.append(new_at - started)
                to_progress.append(progress_at - consent_at)
    finally:
        backcheck.stop()
        lever.stop()

    for name, values in (
        ("stage change → New note", to_new),
        ("callback → In Progress note", to_progress),
    ):
        p50 = harness.percentile(values, 50) * 1000
        p95 = harness.percentile(values, 95) * 1000
        report.row(f"{name}, median", p50, "ms")
        report.row(f"{name}, p95", p95, "ms")
        report.row(f"{name}, max", max(values) * 1000, "ms")
        report.check(f"{name}: p95 ≤ 2 s", p95 / 1000, "≤ 2", p95 <= 2000, not args.smoke)
    return report.finish("e2e_latency", smoke=args.smoke)


if __name__ == "__main__":
    sys.exit(main())
