"""Forms of the account managers' pages: manual launch, bulk replay, profile (the list's
filters are orders/filters.py)."""

from __future__ import annotations

from typing import Any

from django import forms

from connectors.models import Package
from connectors.tenants.access import scope_to_user, tenants_visible_to
from orders.models import UserProfile


class PackageSelect(forms.Select):
    """Each option names its tenant (data-tenant), so launch.js can show only that tenant's."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-tenant"] = str(instance.tenant_id)
        return option


class LaunchForm(forms.Form):
    tenant = forms.ModelChoiceField(label="Tenant", queryset=None, empty_label="Choose a tenant")
    reference = forms.CharField(
        label="Lever candidate URL or opportunity id",
        max_length=500,
        help_text="For example https://hire.lever.co/candidates/250d8f03-738a-4bba-a671-8a3d73477145",
    )
    package = forms.ModelChoiceField(
        label="Screening package",
        queryset=None,
        empty_label="Choose a package",
        widget=PackageSelect,
    )

    def __init__(self, data: Any = None, *, user: Any, initial: dict | None = None) -> None:
        super().__init__(data, initial=initial)
        tenants = tenants_visible_to(user).filter(is_active=True).order_by("name")
        self.fields["tenant"].queryset = tenants
        self.fields["tenant"].label_from_instance = lambda t: t.name
        packages = (
            scope_to_user(Package.objects.all(), user)
            .filter(tenant__is_active=True)
            .select_related("tenant")
            .order_by("tenant__name", "name")
        )
        self.fields["package"].queryset = packages
        self.fields["package"].label_from_instance = lambda p: (
            f"{p.tenant.name} · {p.name} ({p.code})" + (" — default" if p.is_default else "")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        tenant, package = data.get("tenant"), data.get("package")
        if tenant and package and package.tenant_id != tenant.pk:
            self.add_error("package", f"That package is not one of {tenant.name}'s packages.")
        return data


class BulkReplayForm(forms.Form):
    """Checkboxes of the needs-attention page: failed notes, inbound events, order submissions
    and cancellations."""

    KINDS = ("note", "event", "submit", "cancel")

    note = forms.TypedMultipleChoiceField(coerce=int, required=False)
    event = forms.TypedMultipleChoiceField(coerce=int, required=False)
    submit = forms.TypedMultipleChoiceField(coerce=int, required=False)  # order ids
    cancel = forms.TypedMultipleChoiceField(coerce=int, required=False)  # cancel request ids
    confirm = forms.BooleanField(required=False)

    def __init__(self, data: Any = None) -> None:
        super().__init__(data)
        # Any integer id is accepted here; the view looks them up within the user's tenants.
        for name in self.KINDS:
            values = data.getlist(name) if data is not None else []
            self.fields[name].choices = [(v, v) for v in values]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any(data.get(name) for name in self.KINDS):
            raise forms.ValidationError("Select at least one failed item to replay.")
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = UserProfile
        fields = ["attention_emails"]
