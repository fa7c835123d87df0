#!/usr/bin/env python
"""Time the dashboard pages on a large data set (issue 6, "Scale").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/dashboard.py
    .venv/bin/python bench/dashboard.py --smoke          # 1,000 orders, a few seconds

Seeds N orders (default 100,000) with bulk_create into the configured database under two bench
tenants, plus one case with 1,000 history entries and a spread of failed notes and events; then
requests each page with the Django test client (the whole middleware stack, no network) and
prints p50/p95, the query count of each page, and the ratio to a bare `HttpResponse("ok")` view
measured in the same run. Exits 1 when a page's p95 is over the budget (300 ms).

Seeded rows are kept between runs (reused when the count matches; `--reseed` starts over) and
live only under the `bench-*` tenants. It uses the test settings (test-only keys, no .env), so it
runs on any machine; DATABASE_URL chooses the database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integration_portal.test_settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import include, path, reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from connectors.models import Tenant  # noqa: E402
from orders.models import (  # noqa: E402
    InboundEvent,
    LeverNote,
    NoteAttempt,
    Order,
    OrderAction,
    ScreeningService,
    StatusEvent,
)
from orders.tests.dashboard_factories import bulk_history, bulk_orders, make_tenant  # noqa: E402

BUDGET_MS = 300.0
MAIN, OTHER = "bench-main", "bench-other"


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


# This module is the URLconf during the run: the portal's URLs plus the baseline view.
urlpatterns = [path("__bench__/ok", ok), path("", include("integration_portal.urls"))]


def _wipe() -> None:
    tenants = Tenant.objects.filter(slug__in=[MAIN, OTHER])
    orders = Order.objects.filter(tenant__in=tenants)
    with transaction.atomic():
        # History is PROTECTed against deletion in the app; a bench's own rows may go. Raw
        # deletes skip the collector, which would load 100k rows into memory.
        for qs in (
            NoteAttempt.objects.filter(note__tenant__in=tenants),
            LeverNote.objects.filter(tenant__in=tenants),
            StatusEvent.objects.filter(order__in=orders),
            OrderAction.objects.filter(order__in=orders),
            ScreeningService.objects.filter(order__in=orders),
        ):
            qs._raw_delete(qs.db)
        InboundEvent.objects.filter(tenant__in=tenants).update(order=None)
        orders.update(trigger_event=None)
        orders._raw_delete(orders.db)
        events = InboundEvent.objects.filter(tenant__in=tenants)
        events._raw_delete(events.db)
        tenants.delete()


def _failed_rows(tenant: Tenant, every: int) -> None:
    now = timezone.now()
    picked = list(
        Order.objects.filter(tenant=tenant)
        .order_by("pk")
        .values_list("pk", "opportunity_id")[::every]
    )
    notes = LeverNote.objects.bulk_create(
        [
            LeverNote(
                tenant=tenant,
                order_id=pk,
                opportunity_id=opp,
                kind=LeverNote.Kind.ORDER,
                text="Sterling Backcheck background check\nStatus: In Progress",
                state=LeverNote.State.FAILED,
                attempts=1,
                last_error="Lever answered 401: invalid API key",
                last_http_status=401,
            )
            for pk, opp in picked
        ]
    )
    NoteAttempt.objects.bulk_create(
        [
            NoteAttempt(
                note=n,
                started_at=now,
                outcome=NoteAttempt.Outcome.PERMANENT,
                http_status=401,
                error="Lever answered 401: invalid API key",
            )
            for n in notes
        ]
    )
    InboundEvent.objects.bulk_create(
        [
            InboundEvent(
                source=InboundEvent.Source.LEVER,
                tenant=tenant,
                event_type="candidateStageChange",
                lever_token=f"bench-{tenant.slug}-{pk}",
                opportunity_id=opp,
                raw_body="{}",
                state=InboundEvent.State.FAILED,
                outcome="failed",
                reason="Lever: 401 invalid API key",
            )
            for pk, opp in picked
        ]
    )


def seed(n_orders: int, history: int, reseed: bool) -> tuple[Tenant, Order]:
    main = Tenant.objects.filter(slug=MAIN).first()
    if (
        main is not None
        and not reseed
        and Order.objects.filter(tenant=main).count() == n_orders
        and Order.objects.filter(tenant=main, candidate_name="Bench History Case").exists()
    ):
        print(f"reusing {n_orders} seeded orders")
        return main, Order.objects.get(tenant=main, candidate_name="Bench History Case")
    _wipe()
    started = time.perf_counter()
    main = make_tenant(MAIN, name="Bench Main")
    other = make_tenant(OTHER, name="Bench Other")
    bulk_orders(main, n_orders - 1)
    bulk_orders(other, max(10, n_orders // 100))
    _failed_rows(main, every=97)
    case = Order.objects.filter(tenant=main).order_by("pk").first()
    assert case is not None  # bulk_orders made n_orders - 1 of them
    case.candidate_name = "Bench History Case"
    case.save(update_fields=["candidate_name"])
    bulk_orders(main, 1, start=n_orders)
    bulk_history(case, history)
    if connection.vendor == "postgresql":
        # Fresh statistics and visibility map, as autovacuum would leave a live table.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(f"seeded {n_orders} orders in {time.perf_counter() - started:.1f}s")
    return main, case


def _users(main: Tenant):
    User = get_user_model()
    am, _ = User.objects.get_or_create(username="bench-am")
    main.account_managers.add(am)
    root, created = User.objects.get_or_create(username="bench-root")
    if created or not root.is_superuser:
        root.is_superuser = root.is_staff = True
        root.save()
    return am, root


def _measure(client: Client, url: str, runs: int) -> tuple[list[float], int, int]:
    for _ in range(2):
        client.get(url)
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    # An execute wrapper, not CaptureQueriesContext: the latter's log is emptied when the
    # request closes or renews the connection.
    with connection.execute_wrapper(count):
        response = client.get(url)
    status = response.status_code
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
    return times, len(queries), status


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--smoke", action="store_true", help="1,000 orders, 10 runs")
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args(argv)
    if args.smoke:
        args.orders, args.runs = 1000, 10
    call_command("migrate", verbosity=0, interactive=False)
    main_tenant, case = seed(args.orders, args.history, args.reseed)
    am, root = _users(main_tenant)
    am_client, root_client = Client(), Client()
    am_client.force_login(am)
    root_client.force_login(root)
    with override_settings(
        ROOT_URLCONF=sys.modules[__name__],
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        # Page rendering is measured; force_login sessions carry no second factor.
        TWO_FACTOR_REQUIRED_FOR_SUPER_ADMINS=False,
    ):
        pages = [
            ("baseline HttpResponse('ok')", am_client, "/__bench__/ok"),
            ("orders list", am_client, reverse("order-list")),
            ("orders list, needs attention", am_client, reverse("order-list") + "?attention=on"),
            ("orders list, search", am_client, reverse("order-list") + "?q=candidate+00042"),
            (
                "orders list, last page by name",
                am_client,
                reverse("order-list") + "?sort=candidate&page=99999",
            ),
            ("case detail (1,000 entries)", am_client, reverse("order-detail", args=[case.pk])),
            ("needs attention", am_client, reverse("attention")),
            ("tenant overview + health", am_client, reverse("tenant-detail", args=[MAIN])),
            ("admin orders changelist", root_client, reverse("admin:orders_order_changelist")),
            ("admin notes changelist", root_client, reverse("admin:orders_levernote_changelist")),
        ]
        print(
            f"\n{args.orders} orders, case with {args.history} history entries, "
            f"{args.runs} runs each, database {connection.vendor}\n"
        )
        print(f"{'page':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'x base':>8}")
        base_p95 = None
        failed = []
        for name, client, url in pages:
            times, queries, status = _measure(client, url, args.runs)
            if status != 200:
                print(f"{name:40} HTTP {status}")
                failed.append(name)
                continue
            p50, p95 = statistics.median(times), _pct(times, 95)
            if base_p95 is None:
                base_p95 = max(p95, 0.001)
            ratio = p95 / base_p95
            flag = "" if p95 <= BUDGET_MS else "  OVER BUDGET"
            print(f"{name:40} {p50:8.1f} {p95:8.1f} {queries:8d} {ratio:8.1f}{flag}")
            if p95 > BUDGET_MS:
                failed.append(name)
    if failed:
        print(f"\nFAIL: over {BUDGET_MS:.0f} ms p95 or not 200: {', '.join(failed)}")
        return 1
    print(f"\nOK: every page within {BUDGET_MS:.0f} ms p95")
    return 0


if __name__ == "__main__":
    sys.exit(main())
