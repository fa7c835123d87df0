from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


def _forget_webhook_tenant(sender, instance, **kwargs) -> None:
    # Cache upkeep only (connectors/webhook_tenants.py): a saved tenant is read afresh by the
    # next webhook this process answers.
    from connectors.webhook_tenants import webhook_tenant_forget

    webhook_tenant_forget(webhook_id=instance.webhook_id)


class ConnectorsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "connectors"
    verbose_name = "Tenants and connectors"

    def ready(self) -> None:
        tenant = self.get_model("Tenant")
        post_save.connect(_forget_webhook_tenant, sender=tenant, dispatch_uid="webhook-tenant-save")
        post_delete.connect(
            _forget_webhook_tenant, sender=tenant, dispatch_uid="webhook-tenant-delete"
        )
