"""Benchmark: CPU time per accepted webhook, in one process, against a one-row-insert view.

    .venv/bin/python -m bench.webhook_cpu              # 8 alternating rounds of 500 requests
    .venv/bin/python -m bench.webhook_cpu --smoke      # 2 rounds of 100

Saturation figures (bench/webhook_ingest.py) move ±20 % on a shared machine; the CPU one process
spends per request moves far less. Each request goes through Django's full stack (the test
client's WSGI handler, every middleware, `request_finished`), so the webhook's figure includes
storing the event and, once the answer is "sent", publishing its task to Redis
(docs/CONTRACT.md §7). PostgreSQL's and Redis's own CPU is not counted, for either path.

Rows: the insert view (bench/urls.py, the baseline), the webhook, and the publish alone (the
same `apply_async` the webhook makes, repeated). Target: webhook ≤ 2.5× the insert view.
Rounds alternate between the paths, and the median round is reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from bench import harness, load
from bench.webhook_ingest import SIGNATURE_TOKEN, STAGE, _tenant

TARGET_RATIO = 2.5


def _cpu_per_request(client, path: str, bodies: list[str], *, webhook: bool = False) -> float:
    """Seconds of this process's CPU per request; every answer must be 200 (`accepted`)."""
    answers = []
    started = time.process_time()
    for body in bodies:
        response = client.post(path, data=body, content_type="application/json")
        answers.append((response.status_code, response.content))
    cpu = (time.process_time() - started) / len(bodies)
    for status, content in answers:
        if status != 200 or (webhook and json.loads(content).get("status") != "accepted"):
            raise SystemExit(f"bench: {path} answered {status}: {content[:200]!r}")
    return cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--requests", type=int, default=None, help="requests per path per round")
    parser.add_argument("--profile", metavar="FILE", help="also write a cProfile of the webhooks")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.smoke else 8)
    per_round = args.requests or (100 if args.smoke else 500)

    harness.prepare()
    from django.db import connection
    from django.test import Client

    from bench.urls import CREATE_TABLE
    from orders.models import InboundEvent
    from orders.tasks import process_inbound

    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE)
    tenant = _tenant()
    webhook_path = f"/api/v1/webhooks/lever/{tenant.webhook_id}/"
    client = Client(HTTP_HOST="127.0.0.1")
    bodies = load.signed_webhooks(
        (rounds + 1) * per_round, signature_token=SIGNATURE_TOKEN, stage_id=STAGE
    )
    # Warm-up (imports, first connection, the tenant snapshot, the publisher): not measured.
    _cpu_per_request(client, "/bench/insert/", bodies[:per_round])
    _cpu_per_request(client, webhook_path, bodies[:per_round], webhook=True)
    samples: dict[str, list[float]] = {"insert view": [], "webhook": [], "publish alone": []}
    for r in range(1, rounds + 1):
        chunk = bodies[r * per_round : (r + 1) * per_round]
        samples["insert view"].append(_cpu_per_request(client, "/bench/insert/", chunk))
        samples["webhook"].append(_cpu_per_request(client, webhook_path, chunk, webhook=True))
        started = time.process_time()
        for _ in range(per_round):
            process_inbound.apply_async(args=(0,), retry=False)
        samples["publish alone"].append((time.process_time() - started) / per_round)

    stored = InboundEvent.objects.count()
    expected = (rounds + 1) * per_round
    report = harness.Report(
        f"CPU per request in one process ({rounds} rounds × {per_round} requests per path)"
    )
    insert = statistics.median(samples["insert view"]) * 1000
    for name, values in samples.items():
        median = statistics.median(values) * 1000
        report.row(f"{name}, CPU ms per request", median, "ms", insert)
        report.data[f"{name} rounds"] = [v * 1000 for v in values]
    webhook = statistics.median(samples["webhook"]) * 1000
    report.check(
        "every webhook answered accepted, stored once", stored, f"= {expected}", stored == expected
    )
    report.check(
        f"webhook CPU ≤ {TARGET_RATIO}× insert view",
        webhook / insert,
        f"≤ {TARGET_RATIO}",
        webhook / insert <= TARGET_RATIO,
        gating=not args.smoke,
    )
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        fresh = load.signed_webhooks(per_round, signature_token=SIGNATURE_TOKEN, stage_id=STAGE)
        profiler.runcall(_cpu_per_request, client, webhook_path, fresh, webhook=True)
        profiler.dump_stats(args.profile)
    # Nothing consumes the published messages: leave the bench Redis DB empty behind us.
    import redis

    redis.Redis.from_url(harness.REDIS_URL).flushdb()
    return report.finish("webhook_cpu", smoke=args.smoke)


if __name__ == "__main__":
    sys.exit(main())
