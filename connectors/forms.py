"""Forms of the tenant set-up pages. They parse input; the services validate and write.

Service validation errors come back per field and are attached to the form with
`add_service_errors`, so the browser and the command line reject exactly the same things.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.core.exceptions import ValidationError

from connectors.models import LEVER_BASE_URL_PRESETS, Tenant
from connectors.tenants.selectors import manager_candidates

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Lever's own environments only: a custom Lever URL is set with `manage.py tenants set-url`,
# where it passes the outbound address rule; the page never offers a free-text Lever URL.
LEVER_URL_CHOICES = [(name, f"{name} ({url})") for name, url in LEVER_BASE_URL_PRESETS.items()]
KEEP_CUSTOM = "custom"


def add_service_errors(
    form: forms.Form, exc: ValidationError, aliases: dict[str, str] | None = None
) -> None:
    """Attach a service's ValidationError to the form field it names (or to the whole form)."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        target = aliases.get(field, field)
        form.add_error(target if target in form.fields else None, errors)


class TenantForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(
        max_length=64,
        help_text="Letters, digits, hyphens, underscores. Used in URLs and on the command line; "
        "cannot be changed later.",
    )
    is_active = forms.BooleanField(
        required=False, initial=True, label="Active (orders are placed for this tenant)"
    )
    lever_environment = forms.ChoiceField(
        choices=LEVER_URL_CHOICES,
        label="Lever environment",
        help_text="Changing it clears the stored Lever API key (enter it again).",
    )
    trigger_stage_ids = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Trigger stage ids",
        help_text="Lever stage ids that start a background check, one per line.",
    )
    note_author_user_id = forms.CharField(
        required=False,
        label="Note author (Lever user id)",
        help_text="Notes are posted as this user (perform_as); empty: no author.",
    )
    notes_secret = forms.BooleanField(required=False, label="Post notes as secret notes")
    piecemeal = forms.BooleanField(required=False, label="Piecemeal reporting")
    cma = forms.BooleanField(required=False, label="Client matrix adjudication (CMA)")
    backcheck_base_url = forms.CharField(
        required=False,
        label="Backcheck base URL",
        help_text="Changing it clears the stored Backcheck client id and secret.",
    )
    status_tag_prefix = forms.CharField(
        required=False,
        max_length=50,
        label="Status tags (off when empty)",
        help_text='Tag the candidate with the check\'s status, e.g. "BGC" gives "BGC: In '
        "Progress\"; the previous status tag is removed. Must not start a package's tag.",
    )
    advance_stage_id = forms.CharField(
        required=False,
        label="Auto-advance stage (off when empty)",
        help_text="On Completed, move the candidate to this Lever stage (not a trigger stage).",
    )
    advance_only_green = forms.BooleanField(
        required=False, label="Auto-advance only when the score is Green"
    )
    notify_followers = forms.BooleanField(
        required=False, label="Notify the candidate's followers of Completed and Error notes"
    )

    # Service field name → form field showing its error.
    ALIASES = {"lever_base_url": "lever_environment"}

    def __init__(
        self,
        *args: Any,
        editing: bool = False,
        tenant: Tenant | None = None,
        stage_choices: list[tuple[str, str]] | None = None,
        user_choices: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["slug"]
        if tenant is not None and tenant.lever_base_url_preset is None:
            # A custom URL set on the command line stays as it is unless a preset is chosen.
            cast(forms.ChoiceField, self.fields["lever_environment"]).choices = [
                (KEEP_CUSTOM, f"custom: {tenant.lever_base_url} (change with tenants set-url)"),
                *LEVER_URL_CHOICES,
            ]
        # With Lever's own lists, stages and the author are picked by name (Lever's screens
        # never show ids); without them (no key yet, or Lever refused the list) ids are typed.
        if stage_choices is not None:
            self.fields["trigger_stage_ids"] = forms.MultipleChoiceField(
                required=False,
                choices=stage_choices,
                widget=forms.CheckboxSelectMultiple,
                label="Trigger stages",
                help_text="Moving a candidate into one of these Lever stages starts a check.",
            )
            self.initial["trigger_stage_ids"] = list(self.initial.get("trigger_stage_picks") or [])
        if stage_choices is not None:
            self.fields["advance_stage_id"] = forms.ChoiceField(
                required=False,
                choices=[("", "(off)"), *stage_choices],
                label="Auto-advance stage",
                help_text=self.fields["advance_stage_id"].help_text,
            )
        if user_choices is not None:
            self.fields["note_author_user_id"] = forms.ChoiceField(
                required=False,
                choices=[("", "(no author)"), *user_choices],
                label="Note author",
                help_text="Notes are posted as this Lever user (perform_as).",
            )

    @classmethod
    def initial_for(cls, tenant: Tenant) -> dict[str, Any]:
        preset = tenant.lever_base_url_preset
        return {
            "name": tenant.name,
            "is_active": tenant.is_active,
            "lever_environment": preset or KEEP_CUSTOM,
            "trigger_stage_ids": "\n".join(tenant.trigger_stage_ids),
            "trigger_stage_picks": list(tenant.trigger_stage_ids),
            "note_author_user_id": tenant.note_author_user_id,
            "notes_secret": tenant.notes_secret,
            "piecemeal": tenant.piecemeal,
            "cma": tenant.cma,
            "backcheck_base_url": tenant.backcheck_base_url,
            "status_tag_prefix": tenant.status_tag_prefix,
            "advance_stage_id": tenant.advance_stage_id,
            "advance_only_green": tenant.advance_only_green,
            "notify_followers": tenant.notify_followers,
        }

    def settings(self) -> dict[str, Any]:
        """Cleaned data in the services' vocabulary."""
        data = self.cleaned_data
        environment = data["lever_environment"]
        values = {
            "name": data["name"],
            "is_active": data["is_active"],
            "lever_base_url": environment,
            "trigger_stage_ids": data["trigger_stage_ids"],
            "note_author_user_id": data["note_author_user_id"],
            "notes_secret": data["notes_secret"],
            "piecemeal": data["piecemeal"],
            "cma": data["cma"],
            "backcheck_base_url": data["backcheck_base_url"],
            "status_tag_prefix": data["status_tag_prefix"],
            "advance_stage_id": data["advance_stage_id"],
            "advance_only_green": data["advance_only_green"],
            "notify_followers": data["notify_followers"],
        }
        if environment == KEEP_CUSTOM:
            del values["lever_base_url"]
        return values


class SecretForm(forms.Form):
    # Write-only: the widget never renders a value back, and the browser is asked not to keep it.
    value = forms.CharField(
        strip=True,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
        label="New value",
    )


class PackageForm(forms.Form):
    code = forms.CharField(max_length=100, label="Package code (Backcheck packageId)")
    name = forms.CharField(max_length=200, label="Display name")
    lever_tag = forms.CharField(max_length=200, required=False, label="Matching Lever tag")
    is_default = forms.BooleanField(required=False, label="Default package")


class ManagersForm(forms.Form):
    managers: forms.ModelMultipleChoiceField[User] = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Account managers",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        managers = cast("forms.ModelMultipleChoiceField[User]", self.fields["managers"])
        managers.queryset = manager_candidates()
