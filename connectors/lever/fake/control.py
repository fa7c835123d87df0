"""The fake Lever's control API (JSON, no Lever auth; listed in __init__) and the recruiter's
notes page (GET /candidates/<id>). Add a control route as one more `if` in `_control`."""

from __future__ import annotations

import html
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from connectors.lever.fake.errors import ApiError
from connectors.lever.fake.routes import Json, Query, _json, _not_found, _opportunity_json

if TYPE_CHECKING:
    from connectors.lever.fake.state import LeverState

JSON = "application/json"
# (status, body, content type)
Page = tuple[int, Any, str]


def control(fake: LeverState, method: str, path: str, query: Query, body: bytes) -> Page:
    try:
        if path.startswith("/candidates/") and method == "GET":
            return _candidate_page(fake, unquote(path[len("/candidates/") :]).strip("/"))
        status, payload = _control(fake, method, path.rstrip("/"), _json(body))
        return status, payload, JSON
    except ApiError as exc:
        return exc.status, {"code": exc.code, "message": exc.message}, JSON
    except (ValueError, TypeError, KeyError) as exc:
        return 400, {"code": "BadRequestError", "message": str(exc)}, JSON


def _find_opportunity(fake: LeverState, opp_id: str) -> tuple[str, Json, Json]:
    with fake.lock:
        for api_key, account in fake.accounts.items():
            if opp_id in account["opportunities"]:
                return api_key, account, account["opportunities"][opp_id]
    raise _not_found(f"opportunities {opp_id}")


def _control(fake: LeverState, method: str, path: str, payload: Any) -> tuple[int, Any]:
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
        opp_id, stage_id = payload["opportunity_id"], payload["stage_id"]
        webhook_url, token = payload.get("webhook_url"), payload.get("signature_token")
        if payload.get("async"):
            # The move happens now; the webhook (and its retries) follow in the background.
            body = fake.move_to_stage(api_key, opp_id, stage_id, signature_token=token)
            if webhook_url:
                threading.Thread(
                    target=fake.deliver,
                    args=(webhook_url, body),
                    kwargs={"retries": len(fake.webhook_retry_gaps)},
                    daemon=True,
                ).start()
            return 202, {"body": body}
        body = fake.move_to_stage(
            api_key, opp_id, stage_id, webhook_url=webhook_url, signature_token=token
        )
        return 200, {"body": body}
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


def _candidate_page(fake: LeverState, opp_id: str) -> Page:
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
