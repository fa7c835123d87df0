"""The fake Lever's API routes (docs/LEVER.md): one `if` per route in `api` and `_opportunity_route`.

The control API and the recruiter's notes page are in `control`.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from connectors.lever.fake.errors import ApiError

if TYPE_CHECKING:
    from connectors.lever.fake.state import LeverState

Json = dict[str, Any]
Query = dict[str, list[str]]
# (status, body); the body is None for 204.
Answer = tuple[int, Any]


def _not_found(what: str) -> ApiError:
    return ApiError(404, "ResourceNotFound", f"{what} was not found")


def _json(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "BadRequestError", "Body is not valid JSON") from None


def _segments(path: str) -> list[str]:
    return [unquote(part) for part in path.strip("/").split("/")]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _opportunity_json(account: Json, opp: Json, expand: list[str]) -> Json:
    data: Json = json.loads(json.dumps(opp))
    if account.get("archived_shape") == "top-level":
        # The shape of the reference's opportunity example: no `archived` object, top-level
        # `archivedAt` / `archiveReason` (null when active).
        archived = data.pop("archived", None) or {}
        data["archivedAt"] = archived.get("archivedAt")
        data["archiveReason"] = archived.get("reason")
    if "applications" not in expand:
        data["applications"] = [a["id"] for a in opp["applications"]]
    if "stage" in expand:
        data["stage"] = next((s for s in account["stages"] if s["id"] == opp["stage"]), None)
    return data


def _string_list(payload: Any, field: str) -> list[str]:
    value = payload.get(field) if isinstance(payload, dict) else None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, "BadRequestError", f"{field} must be an array of strings")
    return value


def is_forbidden(account: Json, method: str, parts: list[str], query: Query) -> bool:
    """Whether the account's key lacks the permission for this request (see `add_account`)."""
    for rule_method, rule_parts, param in account.get("forbidden", []):
        if rule_method != method or len(rule_parts) != len(parts):
            continue
        if all(r in ("*", p) for r, p in zip(rule_parts, parts, strict=True)):
            if param is None or param in query:
                return True
    return False


# -- the Lever API -----------------------------------------------------------------------------
def api(
    fake: LeverState, account: Json, method: str, path: str, query: Query, body: bytes
) -> Answer:
    parts = _segments(path)
    if not parts or parts[0] != "v1":
        raise _not_found("Route")
    parts = parts[1:]
    if is_forbidden(account, method, parts, query):
        raise ApiError(403, "ForbiddenError", "This API key does not have permission to do this")
    with fake.lock:
        if parts == ["stages"] and method == "GET":
            return 200, fake._page(account["stages"], query)
        if parts == ["users"] and method == "GET":
            return 200, fake._page(account["users"], query)
        if len(parts) == 2 and parts[0] == "postings" and method == "GET":
            posting = account["postings"].get(parts[1])
            if posting is None:
                raise _not_found(f"postings {parts[1]}")
            return 200, {"data": posting}
        if parts == ["opportunities", "deleted"] and method == "GET":
            return 200, fake._page(_deleted_since(account, query), query)
        if len(parts) >= 2 and parts[0] == "opportunities":
            opp = account["opportunities"].get(parts[1])
            if opp is None:
                raise _not_found(f"opportunities {parts[1]}")
            return _opportunity_route(fake, account, opp, method, parts[2:], query, body)
    raise _not_found("Route")


def _deleted_since(account: Json, query: Query) -> list[Json]:
    """Deleted opportunities, oldest first, from `deleted_at_start` (epoch ms) if given."""
    start_text = (query.get("deleted_at_start") or [""])[0]
    if start_text and not start_text.isdigit():
        raise ApiError(400, "BadRequestError", "deleted_at_start must be a timestamp in ms")
    start = int(start_text) if start_text else None
    deleted: list[Json] = account.get("deleted", [])
    return [d for d in deleted if start is None or d["deletedAt"] >= start]


