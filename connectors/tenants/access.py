"""Who may see and do what (docs/CONTRACT.md §4). Tenant scoping lives here and nowhere else.

- super-admin (`is_superuser`): everything.
- account manager (any other active user): only the tenants they are assigned to; read-only
  tenant overview, no credential pages.
A page the role may not use → 403 (`PermissionDenied`); another tenant's object → 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from connectors.models import Tenant, TenantQuerySet
from integration_portal.users import AnyUser

_M = TypeVar("_M", bound=Model)


def is_super_admin(user: AnyUser | None) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def tenants_visible_to(user: AnyUser | None) -> TenantQuerySet:
    if not (user and user.is_authenticated and user.is_active):
        return Tenant.objects.none()
    if is_super_admin(user):
        return Tenant.objects.all()
    return Tenant.objects.filter(account_managers=user)


def tenant_get_for_user(user: AnyUser, **lookup: Any) -> Tenant:
    try:
        return tenants_visible_to(user).get(**lookup)
    except Tenant.DoesNotExist as exc:
        raise Http404("No such tenant.") from exc


def visible_tenant_ids(user: AnyUser | None) -> list[int]:
    """The ids of the tenants the user may see, read once per request (cached on the user)."""
    cached = getattr(user, "_visible_tenant_ids", None)
    if cached is None:
        cached = list(tenants_visible_to(user).values_list("pk", flat=True))
        try:
            setattr(user, "_visible_tenant_ids", cached)  # noqa: B010 - a per-request cache
        except AttributeError:  # AnonymousUser and friends: nothing to cache on
            pass
    return cached


def scope_to_user(
    queryset: QuerySet[_M], user: AnyUser | None, tenant_field: str = "tenant"
) -> QuerySet[_M]:
    """Filter any tenant-owned queryset to the user's tenants, as `tenant_id IN (…)`.

    A plain list of ids, not a join through the account-managers table: the planner uses the
    (tenant, …) indexes with it, where the join made it count every order of a tenant row by
    row (docs/PERFORMANCE.md §4).
    """
    if is_super_admin(user):
        return queryset
    if not (user and user.is_authenticated and user.is_active):
        return queryset.none()
    return queryset.filter(**{f"{tenant_field}_id__in": visible_tenant_ids(user)})


def super_admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_super_admin(request.user):
            raise PermissionDenied("Only super-admins may use this page.")
        return view(request, *args, **kwargs)

    return wrapper
