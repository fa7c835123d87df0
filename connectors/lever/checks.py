"""Is a tenant's Lever set up right? (the "Test connection" button and `tenants check`).

Calls Lever with the stored key: `GET /stages` proves the key and names the trigger stages,
`GET /users` finds the note author. The answer is JSON-serializable and never holds the key.
"""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone

from connectors.http import HttpError
from connectors.lever.client import LeverClient, RateLimited
from integration_portal.redaction import redact

# The check runs in a web request or a command, not a worker: a short wait for our own rate
# limiter is better than reporting a healthy key as broken.
MAX_LIMITER_WAIT_S = 2.0


def _call(func: Any) -> Any:
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
        return "forbidden", (
            "Lever accepted the key but refused access (403): the key needs permission to read "
            "stages and users and to write notes."
        )
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


def lever_check(tenant: Any) -> dict:
    """{"status", "detail", "checked_at", "stages", "note_author"} — see the module docstring."""
    checked_at = timezone.now().isoformat()
    stage_ids = [str(s) for s in (tenant.trigger_stage_ids or [])]
    author_id = tenant.note_author_user_id or ""
    result: dict[str, Any] = {
        "status": "error",
        "detail": "",
        "checked_at": checked_at,
        "stages": [{"id": sid, "name": None, "known": False} for sid in stage_ids],
        "note_author": {"id": author_id, "name": None, "found": False} if author_id else None,
    }
    secret = tenant.lever_api_key
    if not secret:
        result["status"] = "not_configured"
        result["detail"] = "No Lever API key is stored for this tenant."
        return result
    api_key = secret.reveal()
    try:
        with LeverClient.for_tenant(tenant) as client:
            stages = {stage.id: stage.text for stage in _call(client.list_stages)}
            users = {user.id: user.name for user in _call(client.list_users)} if author_id else {}
    except HttpError as exc:
        result["status"], detail = _failure(exc)
        result["detail"] = redact(detail).replace(api_key, "••••")
        return result
    except Exception as exc:  # a check must report, not crash the page that asked for it
        result["detail"] = f"The check failed unexpectedly ({type(exc).__name__})."
        return result

    result["stages"] = [
        {"id": sid, "name": stages.get(sid), "known": sid in stages} for sid in stage_ids
    ]
    problems = []
    unknown = [s["id"] for s in result["stages"] if not s["known"]]
    if not stage_ids:
        problems.append("no trigger stage is set")
    if unknown:
        problems.append("trigger stage ids unknown to Lever: " + ", ".join(unknown))
    if author_id:
        found = author_id in users
        result["note_author"] = {"id": author_id, "name": users.get(author_id), "found": found}
        if not found:
            problems.append(f"note author {author_id} is not a Lever user")
    result["status"] = "ok"
    result["detail"] = "The Lever API key works." + (
        " Check: " + "; ".join(problems) + "." if problems else ""
    )
    return result
