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
import hashlib
import os
import re
import statistics
import sys
import time
from collections.abc import Callable

from bench import harness

BIG, SMALL = "bench-main", "bench-small"
P95_BUDGET_MS = 150.0
RATIO_BUDGET = 3.0
SEQ_SCAN = re.compile(r"Seq Scan on orders_order\b")
_MD5_42 = hashlib.md5(b"42").hexdigest()  # noqa: S324 — seeded names, not a secret


def _setup_django() -> None:
    import psycopg

    harness.check_services()
    with psycopg.connect(f"{harness.PG_SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [harness.DB_NAME]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{harness.DB_NAME}"')
    # The test settings: test-only keys and plain static files, so it runs on any machine.
    os.environ["DJANGO_SETTINGS_MODULE"] = "integration_portal.test_settings"
    os.environ["DATABASE_URL"] = f"{harness.PG_SERVER}/{harness.DB_NAME}"
    os.environ["REDIS_URL"] = harness.REDIS_URL
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- seeding --------------------------------------------------------------------------------


def _tenants():
    """The bench's tenants and their account managers (fresh each seeding)."""
    from django.contrib.auth import get_user_model

    from tests.support.factories import TenantFactory

    made = {}
    for slug, manager in ((BIG, "bench-am"), (SMALL, "bench-am-small")):
        user, _ = get_user_model().objects.get_or_create(username=manager)
        tenant = TenantFactory(
            slug=slug,
            packages=[{"code": f"{slug}-std", "name": "Standard", "is_default": True}],
            managers=[user],
        )
        made[slug] = (tenant, user)
    return made


def _wipe() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # TRUNCATE … CASCADE: the bench database holds nothing but the bench's rows.
        cursor.execute(
            "TRUNCATE orders_order, orders_levernote, orders_noteattempt, orders_inboundevent, "
            "orders_statusevent, orders_orderaction, orders_screeningservice, "
            "orders_cancelrequest, connectors_tenant CASCADE"
        )


_COPY_OVERRIDES = {
    # column: SQL over the template row `t` and the series number `i`
    "reference": "md5(t.tenant_id::text || '-' || i::text)::uuid",
    "opportunity_id": "'opp-' || t.tenant_id || '-' || lpad(i::text, 7, '0')",
    # Names and emails as varied as real ones (a trigram index is only as selective as the
    # text): "Candidate 1F0E3DAD99", "1f0e3dad99.42@example.com".
    "candidate_name": "'Candidate ' || upper(substr(md5(i::text), 1, 10))",
    "candidate_email": "substr(md5(i::text), 1, 10) || '.' || i || '@example.com'",
    "callback_username": "'cb-' || t.tenant_id || '-' || i",
    "screening_id": "'scr_' || t.tenant_id || '_' || i",
    "order_number": "'BC-' || t.tenant_id || '-' || lpad(i::text, 7, '0')",
    "status": "(ARRAY['Initiated','In Progress','In Progress','Completed','Completed',"
    "'Completed','Error','Canceled'])[mod(i, 8) + 1]",
    "score": "CASE WHEN mod(i, 8) IN (3, 4, 5) THEN (ARRAY['Green','Green','Amber','Red'])[mod(i, 4) + 1]"
    " ELSE '' END",
    "is_active": "mod(i, 8) IN (0, 1, 2)",
    # Spread over 90 days; every 50th never heard from (quiet once past the threshold).
    "created_at": "now() - (mod(i * 131, 90 * 24 * 60)) * interval '1 minute'",
    "updated_at": "now() - (mod(i * 131, 90 * 24 * 60)) * interval '1 minute'",
    "last_heard_at": "CASE WHEN mod(i, 50) = 0 THEN NULL ELSE "
    "now() - (mod(i * 131, 90 * 24 * 60)) * interval '1 minute' + interval '1 hour' END",
}


def _orders(tenant, n: int) -> None:
    """`n` orders of mixed status for `tenant`: INSERT … SELECT over generate_series, copying
    one real order (made by the ORM, so every column has a valid value) for the constant
    columns."""
    from django.db import connection

    from orders.models import Order

    template = Order.objects.create(
        tenant=tenant,
        opportunity_id="bench-template",
        package_code=f"{tenant.slug}-std",
        package_name="Standard",
        callback_username=f"bench-template-{tenant.pk}",
        callback_password_hash="bench-not-a-real-hash",
        submit_state=Order.SubmitState.SUBMITTED,
        status="Completed",
        is_active=False,
    )
    columns = [str(f.column) for f in Order._meta.concrete_fields if f.column != "id"]
    values = [_COPY_OVERRIDES.get(c, f't."{c}"') for c in columns]
    names = ", ".join(f'"{c}"' for c in columns)
    step = 200_000
    with connection.cursor() as cursor:
        for first in range(1, n + 1, step):
            last = min(n, first + step - 1)
            cursor.execute(
                f"INSERT INTO orders_order ({names}) SELECT {', '.join(values)} "  # noqa: S608
                "FROM orders_order t, generate_series(%s, %s) AS i WHERE t.id = %s",
                [first, last, template.pk],
            )
        cursor.execute("DELETE FROM orders_order WHERE id = %s", [template.pk])


def _clone(
    template, source: str, params: list, overrides: dict[str, str], *, delete: bool = True
) -> None:
    """Copy the ORM-made `template` row once per row of `source` (alias `s`), with `overrides`
    (column: SQL) for the columns that differ; then delete the template (unless told not to:
    another template still points at it)."""
    from django.db import connection

    model = type(template)
    columns = [f.column for f in model._meta.concrete_fields if f.column != "id"]
    values = ", ".join(overrides.get(c, f't."{c}"') for c in columns)
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} "  # noqa: S608
            f"FROM {table} t, ({source}) s WHERE t.id = %s",
            [*params, template.pk],
        )
        if delete:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [template.pk])  # noqa: S608


