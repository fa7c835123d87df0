"""Tenants, their package catalog and the audit trail of every change (docs/CONTRACT.md §4)."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from connectors.fields import EncryptedSecretField

LEVER_BASE_URL_PRESETS = {
    "production": "https://api.lever.co/v1",
    "sandbox": "https://api.sandbox.lever.co/v1",
    "eu": "https://api.eu.lever.co/v1",
}

# The secret columns, by the names `tenants set-secret` uses (docs/CONTRACT.md §8).
SECRET_FIELDS = {
    "lever-api-key": "lever_api_key",
    "lever-signature-token": "lever_signature_token",
    "backcheck-client-id": "backcheck_client_id",
    "backcheck-client-secret": "backcheck_client_secret",
}


def new_webhook_id() -> str:
    return secrets.token_urlsafe(24)


class TenantQuerySet(models.QuerySet["Tenant"]):
    def without_secrets(self) -> TenantQuerySet:
        """Tenants without their encrypted columns: pages that show a name never load (and so
        never decrypt) a credential."""
        return self.defer(*Tenant.secret_field_names())


class Tenant(models.Model):
    # The stable id the encrypted columns are bound to (connectors/fields.py): it must never
    # change, or the row's secrets no longer decrypt.
    ENCRYPTION_ROW_ID = "webhook_id"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    # Unguessable id in the webhook URL: knowing a tenant's slug must not let anyone post to it.
    webhook_id = models.CharField(
        max_length=64, unique=True, default=new_webhook_id, editable=False
    )

    lever_base_url = models.URLField(max_length=300, default=LEVER_BASE_URL_PRESETS["production"])
    lever_api_key = EncryptedSecretField()
    lever_signature_token = EncryptedSecretField()
    # Kept valid during a change-over until `tenants retire-token` (docs/LEVER.md, Webhooks).
    lever_signature_token_previous = EncryptedSecretField()
    signature_token_confirmed_at = models.DateTimeField(null=True, blank=True)
    trigger_stage_ids = models.JSONField(default=list, blank=True)
    note_author_user_id = models.CharField(max_length=100, blank=True)  # Lever `perform_as`
    notes_secret = models.BooleanField(default=False)
    piecemeal = models.BooleanField(default=False)
    cma = models.BooleanField(default=False, verbose_name="client matrix adjudication")
    # Extras (connectors/extras.py), each off by default: a blank prefix or stage is off.
    status_tag_prefix = models.CharField(max_length=50, blank=True)
    advance_stage_id = models.CharField(max_length=200, blank=True)
    advance_only_green = models.BooleanField(default=False)
    notify_followers = models.BooleanField(default=False)
    lever_rate_per_s = models.FloatField(default=10.0)
    lever_burst = models.PositiveIntegerField(default=10)

    backcheck_base_url = models.URLField(max_length=300, blank=True)
    backcheck_client_id = EncryptedSecretField()
    backcheck_client_secret = EncryptedSecretField()

    account_managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="managed_tenants"
    )
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_result = models.JSONField(null=True, blank=True)
    # Lever reads the key was refused (403): {"stages"|"users"|"postings": {"at", "detail"}}.
    # Processing falls back and goes on; the tenant's health shows each until a check clears it.
    lever_permission_warnings = models.JSONField(default=dict, blank=True)
    # Names Lever last gave for its ids, so that pages show "Background Check" beside the id:
    # {"stages": {id: name}, "users": {id: name}}. A cache of Lever's lists, not a setting.
    lever_names = models.JSONField(default=dict, blank=True)
    # Up to when Lever's list of deleted opportunities has been read (orders/services/lifecycle.py).
    lever_deleted_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def secret_field_names(cls) -> tuple[str, ...]:
        """The encrypted columns, read from the model itself: a credential added later is
        deferred wherever tenants are listed without anyone updating a list."""
        return tuple(
            f.name for f in cls._meta.concrete_fields if isinstance(f, EncryptedSecretField)
        )

    @property
    def webhook_url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL}/api/v1/webhooks/lever/{self.webhook_id}/"

    @property
    def lever_base_url_preset(self) -> str | None:
        for name, url in LEVER_BASE_URL_PRESETS.items():
            if url == self.lever_base_url:
                return name
        return None


class Package(models.Model):
    """A screening package the tenant may order; `code` is Backcheck's `packageId`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="packages")
    code = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    lever_tag = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["tenant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="package_code_unique"),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(is_default=True), name="one_default_package"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class TenantAuditEntry(models.Model):
    """Who changed what, when — never the value."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=200)  # username, "cli", "intake link" …
    action = models.CharField(max_length=50)
    field = models.CharField(max_length=100, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.field}".strip()


class IntakeLinkQuerySet(models.QuerySet["IntakeLink"]):
    def recent(self) -> IntakeLinkQuerySet:
        """The newest links first, as the tenant page lists them (a page, not the history)."""
        return self.select_related("tenant").order_by("-created_at", "-id")[:20]

    def unacknowledged_uses(self) -> IntakeLinkQuerySet:
        """Used links whose "credentials received" notice nobody has dismissed yet."""
        return (
            self.filter(used_at__isnull=False, notice_dismissed_at__isnull=True)
            .select_related("tenant")
            .order_by("-used_at", "-id")
        )


class IntakeLink(models.Model):
    """A single-use, expiring link through which a customer types in their Lever credentials.

    Only an HMAC of the link's token is stored (connectors/tenants/intake_links.py says under
    which key), so a database dump does not hand out usable links. Services live in
    connectors/tenants/intake_links.py and intake_submit.py.
    """

    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    LOCKED = "locked"
    MAX_FAILED_ATTEMPTS = 5

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="intake_links")
    token_hmac = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_label = models.CharField(max_length=200)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by_label = models.CharField(max_length=200, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_ip = models.GenericIPAddressField(null=True, blank=True)
    # The "credentials received" notice stays on the tenant page until someone dismisses it.
    notice_dismissed_at = models.DateTimeField(null=True, blank=True)
    notice_dismissed_by_label = models.CharField(max_length=200, blank=True)

    objects = IntakeLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"intake link #{self.pk} for {self.tenant_id} ({self.state})"

    def state_at(self, now: Any) -> str:
        # Precedence: what happened to the link beats the clock, so a link used an hour before
        # it expired still reads "used".
        if self.used_at is not None:
            return self.USED
        if self.revoked_at is not None:
            return self.REVOKED
        if self.locked_at is not None:
            return self.LOCKED
        if self.expires_at <= now:
            return self.EXPIRED
        return self.OPEN

    @property
    def state(self) -> str:
        from django.utils import timezone

        return self.state_at(timezone.now())

    @property
    def attempts_left(self) -> int:
        return max(0, self.MAX_FAILED_ATTEMPTS - self.failed_attempts)


class EncryptionCanary(models.Model):
    """One row holding a random value encrypted like every credential. /readyz decrypts it, so a
    wrong or missing FIELD_ENCRYPTION_KEYS shows as "not ready: encryption" before any webhook
    meets it; rotate_encryption_keys re-encrypts it with the other secrets."""

    value = EncryptedSecretField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return "encryption canary"
