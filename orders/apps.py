from django.apps import AppConfig
from django.core.signals import request_finished


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        from orders.queue import publish_deferred

        request_finished.connect(publish_deferred, dispatch_uid="orders-publish-deferred")