def _opportunity_route(
    fake: LeverState,
    account: Json,
    opp: Json,
    method: str,
    rest: list[str],
    query: Query,
    body: bytes,
) -> Answer:
    if not rest and method == "GET":
        expand = query.get("expand", [])
        return 200, {"data": _opportunity_json(account, opp, expand)}
    if rest == ["notes"] and method == "GET":
        live = [n for n in account["notes"][opp["id"]] if n["deletedAt"] is None]
        return 200, fake._page(live, query)
    if rest == ["notes"] and method == "POST":
        return _create_note(fake, account, opp, query, _json(body))
    if len(rest) == 2 and rest[0] == "notes" and method in ("PUT", "DELETE"):
        note = next(
            (n for n in account["notes"][opp["id"]] if n["id"] == rest[1] and not n["deletedAt"]),
            None,
        )
        if note is None:
            raise _not_found(f"notes {rest[1]}")
        if note.get("source") != "api":  # docs/LEVER.md: only notes created through the API
            raise ApiError(403, "ForbiddenError", "Only notes created through the API can change")
        if method == "DELETE":
            note["deletedAt"] = _now_ms()
            return 204, None
        values = _json(body).get("values") if isinstance(_json(body), dict) else None
        if (
            not isinstance(values, list)
            or not values
            or not isinstance(values[0], dict)
            or not isinstance(values[0].get("value"), str)
        ):
            raise ApiError(400, "BadRequestError", 'values must be [{"value": "..."}]')
        note["fields"][0]["value"] = note["text"] = values[0]["value"]
        note["updatedAt"] = _now_ms()
        return 200, {"data": {"noteId": note["id"]}}
    if rest in (["addTags"], ["removeTags"]) and method == "POST":
        tags = _string_list(_json(body), "tags")
        if rest == ["addTags"]:
            opp["tags"].extend(t for t in tags if t not in opp["tags"])
        else:
            opp["tags"] = [t for t in opp["tags"] if t not in tags]
        opp["updatedAt"] = _now_ms()
        return 200, {"data": _opportunity_json(account, opp, [])}
    if rest == ["addLinks"] and method == "POST":
        links = _string_list(_json(body), "links")
        opp["links"].extend(link for link in links if link not in opp["links"])
        return 200, {"data": _opportunity_json(account, opp, [])}
    if rest == ["stage"] and method == "PUT":
        payload = _json(body)
        stage_id = payload.get("stage") if isinstance(payload, dict) else None
        if not isinstance(stage_id, str) or fake._stage_index(account, stage_id) is None:
            raise ApiError(400, "BadRequestError", "stage must be a known stage id")
        user = _perform_as(account, query)
        # Recorded like a recruiter's move: stage history with the acting user, lastAdvancedAt.
        now = _now_ms()
        opp["stage"] = stage_id
        opp["stageChanges"].append(
            {
                "toStageId": stage_id,
                "toStageIndex": fake._stage_index(account, stage_id),
                "updatedAt": now,
                "userId": user,
            }
        )
        opp["lastAdvancedAt"] = opp["updatedAt"] = now
        return 200, {"data": _opportunity_json(account, opp, [])}
    if rest and rest[0] in ("notes", "addTags", "removeTags", "addLinks", "stage"):
        raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed here")
    raise _not_found("Route")


def _perform_as(account: Json, query: Query) -> str | None:
    values = query.get("perform_as")
    user = values[0] if values else None
    if user is not None and not any(u["id"] == user for u in account["users"]):
        raise ApiError(400, "BadRequestError", "perform_as must be the id of a Lever user")
    return user


def _create_note(fake: LeverState, account: Json, opp: Json, query: Query, payload: Any) -> Answer:
    if not isinstance(payload, dict):
        raise ApiError(400, "BadRequestError", "Body must be a JSON object")
    value = payload.get("value")
    if not isinstance(value, str) or not value:
        raise ApiError(400, "BadRequestError", "value is required")
    if "secret" in payload and not isinstance(payload["secret"], bool):
        raise ApiError(400, "BadRequestError", "secret must be a boolean")
    now = _now_ms()
    created = payload.get("createdAt", now)
    if not isinstance(created, int) or created > now + 1000:
        raise ApiError(400, "BadRequestError", "createdAt must not be in the future")
    if "notifyFollowers" in payload and not isinstance(payload["notifyFollowers"], bool):
        raise ApiError(400, "BadRequestError", "notifyFollowers must be a boolean")
    user = _perform_as(account, query)
    note_id = str(uuid.uuid4())
    note = {
        "id": note_id,
        "text": value,
        "fields": [
            {"type": "note", "text": "Comment", "value": value, "createdAt": created, "user": user}
        ],
        "user": user,
        "secret": bool(payload.get("secret", False)),
        "createdAt": created,
        "completedAt": None,
        "deletedAt": None,
        "source": "api",
    }
    if "notifyFollowers" in payload:
        note["notifyFollowers"] = payload["notifyFollowers"]
    account["notes"][opp["id"]].append(note)
    if fake.note_response_style == "note":
        return 201, {"data": json.loads(json.dumps(note))}
    return 201, {"data": {"noteId": note_id}}
