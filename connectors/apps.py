from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_delete, post_save

if TYPE_CHECKING:
    from connectors.models import Tenant


def _forget_webhook_tenant(sender: type[Tenant], instance: Tenant, **kwargs: Any) -> None:
    # Cache upkeep only (connectors/tenants/webhook_tenants.py): a saved tenant is read afresh by the
    # next webhook this process answers.
    from connectors.tenants.webhook_tenants import webhook_tenant_forget

    webhook_tenant_forget(webhook_id=instance.webhook_id)


class ConnectorsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "connectors"
    verbose_name = "Tenants and connectors"

    def ready(self) -> None:
        from connectors.canary import encryption_canary_problem
        from connectors.crypto import EncryptionConfigError, parse_keys
        from integration_portal.health import register_readiness_check

        # A malformed key list stops every process at start (web, worker, beat, commands), naming
        # the variable, instead of failing on the first secret a request or task reads. Empty is
        # refused by the settings in production; debug tolerates it until `.env` exists.
        if settings.FIELD_ENCRYPTION_KEYS.strip():
            try:
                parse_keys(settings.FIELD_ENCRYPTION_KEYS)
            except EncryptionConfigError as exc:
                raise ImproperlyConfigured(str(exc)) from None
        register_readiness_check("encryption", encryption_canary_problem)

        tenant = self.get_model("Tenant")
        post_save.connect(_forget_webhook_tenant, sender=tenant, dispatch_uid="webhook-tenant-save")
        post_delete.connect(
            _forget_webhook_tenant, sender=tenant, dispatch_uid="webhook-tenant-delete"
        )
