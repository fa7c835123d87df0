"""Validation of a tenant's non-secret settings and of a new tenant's slug (docs/CONTRACT.md §4).

The set-up pages, the Django admin's forms and connectors/tenants/services.py clean values here
before anything is written. Bad input raises `django.core.exceptions.ValidationError` with a
message per field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug

from connectors import outbound
from connectors.extras import EXTRA_SETTINGS, check_extras, clean_status_tag_prefix
from connectors.models import LEVER_BASE_URL_PRESETS, Tenant

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
# Path segments of the tenant pages that a slug would shadow (/tenants/new/).
RESERVED_SLUGS = frozenset({"new"})

_validate_url = URLValidator(schemes=["http", "https"])


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


def check_settings_extras(values: dict[str, Any], *, package_tags: Iterable[str]) -> None:
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
    check_settings_extras(merged, package_tags=tags)


def clean_tenant_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Validate non-secret settings (the admin's forms use this too); raises ValidationError."""
    return {key: clean_setting(key, value) for key, value in values.items()}


def clean_setting(name: str, value: Any) -> Any:
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
