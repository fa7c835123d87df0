"""Writes to tenants, their credentials, packages and account managers (docs/CONTRACT.md §4).

The set-up pages, the Django admin and `manage.py tenants` all call these functions, so every
change is validated the same way and audited the same way: one TenantAuditEntry per changed
field, naming the field and never its value. Each function runs in one transaction: a rejected
input or a failure half-way leaves nothing written.

Bad input raises `django.core.exceptions.ValidationError` with a message per field; the messages
never contain a secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from connectors import outbound
from connectors.extras import (
    EXTRA_SETTINGS,
    check_extras,
    check_package_tag,
    clean_status_tag_prefix,
)
from connectors.models import (
    LEVER_BASE_URL_PRESETS,
    SECRET_FIELDS,
    Package,
    Tenant,
)
from connectors.tenants.audit import Actor, record_tenant_action

# Non-secret settings a tenant update may change, with their human labels for messages.
TENANT_SETTINGS = {
    "name": "name",
    "is_active": "active",
    "lever_base_url": "Lever base URL",
    "trigger_stage_ids": "trigger stages",
    "note_author_user_id": "note author",
    **EXTRA_SETTINGS,
    "notes_secret": "secret notes",
    "piecemeal": "piecemeal reporting",
    "cma": "client matrix adjudication",
    "backcheck_base_url": "Backcheck base URL",
}
PACKAGE_SETTINGS = ("code", "name", "lever_tag", "is_default")
# Path segments of the tenant pages that a slug would shadow (/tenants/new/).
RESERVED_SLUGS = frozenset({"new"})

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
_PACKAGE_CODE = re.compile(r"^\S{1,100}$")
_validate_url = URLValidator(schemes=["http", "https"])


# Base URL column → the credentials sent to it. A new base URL clears them, so that nobody can
# point stored secrets at a host of their choice: they must be entered again for the new host.
BOUND_CREDENTIALS = {
    "lever_base_url": ("lever_api_key",),
    "backcheck_base_url": ("backcheck_client_id", "backcheck_client_secret"),
}


def resolve_lever_base_url(value: str) -> str:
    """A preset name (`production`, `sandbox`, `eu`) or a custom URL (see `_clean_url`)."""
    value = (value or "").strip()
    if value in LEVER_BASE_URL_PRESETS:
        return LEVER_BASE_URL_PRESETS[value]
    if value.rstrip("/") in LEVER_BASE_URL_PRESETS.values():
        return value.rstrip("/")
    return _clean_url(value, "lever_base_url", "Lever base URL", extra=" or production/sandbox/eu")


def _clean_url(value: object, field: str, label: str, *, extra: str = "") -> str:
    """A full http(s) URL that the outbound address rule (connectors/outbound.py) allows."""
    value = str(value or "").strip().rstrip("/")
    try:
        _validate_url(value)
    except ValidationError:
        raise ValidationError(
            {field: f"{label}: enter a full http(s) URL such as https://api.example.com{extra}."}
        )
    problem = outbound.url_problem(value)
    if problem:
        raise ValidationError({field: f"{label} refused: {problem}."})
    return value


def _clean_stage_ids(value: Any) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[\s,]+", value)
    cleaned: list[str] = []
    for item in value or ():
        if not isinstance(item, str):
            raise ValidationError({"trigger_stage_ids": "Stage ids must be text."})
        item = item.strip()
        if len(item) > 200 or any(ch.isspace() for ch in item):
            raise ValidationError(
                {"trigger_stage_ids": "A stage id is one word of at most 200 characters."}
            )
        if item and item not in cleaned:
            cleaned.append(item)
    return cleaned


_EXTRA_FLAGS = ("advance_only_green", "notify_followers")


def _check_extras(values: dict[str, Any], *, package_tags: Iterable[str]) -> None:
    check_extras(
        prefix=values.get("status_tag_prefix") or "",
        advance_stage_id=values.get("advance_stage_id") or "",
        trigger_stage_ids=values.get("trigger_stage_ids") or [],
        package_tags=package_tags,
    )


def clean_tenant_extras(*, tenant: Tenant | None, values: dict[str, Any]) -> None:
    """The extras' cross-field rules on `values` as they would be saved over `tenant`."""
    merged = {key: getattr(tenant, key) for key in TENANT_SETTINGS} if tenant else {}
    merged.update(values)
    tags = tenant.packages.values_list("lever_tag", flat=True) if tenant else []
    _check_extras(merged, package_tags=tags)


