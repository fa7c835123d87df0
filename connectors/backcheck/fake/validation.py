"""What the fake Backcheck refuses in a `POST /screenings` body (docs/CONTRACT.md §6)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


def validate_create(body: Any, packages: Mapping[str, Any]) -> str | None:
    """The first problem with a `POST /screenings` body, or None."""
    if not isinstance(body, dict):
        return "The body must be a JSON object."

    def text(obj: Any, key: str, where: str, *, allow_empty: bool = False) -> str | None:
        value = obj.get(key) if isinstance(obj, dict) else None
        if not isinstance(value, str) or (not allow_empty and not value.strip()):
            return f"{where}{key} is required and must be a string."
        return None

    candidate = body.get("candidate")
    callback = body.get("callback")
    credentials = callback.get("credentials") if isinstance(callback, dict) else None
    basic = credentials.get("basicAuth") if isinstance(credentials, dict) else None
    checks = [
        text(body, "clientReferenceId", ""),
        text(body, "packageId", ""),
        None if isinstance(candidate, dict) else "candidate is required and must be an object.",
        text(candidate, "givenName", "candidate.", allow_empty=True),
        text(candidate, "familyName", "candidate."),
        text(candidate, "email", "candidate."),
        None if isinstance(callback, dict) else "callback is required and must be an object.",
        text(callback, "uri", "callback."),
        text(basic, "username", "callback.credentials.basicAuth."),
        text(basic, "password", "callback.credentials.basicAuth."),
    ]
    for problem in checks:
        if problem:
            return problem
    if not isinstance(candidate, dict) or not isinstance(callback, dict):  # checked above
        return "candidate and callback must be objects."
    if "@" not in candidate["email"]:
        return "candidate.email is not an email address."
    phone = candidate.get("phone")
    if phone is not None and not isinstance(phone, str):
        return "candidate.phone must be a string or null."
    if urlsplit(callback["uri"]).scheme not in ("http", "https"):
        return "callback.uri must be an http(s) URL."
    if body["packageId"] not in packages:
        return f"Unknown packageId {body['packageId']!r}."
    return None
