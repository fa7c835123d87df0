"""Storing inbound events: Lever webhooks (and Verify Connection tests) and Backcheck callbacks.

Storing is all a request does (docs/CONTRACT.md §5, §7): a stored Lever stage change is processed
by a worker (orders.services.stage_change); a Backcheck callback is applied in its request.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from connectors.backcheck.schema import Screening
from connectors.models import Tenant
from connectors.tenants.webhook_tenants import WebhookTenant, webhook_tenant_confirmed
from orders import jobs
from orders.models import InboundEvent, Order, StatusEvent
from orders.services.order_snapshots import order_apply_screening

logger = logging.getLogger(__name__)

STAGE_CHANGE = "candidateStageChange"


@dataclass(frozen=True)
class WebhookResult:
    status: str  # accepted | test | duplicate | ignored
    reason: str = ""
    event_id: int | None = None


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# Unsigned Verify Connection deliveries prove nothing and can come from anyone who knows a
# webhook URL: only their hash and first KiB are kept, at most this many an hour per tenant, and
# for this long.
UNSIGNED_TEST_KEEP_BYTES = 1024
UNSIGNED_TEST_LIMIT_PER_HOUR = 20
UNSIGNED_TEST_RETENTION = timedelta(days=7)


class UnsignedTestsOverLimit(Exception):
    """Too many unsigned test deliveries for one tenant within the hour."""


def lever_test_delivery_store(
    *, tenant: WebhookTenant, body: dict[str, Any], raw: str, verified: bool
) -> WebhookResult:
    """Lever's Verify Connection test (`data` is {}): recorded, never acted on.

    Its token is recorded when it is signed: a token is single-use across all of a tenant's
    events, so the same token, triggeredAt and signature with new `data` are a duplicate, not a
    stage change (only `token` and `triggeredAt` are signed).
    """
    now = timezone.now()
    unsigned = InboundEvent.objects.filter(
        tenant_id=tenant.pk, event_type="verifyConnection", signature_verified=False
    )
    if not verified:
        unsigned.filter(received_at__lt=now - UNSIGNED_TEST_RETENTION).delete()
        recent = unsigned.filter(received_at__gte=now - timedelta(hours=1)).count()
        if recent >= UNSIGNED_TEST_LIMIT_PER_HOUR:
            raise UnsignedTestsOverLimit
    token = body["token"] if verified else None
    try:
        event = _insert_event(
            source=InboundEvent.Source.LEVER,
            tenant_id=tenant.pk,
            event_type="verifyConnection",
            lever_token=token,
            signature_verified=verified,
            raw_body=raw if verified else raw[:UNSIGNED_TEST_KEEP_BYTES],
            payload_hash=_hash(raw),
            state=InboundEvent.State.IGNORED,
            outcome="test",
            processed_at=now,
            reason="Verify Connection test delivery"
            + ("" if verified else " (signature not verified)"),
        )
    except IntegrityError:
        if token is not None and _is_stored(tenant, token, None):
            return WebhookResult("duplicate")
        raise
    if verified:
        _confirm_signature_token(tenant)
    return WebhookResult("test", event_id=event.pk)


def _confirm_signature_token(tenant: WebhookTenant) -> None:
    if tenant.signature_confirmed:
        return  # the common case: no write on the hot path
    Tenant.objects.filter(pk=tenant.pk, signature_token_confirmed_at__isnull=True).update(
        signature_token_confirmed_at=timezone.now()
    )
    webhook_tenant_confirmed(webhook_id=tenant.webhook_id)


def ignore_reason(tenant: Tenant | WebhookTenant, body: dict[str, Any]) -> str:
    if not tenant.is_active:
        return "The tenant is inactive."
    if body.get("event") != STAGE_CHANGE:
        return f"Event type {str(body.get('event'))[:64]!r} is not handled."
    to_stage = body["data"]["toStageId"]
    if to_stage not in (tenant.trigger_stage_ids or []):
        return f"Stage {to_stage[:100]!r} is not a trigger stage."
    return ""


def _insert_event(**fields: Any) -> InboundEvent:
    if connection.in_atomic_block:
        # Inside a caller's transaction a savepoint keeps it usable after a duplicate.
        with transaction.atomic():
            return InboundEvent.objects.create(**fields)
    # On its own one INSERT is atomic already: no BEGIN and COMMIT round trips on the hot path.
    return InboundEvent.objects.create(**fields)


def _is_stored(tenant: WebhookTenant, token: str, event_id: str | None) -> bool:
    same = Q(lever_token=token) | Q(lever_event_id=event_id) if event_id else Q(lever_token=token)
    return InboundEvent.objects.filter(same, tenant_id=tenant.pk).exists()


def lever_webhook_store(*, tenant: WebhookTenant, body: dict[str, Any], raw: str) -> WebhookResult:
    """Store a verified, validated webhook; duplicates (same token or id) are not stored."""
    token = body["token"]
    event_id = body.get("id") or None
    data = body.get("data") or {}
    reason = ignore_reason(tenant, body)
    try:
        event = _insert_event(
            source=InboundEvent.Source.LEVER,
            tenant_id=tenant.pk,
            event_type=str(body.get("event"))[:64],
            lever_token=token,
            lever_event_id=event_id,
            opportunity_id=str(data.get("opportunityId") or "")[:100],
            to_stage_id=str(data.get("toStageId") or "")[:100],
            signature_verified=True,
            raw_body=raw,
            payload_hash=_hash(raw),
            state=InboundEvent.State.IGNORED if reason else InboundEvent.State.RECEIVED,
            outcome="ignored" if reason else "accepted",
            reason=reason,
            processed_at=timezone.now() if reason else None,
        )
    except IntegrityError:
        # Same (tenant, token) or (tenant, id) as a stored event: the unique constraints are
        # the duplicate check, so concurrent copies of one delivery cannot both get in. Any
        # other violation (a tenant deleted a moment ago) is an error, not a duplicate.
        if _is_stored(tenant, token, event_id):
            return WebhookResult("duplicate")
        raise
    _confirm_signature_token(tenant)
    if reason:
        return WebhookResult("ignored", reason, event.pk)
    jobs.process_inbound_later(event.pk)
    return WebhookResult("accepted", event_id=event.pk)


def backcheck_callback_store(*, order: Order, screening: Screening, raw: str) -> str:
    """Store a callback, then apply it; returns applied | stale | duplicate | rejected."""
    event = InboundEvent.objects.create(
        source=InboundEvent.Source.BACKCHECK,
        tenant_id=order.tenant_id,
        order=order,
        event_type="screening",
        raw_body=raw,
        payload_hash=screening.canonical_hash(),
        state=InboundEvent.State.PROCESSING,
    )
    try:
        decision = order_apply_screening(
            order_id=order.pk,
            screening=screening,
            source=StatusEvent.Source.CALLBACK,
            inbound_event=event,
        )
    except Exception as exc:
        InboundEvent.objects.filter(pk=event.pk).update(
            state=InboundEvent.State.FAILED, last_error=type(exc).__name__, outcome="failed"
        )
        raise
    InboundEvent.objects.filter(pk=event.pk).update(
        state=InboundEvent.State.PROCESSED,
        outcome=decision.outcome,
        reason=decision.reason[:500],
        processed_at=timezone.now(),
    )
    return decision.outcome
