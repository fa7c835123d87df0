"""Django admin for tenants, packages and the audit trail — super-admins only.

Secrets are never editable here and are shown masked (`••••` + last 4); they are set on the
tenant pages or with `manage.py tenants set-secret`. Edits go through connectors/tenants/
(services.py, packages.py, validation.py) so the admin validates and audits exactly like the
portal. Tenants are deactivated, not deleted: their orders and history must stay.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from connectors.models import LEVER_BASE_URL_PRESETS, Package, Tenant, TenantAuditEntry
from connectors.tenants import packages, services, validation

if TYPE_CHECKING:
    # Generic in django-stubs only: at runtime these classes take no type arguments (the
    # django-stubs-ext patch that would allow it is not a runtime dependency).
    _TenantForm = forms.ModelForm[Tenant]
    _PackageForm = forms.ModelForm[Package]
    _PackageInline = admin.TabularInline[Package, Tenant]
    _TenantAdmin = admin.ModelAdmin[Tenant]
    _PackageAdmin = admin.ModelAdmin[Package]
    _AuditAdmin = admin.ModelAdmin[TenantAuditEntry]
else:
    _TenantForm = _PackageForm = forms.ModelForm
    _PackageInline = admin.TabularInline
    _TenantAdmin = _PackageAdmin = _AuditAdmin = admin.ModelAdmin


class SuperAdminOnly:
    """Staff who are not super-admins see nothing of these models."""

    @staticmethod
    def staff_user(request: HttpRequest) -> User:
        # The admin site serves only signed-in staff (AdminSite.admin_view), so request.user is
        # never AnonymousUser here; the cast only says so to the type checker.
        return cast(User, request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser


def _masked(attr: str, label: str) -> Callable[[Any, Tenant], str]:
    def display(self: Any, obj: Tenant) -> str:
        value = getattr(obj, attr)
        return str(value.masked) if value is not None else "(not set)"

    display.short_description = label  # type: ignore[attr-defined]
    display.__name__ = f"{attr}_masked"
    return display


class TenantAdminForm(_TenantForm):
    """Runs the services' validation so the admin refuses what the portal refuses."""

    lever_base_url = forms.URLField(max_length=300, assume_scheme="https")
    backcheck_base_url = forms.URLField(max_length=300, required=False, assume_scheme="https")

    class Meta:
        model = Tenant
        fields = ("slug", *validation.TENANT_SETTINGS)

    def clean_lever_base_url(self) -> str:
        # Like the set-up page: Lever's presets only; a custom URL is `tenants set-url`'s job.
        value = (self.cleaned_data.get("lever_base_url") or "").rstrip("/")
        unchanged = self.instance.pk is not None and value == self.instance.lever_base_url
        if not unchanged and value not in LEVER_BASE_URL_PRESETS.values():
            raise ValidationError(
                "Choose one of Lever's environments: "
                + ", ".join(LEVER_BASE_URL_PRESETS.values())
                + ". A custom URL is set with `manage.py tenants set-url`."
            )
        return value

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data
        data = self.cleaned_data
        if self.errors:
            return data
        try:
            if self.instance.pk is None and "slug" in data:
                validation.clean_new_slug(data["slug"])
            settings = {key: data[key] for key in validation.TENANT_SETTINGS if key in data}
            data.update(validation.clean_tenant_settings(settings))
            instance = self.instance if self.instance.pk is not None else None
            validation.clean_tenant_extras(
                tenant=instance, values={k: data[k] for k in settings if k in data}
            )
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]
        return data


class PackageAdminForm(_PackageForm):
    class Meta:
        model = Package
        fields = ("tenant", "code", "name", "lever_tag", "is_default")

    def validate_unique(self) -> None:
        # Making this package the default is allowed: package_add/update move the flag off the
        # old default in the same transaction, so skip the one-default constraint here.
        # _get_validation_exclusions and _update_errors: Django's own ModelForm internals, which
        # django-stubs does not declare.
        exclude = self._get_validation_exclusions() | {"is_default"}  # type: ignore[attr-defined]
        try:
            self.instance.validate_unique(exclude=exclude)
            self.instance.validate_constraints(exclude=exclude)
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data
        data = self.cleaned_data
        tenant = data.get("tenant") or getattr(self.instance, "tenant", None)
        if self.errors or tenant is None:
            return data
        values = {key: data[key] for key in packages.PACKAGE_SETTINGS if key in data}
        try:
            data.update(packages.clean_package_values(tenant, values, exclude_pk=self.instance.pk))
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]
        return data


