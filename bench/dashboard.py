#!/usr/bin/env python
"""Time the account managers' pages on a million orders (docs/PERFORMANCE.md §4).

    .venv/bin/python -m bench.dashboard            # 1,000,000 orders (seeded once, then reused)
    .venv/bin/python -m bench.dashboard --smoke    # 10,000 orders, CI; well under 30 s

Seeds orders with INSERT … SELECT generate_series (no ORM, no test factories) into its own
PostgreSQL database (BENCH_DB_NAME on BENCH_POSTGRES_URL, see bench/harness.py), then requests
each page in-process with Django's test client (the whole middleware stack, no network) and
reports, per page: p50/p95, the ratio of its p95 to a baseline view measured in the same run
(the same 50 rows from one indexed query, rendered as a table), its query count, and the plan
of every query that reads orders_order.

Gates (exit 1): a page answering other than 200; a plan reading orders_order by Seq Scan; a
page whose query count differs between the big tenant and a 100-order one. Full mode also gates
p95 <= 150 ms and <= 3x the baseline. In smoke mode plans are taken with enable_seqscan off (on
a small table a sequential scan is the planner's right choice; off, one appears only where no
index can serve) and timings are reported, not gated.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable

from bench import harness
from bench.dashboard_seed import BIG, MD5_42, SMALL, seed, setup_django

P95_BUDGET_MS = 150.0
RATIO_BUDGET = 3.0
SEQ_SCAN = re.compile(r"Seq Scan on orders_order\b")


def _baseline_view(request):
    """The floor a list page is measured against: the user's newest 50 orders from one indexed
    query, rendered as a table of the same columns."""
    from django.http import HttpResponse
    from django.template import engines

    from connectors.tenants.access import scope_to_user
    from orders.case_rules import with_tenant
    from orders.models import Order

    rows = with_tenant(scope_to_user(Order.objects.all(), request.user)).order_by(
        "-created_at", "-id"
    )[:50]
    template = engines["django"].from_string(
        "<table>{% for o in rows %}<tr><td>{{ o.pk }}</td><td>{{ o.tenant.name }}</td>"
        "<td>{{ o.candidate_name }}</td><td>{{ o.candidate_email }}</td>"
        "<td>{{ o.order_number }}</td><td>{{ o.status }}</td><td>{{ o.score }}</td>"
        "<td>{{ o.created_at|date:'Y-m-d H:i' }}</td></tr>{% endfor %}</table>"
    )
    return HttpResponse(template.render({"rows": list(rows)}, request))


def _pages(case_id: int, slug: str) -> list[tuple[str, str]]:
    return [
        ("orders list", "/"),
        ("list, tenant", f"/?tenant={slug}"),
        ("list, status", "/?status=Completed"),
        ("list, score", "/?score=Red"),
        ("list, package", f"/?package={slug}-std"),
        ("list, created range", "/?created_from=2026-01-01&created_to=2030-12-31"),
        ("list, needs attention", "/?attention=on"),
        # Order 42 exists in both tenants: the same search finds rows in each.
        ("list, search name", f"/?q={MD5_42[:7]}"),
        ("list, search email", f"/?q={MD5_42[:10]}.42%40"),
        ("list, last page by name", "/?sort=candidate&page=99999"),
        ("case page (1,000 entries)", f"/orders/{case_id}/"),
        ("needs attention", "/attention/"),
        ("CSV export, first byte", "/orders/export.csv"),
    ]


class _Recorder:
    def __init__(self) -> None:
        self.queries: list[tuple[str, tuple]] = []

    def __call__(self, execute: Callable, sql: str, params, many: bool, context):
        self.queries.append((sql, params))
        return execute(sql, params, many, context)


def _get(client, url: str) -> int:
    """One request; a streamed answer is read to its first chunk (the CSV's first byte)."""
    response = client.get(url)
    if response.streaming:
        next(iter(response.streaming_content), b"")
        response.close()
    return response.status_code


def _record(client, url: str) -> tuple[int, list[tuple[str, tuple]]]:
    from django.db import connection

    recorder = _Recorder()
    with connection.execute_wrapper(recorder):
        status = _get(client, url)
    return status, recorder.queries


def _time(client, url: str, runs: int) -> list[float]:
    for _ in range(2):
        _get(client, url)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        _get(client, url)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _plans(queries: list[tuple[str, tuple]], *, seqscan_off: bool) -> list[str]:
    """EXPLAIN of each query that reads orders_order."""
    from django.db import connection

    plans = []
    with connection.cursor() as cursor:
        if seqscan_off:
            cursor.execute("SET enable_seqscan = off")
        try:
            for sql, params in queries:
                if "orders_order" not in sql or not sql.lstrip().upper().startswith("SELECT"):
                    continue
                cursor.execute("EXPLAIN " + sql, params)
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
        finally:
            cursor.execute("RESET enable_seqscan")
    return plans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="10,000 orders, 5 runs")
    parser.add_argument("--reseed", action="store_true", help="seed again even if sizes match")
    parser.add_argument("--plans", action="store_true", help="print every plan, not only bad")
    args = parser.parse_args(argv)
    if args.smoke:
        args.orders, args.runs = 10_000, 5
    setup_django()

    from django.test import Client, override_settings
    from django.urls import include, path

    from orders.models import Order

    made = seed(args.orders, args.reseed)
    clients = {}
    for slug, (_, user) in made.items():
        clients[slug] = Client()
        clients[slug].force_login(user)
    cases = {
        slug: Order.objects.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True)[0]
        for slug, (tenant, _) in made.items()
    }
    report = harness.Report(
        f"Dashboard, {args.orders:,} orders in one tenant, {args.runs} runs each "
        "(ms; ratio to the baseline's p95)"
    )
    urlconf = type(sys)("bench_dashboard_urls")
    urlconf.urlpatterns = [  # type: ignore[attr-defined]  # a module built here
        path("__bench__/baseline", _baseline_view),
        path("", include("integration_portal.urls")),
    ]
    with override_settings(ROOT_URLCONF=urlconf, ALLOWED_HOSTS=["testserver"]):
        base = _time(clients[BIG], "/__bench__/baseline", args.runs)
        base_p95 = max(harness.percentile(base, 95), 0.001)
        report.row("baseline: 50 rows, one indexed query, p95", base_p95, "ms")
        pages = list(zip(_pages(cases[BIG], BIG), _pages(cases[SMALL], SMALL), strict=True))
        for (name, url), (_, small_url) in pages:
            status, queries = _record(clients[BIG], url)
            small_status, small_queries = _record(clients[SMALL], small_url)
            report.check(f"{name}: HTTP 200", status, "200", status == 200 == small_status)
            if status != 200:
                continue
            plans = _plans(queries, seqscan_off=args.smoke)
            seq = [p for p in plans if SEQ_SCAN.search(p)]
            for plan in seq if not args.plans else plans:
                print(f"\n-- plan, {name}:\n{plan}")
            times = _time(clients[BIG], url, args.runs)
            p50, p95 = statistics.median(times), harness.percentile(times, 95)
            report.row(f"{name}: p50", p50, "ms")
            report.row(f"{name}: p95", p95, "ms", base_p95)
            report.row(f"{name}: queries", len(queries), "")
            report.check(f"{name}: no Seq Scan on orders_order", len(seq), "0", not seq)
            report.check(
                f"{name}: queries independent of size",
                len(queries),
                f"= {len(small_queries)} (100 orders)",
                len(queries) == len(small_queries),
            )
            report.check(
                f"{name}: p95 ms", p95, f"<= {P95_BUDGET_MS:.0f}", p95 <= P95_BUDGET_MS,
                gating=not args.smoke,
            )  # fmt: skip
            report.check(
                f"{name}: p95 / baseline", p95 / base_p95, f"<= {RATIO_BUDGET:.0f}",
                p95 / base_p95 <= RATIO_BUDGET, gating=not args.smoke,
            )  # fmt: skip
    return report.finish("dashboard", smoke=args.smoke)


if __name__ == "__main__":
    sys.exit(main())
