"""Forms of the account managers' pages: manual launch, bulk replay, profile (the list's
filters are orders/filters.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms

from connectors.models import Package, Tenant
from connectors.tenants.access import scope_to_user, tenants_visible_to
from orders.models import UserProfile

if TYPE_CHECKING:
    from integration_portal.users import AnyUser


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    # `form.fields` is typed as holding plain Fields; the ones named here are ChoiceFields.
    return cast(forms.ChoiceField, form.fields[name])


class PackageSelect(forms.Select):
    """Each option names its tenant (data-tenant), so launch.js can show only that tenant's."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-tenant"] = str(instance.tenant_id)
        return option


class LaunchForm(forms.Form):
    tenant: forms.ModelChoiceField[Tenant] = forms.ModelChoiceField(
        label="Tenant", queryset=None, empty_label="Choose a tenant"
    )
    reference = forms.CharField(
        label="Lever candidate URL or opportunity id",
        max_length=500,
        help_text="For example https://hire.lever.co/candidates/250d8f03-738a-4bba-a671-8a3d73477145",
    )
    package: forms.ModelChoiceField[Package] = forms.ModelChoiceField(
        label="Screening package",
        queryset=None,
        empty_label="Choose a package",
        widget=PackageSelect,
    )

    def __init__(
        self, data: Any = None, *, user: AnyUser, initial: dict[str, Any] | None = None
    ) -> None:
        super().__init__(data, initial=initial)
        tenants = tenants_visible_to(user).filter(is_active=True).order_by("name")
        tenant_field = cast("forms.ModelChoiceField[Tenant]", self.fields["tenant"])
        tenant_field.queryset = tenants
        tenant_field.label_from_instance = lambda obj: obj.name  # type: ignore[method-assign]
        packages = (
            scope_to_user(Package.objects.all(), user)
            .filter(tenant__is_active=True)
            .select_related("tenant")
            .order_by("tenant__name", "name")
        )
        package_field = cast("forms.ModelChoiceField[Package]", self.fields["package"])
        package_field.queryset = packages
        package_field.label_from_instance = lambda obj: (  # type: ignore[method-assign]
            f"{obj.tenant.name} · {obj.name} ({obj.code})"
            + (" — default" if obj.is_default else "")
        )

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data
        data = self.cleaned_data
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
            _choice_field(self, name).choices = [(v, v) for v in values]

    def clean(self) -> dict[str, Any]:
        super().clean()  # returns self.cleaned_data
        data = self.cleaned_data
        if not any(data.get(name) for name in self.KINDS):
            raise forms.ValidationError("Select at least one failed item to replay.")
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = UserProfile
        fields = ["attention_emails"]
