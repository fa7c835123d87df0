"""Forms of the account managers' pages: list filters, manual launch, bulk replay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms

from connectors.access import scope_to_user, tenants_visible_to
from connectors.models import Package, Tenant
from orders.dashboard import DEFAULT_QUIET_DAYS, SCORES, SORTS, STATUS_LABELS, STATUS_ORDER
from orders.models import UserProfile

if TYPE_CHECKING:
    from integration_portal.users import AnyUser


def _sort_choices() -> list[tuple[str, str]]:
    # (key, label when descending, label when ascending)
    labels = {
        "created": ("Created, newest first", "Created, oldest first"),
        "updated": ("Last change, newest first", "Last change, oldest first"),
        "heard": ("Last heard, newest first", "Last heard, oldest first"),
        "candidate": ("Candidate, Z–A", "Candidate, A–Z"),
        "status": ("Status, Z–A", "Status, A–Z"),
        "score": ("Score, Z–A", "Score, A–Z"),
        "tenant": ("Tenant, Z–A", "Tenant, A–Z"),
        "number": ("Reference number, descending", "Reference number, ascending"),
    }
    choices = []
    for key in SORTS:
        desc, asc = labels[key]
        choices.append((f"-{key}", desc))
        choices.append((key, asc))
    return choices


def _choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    # `form.fields` is typed as holding plain Fields; the ones named here are ChoiceFields.
    return cast(forms.ChoiceField, form.fields[name])


class OrderFilterForm(forms.Form):
    """GET filters of the orders list and its CSV export. Invalid values are dropped, not fatal:
    a bookmarked URL with a stale tenant still shows a list."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=300,
        help_text="Candidate name or email, reference number, Lever opportunity id or URL",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    tenant = forms.ChoiceField(label="Tenant", required=False)
    status = forms.ChoiceField(label="Status", required=False)
    score = forms.ChoiceField(
        label="Score", required=False, choices=[("", "Any score"), *[(s, s) for s in SCORES]]
    )
    package = forms.ChoiceField(label="Package", required=False)
    created_from = forms.DateField(
        label="Created from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label="Created to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    attention = forms.BooleanField(label="Needs attention only", required=False)
    days = forms.IntegerField(
        label="Quiet for (days)",
        required=False,
        min_value=1,
        max_value=365,
        initial=DEFAULT_QUIET_DAYS,
        help_text="With “needs attention”: active orders with no update for this many days",
        widget=forms.NumberInput(attrs={"placeholder": str(DEFAULT_QUIET_DAYS)}),
    )
    sort = forms.ChoiceField(label="Sort by", required=False, choices=_sort_choices())

    def __init__(self, data: Any, *, choices: dict[str, list[tuple[str, str]]]) -> None:
        super().__init__(data)
        _choice_field(self, "tenant").choices = [("", "All tenants"), *choices["tenants"]]
        _choice_field(self, "package").choices = [("", "Any package"), *choices["packages"]]
        # "pending" stands for the empty status (not yet answered by Backcheck) in URLs.
        _choice_field(self, "status").choices = [
            ("", "Any status"),
            *[(s or "pending", STATUS_LABELS[s]) for s in STATUS_ORDER],
        ]

    def filters(self) -> dict[str, Any]:
        """The valid filters; a field with a bad value is ignored (and shown as an error)."""
        self.is_valid()
        data = {
            name: self.cleaned_data.get(name) for name in self.fields if name not in self.errors
        }
        if "tenant" in self.errors:
            # A tenant the user cannot see matches nothing (never "all tenants").
            data["tenant"] = str(self.data.get("tenant"))[:64]
        status = data.get("status")
        data["status"] = None if not status else ("" if status == "pending" else status)
        data["days"] = data.get("days") or DEFAULT_QUIET_DAYS
        return data


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