def clean_tenant_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Validate non-secret settings (the admin's forms use this too); raises ValidationError."""
    return {key: _clean_setting(key, value) for key, value in values.items()}


def _clean_setting(name: str, value: Any) -> Any:
    if name == "name":
        value = str(value or "").strip()
        if not value:
            raise ValidationError({"name": "The tenant needs a name."})
        if len(value) > 200:
            raise ValidationError({"name": "The name is longer than 200 characters."})
        return value
    if name == "status_tag_prefix":
        return clean_status_tag_prefix(value)
    if name == "advance_stage_id":
        value = str(value or "").strip()
        if len(value) > 200 or any(ch.isspace() for ch in value):
            raise ValidationError({name: "The auto-advance stage is one Lever stage id."})
        return value
    if name in ("is_active", "notes_secret", "piecemeal", "cma", *_EXTRA_FLAGS):
        if not isinstance(value, bool):
            raise ValidationError({name: f"{TENANT_SETTINGS[name]} must be true or false."})
        return value
    if name == "lever_base_url":
        return resolve_lever_base_url(value)
    if name == "backcheck_base_url":
        if not str(value or "").strip():
            return ""
        return _clean_url(value, name, "Backcheck base URL")
    if name == "trigger_stage_ids":
        return _clean_stage_ids(value)
    if name == "note_author_user_id":
        value = str(value or "").strip()
        if len(value) > 100 or any(ch.isspace() for ch in value):
            raise ValidationError(
                {name: "The note author is one Lever user id (no spaces, at most 100 characters)."}
            )
        return value
    raise ValidationError({name: f"{name} is not a tenant setting that can be changed here."})


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


# --- tenants ---------------------------------------------------------------------------------


def clean_new_slug(slug: str) -> str:
    """A slug for a new tenant: valid, not reserved, not taken."""
    slug = (slug or "").strip()
    try:
        validate_slug(slug)
    except ValidationError:
        raise ValidationError(
            {"slug": "The slug may contain only letters, digits, hyphens and underscores."}
        )
    if len(slug) > 64:
        raise ValidationError({"slug": "The slug is longer than 64 characters."})
    if slug in RESERVED_SLUGS:
        raise ValidationError({"slug": f"The slug {slug!r} is reserved; choose another."})
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A tenant with the slug {slug!r} already exists."})
    return slug


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
    _check_extras(cleaned, package_tags=[])
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
        cleaned = _clean_setting(key, value)
        if getattr(locked, key) != cleaned:
            setattr(locked, key, cleaned)
            changed.append(key)
    if changed:
        _check_extras(
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


# --- packages --------------------------------------------------------------------------------


def clean_package_values(
    tenant: Tenant, values: dict[str, Any], *, exclude_pk: int | None
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "code" in values:
        code = str(values["code"] or "").strip()
        if not _PACKAGE_CODE.match(code):
            raise ValidationError(
                {"code": "The package code is Backcheck's packageId: one word, 1-100 characters."}
            )
        # exclude(pk=None) excludes nothing (Django reads it as IS NULL); the plugin wants an id.
        others = tenant.packages.exclude(pk=exclude_pk)  # type: ignore[misc]
        if others.filter(code=code).exists():
            raise ValidationError({"code": f"The package code {code!r} is already in use."})
        cleaned["code"] = code
    if "name" in values:
        name = str(values["name"] or "").strip()
        if not name or len(name) > 200:
            raise ValidationError({"name": "The package needs a name of at most 200 characters."})
        cleaned["name"] = name
    if "lever_tag" in values:
        tag = str(values["lever_tag"] or "").strip()
        if len(tag) > 200:
            raise ValidationError({"lever_tag": "The Lever tag is longer than 200 characters."})
        # Resolution takes the first matching tag (docs/CONTRACT.md §4): two packages on one tag would
        # make the choice depend on ordering, so a tag names one package.
        others = tenant.packages.exclude(pk=exclude_pk)  # type: ignore[misc]  # as for the code
        if tag and others.filter(lever_tag__iexact=tag).exists():
            raise ValidationError({"lever_tag": f"Another package already uses the tag {tag!r}."})
        check_package_tag(prefix=tenant.status_tag_prefix, tag=tag)
        cleaned["lever_tag"] = tag
    if "is_default" in values:
        if not isinstance(values["is_default"], bool):
            raise ValidationError({"is_default": "default must be true or false."})
        cleaned["is_default"] = values["is_default"]
    return cleaned


def _clear_default(tenant: Tenant, *, keep_pk: int | None) -> None:
    # One default per tenant (a partial unique constraint): the new default takes over.
    # exclude(pk=None), for a new package, excludes nothing (as in clean_package_values).
    tenant.packages.filter(is_default=True).exclude(pk=keep_pk).update(is_default=False)  # type: ignore[misc]


@transaction.atomic
def package_add(
    *,
    tenant: Tenant,
    actor: Actor,
    code: str,
    name: str,
    lever_tag: str = "",
    is_default: bool = False,
) -> Package:
    Tenant.objects.select_for_update().get(pk=tenant.pk)
    cleaned = clean_package_values(
        tenant,
        {"code": code, "name": name, "lever_tag": lever_tag, "is_default": is_default},
        exclude_pk=None,
    )
    if cleaned["is_default"]:
        _clear_default(tenant, keep_pk=None)
    package = Package.objects.create(tenant=tenant, **cleaned)
    record_tenant_action(tenant, actor, "package_added", "packages", f"package {package.code}")
    return package


@transaction.atomic
def package_update(*, package: Package, actor: Actor, **changes: Any) -> list[str]:
    unknown = sorted(set(changes) - set(PACKAGE_SETTINGS))
    if unknown:
        raise ValidationError({unknown[0]: f"{unknown[0]} is not a package setting."})
    tenant = Tenant.objects.select_for_update().get(pk=package.tenant_id)
    locked = Package.objects.get(pk=package.pk)
    cleaned = clean_package_values(tenant, changes, exclude_pk=locked.pk)
    changed = [key for key, value in cleaned.items() if getattr(locked, key) != value]
    if not changed:
        return []
    if cleaned.get("is_default"):
        _clear_default(tenant, keep_pk=locked.pk)
    for key in changed:
        setattr(locked, key, cleaned[key])
        setattr(package, key, cleaned[key])
    locked.save(update_fields=changed)
    for key in changed:
        record_tenant_action(
            tenant, actor, "package_changed", f"packages.{key}", f"package {locked.code}"
        )
    return changed


@transaction.atomic
def package_remove(*, package: Package, actor: Actor) -> None:
    tenant = Tenant.objects.select_for_update().get(pk=package.tenant_id)
    code = package.code
    Package.objects.filter(pk=package.pk).delete()
    record_tenant_action(tenant, actor, "package_removed", "packages", f"package {code}")
