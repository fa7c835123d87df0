from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Imported here, not at the top: both modules import the models, which are ready only now.
        # The tasks are registered with Celery in every process (web and beat too, not only
        # workers), so that a publish by name (orders/jobs.py) goes through the task's own
        # apply_async, and CELERY_TASK_ALWAYS_EAGER runs it inline.
        import orders.tasks  # noqa: F401
        from integration_portal.metrics import register_database_metrics
        from orders.metrics import outbox_families

        # The base layer serves /metrics; the order flow's figures come from its own tables.
        register_database_metrics("orders", outbox_families)
