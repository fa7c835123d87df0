"""Writes to a tenant's packages: Backcheck package codes and the Lever tags that choose them
(docs/CONTRACT.md §4). Audited as the tenant's own settings are (connectors/tenants/services.py).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from connectors.extras import check_package_tag
from connectors.models import Package, Tenant
from connectors.tenants.audit import Actor, record_tenant_action

PACKAGE_SETTINGS = ("code", "name", "lever_tag", "is_default")
_PACKAGE_CODE = re.compile(r"^\S{1,100}$")


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
