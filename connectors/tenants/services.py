"""Writes to tenants: creation, settings and account managers (docs/CONTRACT.md §4).

The set-up pages, the Django admin and `manage.py tenants` all call these functions and their
siblings (credentials.py, packages.py), so every change is validated the same way
(validation.py) and audited the same way: one TenantAuditEntry per changed field, naming the
field and never its value. Each function runs in one transaction: a rejected input or a failure
half-way leaves nothing written.

Bad input raises `django.core.exceptions.ValidationError` with a message per field; the messages
never contain a secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from connectors.models import Tenant
from connectors.tenants.audit import Actor, record_tenant_action
from connectors.tenants.credentials import BOUND_CREDENTIALS
from connectors.tenants.validation import (
    TENANT_SETTINGS,
    check_settings_extras,
    clean_new_slug,
    clean_setting,
    clean_tenant_settings,
)


@transaction.atomic
def tenant_create(
    *,
    actor: Actor,
    name: str,
    slug: str,
    lever_base_url: str = "production",
    backcheck_base_url: str = "",
    trigger_stage_ids: Iterable[str] | str = (),
    note_author_user_id: str = "",
    notes_secret: bool = False,
    piecemeal: bool = False,
    cma: bool = False,
    is_active: bool = True,
    **extras: Any,
) -> Tenant:
    slug = clean_new_slug(slug)
    values = {
        "name": name,
        "is_active": is_active,
        "lever_base_url": lever_base_url,
        "trigger_stage_ids": trigger_stage_ids,
        "note_author_user_id": note_author_user_id,
        "notes_secret": notes_secret,
        "piecemeal": piecemeal,
        "cma": cma,
        "backcheck_base_url": backcheck_base_url,
    }
    values.update(extras)
    cleaned = clean_tenant_settings(values)
    check_settings_extras(cleaned, package_tags=[])
    tenant = Tenant.objects.create(slug=slug, **cleaned)
    record_tenant_action(tenant, actor, "created", "tenant", f"tenant {slug} created")
    return tenant


@transaction.atomic
def tenant_update(*, tenant: Tenant, actor: Actor, **changes: Any) -> list[str]:
    """Change non-secret settings; returns the names of the fields that actually changed."""
    unknown = sorted(set(changes) - set(TENANT_SETTINGS))
    if unknown:
        raise ValidationError(
            {unknown[0]: f"{unknown[0]} is not a tenant setting that can be changed here."}
        )
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    changed: list[str] = []
    for key, value in changes.items():
        cleaned = clean_setting(key, value)
        if getattr(locked, key) != cleaned:
            setattr(locked, key, cleaned)
            changed.append(key)
    if changed:
        check_settings_extras(
            {key: getattr(locked, key) for key in TENANT_SETTINGS},
            package_tags=locked.packages.values_list("lever_tag", flat=True),
        )
        cleared = [
            attr
            for key in changed
            for attr in BOUND_CREDENTIALS.get(key, ())
            if getattr(locked, attr) is not None
        ]
        for attr in cleared:
            setattr(locked, attr, None)
        locked.save(update_fields=[*changed, *cleared, "updated_at"])
        for key in changed:
            record_tenant_action(locked, actor, "setting_changed", key)
        for attr in cleared:
            record_tenant_action(
                locked, actor, "secret_cleared", attr, "the base URL it was sent to changed"
            )
        for key in [*changed, *cleared]:
            setattr(tenant, key, getattr(locked, key))
    return changed


def tenant_set_url(*, tenant: Tenant, actor: Actor, system: str, url: str) -> list[str]:
    """Set the Lever or Backcheck base URL (`tenants set-url`); a change clears its credentials.

    The only way to a custom Lever URL: the set-up pages offer Lever's presets alone.
    """
    fields = {"lever": "lever_base_url", "backcheck": "backcheck_base_url"}
    if system not in fields:
        raise ValidationError({"system": "Choose lever or backcheck."})
    if not str(url or "").strip():
        raise ValidationError({fields[system]: "Enter the base URL."})
    return tenant_update(tenant=tenant, actor=actor, **{fields[system]: url})


@transaction.atomic
def tenant_assign_managers(*, tenant: Tenant, actor: Actor, users: Iterable[Any]) -> list[str]:
    """Make exactly `users` the tenant's account managers; returns a summary of the change."""
    wanted = {user.pk: user for user in users}
    inactive = [u.get_username() for u in wanted.values() if not u.is_active]
    if inactive:
        raise ValidationError(
            {"account_managers": f"Inactive users cannot manage a tenant: {', '.join(inactive)}."}
        )
    current = {user.pk: user for user in tenant.account_managers.all()}
    added = [wanted[pk] for pk in wanted.keys() - current.keys()]
    removed = [current[pk] for pk in current.keys() - wanted.keys()]
    if added:
        tenant.account_managers.add(*added)
    if removed:
        tenant.account_managers.remove(*removed)
    summary: list[str] = []
    for user in sorted(added, key=lambda u: u.get_username()):
        summary.append(f"added {user.get_username()}")
    for user in sorted(removed, key=lambda u: u.get_username()):
        summary.append(f"removed {user.get_username()}")
    for line in summary:
        record_tenant_action(tenant, actor, "managers_changed", "account_managers", line)
    return summary