def _failures(tenant, every: int) -> None:
    """A failed Lever note (with its attempt) and a failed webhook for every `every`th order."""
    from django.utils import timezone

    from orders.models import InboundEvent, LeverNote, NoteAttempt

    picked = (
        "SELECT id AS order_id, opportunity_id, created_at FROM orders_order "
        "WHERE tenant_id = %s AND mod(id, %s) = 0"
    )
    error = "Lever answered 401: invalid API key"
    note = LeverNote.objects.create(
        tenant=tenant,
        opportunity_id="bench-template",
        kind=LeverNote.Kind.ORDER,
        text="Sterling Backcheck background check\nStatus: In Progress",
        state=LeverNote.State.FAILED,
        attempts=1,
        last_error=error,
        last_http_status=401,
    )
    attempt = NoteAttempt.objects.create(
        note=note,
        started_at=timezone.now(),
        outcome=NoteAttempt.Outcome.PERMANENT,
        http_status=401,
        error=error,
    )
    event = InboundEvent.objects.create(
        source=InboundEvent.Source.LEVER,
        tenant=tenant,
        event_type="candidateStageChange",
        lever_token="bench-template",
        opportunity_id="bench-template",
        raw_body="{}",
        state=InboundEvent.State.FAILED,
        outcome="failed",
        reason="Lever: 401 invalid API key",
    )
    _clone(
        note,
        picked,
        [tenant.pk, every],
        {
            "order_id": "s.order_id",
            "opportunity_id": "s.opportunity_id",
            "created_at": "s.created_at",
        },
        delete=False,
    )
    _clone(
        attempt,
        "SELECT id AS note_id FROM orders_levernote WHERE tenant_id = %s AND id <> %s",
        [tenant.pk, note.pk],
        {"note_id": "s.note_id"},
    )
    note.delete()
    _clone(
        event,
        picked,
        [tenant.pk, every],
        {
            "lever_token": "'bench-' || s.order_id",
            "opportunity_id": "s.opportunity_id",
            "received_at": "s.created_at",
        },
    )


def _history(order, n: int) -> None:
    """`n` timeline entries on one case: callbacks with status events, notes and attempts."""
    from django.utils import timezone

    from orders.models import InboundEvent, LeverNote, NoteAttempt, StatusEvent

    now, quarter = timezone.now(), max(1, n // 4)
    events = InboundEvent.objects.bulk_create(
        InboundEvent(
            source=InboundEvent.Source.BACKCHECK,
            tenant_id=order.tenant_id,
            order=order,
            event_type="screening",
            raw_body='{"type": "screening"}',
            state=InboundEvent.State.PROCESSED,
            outcome="duplicate" if i % 3 else "applied",
        )
        for i in range(quarter)
    )
    StatusEvent.objects.bulk_create(
        StatusEvent(
            order=order,
            inbound_event=events[i],
            source=StatusEvent.Source.CALLBACK,
            outcome="duplicate" if i % 3 else "applied",
            from_status="In Progress",
            to_status="In Progress",
            arrived_status="In Progress",
            arrived_updated_at=now,
        )
        for i in range(quarter)
    )
    notes = LeverNote.objects.bulk_create(
        LeverNote(
            tenant_id=order.tenant_id,
            order=order,
            opportunity_id=order.opportunity_id,
            kind=LeverNote.Kind.ORDER,
            text=f"Sterling Backcheck background check\nStatus: In Progress\nNote {i}",
            state=LeverNote.State.DELIVERED,
            attempts=1,
            delivered_at=now,
        )
        for i in range(quarter)
    )
    NoteAttempt.objects.bulk_create(
        NoteAttempt(
            note=notes[i % quarter],
            started_at=now,
            duration_ms=120,
            outcome=NoteAttempt.Outcome.DELIVERED,
            http_status=201,
        )
        for i in range(n - 3 * quarter)
    )


def seed(n_orders: int, reseed: bool) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from connectors.models import Tenant
    from orders.models import Order

    big = Tenant.objects.filter(slug=BIG).first()
    # The marker is written last: an interrupted seeding is never reused.
    if big is not None and not reseed and big.lever_names.get("bench_seeded") == [n_orders, 2]:
        print(f"reusing {n_orders:,} seeded orders")
        users = get_user_model().objects
        return {
            BIG: (big, users.get(username="bench-am")),
            SMALL: (Tenant.objects.get(slug=SMALL), users.get(username="bench-am-small")),
        }
    started = time.perf_counter()
    _wipe()
    made = _tenants()
    _orders(made[BIG][0], n_orders)
    _orders(made[SMALL][0], 100)
    for tenant, _ in made.values():
        _failures(tenant, every=97)
        _history(Order.objects.filter(tenant=tenant).order_by("pk").first(), 1000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would leave a live table
        # A million upserts in one transaction left the hourly counts bloated (never the case
        # when orders arrive one by one: HOT updates are pruned as they go).
        cursor.execute("VACUUM FULL ANALYZE orders_order_hour_count")
    Tenant.objects.filter(slug=BIG).update(lever_names={"bench_seeded": [n_orders, 2]})
    print(f"seeded {n_orders:,} orders in {time.perf_counter() - started:.0f} s")
    return made


# --- measuring ------------------------------------------------------------------------------


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
        ("list, search name", f"/?q={_MD5_42[:7]}"),
        ("list, search email", f"/?q={_MD5_42[:10]}.42%40"),
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
    _setup_django()

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
