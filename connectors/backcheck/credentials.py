"""Per-order callback credentials (docs/CONTRACT.md §6).

Each order gets its own random username and password; Backcheck sends them back as HTTP Basic on
every callback. Only an HMAC-SHA256 of the password under `CALLBACK_HMAC_KEY` is stored. A slow
password hasher buys nothing here: the password is 256 random bits, not something a person chose,
so it cannot be guessed offline, and a fast check keeps the callback endpoint cheap under load.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

_TOKEN_BYTES = 32  # 256 bits


def generate_callback_credentials() -> tuple[str, str]:
    """`(username, password)`, each 256 random bits, urlsafe base64 (no padding)."""
    return secrets.token_urlsafe(_TOKEN_BYTES), secrets.token_urlsafe(_TOKEN_BYTES)


def _hmac_key() -> bytes:
    from django.conf import settings

    key = settings.CALLBACK_HMAC_KEY
    if not key:
        # Settings fall back to SECRET_KEY, so this only happens with a broken configuration;
        # an HMAC under an empty key would be a plain hash anyone could compute.
        raise RuntimeError("CALLBACK_HMAC_KEY is empty; callback passwords cannot be hashed.")
    return key.encode()


def hash_callback_password(password: str) -> str:
    """Hex HMAC-SHA256 of the password: what the order row stores."""
    return hmac.new(_hmac_key(), password.encode(), hashlib.sha256).hexdigest()


def verify_callback_password(password: str, stored_hash: str) -> bool:
    """Constant-time check of a presented password against the stored HMAC."""
    if not password or not stored_hash:
        return False
    return hmac.compare_digest(hash_callback_password(password), stored_hash)


def verify_callback_credentials(
    *, username: str, password: str, stored_username: str, stored_hash: str
) -> bool:
    """Both halves checked, both in constant time, and both always evaluated (no early exit that
    would tell a caller which half was wrong)."""
    name_ok = hmac.compare_digest(username.encode(), stored_username.encode())
    password_ok = verify_callback_password(password, stored_hash)
    return bool(stored_username) and name_ok and password_ok


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """`(username, password)` from an `Authorization: Basic …` header; None when it is missing or
    malformed (wrong scheme, bad base64, not UTF-8, no colon, empty username)."""
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    username, sep, password = decoded.partition(":")
    if not sep or not username:
        return None
    return username, password
