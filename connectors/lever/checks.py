"""Is a tenant's Lever set up right? (the "Test connection" button and `tenants check`).

Calls Lever with the stored key: `GET /stages` proves the key and names the trigger stages,
`GET /users` finds the note author. The answer is JSON-serializable and never holds the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.utils import timezone

from connectors.http import HttpError
from connectors.lever.client import LeverAccount, LeverClient, RateLimited
from connectors.lever.shapes import Stage, User
from integration_portal.redaction import redact

# The check runs in a web request or a command, not a worker: a short wait for our own rate
# limiter is better than reporting a healthy key as broken.
MAX_LIMITER_WAIT_S = 2.0

_T = TypeVar("_T")


def _call(func: Callable[[], _T]) -> _T:
    deadline = time.monotonic() + MAX_LIMITER_WAIT_S
    while True:
        try:
            return func()
        except RateLimited as exc:
            wait = exc.retry_after_s or 0.1
            if time.monotonic() + wait > deadline:
                raise
            time.sleep(wait)


def _failure(exc: HttpError) -> tuple[str, str]:
    """Status and a fixed explanation: the body of Lever's answer is never shown or logged.

    Whatever answered may not be Lever at all, and its body could carry anything, so only the
    status code reaches the page. Messages without a status are the portal's own (connect
    failures, the outbound address rule) and are kept.
    """
    if exc.status == 401:
        return "invalid_key", "Lever refused the API key (401). Generate a new key and store it."
    if exc.status == 403:
        return "forbidden", "Lever accepted the key but refused access (403)."
    if isinstance(exc, RateLimited):
        return "error", f"Rate limited: try again in {exc.retry_after_s:.0f} s."
    if exc.status is None:
        return "unreachable", f"Lever could not be reached: {exc.message}."
    if exc.status >= 500:
        return "unreachable", f"Lever answered {exc.status} (a server error): try again later."
    if exc.status == 404:
        return "error", "Lever answered 404: check the tenant's Lever base URL."
    if 200 <= exc.status < 300:
        return "error", f"Lever's answer ({exc.status}) could not be read as Lever's API."
    return "error", f"Lever answered an unexpected status ({exc.status})."


# Optional reads: a key Lever refuses one of them (403) still works — processing falls back —
# so the check reports a warning, never a refused key.
_WARNINGS = {
    "stages": "the key cannot read stages (403), so trigger stages cannot be named and notes "
    "show stage ids",
    "users": "the key cannot read users (403), so the note author cannot be checked",
}


def _optional(func: Callable[[], _T], read: str, permissions: dict[str, str]) -> _T | None:
    try:
        value = _call(func)
    except HttpError as exc:
        if exc.status != 403 or isinstance(exc, RateLimited):
            raise
        permissions[read] = "forbidden"
        return None
    permissions[read] = "ok"
    return value


def lever_check(tenant: LeverAccount) -> dict[str, Any]:
    """{"status", "detail", "checked_at", "stages", "note_author", "permissions", "warnings"}.

    `permissions` maps each optional read ("stages", "users") to "ok" or "forbidden"; a
    forbidden one is a warning (the key still works), a 401 is a refused key.
    """
    checked_at = timezone.now().isoformat()
    stage_ids = [str(s) for s in (tenant.trigger_stage_ids or [])]
    author_id = tenant.note_author_user_id or ""
    result: dict[str, Any] = {
        "status": "error",
        "detail": "",
        "checked_at": checked_at,
        "stages": [{"id": sid, "name": None, "known": False} for sid in stage_ids],
        "note_author": {"id": author_id, "name": None, "found": False} if author_id else None,
        "permissions": {},
        "warnings": [],
    }
    secret = tenant.lever_api_key
    if not secret:
        result["status"] = "not_configured"
        result["detail"] = "No Lever API key is stored for this tenant."
        return result
    api_key = secret.reveal()
    permissions: dict[str, str] = result["permissions"]
    try:
        with LeverClient.for_tenant(tenant) as client:
            stage_list = _optional(client.list_stages, "stages", permissions)
            user_list = _optional(client.list_users, "users", permissions) if author_id else None
    except HttpError as exc:
        result["status"], detail = _failure(exc)
        result["detail"] = redact(detail).replace(api_key, "••••")
        return result
    except Exception as exc:  # a check must report, not crash the page that asked for it
        result["detail"] = f"The check failed unexpectedly ({type(exc).__name__})."
        return result

    result["warnings"] = [_WARNINGS[read] for read, got in permissions.items() if got != "ok"]
    # Every name Lever gave, for the set-up pickers (tenant_check stores them, not the result).
    result["names"] = {
        "stages": {stage.id: stage.text for stage in stage_list or []},
        "users": {user.id: user.name for user in user_list or []},
    }
    problems = []
    if not stage_ids:
        problems.append("no trigger stage is set")
    if stage_list is not None:
        stages = {stage.id: stage.text for stage in stage_list}
        result["stages"] = [
            {"id": sid, "name": stages.get(sid), "known": sid in stages} for sid in stage_ids
        ]
        unknown = [s["id"] for s in result["stages"] if not s["known"]]
        if unknown:
            problems.append("trigger stage ids unknown to Lever: " + ", ".join(unknown))
    if author_id and user_list is not None:
        users = {user.id: user.name for user in user_list}
        found = author_id in users
        result["note_author"] = {"id": author_id, "name": users.get(author_id), "found": found}
        if not found:
            problems.append(f"note author {author_id} is not a Lever user")
    result["status"] = "ok"
    result["detail"] = (
        "The Lever API key works."
        + (" Warning: " + "; ".join(result["warnings"]) + "." if result["warnings"] else "")
        + (" Check: " + "; ".join(problems) + "." if problems else "")
    )
    return result


@dataclass(frozen=True)
class LeverDirectory:
    """Lever's stages and users for the pickers; a list is None when it could not be read."""

    stages: list[Stage] | None
    users: list[User] | None
    problem: str = ""  # why a list is missing, for the page


def lever_directory(tenant: LeverAccount) -> LeverDirectory:
    """Read Lever's stages and users with the tenant's stored key, never raising."""
    if not tenant.lever_api_key:
        return LeverDirectory(None, None, "No Lever API key is stored yet.")
    api_key = tenant.lever_api_key.reveal()
    permissions: dict[str, str] = {}
    try:
        with LeverClient.for_tenant(tenant) as client:
            stages = _optional(client.list_stages, "stages", permissions)
            users = _optional(client.list_users, "users", permissions)
    except HttpError as exc:
        detail = redact(_failure(exc)[1]).replace(api_key, "••••")
        return LeverDirectory(None, None, f"Lever's lists could not be read: {detail}")
    except Exception as exc:  # a page must still render, with the ids to type instead
        detail = redact(f"{type(exc).__name__}: {exc}").replace(api_key, "••••")
        return LeverDirectory(None, None, f"Lever's lists could not be read: {detail}")
    refused = [_WARNINGS[read] for read, got in permissions.items() if got != "ok"]
    problem = (
        ("Lever's lists could not all be read: " + "; ".join(refused) + ".") if refused else ""
    )
    return LeverDirectory(stages, users, problem)
