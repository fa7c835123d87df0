"""The tenant as the Lever webhook endpoint needs it, kept in memory for a few seconds.

Reading the tenant row was the most expensive step of a webhook after the store itself
(docs/PERFORMANCE.md: ~0.45 ms of CPU for the ORM query against ~0.3 ms for the INSERT), and
the row almost never changes. So each process keeps a small snapshot per webhook id for
WEBHOOK_TENANT_TTL_S. What staleness can and cannot do:

- A new signature token works at once: a signature that does not match the snapshot is checked
  again against the stored row (`fresh=True`) before a 401.
- A retired token, a deactivation or a changed trigger stage reaches other processes within the
  TTL; this process forgets its snapshot as soon as the tenant is saved. The worker checks the
  tenant's activity and trigger stages again when it processes the event, so a stale snapshot
  can store an event but never open an order that the current settings would refuse.
- Unknown webhook ids are never cached: a flood of made-up URLs cannot fill the memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from connectors.crypto import Secret
from connectors.models import Tenant

WEBHOOK_TENANT_TTL_S = 5.0

_FIELDS = (
    "pk",
    "webhook_id",
    "is_active",
    "trigger_stage_ids",
    "signature_token_confirmed_at",
    "lever_signature_token",
    "lever_signature_token_previous",
)


@dataclass(frozen=True)
class WebhookTenant:
    pk: int
    webhook_id: str
    is_active: bool
    trigger_stage_ids: tuple[str, ...]
    signature_confirmed: bool
    # Current token first, then the previous one while it is still accepted; `Secret`s, so even
    # a careless log line prints them masked.
    signature_tokens: tuple[Secret, ...] = field(repr=False)


# webhook id -> (snapshot, monotonic expiry). Bounded by the number of tenants.
_cache: dict[str, tuple[WebhookTenant, float]] = {}


def _snapshot(tenant: Tenant) -> WebhookTenant:
    tokens = (tenant.lever_signature_token, tenant.lever_signature_token_previous)
    return WebhookTenant(
        pk=tenant.pk,
        webhook_id=tenant.webhook_id,
        is_active=tenant.is_active,
        trigger_stage_ids=tuple(tenant.trigger_stage_ids or ()),
        signature_confirmed=tenant.signature_token_confirmed_at is not None,
        signature_tokens=tuple(s for s in tokens if s),
    )


def webhook_tenant_get(*, webhook_id: str, fresh: bool = False) -> WebhookTenant | None:
    """The tenant behind a webhook URL, or None; `fresh` skips this process's snapshot."""
    now = time.monotonic()
    if not fresh:
        cached = _cache.get(webhook_id)
        if cached is not None and cached[1] > now:
            return cached[0]
    tenant = Tenant.objects.filter(webhook_id=webhook_id).only(*_FIELDS).first()
    if tenant is None:
        _cache.pop(webhook_id, None)
        return None
    snapshot = _snapshot(tenant)
    _cache[webhook_id] = (snapshot, now + WEBHOOK_TENANT_TTL_S)
    return snapshot


def webhook_tenant_confirmed(*, webhook_id: str) -> None:
    """After the signature token was confirmed: the snapshot stops asking to confirm it."""
    cached = _cache.get(webhook_id)
    if cached is not None:
        _cache[webhook_id] = (replace(cached[0], signature_confirmed=True), cached[1])


def webhook_tenant_forget(*, webhook_id: str | None = None) -> None:
    """Drop one snapshot (a tenant was saved or deleted), or all of them."""
    if webhook_id is None:
        _cache.clear()
    else:
        _cache.pop(webhook_id, None)
