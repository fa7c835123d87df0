"""Logging helpers referenced from settings.LOGGING."""

from integration_portal.redaction import RedactSecretsFilter

__all__ = ["RedactSecretsFilter"]
