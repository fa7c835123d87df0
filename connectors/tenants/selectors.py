"""Reads for the tenant pages, the admin and `manage.py tenants` (docs/CONTRACT.md §4).

Tenant scoping itself lives in connectors/tenants/access.py; these build on it. Nothing here returns a
secret's value: credentials come back as "set or not" and the masked form (`••••` + last 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict, cast

from django.contrib.auth import get_user_model
from django.db.models import Count, QuerySet

from connectors.models import SECRET_FIELDS, Package, Tenant, TenantAuditEntry
from connectors.tenants.access import tenant_get_for_user, tenants_visible_to
from connectors.tenants.credentials import SECRET_LABELS
from integration_portal.users import AnyUser

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_stubs_ext import WithAnnotations

    class _PackageCount(TypedDict):
        package_count: int

    TenantWithPackageCount = WithAnnotations[Tenant, _PackageCount]


@dataclass(frozen=True)
class SecretStatus:
    name: str  # the `tenants set-secret` name, e.g. "lever-api-key"
    label: str
    is_set: bool
    masked: str  # "" when unset


def tenant_list(*, user: AnyUser) -> QuerySet[Tenant]:
    return tenants_visible_to(user).order_by("name")


def tenant_get(*, user: AnyUser, slug: str) -> Tenant:
    """The tenant if the user may see it; Http404 otherwise (another tenant is not found)."""
    return tenant_get_for_user(user, slug=slug)


def tenant_list_all() -> QuerySet[TenantWithPackageCount]:
    """Every tenant with its package count, for the command line (it runs as the operator)."""
    rows = Tenant.objects.annotate(package_count=Count("packages")).order_by("slug")
    return cast("QuerySet[TenantWithPackageCount]", rows)


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    """Unscoped lookup for the command line, which runs as the operator."""
    return Tenant.objects.filter(slug=slug).first()


def tenant_secret_statuses(*, tenant: Tenant) -> list[SecretStatus]:
    statuses = []
    for name, attr in SECRET_FIELDS.items():
        value = getattr(tenant, attr)
        statuses.append(
            SecretStatus(
                name=name,
                label=SECRET_LABELS[name],
                is_set=value is not None,
                masked=value.masked if value is not None else "",
            )
        )
    return statuses


def tenant_previous_token_masked(*, tenant: Tenant) -> str:
    value = tenant.lever_signature_token_previous
    return value.masked if value is not None else ""


def tenant_settings(*, tenant: Tenant) -> list[tuple[str, str]]:
    """The non-secret settings as (label, text) rows, the same on every page and in `show`."""
    preset = tenant.lever_base_url_preset
    lever_url = f"{tenant.lever_base_url} ({preset})" if preset else tenant.lever_base_url
    return [
        ("Name", tenant.name),
        ("Slug", tenant.slug),
        ("Active", "yes" if tenant.is_active else "no"),
        ("Webhook URL", tenant.webhook_url),
        ("Lever base URL", lever_url),
        ("Trigger stages", ", ".join(stage_labels(tenant=tenant)) or "(none)"),
        (
            "Note author (perform_as)",
            user_label(tenant=tenant, user_id=tenant.note_author_user_id)
            if tenant.note_author_user_id
            else "(none: notes have no author)",
        ),
        ("Secret notes", "yes" if tenant.notes_secret else "no"),
        ("Piecemeal reporting", "yes" if tenant.piecemeal else "no"),
        ("Client matrix adjudication (CMA)", "yes" if tenant.cma else "no"),
        ("Backcheck base URL", tenant.backcheck_base_url or "(not set)"),
        (
            "Status tags",
            f'"{tenant.status_tag_prefix} <status>"' if tenant.status_tag_prefix else "off",
        ),
        (
            "Auto-advance on Completed",
            (
                stage_label_of(tenant=tenant, stage_id=tenant.advance_stage_id)
                + (" (Green only)" if tenant.advance_only_green else "")
            )
            if tenant.advance_stage_id
            else "off",
        ),
        ("Notify followers (Completed, Error)", "yes" if tenant.notify_followers else "no"),
    ]


def _named(name: str | None, lever_id: str) -> str:
    return f"{name} ({lever_id})" if name else lever_id


def stage_labels(*, tenant: Tenant) -> list[str]:
    """Each trigger stage as "Name (id)" when Lever gave its name, else the bare id."""
    names = (tenant.lever_names or {}).get("stages") or {}
    return [_named(names.get(sid), sid) for sid in tenant.trigger_stage_ids or []]


def stage_label_of(*, tenant: Tenant, stage_id: str) -> str:
    names = (tenant.lever_names or {}).get("stages") or {}
    return _named(names.get(stage_id), stage_id)


def user_label(*, tenant: Tenant, user_id: str) -> str:
    names = (tenant.lever_names or {}).get("users") or {}
    return _named(names.get(user_id), user_id)


def package_list(*, tenant: Tenant) -> QuerySet[Package]:
    return tenant.packages.order_by("-is_default", "name")


def package_get(*, tenant: Tenant, package_id: Any) -> Package | None:
    try:
        return tenant.packages.filter(pk=int(package_id)).first()
    except (TypeError, ValueError):
        return None


def tenant_audit_list(*, tenant: Tenant, limit: int = 100) -> QuerySet[TenantAuditEntry]:
    return tenant.audit_entries.select_related("actor").order_by("-created_at", "-id")[:limit]


def manager_candidates() -> QuerySet[User]:
    """Users who can be assigned as account managers (super-admins see everything anyway)."""
    return get_user_model().objects.filter(is_active=True, is_superuser=False).order_by("username")
