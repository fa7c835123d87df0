"""Re-encrypt every stored secret under the newest key of FIELD_ENCRYPTION_KEYS, as enc:v2.

It also converts values of the earlier enc:v1 form (bound to their column only) to enc:v2 (bound
to the row too, connectors/crypto.py). Run it once every process runs a version that reads v2.

Key rotation, step by step: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones
after it), restart, run this command, check with `--check`, then remove the old keys.

Every encrypted column of every model is covered (found by field type, so a new encrypted field
needs no change here). A value that does not decrypt — its key is missing or wrong, or the data
was tampered with — stops the command and rolls everything back: ciphertext is never copied
through as if it were a value, and nothing is half-rotated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from connectors.crypto import (
    DecryptionError,
    EncryptionConfigError,
    decrypt,
    encrypt,
    key_id_of,
    keyring,
    version_of,
)
from connectors.fields import EncryptedSecretField


def _row_id_column(model: Any) -> str | None:
    attname = getattr(model, "ENCRYPTION_ROW_ID", None)
    return model._meta.get_field(attname).column if attname else None


def _is_current(token: str, ring: Any, bound: bool) -> bool:
    return key_id_of(token) == ring.current_id and (version_of(token) == 2 or not bound)


def encrypted_columns() -> Iterator[tuple[Any, list[EncryptedSecretField]]]:
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedSecretField)]
        if fields:
            yield model, fields


def _column(field: EncryptedSecretField) -> str:
    # Typed optional in django-stubs; set on every field of a model class (set_attributes_from_name).
    return cast(str, field.column)


def _raw_rows(model: Any, fields: list[EncryptedSecretField]) -> list[tuple[Any, ...]]:
    """(pk, row id or None, token, token, …) per row."""
    # Raw SQL: the ORM would decrypt on load, and rotation needs the stored tokens themselves.
    quote = connection.ops.quote_name
    row_id = _row_id_column(model)
    columns = ", ".join([quote(row_id) if row_id else "NULL", *(quote(_column(f)) for f in fields)])
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {pk}, {columns} FROM {table} ORDER BY {pk}")  # noqa: S608
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows


class Command(BaseCommand):
    help = "Re-encrypt every secret under the newest FIELD_ENCRYPTION_KEYS key (or --check)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; report rows not under the newest key and exit 1 if any.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ring = keyring()
        except EncryptionConfigError as exc:
            raise CommandError(str(exc))
        if options["check"]:
            self._check(ring, {kid for kid, _ in ring.keys})
        else:
            self._rotate(ring)

    def _check(self, ring: Any, configured: set[str]) -> None:
        current = ring.current_id
        stale = 0
        unknown: set[str] = set()
        for model, fields in encrypted_columns():
            bound = _row_id_column(model) is not None
            for row in _raw_rows(model, fields):
                tokens = [v for v in row[2:] if v]
                ids = {key_id_of(v) if v.startswith("enc:") else "?" for v in tokens}
                old = ids - {current}
                v1 = bound and any(v.startswith("enc:v1:") for v in tokens)
                if old or v1:
                    stale += 1
                    unknown |= old - configured
                    why = f"under key(s) {', '.join(sorted(old))}" if old else "in the v1 form"
                    self.stdout.write(f"{model._meta.label} #{row[0]}: {why}")
        if unknown:
            self.stdout.write(
                f"Key id(s) not in FIELD_ENCRYPTION_KEYS: {', '.join(sorted(unknown))} — "
                "those rows cannot be read until the key is added back."
            )
        if stale:
            raise CommandError(
                f"{stale} row(s) are not in the v2 form under the newest key {current!r}; "
                "run `manage.py rotate_encryption_keys`."
            )
        self.stdout.write(f"All rows are under the newest key {current!r}.")

    def _rotate(self, ring: Any) -> None:
        rows_changed = values_changed = rows_seen = 0
        quote = connection.ops.quote_name
        try:
            with transaction.atomic():
                for model, fields in encrypted_columns():
                    table = quote(model._meta.db_table)
                    pk_column = quote(model._meta.pk.column)
                    bound = _row_id_column(model) is not None
                    for row in _raw_rows(model, fields):
                        rows_seen += 1
                        pk, row_id, stored = row[0], row[1], row[2:]
                        row_id = str(row_id) if row_id not in (None, "") else None
                        updates = []
                        for field, token in zip(fields, stored, strict=True):
                            if not token:
                                continue
                            # Decrypt even when already current: a bad value must be found now,
                            # not when a worker first needs it.
                            plain = decrypt(token, context=field.context, ring=ring, row_id=row_id)
                            if not _is_current(token, ring, bound and row_id is not None):
                                new = encrypt(
                                    plain, context=field.context, ring=ring, row_id=row_id
                                )
                                updates.append((_column(field), token, new))
                        for column, old, new in updates:
                            # Conditional: a value rewritten meanwhile is already current.
                            with connection.cursor() as cursor:
                                cursor.execute(
                                    f"UPDATE {table} SET {quote(column)} = %s "  # noqa: S608
                                    f"WHERE {pk_column} = %s AND {quote(column)} = %s",
                                    [new, pk, old],
                                )
                        if updates:
                            rows_changed += 1
                            values_changed += len(updates)
        except DecryptionError as exc:
            raise CommandError(
                f"Rotation stopped and rolled back, nothing changed: {exc} "
                "Add the missing key to FIELD_ENCRYPTION_KEYS (after the newest) and retry."
            )
        self.stdout.write(
            f"Re-encrypted {rows_changed} row(s) ({values_changed} value(s)) under key "
            f"{ring.current_id!r}; {rows_seen - rows_changed} row(s) were already current."
        )
