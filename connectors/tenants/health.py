"""A tenant's health readings: the last "Test connection" result, the names Lever gave for stage
and user ids, and the optional Lever reads the key was refused (403).

Caches and readings, not settings: nothing here is audited.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from connectors.models import Tenant


def tenant_record_check(*, tenant: Tenant, result: dict[str, Any], checked_at: Any) -> None:
    """Store the last "Test connection" result; a health reading, not an audited setting.

    The Lever half says which optional reads the key may make (`permissions`); those results
    replace the permission warnings the workers recorded, so a fixed key clears its warning.
    """
    permissions = (result.get("lever") or {}).get("permissions") or {}
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().only("lever_permission_warnings")
        warnings = dict(locked.get(pk=tenant.pk).lever_permission_warnings or {})
        for read, outcome in permissions.items():
            if outcome == "forbidden":
                warnings[read] = {"at": checked_at.isoformat(), "detail": LEVER_FORBIDDEN[read]}
            elif outcome == "ok":
                warnings.pop(read, None)
        Tenant.objects.filter(pk=tenant.pk).update(
            last_check_result=result, last_check_at=checked_at, lever_permission_warnings=warnings
        )
    tenant.last_check_result = result
    tenant.last_check_at = checked_at
    tenant.lever_permission_warnings = warnings
    lever = result.get("lever") or {}
    author = lever.get("note_author") or {}
    tenant_record_lever_names(
        tenant=tenant,
        stages={s["id"]: s["name"] for s in lever.get("stages") or [] if s.get("name")},
        users={author["id"]: author["name"]} if author.get("name") else None,
    )


def tenant_record_lever_names(
    *, tenant: Tenant, stages: dict[str, str] | None = None, users: dict[str, str] | None = None
) -> None:
    """Remember the names Lever gave for stage and user ids (merged; a cache, not audited)."""
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().only("lever_names").get(pk=tenant.pk)
        names = {key: dict(value) for key, value in (locked.lever_names or {}).items()}
        for kind, found in (("stages", stages), ("users", users)):
            if found:
                names.setdefault(kind, {}).update({k: v for k, v in found.items() if v})
        Tenant.objects.filter(pk=tenant.pk).update(lever_names=names)
    tenant.lever_names = names


# What each Lever read the key may be refused (403) costs, as the tenant's health shows it.
LEVER_FORBIDDEN = {
    "stages": "The Lever API key cannot read stages (403): notes name the stage by its id.",
    "users": "The Lever API key cannot read users (403): the note author cannot be checked.",
    "postings": (
        "The Lever API key cannot read job postings (403): a candidate whose own tags match no "
        "package gets a no-package Error instead of the posting's or the default package."
    ),
    "perform_as": (
        "Lever refused to post notes as the chosen note author (403): notes are posted without "
        "an author."
    ),
    "deleted_opportunities": (
        "The Lever API key cannot list deleted opportunities (403): candidates deleted in Lever "
        "keep their names, emails and phones here (docs/RUNBOOK.md)."
    ),
}


def tenant_lever_permission_warn(*, tenant_id: int, read: str, now: Any = None) -> None:
    """Record that Lever refused the tenant's key one optional read (403); shown on its health."""
    from django.utils import timezone

    at = (now or timezone.now()).isoformat()
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().only("lever_permission_warnings")
        warnings = dict(locked.get(pk=tenant_id).lever_permission_warnings or {})
        warnings[read] = {"at": at, "detail": LEVER_FORBIDDEN[read]}
        Tenant.objects.filter(pk=tenant_id).update(lever_permission_warnings=warnings)


def tenant_lever_permission_clear(*, tenant_id: int, read: str) -> None:
    """Lever allowed a read it had refused: drop that warning from the tenant's health."""
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().only("lever_permission_warnings")
        warnings = dict(locked.get(pk=tenant_id).lever_permission_warnings or {})
        if warnings.pop(read, None) is not None:
            Tenant.objects.filter(pk=tenant_id).update(lever_permission_warnings=warnings)
