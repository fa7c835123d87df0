"""Orders with real history for the dashboard, admin and browser tests, and bulk seeding.

Tenants come from TenantFactory; `dashboard_tenant` is one with the two packages these pages
list ("<slug>-std", the default, and "<slug>-exec", tagged "exec").

History is made through the services (`order_apply_screening`, `note_enqueue`) wherever that is
possible, so the pages are tested against the rows production writes.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from connectors.backcheck.credentials import generate_callback_credentials, hash_callback_password
from connectors.backcheck.schema import parse_screening
from connectors.models import Tenant
from orders.models import InboundEvent, LeverNote, NoteAttempt, Order, StatusEvent
from orders.services.order_snapshots import order_apply_screening
from tests.support.factories import OrderFactory, TenantFactory

_seq = itertools.count(1)


def dashboard_tenant(slug: str, *, name: str | None = None, managers: tuple = ()) -> Tenant:
    return TenantFactory(
        slug=slug,
        name=name or slug.title(),
        trigger_stage_ids=["stage-bg"],
        managers=managers,
        packages=[
            {"code": f"{slug}-std", "name": "Standard", "is_default": True},
            {"code": f"{slug}-exec", "name": "Executive", "lever_tag": "exec"},
        ],
    )


def make_order(
    tenant: Tenant,
    *,
    name: str = "Ada Lovelace",
    email: str | None = None,
    opportunity_id: str | None = None,
    status: str = "In Progress",
    score: str = "",
    order_number: str | None = None,
    package_code: str | None = None,
    created_at: datetime | None = None,
    last_heard_at: datetime | None = None,
    lever_url: str = "",
    report_url: str = "",
) -> Order:
    n = next(_seq)
    username, password = generate_callback_credentials()
    number = order_number if order_number is not None else f"BC-2026-{n:06d}"
    order = OrderFactory(
        tenant=tenant,
        opportunity_id=opportunity_id or f"opp-{tenant.slug}-{n:05d}",
        candidate_name=name,
        candidate_email=email or f"{name.split()[0].lower()}{n}@example.com",
        package_code=package_code or f"{tenant.slug}-std",
        package_name="Standard",
        callback_username=username,
        callback_password_hash=hash_callback_password(password),
        submit_state=Order.SubmitState.SUBMITTED,
        screening_id=f"scr_{n:08d}",
        order_number=number,
        status=status,
        score=score,
        report_url=report_url,
        lever_url=lever_url,
        is_active=status in ("Initiated", "In Progress", ""),
        last_heard_at=last_heard_at,
        state={
            "status": status or "Initiated",
            "order_number": number,
            "piecemeal_status": None,
            "score": score or None,
            "report_url": report_url or None,
            "completed_at": None,
            "error_message": None,
            "services": [],
            "last_updated_at": "2026-01-01T08:00:00+00:00",
            "last_rank": 0,
        },
    )
    if created_at is not None:
        Order.objects.filter(pk=order.pk).update(created_at=created_at)
        order.created_at = created_at
    return order


def screening_payload(order: Order, **changes: Any) -> dict:
    payload = {
        "id": order.screening_id,
        "orderNumber": order.order_number,
        "clientReferenceId": str(order.reference),
        "packageId": order.package_code,
        "status": "In Progress",
        "piecemealStatus": None,
        "score": None,
        "reportUrl": None,
        "updatedAt": "2026-01-02T10:00:00Z",
        "completedAt": None,
        "error": None,
        "services": [
            {
                "id": "svc-crim",
                "name": "Criminal Record Check",
                "status": "Not Started",
                "score": None,
                "completedAt": None,
                "reportUrl": None,
            }
        ],
    }
    payload.update(changes)
    return payload


def callback(order: Order, **changes: Any) -> str:
    """Store and apply a Backcheck callback the way the endpoint does; returns the outcome."""
    from orders.services.inbound import backcheck_callback_store

    payload = screening_payload(order, **changes)
    import json

    body = json.dumps({"type": "screening", "payload": payload})
    return backcheck_callback_store(order=order, screening=parse_screening(payload), raw=body)


def apply(order: Order, **changes: Any) -> None:
    order_apply_screening(
        order_id=order.pk,
        screening=parse_screening(screening_payload(order, **changes)),
        source=StatusEvent.Source.RECONCILE,
    )


def failed_note(
    order: Order,
    *,
    text: str = "Sterling Backcheck background check\nStatus: X",
    error: str = "Lever answered 401: invalid API key",
) -> LeverNote:
    note = LeverNote.objects.create(
        tenant=order.tenant,
        order=order,
        opportunity_id=order.opportunity_id,
        kind=LeverNote.Kind.ORDER,
        text=text,
        state=LeverNote.State.FAILED,
        attempts=1,
        last_error=error,
        last_http_status=401,
        last_duration_ms=42,
    )
    NoteAttempt.objects.create(
        note=note,
        started_at=timezone.now(),
        duration_ms=42,
        outcome=NoteAttempt.Outcome.PERMANENT,
        http_status=401,
        error=error,
    )
    return note


def failed_event(tenant: Tenant, *, opportunity_id: str = "opp-failed") -> InboundEvent:
    return InboundEvent.objects.create(
        source=InboundEvent.Source.LEVER,
        tenant=tenant,
        event_type="candidateStageChange",
        lever_token=f"tok-{next(_seq)}",
        opportunity_id=opportunity_id,
        to_stage_id="stage-bg",
        signature_verified=True,
        raw_body='{"event": "candidateStageChange"}',
        state=InboundEvent.State.FAILED,
        outcome="failed",
        reason="Lever: 401 invalid API key",
        last_error="401 invalid API key",
    )


def days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


# --- bulk seeding (query-count tests and bench/dashboard_seed.py) --------------------------

STATUS_MIX = (
    "Initiated",
    "In Progress",
    "In Progress",
    "Completed",
    "Completed",
    "Completed",
    "Error",
    "Canceled",
)
SCORE_FOR = {"Completed": ("Green", "Green", "Amber", "Red")}


def bulk_orders(tenant: Tenant, n: int, *, start: int = 0, batch: int = 5000) -> None:
    """`n` orders of mixed status spread over the last 90 days, with bulk_create.

    Every 50th has never been heard from (quiet once older than the threshold); statuses and
    scores cycle, so every count, badge and chart series has rows.
    """
    now = timezone.now()
    pw_hash = hash_callback_password("bulk-seeded-not-a-real-password")
    rows: list[Order] = []
    for i in range(start, start + n):
        status = STATUS_MIX[i % len(STATUS_MIX)]
        scores = SCORE_FOR.get(status, ("",))
        created = now - timedelta(minutes=(i * 131) % (90 * 24 * 60))
        rows.append(
            Order(
                tenant=tenant,
                opportunity_id=f"opp-{tenant.slug}-{i:07d}",
                candidate_name=f"Candidate {i:07d}",
                candidate_email=f"candidate{i}@example.com",
                package_code=f"{tenant.slug}-std",
                package_name="Standard",
                callback_username=f"cb-{tenant.slug}-{i:07d}",
                callback_password_hash=pw_hash,
                submit_state=Order.SubmitState.SUBMITTED,
                screening_id=f"scr_{tenant.slug}_{i:07d}",
                order_number=f"BC-{tenant.slug.upper()}-{i:07d}",
                status=status,
                score=scores[i % len(scores)],
                is_active=status in ("Initiated", "In Progress"),
                last_heard_at=None if i % 50 == 0 else created + timedelta(hours=1),
            )
        )
        if len(rows) >= batch:
            _flush_orders(rows)
    _flush_orders(rows)
    _spread_created_at(tenant, now)


def _flush_orders(rows: list[Order]) -> None:
    if rows:
        Order.objects.bulk_create(rows)
        rows.clear()


def _spread_created_at(tenant: Tenant, now: datetime) -> None:
    # auto_now_add ignores values given to bulk_create: spread creation times afterwards with
    # one UPDATE per day bucket (a few dozen statements, whatever the row count).
    ids = list(Order.objects.filter(tenant=tenant).order_by("pk").values_list("pk", flat=True))
    days = 90
    for d in range(days):
        chunk = ids[d::days]
        if chunk:
            when = now - timedelta(days=d, minutes=d * 7)
            Order.objects.filter(pk__in=chunk).update(created_at=when)


def bulk_history(order: Order, n: int) -> None:
    """`n` history entries on one case: callbacks with status events, notes and attempts."""
    now = timezone.now()
    events = InboundEvent.objects.bulk_create(
        [
            InboundEvent(
                source=InboundEvent.Source.BACKCHECK,
                tenant_id=order.tenant_id,
                order=order,
                event_type="screening",
                raw_body='{"type": "screening"}',
                state=InboundEvent.State.PROCESSED,
                outcome="duplicate" if i % 3 else "applied",
            )
            for i in range(n // 4 or 1)
        ]
    )
    StatusEvent.objects.bulk_create(
        [
            StatusEvent(
                order=order,
                inbound_event=events[i % len(events)],
                source=StatusEvent.Source.CALLBACK,
                outcome="duplicate" if i % 3 else "applied",
                from_status="In Progress",
                to_status="In Progress",
                arrived_status="In Progress",
                arrived_updated_at=now,
                reason="" if i % 3 == 0 else "Same payload as an earlier callback.",
            )
            for i in range(n // 4 or 1)
        ]
    )
    notes = LeverNote.objects.bulk_create(
        [
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
            for i in range(n // 4 or 1)
        ]
    )
    NoteAttempt.objects.bulk_create(
        [
            NoteAttempt(
                note=notes[i % len(notes)],
                started_at=now - timedelta(seconds=i),
                duration_ms=120,
                outcome=NoteAttempt.Outcome.DELIVERED,
                http_status=201,
            )
            for i in range(n - 3 * (n // 4 or 1))
        ]
    )
