"""Writes to a tenant's credentials: the Lever key and signature token, the Backcheck client.

Stored encrypted; a new signature token keeps the replaced one valid until it is retired
(docs/LEVER.md, "The signature token can change"). Every change is audited by field name, never
by value, and no message repeats a secret (docs/SECURITY.md).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from connectors.models import SECRET_FIELDS, Tenant
from connectors.tenants.audit import Actor, record_tenant_action

SECRET_LABELS = {
    "lever-api-key": "Lever API key",
    "lever-signature-token": "Lever webhook signature token",
    "backcheck-client-id": "Backcheck client id",
    "backcheck-client-secret": "Backcheck client secret",
}

# Lever keys and signature tokens are opaque printable strings (docs/LEVER.md); a space, a
# newline or a pasted "Bearer …" is a copy-paste accident, refused rather than stored.
_LEVER_SECRET = re.compile(r"^[\x21-\x7e]{20,200}$")
# OAuth2 client credentials are VSCHAR (RFC 6749 appendix A): printable ASCII.
_BACKCHECK_SECRET = re.compile(r"^[\x21-\x7e]{1,500}$")


# Base URL column → the credentials sent to it. A new base URL clears them, so that nobody can
# point stored secrets at a host of their choice: they must be entered again for the new host.
BOUND_CREDENTIALS = {
    "lever_base_url": ("lever_api_key",),
    "backcheck_base_url": ("backcheck_client_id", "backcheck_client_secret"),
}


@sensitive_variables("value")  # frame locals end up in error reports
def clean_secret(name: str, value: object) -> str:
    """Validate a secret before it is stored; the message never repeats the value."""
    if name not in SECRET_FIELDS:
        raise ValidationError(
            {"name": f"Unknown secret {name!r}; use one of {', '.join(SECRET_FIELDS)}."}
        )
    value = "" if value is None else str(value).strip()
    label = SECRET_LABELS[name]
    if not value:
        raise ValidationError({"value": f"The {label} is empty; nothing was stored."})
    if name in ("lever-api-key", "lever-signature-token"):
        if not _LEVER_SECRET.match(value):
            raise ValidationError(
                {
                    "value": f"The {label} must be 20-200 printable ASCII characters without "
                    f"spaces (got {len(value)} characters); nothing was stored."
                }
            )
    elif not _BACKCHECK_SECRET.match(value):
        raise ValidationError(
            {
                "value": f"The {label} must be 1-500 printable ASCII characters without "
                "spaces; nothing was stored."
            }
        )
    return value


@sensitive_variables("value", "current")
def tenant_set_secret(*, tenant: Tenant, actor: Actor, name: str, value: str) -> bool:
    """Store a credential encrypted; returns False when it equals the stored one (no change).

    A new Lever signature token does not end the old one: Lever may still be delivering with it,
    so the current token becomes the previous one and both verify until
    `tenant_retire_previous_token` (docs/LEVER.md, "The signature token can change").
    """
    # A `with` block, not the @transaction.atomic decorator: a decorator's wrapper frame would
    # hold `value` in its kwargs, out of reach of @sensitive_variables in error reports.
    with transaction.atomic():
        value = clean_secret(name, value)
        attr = SECRET_FIELDS[name]
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        current = getattr(locked, attr)
        if current is not None and current.reveal() == value:
            return False
        fields = [attr, "updated_at"]
        setattr(locked, attr, value)
        if attr == "lever_signature_token" and current is not None:
            locked.lever_signature_token_previous = current
            locked.signature_token_confirmed_at = None
            fields += ["lever_signature_token_previous", "signature_token_confirmed_at"]
        locked.save(update_fields=fields)
        action = "secret_replaced" if current is not None else "secret_set"
        record_tenant_action(locked, actor, action, attr)
        if "lever_signature_token_previous" in fields:
            record_tenant_action(
                locked,
                actor,
                "secret_replaced",
                "lever_signature_token_previous",
                "the replaced token stays valid until retired",
            )
        tenant.refresh_from_db()
        return True


@transaction.atomic
def tenant_retire_previous_token(*, tenant: Tenant, actor: Actor) -> bool:
    """End the change-over: only the current signature token verifies from now on.

    Returns False when no previous token was kept (nothing to retire).
    """
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.lever_signature_token_previous is None:
        return False
    locked.lever_signature_token_previous = None
    locked.save(update_fields=["lever_signature_token_previous", "updated_at"])
    record_tenant_action(locked, actor, "secret_retired", "lever_signature_token_previous")
    tenant.refresh_from_db()
    return True
