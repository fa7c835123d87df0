"""The encryption canary behind /readyz's `encryption` check (connectors/models.py)."""

from __future__ import annotations

import secrets

from django.db import DatabaseError

from connectors.crypto import DecryptionError, EncryptionConfigError
from connectors.models import EncryptionCanary

CANARY_ID = 1


def encryption_canary_problem() -> str | None:
    """None when the configured keys decrypt the canary; else a short reason (no secret in it).

    The first call on a new installation writes the canary under the current key. A database
    that cannot be reached is the `database` check's to report, not this one's.
    """
    try:
        # Loading the row decrypts it (EncryptedSecretField.from_db_value).
        if EncryptionCanary.objects.filter(pk=CANARY_ID).first() is None:
            EncryptionCanary.objects.get_or_create(
                pk=CANARY_ID, defaults={"value": secrets.token_urlsafe(24)}
            )
    except (DecryptionError, EncryptionConfigError) as exc:
        return type(exc).__name__
    except DatabaseError:
        return None
    return None
