"""A model field that stores a secret encrypted and loads it as a `Secret`."""

from __future__ import annotations

from typing import Any

from django.db import models

from connectors.crypto import Secret, decrypt, encrypt


class EncryptedSecretField(models.TextField):
    """Encrypted at rest; `None` when unset. Never editable through generic forms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    @property
    def context(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret | None:
        if value is None or value == "":
            return None
        return Secret(decrypt(value, context=self.context))

    def to_python(self, value: Any) -> Secret | None:
        if value is None or isinstance(value, Secret):
            return value
        return Secret(str(value))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, Secret):
            value = value.reveal()
        return encrypt(str(value), context=self.context)

    def value_to_string(self, obj: models.Model) -> str:
        # Serialization (dumpdata, admin history) sees the mask, never the value.
        value = self.value_from_object(obj)
        return value.masked if isinstance(value, Secret) else ""
