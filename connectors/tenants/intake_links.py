"""Credential intake links: issuing, finding, revoking (issue 9).

An account manager (or a super-admin) creates a link; the customer opens it without a portal
account and types the tenant's Lever credentials (connectors/tenants/intake_submit.py).

- The link token is 256 random bits, shown once to its creator; only an HMAC-SHA256 of it is
  stored. The HMAC key is derived from settings.SECRET_KEY with a purpose string of its own
  (`django.utils.crypto.salted_hmac`), so the digest is useless for anything else and a database
  dump yields no usable link. Rotating SECRET_KEY ends every open link — acceptable for links
  that live 72 hours; the account manager creates a new one.
- A link is single-use, expires (`INTAKE_LINK_TTL_HOURS`, default 72), can be revoked, and locks
  after `IntakeLink.MAX_FAILED_ATTEMPTS` keys that Lever refused. Creating a link revokes the
  tenant's other open links: one live way in at a time.
- The audit says who created the link, when it was used and from which IP.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from connectors.models import IntakeLink, Tenant
from connectors.tenants.access import scope_to_user
from connectors.tenants.audit import Actor, actor_fields, record_tenant_action
from integration_portal.users import AnyUser

DEFAULT_TTL_HOURS = 72
# A key-derivation label, not an import path: stored links are HMACs under it, so it never changes.
_HMAC_PURPOSE = "connectors.intake.IntakeLink.token"

# The audit trail's `field` for everything that happens to a link.
AUDIT_FIELD = "intake_link"


# --- tokens ----------------------------------------------------------------------------------


def intake_token_digest(token: str) -> str:
    """Hex HMAC-SHA256 of a link token (see the module docstring for the key)."""
    return salted_hmac(_HMAC_PURPOSE, token, algorithm="sha256").hexdigest()


def intake_ttl() -> timedelta:
    return timedelta(hours=float(getattr(settings, "INTAKE_LINK_TTL_HOURS", DEFAULT_TTL_HOURS)))


def intake_link_url(token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('intake-page', args=[token])}"


# --- selectors -------------------------------------------------------------------------------


def intake_link_get_by_token(*, token: str) -> IntakeLink | None:
    """The link a token opens, or None. Unscoped: holding the token is the authorization."""
    if not token:
        return None
    return (
        IntakeLink.objects.select_related("tenant")
        .filter(token_hmac=intake_token_digest(token))
        .first()
    )


def intake_link_get_for_user(*, user: AnyUser, tenant: Tenant, link_id: Any) -> IntakeLink | None:
    """One of `tenant`'s links, if the user may manage that tenant; None otherwise."""
    try:
        pk = int(link_id)
    except (TypeError, ValueError):
        return None
    return scope_to_user(IntakeLink.objects.filter(tenant=tenant, pk=pk), user).first()


def intake_link_list(*, user: AnyUser) -> QuerySet[IntakeLink]:
    """Every link of the tenants the user may see, newest first."""
    return scope_to_user(IntakeLink.objects.select_related("tenant"), user).order_by(
        "-created_at", "-id"
    )


def intake_notice_list(*, user: AnyUser) -> QuerySet[IntakeLink]:
    """Used links whose notice is not dismissed, across the user's tenants."""
    return scope_to_user(IntakeLink.objects.unacknowledged_uses(), user)


# --- services --------------------------------------------------------------------------------


@transaction.atomic
def intake_link_create(
    *, tenant: Tenant, actor: Actor, now: datetime | None = None
) -> tuple[IntakeLink, str]:
    """A new open link; returns it and its token, which is not stored and cannot be shown again.

    The tenant's other open links are revoked: one live way in at a time.
    """
    now = now or timezone.now()
    Tenant.objects.select_for_update().get(pk=tenant.pk)
    for other in IntakeLink.objects.filter(
        tenant=tenant,
        used_at__isnull=True,
        revoked_at__isnull=True,
        locked_at__isnull=True,
        expires_at__gt=now,
    ):
        _revoke(other, actor, now, reason="replaced by a new link")
    token = secrets.token_urlsafe(32)
    labels = actor_fields(actor)
    link = IntakeLink.objects.create(
        tenant=tenant,
        token_hmac=intake_token_digest(token),
        created_by=labels["actor"],
        created_by_label=labels["actor_label"],
        created_at=now,
        expires_at=now + intake_ttl(),
    )
    record_tenant_action(
        tenant,
        actor,
        "intake_link_created",
        AUDIT_FIELD,
        f"link #{link.pk}, expires {link.expires_at:%Y-%m-%d %H:%M} UTC",
    )
    return link, token


def _revoke(link: IntakeLink, actor: Actor, now: datetime, *, reason: str) -> None:
    link.revoked_at = now
    link.revoked_by_label = actor_fields(actor)["actor_label"]
    link.save(update_fields=["revoked_at", "revoked_by_label"])
    record_tenant_action(
        link.tenant, actor, "intake_link_revoked", AUDIT_FIELD, f"link #{link.pk}: {reason}"
    )


@transaction.atomic
def intake_link_revoke(*, link: IntakeLink, actor: Actor, now: datetime | None = None) -> bool:
    """Close an open link; False when it was no longer open (nothing changes)."""
    now = now or timezone.now()
    locked = (
        IntakeLink.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=link.pk)
    )
    if locked.state_at(now) != IntakeLink.OPEN:
        return False
    _revoke(locked, actor, now, reason="revoked")
    link.revoked_at, link.revoked_by_label = locked.revoked_at, locked.revoked_by_label
    return True


@transaction.atomic
def intake_notice_dismiss(*, link: IntakeLink, actor: Actor) -> bool:
    """Mark a "credentials received" notice as read; False if it was not showing."""
    label = actor_fields(actor)["actor_label"]
    updated = IntakeLink.objects.filter(
        pk=link.pk, used_at__isnull=False, notice_dismissed_at__isnull=True
    ).update(notice_dismissed_at=timezone.now(), notice_dismissed_by_label=label)
    return updated == 1
