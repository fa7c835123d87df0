"""Authenticated encryption of secrets at rest (docs/CONTRACT.md §4, §8).

Stored forms:

- ``enc:v2:<key id>:<row id>:<urlsafe-base64(nonce ‖ AES-256-GCM ciphertext+tag)>``, written
  now. The associated data is the column and the row's stable id, so a value copied into another
  column or another row does not decrypt (the model checks that the row id is its own).
- ``enc:v1:<key id>:<…>``, the earlier form, bound to the column only. Still read, so processes
  of the previous version and rows not yet converted keep working during an upgrade;
  `rotate_encryption_keys` converts v1 rows to v2.

The key id names which of `FIELD_ENCRYPTION_KEYS` sealed the value, so keys can rotate without a
flag day. Keys are never derived from SECRET_KEY. A missing or wrong key raises; ciphertext is
never handed back as if it were the value.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from integration_portal.redaction import mask, register_secret

PREFIX = "enc:v1:"
PREFIX_V2 = "enc:v2:"
_KEY_ID = re.compile(r"^[a-z0-9-]{1,16}$")
_ROW_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class EncryptionConfigError(Exception):
    """FIELD_ENCRYPTION_KEYS is missing or malformed."""


class DecryptionError(Exception):
    """A stored value cannot be decrypted with the configured keys."""


@dataclass(frozen=True)
class Keyring:
    keys: tuple[tuple[str, bytes], ...]  # newest first

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def get(self, key_id: str) -> bytes:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        raise DecryptionError(
            f"No key with id {key_id!r} is configured in FIELD_ENCRYPTION_KEYS; "
            "add it back to decrypt this value."
        )


def parse_keys(spec: str) -> Keyring:
    """Parse `<key id>:<urlsafe-base64 32-byte key>`, comma-separated, newest first."""
    entries = [part.strip() for part in (spec or "").split(",") if part.strip()]
    if not entries:
        raise EncryptionConfigError(
            "FIELD_ENCRYPTION_KEYS is not set; secrets cannot be encrypted or read."
        )
    keys: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries, start=1):
        key_id, sep, material = entry.partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise EncryptionConfigError(
                f"FIELD_ENCRYPTION_KEYS entry {position}: expected '<key id>:<key>' with a key id "
                "of 1-16 characters from [a-z0-9-]."
            )
        try:
            raw = base64.urlsafe_b64decode(material + "=" * (-len(material) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise EncryptionConfigError(
                f"FIELD_ENCRYPTION_KEYS entry {position} ({key_id}): the key must be 32 bytes, "
                "urlsafe-base64 encoded."
            )
        if any(kid == key_id for kid, _ in keys):
            raise EncryptionConfigError(f"FIELD_ENCRYPTION_KEYS names key id {key_id!r} twice.")
        keys.append((key_id, raw))
    return Keyring(tuple(keys))


@lru_cache(maxsize=8)
def _keyring_for(spec: str) -> Keyring:
    return parse_keys(spec)


def keyring() -> Keyring:
    from django.conf import settings

    return _keyring_for(settings.FIELD_ENCRYPTION_KEYS)


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def _aad(context: str, row_id: str | None) -> bytes:
    return (context if row_id is None else f"{context}#{row_id}").encode()


def encrypt(
    plaintext: str, *, context: str, ring: Keyring | None = None, row_id: str | None = None
) -> str:
    """v2 (bound to the column and `row_id`) when a row id is given, else v1 (column only)."""
    ring = ring or keyring()
    key_id = ring.current_id
    nonce = os.urandom(12)
    if row_id is not None and not _ROW_ID.match(row_id):
        raise ValueError("A row id is 1-100 characters of [A-Za-z0-9_-].")
    sealed = AESGCM(ring.get(key_id)).encrypt(nonce, plaintext.encode(), _aad(context, row_id))
    blob = base64.urlsafe_b64encode(nonce + sealed).decode()
    if row_id is None:
        return f"{PREFIX}{key_id}:{blob}"
    return f"{PREFIX_V2}{key_id}:{row_id}:{blob}"


def _parse(token: str) -> tuple[int, str, str | None, str]:
    """(version, key id, row id or None, base64 blob)."""
    if token.startswith(PREFIX):
        key_id, _, blob = token[len(PREFIX) :].partition(":")
        return 1, key_id, None, blob
    if token.startswith(PREFIX_V2):
        key_id, _, rest = token[len(PREFIX_V2) :].partition(":")
        row_id, _, blob = rest.partition(":")
        return 2, key_id, row_id, blob
    raise DecryptionError("The stored value is not an encrypted token.")


def key_id_of(token: str) -> str:
    return _parse(token)[1]


def version_of(token: str) -> int:
    return _parse(token)[0]


def row_id_of(token: str) -> str | None:
    """The row id a v2 token is bound to; None for v1."""
    return _parse(token)[2]


def decrypt(
    token: str, *, context: str, ring: Keyring | None = None, row_id: str | None = None
) -> str:
    """The plaintext. With `row_id`, a v2 token bound to another row is refused."""
    ring = ring or keyring()
    version, key_id, bound_row, blob_text = _parse(token)
    if version == 2 and row_id is not None and bound_row != row_id:
        raise DecryptionError(f"The value in {context} belongs to another row.")
    try:
        blob = base64.urlsafe_b64decode(blob_text)
        plaintext = AESGCM(ring.get(key_id)).decrypt(blob[:12], blob[12:], _aad(context, bound_row))
    except (InvalidTag, ValueError, binascii.Error) as exc:
        raise DecryptionError(
            f"The value in {context} does not decrypt with key {key_id!r}: wrong key or "
            "tampered data."
        ) from exc
    return plaintext.decode()


class Secret:
    """A decrypted secret. Prints masked; `.reveal()` is the only way to the value."""

    __slots__ = ("_value", "bound_row_id")

    def __init__(self, value: str, *, bound_row_id: str | None = None) -> None:
        self._value = value
        # The row a loaded v2 value was sealed for; the model checks it is its own row.
        self.bound_row_id = bound_row_id
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:  # never pickled or serialized by accident
        raise TypeError("Secret values cannot be serialized.")
