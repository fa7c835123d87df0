"""Lever webhook authenticity and freshness (docs/LEVER.md, Webhooks → Signature).

signature = hex(HMAC-SHA256(key=<signature token>, message=token + str(triggeredAt)))

Only `token` and `triggeredAt` are signed — never `data` — so the caller must also refuse replays
(unique (tenant, token) and (tenant, id)) and re-read the opportunity before acting on it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterable
from typing import Any

_HEX = frozenset("0123456789abcdef")


def _triggered_at_text(triggered_at: Any) -> str | None:
    """The decimal string Lever signs, or None when the value is not an integer timestamp."""
    if isinstance(triggered_at, bool):
        return None
    if isinstance(triggered_at, int):
        return str(triggered_at)
    if isinstance(triggered_at, str) and triggered_at.isascii() and triggered_at.isdigit():
        return triggered_at
    return None


def compute_signature(signature_token: str, token: str, triggered_at: int | str) -> str:
    text = _triggered_at_text(triggered_at)
    if text is None:
        raise ValueError("triggeredAt must be an integer (epoch milliseconds)")
    message = (token + text).encode()
    return hmac.new(signature_token.encode(), message, hashlib.sha256).hexdigest()


def _reveal(value: Any) -> str:
    # Accept `connectors.crypto.Secret` as well as plain strings.
    return value.reveal() if hasattr(value, "reveal") else (value or "")


def signature_matches(body: Any, signature_tokens: Iterable[Any]) -> bool:
    """True when the body is signed by any of the tokens (current or previous), in constant time.

    False when `token`, `triggeredAt` or `signature` is missing or ill-typed, or no token is set.
    """
    if not isinstance(body, dict):
        return False
    token = body.get("token")
    signature = body.get("signature")
    triggered_at = _triggered_at_text(body.get("triggeredAt"))
    if not isinstance(token, str) or not token or triggered_at is None:
        return False
    if not isinstance(signature, str) or len(signature) != 64:
        return False
    signature = signature.lower()
    if not set(signature) <= _HEX:
        return False
    matched = False
    for candidate in signature_tokens:
        secret = _reveal(candidate)
        if not secret:
            continue
        expected = compute_signature(secret, token, triggered_at)
        # Every token is checked, match or not, so timing says nothing about which one matched.
        matched |= hmac.compare_digest(expected.encode(), signature.encode())
    return matched


def is_fresh(triggered_at_ms: Any, *, now: float | None = None) -> bool:
    """Within LEVER_WEBHOOK_MAX_AGE_S in the past and LEVER_WEBHOOK_MAX_SKEW_S in the future."""
    from django.conf import settings

    text = _triggered_at_text(triggered_at_ms)
    if text is None:
        return False
    now = time.time() if now is None else now
    sent = int(text) / 1000.0
    max_age: int = settings.LEVER_WEBHOOK_MAX_AGE_S
    max_skew: int = settings.LEVER_WEBHOOK_MAX_SKEW_S
    return now - max_age <= sent <= now + max_skew


def is_verify_connection_test(body: Any) -> bool:
    """Lever's Verify Connection test: a delivery whose `data` is an empty object."""
    return isinstance(body, dict) and isinstance(body.get("data"), dict) and body["data"] == {}
