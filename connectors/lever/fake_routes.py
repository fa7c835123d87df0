"""Routes of the fake Lever (see fake_server.py): the Lever API, the control API, the notes page."""

from __future__ import annotations

import html
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

JSON = "application/json"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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


def _opportunity_json(account: dict, opp: dict, expand: list[str]) -> dict:
    data = json.loads(json.dumps(opp))
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


def forbidden_rule(rule: str) -> tuple[str, list[str], str | None]:
    method, _, target = rule.strip().partition(" ")
    path, _, param = target.partition("?")
    if not method or not path.startswith("/"):
        raise ValueError(f"forbidden rules read 'METHOD /path[?param]', not {rule!r}")
    return method.upper(), path.strip("/").split("/"), param or None


def is_forbidden(account: dict, method: str, parts: list[str], query: dict) -> bool:
    """Whether the account's key lacks the permission for this request (see `add_account`)."""
    for rule_method, rule_parts, param in account.get("forbidden", []):
        if rule_method != method or len(rule_parts) != len(parts):
            continue
        if all(r in ("*", p) for r, p in zip(rule_parts, parts, strict=True)):
            if param is None or param in query:
                return True
    return False


# -- the Lever API -----------------------------------------------------------------------------
def api(fake: Any, account: dict, method: str, path: str, query: dict, body: bytes) -> tuple:
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


def _deleted_since(account: dict, query: dict) -> list[dict]:
    """Deleted opportunities, oldest first, from `deleted_at_start` (epoch ms) if given."""
    start_text = (query.get("deleted_at_start") or [""])[0]
    if start_text and not start_text.isdigit():
        raise ApiError(400, "BadRequestError", "deleted_at_start must be a timestamp in ms")
    start = int(start_text) if start_text else None
    return [d for d in account.get("deleted", []) if start is None or d["deletedAt"] >= start]


def _opportunity_route(
    fake: Any, account: dict, opp: dict, method: str, rest: list[str], query: dict, body: bytes
) -> tuple:
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


def _perform_as(account: dict, query: dict) -> str | None:
    user = (query.get("perform_as") or [None])[0]
    if user is not None and not any(u["id"] == user for u in account["users"]):
        raise ApiError(400, "BadRequestError", "perform_as must be the id of a Lever user")
    return user


def _create_note(fake: Any, account: dict, opp: dict, query: dict, payload: Any) -> tuple:
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


# -- control API (JSON, no Lever auth) and the recruiter's notes page --------------------------
def control(fake: Any, method: str, path: str, query: dict, body: bytes) -> tuple:
    try:
        if path.startswith("/candidates/") and method == "GET":
            return _candidate_page(fake, unquote(path[len("/candidates/") :]).strip("/"))
        status, payload = _control(fake, method, path.rstrip("/"), _json(body))
        return status, payload, JSON
    except ApiError as exc:
        return exc.status, {"code": exc.code, "message": exc.message}, JSON
    except (ValueError, TypeError, KeyError) as exc:
        return 400, {"code": "BadRequestError", "message": str(exc)}, JSON


def _find_opportunity(fake: Any, opp_id: str) -> tuple[str, dict, dict]:
    with fake.lock:
        for api_key, account in fake.accounts.items():
            if opp_id in account["opportunities"]:
                return api_key, account, account["opportunities"][opp_id]
    raise _not_found(f"opportunities {opp_id}")


