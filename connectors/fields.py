"""A model field that stores a secret encrypted and loads it as a `Secret`.

A model may name a stable, never-changing row id (`ENCRYPTION_ROW_ID`, an attribute set before
the first save, e.g. a random public id): values saved through the model are then sealed as
enc:v2, bound to that row as well as to the column, and a loaded value sealed for another row
raises DecryptionError. Without it, or through QuerySet.update(), values are sealed as v1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.signals import post_init

from connectors.crypto import DecryptionError, Secret, decrypt, encrypt, row_id_of


class _Sealed(str):
    """A value already encrypted by `pre_save`; `get_prep_value` passes it through."""


def row_id_for(instance: models.Model) -> str | None:
    attname = getattr(type(instance), "ENCRYPTION_ROW_ID", None)
    if not attname or attname not in instance.__dict__:
        return None  # no stable id, or it was not loaded (a deferred field)
    value = instance.__dict__[attname]
    return str(value) if value not in (None, "") else None


if TYPE_CHECKING:
    # Generic in django-stubs only (set: a Secret, plain text or None; read: a Secret or None).
    _SecretTextField = models.TextField[Secret | str | None, Secret | None]
else:
    _SecretTextField = models.TextField


class EncryptedSecretField(_SecretTextField):
    """Encrypted at rest; `None` when unset. Never editable through generic forms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls: Any, name: str, *args: Any, **kwargs: Any) -> None:
        super().contribute_to_class(cls, name, *args, **kwargs)
        if not cls._meta.abstract:
            post_init.connect(self._check_row, sender=cls, weak=False)

    @property
    def context(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def _check_row(self, sender: Any, instance: models.Model, **kwargs: Any) -> None:
        value = instance.__dict__.get(self.attname)
        if not isinstance(value, Secret) or value.bound_row_id is None:
            return
        row_id = row_id_for(instance)
        if row_id is not None and row_id != value.bound_row_id:
            raise DecryptionError(f"The value in {self.context} belongs to another row.")

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret | None:
        if value is None or value == "":
            return None
        return Secret(decrypt(value, context=self.context), bound_row_id=row_id_of(value))

    def to_python(self, value: Any) -> Secret | None:
        if value is None or isinstance(value, Secret):
            return value
        return Secret(str(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None or value == "":
            return None
        if isinstance(value, Secret):
            value = value.reveal()
        return _Sealed(encrypt(str(value), context=self.context, row_id=row_id_for(model_instance)))

    def get_prep_value(self, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, _Sealed):
            return str(value)
        if isinstance(value, Secret):
            value = value.reveal()
        return encrypt(str(value), context=self.context)

    def value_to_string(self, obj: models.Model) -> str:
        # Serialization (dumpdata, admin history) sees the mask, never the value.
        value = self.value_from_object(obj)
        return value.masked if isinstance(value, Secret) else ""
