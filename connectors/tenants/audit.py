"""The audit trail of tenant changes (docs/CONTRACT.md §4): every TenantAuditEntry is written here.

An entry names who acted, what they did and which field changed, never a secret's value; callers
pass only labels ("lever_api_key", "package std-ca", "link #3: revoked") as `field`/`detail`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from connectors.models import Tenant, TenantAuditEntry

# A user, or a label for a non-user actor ("cli", "intake link").
Actor = AbstractBaseUser | str

DETAIL_MAX = 500  # TenantAuditEntry.detail's length: a longer detail is cut, never refused


def actor_fields(actor: Actor) -> dict[str, Any]:
    """The `actor` / `actor_label` pair stored for `actor` (also on intake links)."""
    if isinstance(actor, str):
        return {"actor": None, "actor_label": actor}
    return {"actor": actor, "actor_label": actor.get_username()}


def record_tenant_action(
    tenant: Tenant, actor: Actor, action: str, field: str = "", detail: str = ""
) -> TenantAuditEntry:
    """Record one change to `tenant` in its audit trail, in the caller's transaction."""
    return TenantAuditEntry.objects.create(
        tenant=tenant, action=action, field=field, detail=detail[:DETAIL_MAX], **actor_fields(actor)
    )