class PackageInline(_PackageInline):
    model = Package
    extra = 0
    fields = ("code", "name", "lever_tag", "is_default")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(SuperAdminOnly, _TenantAdmin):
    form = TenantAdminForm
    list_display = ("name", "slug", "is_active", "lever_api_key_masked", "last_check_at")
    list_filter = ("is_active", "piecemeal", "cma")
    search_fields = ("name", "slug")
    settings_fields = tuple(validation.TENANT_SETTINGS)
    readonly_fields = (
        "webhook_url",
        "lever_api_key_masked",
        "lever_signature_token_masked",
        "lever_signature_token_previous_masked",
        "backcheck_client_id_masked",
        "backcheck_client_secret_masked",
        "managers",
        "last_check_at",
        "last_check_result",
        "created_at",
        "updated_at",
    )
    inlines = [PackageInline]

    lever_api_key_masked = _masked("lever_api_key", "Lever API key")
    lever_signature_token_masked = _masked("lever_signature_token", "Lever signature token")
    lever_signature_token_previous_masked = _masked(
        "lever_signature_token_previous", "previous signature token"
    )
    backcheck_client_id_masked = _masked("backcheck_client_id", "Backcheck client id")
    backcheck_client_secret_masked = _masked("backcheck_client_secret", "Backcheck client secret")

    @admin.display(description="account managers")
    def managers(self, obj: Tenant) -> str:
        return ", ".join(u.get_username() for u in obj.account_managers.all()) or "(none)"

    def get_fields(
        self, request: HttpRequest, obj: Any = None
    ) -> list[str | list[str] | tuple[str, ...]]:
        head = ["slug"] if obj is None else ["slug", "webhook_url"]
        return [*head, *self.settings_fields, *self.readonly_fields[1:]]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "slug") if obj is not None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        # The form ran the services' validation already.
        data = form.cleaned_data
        if change:
            current = Tenant.objects.get(pk=obj.pk)
            changes = {f: data[f] for f in form.changed_data if f in self.settings_fields}
            services.tenant_update(tenant=current, actor=self.staff_user(request), **changes)
        else:
            settings = {f: data[f] for f in self.settings_fields if f in data}
            obj.pk = services.tenant_create(
                actor=self.staff_user(request), slug=data["slug"], **settings
            ).pk
        obj.refresh_from_db()


@admin.register(Package)
class PackageAdmin(SuperAdminOnly, _PackageAdmin):
    form = PackageAdminForm
    list_display = ("code", "name", "tenant", "lever_tag", "is_default")
    list_filter = ("tenant",)
    search_fields = ("code", "name", "lever_tag")
    fields = ("tenant", "code", "name", "lever_tag", "is_default")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("tenant",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Package, form: Any, change: bool) -> None:
        data = form.cleaned_data
        values = {key: data[key] for key in packages.PACKAGE_SETTINGS}
        if change:
            current = Package.objects.get(pk=obj.pk)
            packages.package_update(package=current, actor=self.staff_user(request), **values)
        else:
            obj.pk = packages.package_add(
                tenant=data["tenant"], actor=self.staff_user(request), **values
            ).pk

    def delete_model(self, request: HttpRequest, obj: Package) -> None:
        packages.package_remove(package=obj, actor=self.staff_user(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Package]) -> None:
        for package in queryset:
            packages.package_remove(package=package, actor=self.staff_user(request))


@admin.register(TenantAuditEntry)
class TenantAuditEntryAdmin(SuperAdminOnly, _AuditAdmin):
    list_display = ("created_at", "tenant", "actor_label", "action", "field", "detail")
    list_filter = ("action", "tenant")
    search_fields = ("actor_label", "field", "detail", "tenant__slug")
    readonly_fields = ("created_at", "tenant", "actor", "actor_label", "action", "field", "detail")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