def _control(fake: Any, method: str, path: str, payload: Any) -> tuple:
    if not isinstance(payload, dict):
        raise ApiError(400, "BadRequestError", "Body must be a JSON object")
    route = (method, path)
    if route == ("GET", "/_control/health"):
        return 200, {"ok": True}
    if route == ("GET", "/_control/state"):
        with fake.lock:
            accounts = [
                {
                    "key_id": a["key_id"],
                    "opportunities": sorted(a["opportunities"]),
                    "stages": a["stages"],
                    "users": a["users"],
                    "bucket": a["bucket"],
                }
                for a in fake.accounts.values()
            ]
            return 200, {"accounts": accounts, "faults": fake.faults}
    if route == ("POST", "/_control/reset"):
        with fake.lock:
            fake.accounts.clear()
            fake.faults.clear()
            fake.requests.clear()
            fake.webhook_deliveries.clear()
        return 200, {"ok": True}
    if route == ("POST", "/_control/accounts"):
        fake.add_account(
            payload["api_key"],
            users=payload.get("users"),
            stages=payload.get("stages"),
            rate=float(payload.get("rate", 10.0)),
            burst=int(payload.get("burst", 20)),
            retry_after_mode=payload.get("retry_after_mode", "retry-after"),
            archived_shape=payload.get("archived_shape", "object"),
            forbidden=payload.get("forbidden") or (),
        )
        if payload.get("signature_token"):
            fake.accounts[payload["api_key"]]["signature_token"] = payload["signature_token"]
        return 201, {"key_id": fake.key_id(payload["api_key"])}
    if route == ("POST", "/_control/rate-limit"):
        api_key, _ = fake._account_by(payload)
        fake.set_rate_limit(
            api_key,
            rate=float(payload["rate"]),
            burst=int(payload["burst"]),
            retry_after_mode=payload.get("retry_after_mode"),
        )
        return 200, {"ok": True}
    if route == ("POST", "/_control/opportunities"):
        api_key, _ = fake._account_by(payload)
        opp_id = fake.add_opportunity(
            api_key,
            name=payload["name"],
            emails=payload.get("emails", []),
            phones=payload.get("phones", []),
            tags=payload.get("tags", []),
            posting_tags=payload.get("posting_tags", []),
            stage=payload.get("stage", "lead-new"),
            archived=payload.get("archived"),
            opportunity_id=payload.get("opportunity_id"),
        )
        return 201, {"id": opp_id}
    if method == "GET" and path.startswith("/_control/opportunities/"):
        _, account, opp = _find_opportunity(fake, path.rsplit("/", 1)[1])
        with fake.lock:
            return 200, {"data": _opportunity_json(account, opp, ["applications"])}
    if method == "GET" and path.startswith("/_control/notes/"):
        api_key, _, opp = _find_opportunity(fake, path.rsplit("/", 1)[1])
        return 200, {"data": fake.notes(api_key, opp["id"])}
    if route == ("POST", "/_control/move"):
        api_key, _ = fake._account_by(payload)
        args = (api_key, payload["opportunity_id"], payload["stage_id"])
        kwargs = {
            "webhook_url": payload.get("webhook_url"),
            "signature_token": payload.get("signature_token"),
        }
        if payload.get("async"):
            # The move happens now; the webhook (and its retries) follow in the background.
            body = fake.move_to_stage(*args, signature_token=kwargs["signature_token"])
            if kwargs["webhook_url"]:
                threading.Thread(
                    target=fake.deliver,
                    args=(kwargs["webhook_url"], body),
                    kwargs={"retries": len(fake.webhook_retry_gaps)},
                    daemon=True,
                ).start()
            return 202, {"body": body}
        return 200, {"body": fake.move_to_stage(*args, **kwargs)}
    if route == ("POST", "/_control/verify-connection"):
        status = fake.send_verify_connection(
            payload["webhook_url"], signature_token=payload.get("signature_token")
        )
        return 200, {"status": status}
    if route == ("POST", "/_control/faults"):
        allowed = {
            "status",
            "count",
            "latency_s",
            "hang",
            "drop_after_read",
            "drop_after_apply",
            "retry_after",
            "method",
            "path_contains",
        }
        unknown = set(payload) - allowed
        if unknown:
            raise ApiError(400, "BadRequestError", f"unknown fault fields: {sorted(unknown)}")
        fake.inject_fault(**payload)
        return 201, {"faults": fake.faults}
    if route == ("DELETE", "/_control/faults"):
        fake.clear_faults()
        return 200, {"ok": True}
    if route == ("GET", "/_control/requests"):
        with fake.lock:
            return 200, {"data": list(fake.requests)}
    if route == ("DELETE", "/_control/requests"):
        fake.clear_requests()
        return 200, {"ok": True}
    if route == ("GET", "/_control/webhooks"):
        with fake.lock:
            return 200, {"data": list(fake.webhook_deliveries)}
    if route == ("POST", "/_control/note-response-style"):
        if payload.get("style") not in ("noteId", "note"):
            raise ApiError(400, "BadRequestError", "style must be noteId or note")
        fake.note_response_style = payload["style"]
        return 200, {"ok": True}
    raise _not_found("Control route")


def _date(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def _candidate_page(fake: Any, opp_id: str) -> tuple:
    try:
        api_key, account, opp = _find_opportunity(fake, opp_id)
    except ApiError:
        return 404, "<!doctype html><title>Not found</title><p>No such candidate.</p>", "text/html"
    esc = html.escape
    with fake.lock:
        stage = next(
            (s["text"] for s in account["stages"] if s["id"] == opp["stage"]), opp["stage"]
        )
        users = {u["id"]: u["name"] for u in account["users"]}
    # Newest first, as the Notes tab shows them; the text keeps its line breaks.
    notes = sorted(fake.notes(api_key, opp_id), key=lambda n: n["createdAt"], reverse=True)
    items = (
        "\n".join(
            f'<article class="note"><header>{esc(users.get(n["user"] or "", "API"))} · '
            f"{esc(_date(n['createdAt']))}{' · secret' if n['secret'] else ''}</header>"
            f"<pre>{esc(n['value'])}</pre></article>"
            for n in notes
        )
        or "<p>No notes yet.</p>"
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(opp["name"])} · Fake Lever</title>
<style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto}}
.note{{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}}
.note header{{color:#555;font-size:.9em}} pre{{white-space:pre-wrap;font-family:inherit}}</style>
</head><body>
<h1>{esc(opp["name"])}</h1>
<p>Stage: <strong>{esc(str(stage))}</strong> · Emails: {esc(", ".join(opp["emails"]) or "none")}
 · Tags: {esc(", ".join(opp["tags"]) or "none")}{" · Archived" if opp["archived"] else ""}</p>
<h2>Notes ({len(notes)})</h2>
{items}
</body></html>"""
    return 200, page, "text/html"
