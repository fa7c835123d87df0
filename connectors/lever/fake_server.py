"""A fake Lever (real HTTP on 127.0.0.1) that behaves like docs/LEVER.md, for tests and the demo.

    python -m connectors.lever.fake_server --port 8101 [--seed-demo API_KEY SIGNATURE_TOKEN]

(either seed value may be `-` to read it from stdin instead of argv). In tests::

    with FakeLever() as fake:
        fake.add_account("key-1")
        opp = fake.add_opportunity("key-1", name="Ada Lovelace", emails=["ada@example.com"])

What it does: Basic-auth API keys (one account each), Lever's envelopes, error bodies and status
codes, opaque pagination tokens, a token bucket per key answering 429 (with Retry-After,
X-RateLimit-Reset or no header), injectable faults (5xx, latency, hangs, dropped connections), a
log of every request, stage moves that POST signed `candidateStageChange` webhooks (retried five
times on non-2xx), the signed Verify Connection test, a recruiter's HTML view of a candidate's
notes (GET /candidates/<id>), and a JSON control API under /_control/ (no Lever auth).

Control API (JSON bodies; an account is named by "api_key" or "key_id"):
  GET  /_control/health | /_control/state | /_control/requests | /_control/webhooks
  GET  /_control/opportunities/<id> | /_control/notes/<opportunity id>
  POST /_control/reset | /_control/accounts {api_key, users?, stages?, rate?, burst?,
       retry_after_mode?, archived_shape?, forbidden?, signature_token?} | /_control/opportunities {api_key|key_id, name,
       emails, phones?, tags?, posting_tags?, stage?, archived?, opportunity_id?}
  POST /_control/move {api_key|key_id, opportunity_id, stage_id, webhook_url?, signature_token?,
       async?} | /_control/verify-connection {webhook_url, signature_token?}
  POST /_control/faults {status?, count?, latency_s?, hang?, drop_after_read?, drop_after_apply?,
       retry_after?, method?, path_contains?}; DELETE /_control/faults | /_control/requests
  POST /_control/rate-limit {api_key|key_id, rate, burst, retry_after_mode?}
  POST /_control/note-response-style {style: "noteId"|"note"}

It is a test tool, not part of the portal: it speaks HTTP with the standard library only, and it
never contacts anything but the webhook URLs it is given.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import math
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connectors.lever import fake_routes
from connectors.lever.fake_routes import ApiError, forbidden_rule
from connectors.lever.signature import compute_signature

BG_CHECK_STAGE_ID = "00922a60-7c15-422b-b086-f62000824fd7"
DEFAULT_STAGES = [
    {"id": "lead-new", "text": "New lead"},
    {"id": "lead-reached-out", "text": "Reached out"},
    {"id": "applicant-new", "text": "New applicant"},
    {"id": "3e2f1a00-0000-4000-8000-000000000003", "text": "Phone Screen"},
    {"id": "6b7c8d9e-0000-4000-8000-000000000004", "text": "On-site Interview"},
    {"id": BG_CHECK_STAGE_ID, "text": "Background Check"},
    {"id": "offer", "text": "Offer"},
]
DEFAULT_USERS = [
    {
        "id": "8d3c2b1a-0000-4000-8000-0000000000a1",
        "name": "Riley Recruiter",
        "email": "riley.recruiter@example.com",
        "accessRole": "super admin",
    }
]

# The well-known demo account (`--seed-demo`); other code imports these ids.
DEMO_SEED: dict[str, Any] = {
    "background_check_stage_id": BG_CHECK_STAGE_ID,
    "stages": DEFAULT_STAGES,
    "users": DEFAULT_USERS,
    "note_author_user_id": DEFAULT_USERS[0]["id"],
    "candidates": {
        # Opportunity tag matches a package.
        "ada": {
            "opportunity_id": "250d8f03-738a-4bba-a671-8a3d73477145",
            "name": "Ada Lovelace",
            "emails": ["ada.lovelace@example.com"],
            "phones": [{"type": "mobile", "value": "+1 416 555 0100"}],
            "tags": ["standard-ca"],
            "posting_tags": [],
            "stage": "applicant-new",
        },
        # Only the job posting carries the package tag.
        "jose": {
            "opportunity_id": "3c1e5a7b-0000-4000-8000-000000000002",
            "name": "José Núñez-O'Brien",
            "emails": ["jose.nunez@example.com"],
            "phones": [{"type": None, "value": "+1 604 555 0199"}],
            "tags": ["Finance"],
            "posting_tags": ["executive-ca"],
            "stage": "applicant-new",
        },
        # No email address: ordering must fail with a note telling the recruiter what to fix.
        "prince": {
            "opportunity_id": "4d2f6b8c-0000-4000-8000-000000000003",
            "name": "Prince",
            "emails": [],
            "phones": [],
            "tags": ["standard-ca"],
            "posting_tags": [],
            "stage": "applicant-new",
        },
        # No tag at all: resolved by the tenant's default package, if it has one.
        "mary": {
            "opportunity_id": "5e3a7c9d-0000-4000-8000-000000000004",
            "name": "Mary Ann van der Berg",
            "emails": ["maryann.vanderberg@example.com"],
            "phones": [],
            "tags": [],
            "posting_tags": [],
            "stage": "lead-new",
        },
    },
}

MAX_BODY = 1024 * 1024
HANG_MAX_S = 60.0
MAX_LOG = 100_000


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


def _now_ms() -> int:
    return int(time.time() * 1000)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Lever counts a 3xx answer as a failed delivery (docs/LEVER.md, Delivery): never follow one.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


class FakeLever:
    """The fake's state and its Python control API. Thread-safe; use as a context manager."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_page_size: int = 100,
        webhook_retry_gaps: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0),
        webhook_timeout_s: float = 5.0,
    ) -> None:
        self.host, self.port = host, port
        self.max_page_size = max_page_size
        self.webhook_retry_gaps = tuple(webhook_retry_gaps)
        self.webhook_timeout_s = webhook_timeout_s
        # "noteId" (documented) or "note" (the whole note with `id`, seen in real responses).
        self.note_response_style = "noteId"
        self.lock = threading.RLock()
        self.accounts: dict[str, dict] = {}  # by API key
        self.requests: list[dict] = []
        self.webhook_deliveries: list[dict] = []
        self.faults: list[dict] = []
        self._page_tokens: dict[str, int] = {}
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> FakeLever:
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        # A short poll interval keeps stop() (and so every test's teardown) fast.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # releases hanging requests
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLever:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    # -- accounts and data --------------------------------------------------------------------
    def add_account(
        self,
        api_key: str,
        *,
        users: list[dict] | None = None,
        stages: list[dict] | None = None,
        rate: float = 10.0,
        burst: int = 20,
        retry_after_mode: str = "retry-after",
        archived_shape: str = "object",
        forbidden: list[str] | tuple[str, ...] = (),
    ) -> None:
        """`retry_after_mode`: "retry-after" | "reset" (X-RateLimit-Reset) | "none" on a 429.

        `archived_shape`: "object" (an `archived` object, null when active) or "top-level"
        (`archivedAt` / `archiveReason`, as in the reference's opportunity example).
        `forbidden`: what this key lacks the permission for, answered 403 like Lever: rules
        "METHOD /path" where the path (after /v1) may use `*` for one segment, and may end in
        `?param` to refuse only requests carrying that query parameter — e.g. "GET /stages",
        "GET /postings/*", "POST /opportunities/*/notes?perform_as".
        """
        if retry_after_mode not in ("retry-after", "reset", "none"):
            raise ValueError("retry_after_mode must be retry-after, reset or none")
        if archived_shape not in ("object", "top-level"):
            raise ValueError("archived_shape must be object or top-level")
        with self.lock:
            self.accounts[api_key] = {
                "key_id": f"acct-{len(self.accounts) + 1}",
                "users": [dict(u) for u in (users if users is not None else DEFAULT_USERS)],
                "stages": [dict(s) for s in (stages if stages is not None else DEFAULT_STAGES)],
                "opportunities": {},
                "postings": {},
                "notes": {},
                "bucket": {
                    "rate": float(rate),
                    "burst": int(burst),
                    "tokens": float(burst),
                    "at": time.monotonic(),
                },
                "retry_after_mode": retry_after_mode,
                "archived_shape": archived_shape,
                "forbidden": [forbidden_rule(rule) for rule in forbidden],
            }

    def set_rate_limit(
        self, api_key: str, *, rate: float, burst: int, retry_after_mode: str | None = None
    ) -> None:
        with self.lock:
            account = self._account(api_key)
            account["bucket"] = {
                "rate": float(rate),
                "burst": int(burst),
                "tokens": float(burst),
                "at": time.monotonic(),
            }
            if retry_after_mode:
                account["retry_after_mode"] = retry_after_mode

    def key_id(self, api_key: str) -> str:
        return self._account(api_key)["key_id"]

    def _account(self, api_key: str) -> dict:
        try:
            return self.accounts[api_key]
        except KeyError:
            raise ValueError("unknown fake Lever account") from None

    def _account_by(self, payload: dict) -> tuple[str, dict]:
        with self.lock:
            if isinstance(payload.get("api_key"), str):
                return payload["api_key"], self._account(payload["api_key"])
            for key, account in self.accounts.items():
                if account["key_id"] == payload.get("key_id"):
                    return key, account
        raise ValueError("name the account by api_key or key_id")

    def _posting_for(self, account: dict, tags: list[str]) -> str:
        for posting in account["postings"].values():
            if sorted(posting["tags"]) == sorted(tags):
                return posting["id"]
        posting_id = str(uuid.uuid4())
        account["postings"][posting_id] = {
            "id": posting_id,
            "text": f"Job posting {len(account['postings']) + 1}",
            "state": "published",
            "tags": list(tags),
            "createdAt": _now_ms(),
        }
        return posting_id

    def add_opportunity(
        self,
        api_key: str,
        *,
        name: str,
        emails: list[str] | tuple[str, ...],
        phones: Any = (),
        tags: Any = (),
        posting_tags: Any = (),
        stage: str = "lead-new",
        archived: dict | None = None,
        opportunity_id: str | None = None,
    ) -> str:
        with self.lock:
            account = self._account(api_key)
            opp_id = opportunity_id or str(uuid.uuid4())
            created = _now_ms()
            applications = []
            if posting_tags:
                applications.append(
                    {
                        "id": str(uuid.uuid4()),
                        "type": "posting",
                        "posting": self._posting_for(account, list(posting_tags)),
                        "opportunityId": opp_id,
                        "candidateId": opp_id,
                        "createdAt": created,
                    }
                )
            account["opportunities"][opp_id] = {
                "id": opp_id,
                "name": name,
                "contact": str(uuid.uuid4()),
                "emails": list(emails),
                "phones": [
                    p if isinstance(p, dict) else {"type": None, "value": str(p)} for p in phones
                ],
                "tags": list(tags),
                "links": [],
                "stage": stage,
                "stageChanges": [
                    {
                        "toStageId": stage,
                        "toStageIndex": self._stage_index(account, stage),
                        "updatedAt": created,
                        "userId": None,
                    }
                ],
                "archived": archived,
                "createdAt": created,
                "updatedAt": created,
                "lastAdvancedAt": created,
                "urls": {
                    "list": f"{self.root_url}/candidates",
                    "show": f"{self.root_url}/candidates/{opp_id}",
                },
                "applications": applications,
            }
            account["notes"][opp_id] = []
            return opp_id

    def delete_opportunity(self, api_key: str, opportunity_id: str) -> None:
        """Delete the opportunity as a Lever user would: GET /opportunities/{id} answers 404
        from now on, and GET /opportunities/deleted lists it."""
        with self.lock:
            account = self._account(api_key)
            opp = account["opportunities"].pop(opportunity_id)
            account.setdefault("deleted", []).append(
                {
                    "id": opp["id"],
                    "deletedAt": _now_ms(),
                    "deletedBy": None,
                    "contact": opp["contact"],
                }
            )

    @staticmethod
    def _stage_index(account: dict, stage_id: str) -> int | None:
        for index, stage in enumerate(account["stages"]):
            if stage["id"] == stage_id:
                return index
        return None

    def opportunity(self, api_key: str, opportunity_id: str) -> dict:
        with self.lock:
            return json.loads(json.dumps(self._account(api_key)["opportunities"][opportunity_id]))

    def notes(self, api_key: str, opportunity_id: str) -> list[dict]:
        """Live notes, oldest first: {"id", "value", "createdAt", "user", "secret", ...}."""
        with self.lock:
            notes = self._account(api_key)["notes"].get(opportunity_id, [])
            return [
                {**n, "value": n["fields"][0]["value"]} for n in notes if n["deletedAt"] is None
            ]

    # -- stage moves and webhooks -------------------------------------------------------------
    def move_to_stage(
        self,
        api_key: str,
        opportunity_id: str,
        stage_id: str,
        *,
        webhook_url: str | None = None,
        signature_token: str | None = None,
    ) -> dict:
        """Move the candidate; POST the signed webhook if a URL is given. Returns the body."""
        with self.lock:
            account = self._account(api_key)
            opp = account["opportunities"].get(opportunity_id)
            if opp is None:
                raise ValueError("unknown opportunity")
            index = self._stage_index(account, stage_id)
            if index is None:
                raise ValueError("unknown stage")
            now = _now_ms()
            signature_token = signature_token or account.get("signature_token")
            from_stage = opp["stage"]
            user_id = account["users"][0]["id"] if account["users"] else None
            opp["stage"] = stage_id
            opp["stageChanges"].append(
                {"toStageId": stage_id, "toStageIndex": index, "updatedAt": now, "userId": user_id}
            )
            opp["lastAdvancedAt"] = opp["updatedAt"] = now
            data = {
                "opportunityId": opp["id"],
                "candidateId": opp["id"],
                "contactId": opp["contact"],
                "toStageId": stage_id,
                "fromStageId": from_stage,
            }
        body = self.signed_body("candidateStageChange", data, signature_token, triggered_at=now)
        if webhook_url:
            self.deliver(webhook_url, body, retries=len(self.webhook_retry_gaps))
        return body

    def signed_body(
        self,
        event: str,
        data: dict,
        signature_token: str | None,
        *,
        triggered_at: int | None = None,
    ) -> dict:
        token = secrets.token_hex(24)
        triggered_at = triggered_at or _now_ms()
        # Before the customer has a signature token (Verify Connection) the signature is one
        # nobody can check: sign with a throwaway token.
        key = signature_token or secrets.token_hex(16)
        return {
            "id": str(uuid.uuid4()),
            "event": event,
            "triggeredAt": triggered_at,
            "token": token,
            "signature": compute_signature(key, token, triggered_at),
            "data": data,
        }

    def send_verify_connection(
        self, webhook_url: str, *, signature_token: str | None = None
    ) -> int:
        """Lever's Verify Connection test (data {}): one attempt; returns the status (0: no answer)."""
        body = self.signed_body("candidateStageChange", {}, signature_token)
        return self.deliver(webhook_url, body, retries=0)

    def deliver(self, url: str, body: dict, *, retries: int) -> int:
        """POST like Lever: JSON, `User-Agent: Lever-Webhooks`, any non-2xx retried."""
        payload = json.dumps(body).encode()
        status = 0
        for attempt in range(retries + 1):
            if attempt:
                gap = self.webhook_retry_gaps[min(attempt - 1, len(self.webhook_retry_gaps) - 1)]
                if self._stop.wait(gap):
                    break
            request = urllib.request.Request(  # noqa: S310 - the test's own URL
                url,
                data=payload,
                method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "Lever-Webhooks"},
            )
            error = None
            try:
                with _opener.open(request, timeout=self.webhook_timeout_s) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except (urllib.error.URLError, OSError) as exc:
                status, error = 0, type(exc).__name__
            with self.lock:
                self.webhook_deliveries.append(
                    {
                        "url": url,
                        "event": body.get("event"),
                        "token": body.get("token"),
                        "attempt": attempt + 1,
                        "status": status,
                        "error": error,
                        "time": time.time(),
                    }
                )
            if 200 <= status < 300:
                break
        return status

    # -- faults and logs ----------------------------------------------------------------------
    def inject_fault(
        self,
        *,
        status: int | None = None,
        count: int = 1,
        latency_s: float = 0.0,
        hang: bool = False,
        drop_after_read: bool = False,
        drop_after_apply: bool = False,
        retry_after: float | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """The next `count` matching API requests misbehave.

        `status`: answer it with an error body (`retry_after` adds a Retry-After header);
        `latency_s`: answer late; `hang`: never answer; `drop_after_read`: read the request, then
        close the connection without acting; `drop_after_apply`: act, then close without
        answering (the ambiguous case: the note exists but the client never hears so).
        """
        with self.lock:
            self.faults.append(
                {
                    "status": status,
                    "count": int(count),
                    "latency_s": float(latency_s),
                    "hang": bool(hang),
                    "drop_after_read": bool(drop_after_read),
                    "drop_after_apply": bool(drop_after_apply),
                    "retry_after": retry_after,
                    "method": method.upper() if method else None,
                    "path_contains": path_contains,
                }
            )

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, method: str, path: str) -> dict | None:
        with self.lock:
            for fault in self.faults:
                if fault["method"] and fault["method"] != method:
                    continue
                if fault["path_contains"] and fault["path_contains"] not in path:
                    continue
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                return dict(fault)
        return None

    def requests_for(self, api_key: str) -> list[dict]:
        kid = self.key_id(api_key)
        with self.lock:
            return [r for r in self.requests if r["key_id"] == kid]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def _log(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)
            if len(self.requests) > MAX_LOG:  # a long demo run must not grow without bound
                del self.requests[: len(self.requests) - MAX_LOG]

    # -- rate limit ---------------------------------------------------------------------------
    def _take_token(self, account: dict) -> float:
        """0.0 when the request may proceed, else seconds until a token is available."""
        with self.lock:
            bucket = account["bucket"]
            now = time.monotonic()
            bucket["tokens"] = min(
                bucket["burst"], bucket["tokens"] + (now - bucket["at"]) * bucket["rate"]
            )
            bucket["at"] = now
            if bucket["tokens"] >= 1.0:
                bucket["tokens"] -= 1.0
                return 0.0
            return (1.0 - bucket["tokens"]) / bucket["rate"]

    # -- pagination ---------------------------------------------------------------------------
    def _page(self, items: list, query: dict[str, list[str]]) -> dict:
        limit_text = (query.get("limit") or ["100"])[0]
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            raise ApiError(400, "BadRequestError", "limit must be an integer from 1 to 100")
        limit = min(int(limit_text), self.max_page_size)
        offset = 0
        if query.get("offset"):
            with self.lock:
                offset_at = self._page_tokens.get(query["offset"][0])
            if offset_at is None:
                raise ApiError(400, "BadRequestError", "Invalid offset token")
            offset = offset_at
        page = items[offset : offset + limit]
        has_next = offset + limit < len(items)
        body: dict[str, Any] = {"data": page, "hasNext": has_next}
        if has_next:
            token = secrets.token_urlsafe(12)
            with self.lock:
                if len(self._page_tokens) > 100_000:
                    self._page_tokens.clear()
                self._page_tokens[token] = offset + limit
            body["next"] = token
        return body


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The handler writes the headers and the body separately; with Nagle's algorithm on, the body
    # waited for the client's delayed ACK (~40 ms) on every kept-alive request, which made each
    # call to the fake cost ~44 ms instead of ~1 ms. Real servers send without that wait.
    disable_nagle_algorithm = True
    server_version = "FakeLever/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the fake keeps its own log
        pass

    @property
    def fake(self) -> FakeLever:
        return self.server.fake  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ApiError(413, "RequestTooLarge", "body too large")
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        if body is None:
            raw = b""
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = json.dumps(body).encode()
        self.send_response(status)
        if raw:
            self.send_header("Content-Type", content_type + "; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(2)
        except OSError:
            pass

    def _api_key(self) -> str | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, _password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None

    def _handle(self) -> None:
        arrived = time.time()
        split = urlsplit(self.path)
        path, query = split.path, parse_qs(split.query)
        entry: dict[str, Any] = {
            "method": self.command,
            "path": self.path,
            "key_id": None,
            "key_hash": None,
            "status": None,
            "time": arrived,
            "user_agent": self.headers.get("User-Agent"),
        }
        try:
            body = self._read_body()
        except ApiError as exc:
            self._send(exc.status, {"code": exc.code, "message": exc.message})
            return
        if path.startswith("/_control/") or path.startswith("/candidates/"):
            status, payload, ctype = fake_routes.control(self.fake, self.command, path, query, body)
            entry["status"] = status
            self.fake._log(entry)
            self._send(status, payload, content_type=ctype)
            return
        self._api(path, query, body, entry)
        entry["duration_ms"] = int((time.time() - arrived) * 1000)

    def _api(self, path: str, query: dict, body: bytes, entry: dict) -> None:
        fake = self.fake
        fault = fake._take_fault(self.command, path)
        if fault:
            if fault["latency_s"]:
                time.sleep(fault["latency_s"])
            if fault["hang"]:
                fake._stop.wait(HANG_MAX_S)
                entry["status"] = "hang"
                fake._log(entry)
                self._drop()
                return
            if fault["drop_after_read"]:
                entry["status"] = "dropped"
                fake._log(entry)
                self._drop()
                return
            if fault["status"]:
                headers = {}
                if fault["retry_after"] is not None:
                    headers["Retry-After"] = str(int(math.ceil(fault["retry_after"])))
                entry["status"] = fault["status"]
                fake._log(entry)
                code = "TooManyRequests" if fault["status"] == 429 else "ServiceUnavailable"
                self._send(fault["status"], {"code": code, "message": "injected fault"}, headers)
                return
        api_key = self._api_key()
        account = fake.accounts.get(api_key) if api_key else None
        if account is None:
            entry["status"] = 401
            fake._log(entry)
            self._send(401, {"code": "UnauthorizedError", "message": "Invalid API key"})
            return
        entry["key_id"], entry["key_hash"] = account["key_id"], key_hash(api_key)
        wait = fake._take_token(account)
        if wait > 0:
            headers = {}
            if account["retry_after_mode"] == "retry-after":
                headers["Retry-After"] = str(max(1, int(math.ceil(wait))))
            elif account["retry_after_mode"] == "reset":
                headers["X-RateLimit-Reset"] = str(int(math.ceil(time.time() + wait)))
            entry["status"] = 429
            fake._log(entry)
            self._send(429, {"code": "TooManyRequests", "message": "Rate limit exceeded"}, headers)
            return
        try:
            status, payload = fake_routes.api(fake, account, self.command, path, query, body)
        except ApiError as exc:
            status, payload = exc.status, {"code": exc.code, "message": exc.message}
        entry["status"] = status
        fake._log(entry)
        if fault and fault["drop_after_apply"]:
            entry["status"] = f"dropped-after-{status}"
            self._drop()
            return
        self._send(status, payload if status != 204 else None)


def seed_demo(fake: FakeLever, api_key: str, signature_token: str) -> dict:
    """The well-known demo account (DEMO_SEED). Returns what it created."""
    fake.add_account(api_key, users=DEMO_SEED["users"], stages=DEMO_SEED["stages"])
    fake.accounts[api_key]["signature_token"] = signature_token
    for candidate in DEMO_SEED["candidates"].values():
        fake.add_opportunity(
            api_key,
            name=candidate["name"],
            emails=candidate["emails"],
            phones=candidate["phones"],
            tags=candidate["tags"],
            posting_tags=candidate["posting_tags"],
            stage=candidate["stage"],
            opportunity_id=candidate["opportunity_id"],
        )
    return DEMO_SEED


def _read_secret(value: str, label: str) -> str:
    if value != "-":
        return value
    line = sys.stdin.readline().strip()
    if not line:
        raise SystemExit(f"fake_server: empty {label} on stdin")
    return line


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Lever API server (tests and demo).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument(
        "--seed-demo",
        nargs=2,
        metavar=("API_KEY", "SIGNATURE_TOKEN"),
        help="seed the demo account; '-' reads a value from stdin",
    )
    parser.add_argument("--max-page-size", type=int, default=100)
    args = parser.parse_args(argv)

    fake = FakeLever(host=args.host, port=args.port, max_page_size=args.max_page_size)
    fake.start()
    print(f"Fake Lever listening on {fake.root_url} (API base {fake.base_url})", flush=True)
    if args.seed_demo:
        api_key = _read_secret(args.seed_demo[0], "API key")
        token = _read_secret(args.seed_demo[1], "signature token")
        seed = seed_demo(fake, api_key, token)
        print(f"Seeded demo account {fake.key_id(api_key)} (key ••••{api_key[-4:]}):")
        for stage in seed["stages"]:
            print(f"  stage {stage['id']:40} {stage['text']}")
        for user in seed["users"]:
            print(f"  user  {user['id']:40} {user['name']} <{user['email']}>")
        for name, c in seed["candidates"].items():
            print(
                f"  candidate {name:6} {c['opportunity_id']}  {c['name']!r} "
                f"emails={c['emails']} tags={c['tags']} posting_tags={c['posting_tags']}"
            )
            print(f"         notes page: {fake.root_url}/candidates/{c['opportunity_id']}")
        sys.stdout.flush()

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    fake.stop()


if __name__ == "__main__":
    main()
