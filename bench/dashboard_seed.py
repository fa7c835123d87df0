"""Seeding the dashboard benchmark's database (bench/dashboard.py): a million orders with
INSERT … SELECT generate_series (no ORM, no test factories, docs/PERFORMANCE.md §4), failures
for Needs attention, and one case with 1,000 timeline entries."""

from __future__ import annotations

import hashlib
import os
import time

from bench import harness

BIG, SMALL = "bench-main", "bench-small"
MD5_42 = hashlib.md5(b"42").hexdigest()  # noqa: S324 — seeded names, not a secret


def setup_django() -> None:
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


def seed(n_orders: int, reseed: bool) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from connectors.models import Tenant
    from orders.models import Order
    from orders.services.order_counts import order_counts_fold
    from tests.support.history import bulk_history

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
        bulk_history(Order.objects.filter(tenant=tenant).order_by("pk").first(), 1000)
    # The triggers appended a delta per order; beat would have folded them as they came.
    order_counts_fold()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would leave a live table
        # Folding a million deltas at once leaves both tables bloated (never the case when
        # orders arrive one by one and beat folds every 30 s).
        cursor.execute("VACUUM FULL ANALYZE orders_order_hour_count")
        cursor.execute("VACUUM FULL ANALYZE orders_order_hour_delta")
    Tenant.objects.filter(slug=BIG).update(lever_names={"bench_seeded": [n_orders, 2]})
    print(f"seeded {n_orders:,} orders in {time.perf_counter() - started:.0f} s")
    return made
