from django.apps import AppConfig


class ApiTokensConfig(AppConfig):
    name = "integration_portal.api_tokens"
    label = "api_tokens"
    verbose_name = "API tokens"
    default_auto_field = "django.db.models.BigAutoField"
