"""A fake Backcheck (docs/CONTRACT.md §6, §9): real HTTP on 127.0.0.1, for tests, the demo and benches.

    with FakeBackcheck(step_seconds=0.05) as fake:       # tests: a random free port
        client = BackcheckClient(base_url=fake.url, client_id=fake.client_id, ...)

    python -m connectors.backcheck.fake_server --port 8090 --auto-script   # a process

What it does:
- OAuth2 client credentials (`POST /oauth/token`), bearer tokens that expire; bad client
  credentials, unknown or expired tokens → 401.
- `GET /packages`, `POST /screenings` (201, or 409 `{"id": …}` for a reused clientReferenceId),
  `GET /screenings/{id}`, `POST /screenings/{id}/cancel`.
- Named steps (in-process methods or `POST /_control/screenings/{id}/step`): consent,
  complete-service NAME SCORE, complete SCORE, error MESSAGE, cancel, stop-callbacks,
  duplicate-last, send-stale. A state step bumps `updatedAt` (strictly increasing) and POSTs the
  whole screening as a callback with the order's Basic credentials; failed callbacks are retried
  every `callback_retry_seconds`, at most 10 times, like the real service (every 15 minutes).
- The standard timed script (consent → Criminal Record Check Green → complete Green), for every
  screening (`auto_script`) or one (`run_standard_script`, `POST /_control/screenings/{id}/script`).
- Fault injection for the API endpoints: the next N requests answer a status (503 by default),
  latency, dropped connections. A log of every request and of every callback attempt.

Callbacks go out from one dispatcher thread in the order they were scheduled, through the
project's HTTP choke point, so a slow receiver delays later steps rather than reordering them.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import heapq
import itertools
import json
import logging
import re
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from connectors.backcheck.script import (
    DEFAULT_REPORT_BASE_URL,
    DEFAULT_SERVICES,
    STANDARD_SCRIPT,
    STATE_STEPS,
    StepError,
    apply_step,
    callback_body,
    new_screening,
    standard_script_payloads,
)
from connectors.http import HttpClient, HttpError

__all__ = ["FakeBackcheck", "ControlError", "main", "standard_script_payloads"]

logger = logging.getLogger(__name__)

DEFAULT_CLIENT_ID = "fake-backcheck-client"
DEFAULT_CLIENT_SECRET = "fake-backcheck-secret-do-not-use"  # the fake's own, never a real one
DEFAULT_PACKAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "std-ca": ("Standard Canada", DEFAULT_SERVICES),
}
CALLBACK_MAX_RETRIES = 10
DELIVERY_STEPS = ("stop-callbacks", "duplicate-last", "send-stale")
MAX_BODY = 1024 * 1024

Clock = Callable[[], datetime]


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Screening:
    payload: dict[str, Any]
    snapshots: list[dict[str, Any]]  # every state, the creation one first
    candidate: dict[str, Any]
    callback_uri: str
    callback_username: str
    callback_password: str
    last_stamp: datetime
    last_body: bytes | None = None
    callbacks_stopped: bool = False


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    run: Callable[[], None] = field(compare=False)


def _normalize_packages(
    packages: Mapping[str, str | tuple[str, Sequence[str]]] | None,
) -> dict[str, tuple[str, tuple[str, ...]]]:
    if packages is None:
        return dict(DEFAULT_PACKAGES)
    normalized = {}
    for code, spec in packages.items():
        if isinstance(spec, str):
            normalized[code] = (spec, DEFAULT_SERVICES)
        else:
            name, services = spec
            normalized[code] = (name, tuple(services))
    return normalized


class FakeBackcheck:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        packages: Mapping[str, str | tuple[str, Sequence[str]]] | None = None,
        auto_script: bool = False,
        step_seconds: float = 5.0,
        callback_retry_seconds: float = 900.0,
        callback_timeout_s: float = 10.0,
        token_ttl_s: int = 3600,
        report_base_url: str = DEFAULT_REPORT_BASE_URL,
        first_order_number: int = 1,
        clock: Clock | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.client_secret = client_secret
        self.packages = _normalize_packages(packages)
        self.auto_script = auto_script
        self.step_seconds = step_seconds
        self.callback_retry_seconds = callback_retry_seconds
        self.token_ttl_s = token_ttl_s
        self.report_base_url = report_base_url.rstrip("/")
        self.clock = clock or _wall_clock

        self.requests: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}  # token → monotonic expiry
        self._screenings: dict[str, _Screening] = {}
        self._by_reference: dict[str, str] = {}
        self._order_numbers = itertools.count(first_order_number)
        self._faults: dict[str, Any] = {}
        self._clear_faults()

        self._jobs: list[_Job] = []
        self._job_seq = itertools.count()
        self._jobs_cv = threading.Condition(self._lock)
        self._busy = 0
        self._stopping = False
        self._sender = HttpClient(
            "",
            connect_timeout=min(5.0, callback_timeout_s),
            read_timeout=callback_timeout_s,
            headers={"User-Agent": "FakeBackcheck/1.0 (callbacks)"},
        )
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeBackcheck:
        server = ThreadingHTTPServer((self.host, self.port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        # A short poll interval keeps `stop()` (and so every test's teardown) fast.
        serve = lambda: server.serve_forever(poll_interval=0.05)  # noqa: E731
        for target, name in ((serve, "http"), (self._dispatch, "dispatch")):
            thread = threading.Thread(target=target, name=f"fake-backcheck-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        with self._jobs_cv:
            self._stopping = True
            self._jobs_cv.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._sender.close()

    def __enter__(self) -> FakeBackcheck:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- state ----------------------------------------------------------------------------------

    def screening(self, screening_id: str) -> dict[str, Any]:
        """Current screening object (a copy)."""
        with self._lock:
            return json.loads(json.dumps(self._get(screening_id).payload))

    def screening_ids(self) -> list[str]:
        with self._lock:
            return list(self._screenings)

    def candidate(self, screening_id: str) -> dict[str, Any]:
        """The candidate as the portal sent it."""
        with self._lock:
            return dict(self._get(screening_id).candidate)

    def callback_target(self, screening_id: str) -> tuple[str, str]:
        """`(uri, username)` the portal registered; the password is only ever sent back."""
        with self._lock:
            record = self._get(screening_id)
            return record.callback_uri, record.callback_username

    def _get(self, screening_id: str) -> _Screening:
        record = self._screenings.get(screening_id)
        if record is None:
            raise ControlError(404, f"No screening {screening_id!r}.")
        return record

    def _stamp(self, record: _Screening | None) -> datetime:
        moment = self.clock().astimezone(UTC).replace(microsecond=0)
        if record is not None and moment <= record.last_stamp:
            moment = record.last_stamp + timedelta(seconds=1)
        return moment

    # --- tokens and faults ----------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl_s
        return token

    def revoke_tokens(self) -> None:
        """Every issued token becomes unknown: the next API call is a 401."""
        with self._lock:
            self._tokens.clear()

    def _token_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
            return expiry is not None and time.monotonic() < expiry

    def fail_next(self, count: int, *, status: int = 503, retry_after: int | None = None) -> None:
        """The next `count` API requests (token requests included) answer `status`."""
        with self._lock:
            self._faults.update(fail_count=count, fail_status=status, retry_after=retry_after)

    def set_latency(self, seconds: float, *, count: int | None = None) -> None:
        """Delay API responses by `seconds` (the next `count` requests, or all until cleared)."""
        with self._lock:
            self._faults.update(latency_s=seconds, latency_count=count)

    def drop_next(self, count: int) -> None:
        """The next `count` API requests read the request, then close without an answer."""
        with self._lock:
            self._faults["drop_count"] = count

    def clear_faults(self) -> None:
        with self._lock:
            self._clear_faults()

    def _clear_faults(self) -> None:
        self._faults = {
            "fail_count": 0,
            "fail_status": 503,
            "retry_after": None,
            "latency_s": 0.0,
            "latency_count": None,
            "drop_count": 0,
        }

    def _take_fault(self) -> tuple[float, str | None, int, int | None]:
        """(latency, "fail"/"drop"/None, status, retry_after) for one API request."""
        with self._lock:
            faults = self._faults
            latency = faults["latency_s"]
            if latency and faults["latency_count"] is not None:
                faults["latency_count"] -= 1
                if faults["latency_count"] <= 0:
                    faults["latency_s"], faults["latency_count"] = 0.0, None
            if faults["drop_count"] > 0:
                faults["drop_count"] -= 1
                return latency, "drop", 0, None
            if faults["fail_count"] > 0:
                faults["fail_count"] -= 1
                return latency, "fail", faults["fail_status"], faults["retry_after"]
            return latency, None, 0, None

    def log_request(self, method: str, path: str, status: int, started: float) -> None:
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "status": status,
                    "at": datetime.now(UTC).isoformat(),
                    "duration_ms": int((time.monotonic() - started) * 1000),
                }
            )

    def requests_to(self, path: str, method: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                entry
                for entry in self.requests
                if entry["path"] == path and (method is None or entry["method"] == method)
            ]

    # --- API behaviour --------------------------------------------------------------------------

    def create(self, body: Any) -> tuple[int, dict[str, Any]]:
        """`POST /screenings`: validate, then 201 with the new screening or 409 with the old."""
        problem = _validate_create(body, self.packages)
        if problem:
            return 400, {"code": "VALIDATION_ERROR", "message": problem}
        reference = body["clientReferenceId"]
        with self._lock:
            existing = self._by_reference.get(reference)
            if existing is not None:
                return 409, {"id": existing}
            screening_id = "scr_" + secrets.token_hex(6)
            at = self._stamp(None)
            package_id = body["packageId"]
            payload = new_screening(
                screening_id=screening_id,
                order_number=f"BC-{at.year}-{next(self._order_numbers):06d}",
                client_reference_id=reference,
                package_id=package_id,
                services=self.packages[package_id][1],
                at=at,
            )
            credentials = body["callback"]["credentials"]["basicAuth"]
            self._screenings[screening_id] = _Screening(
                payload=payload,
                snapshots=[payload],
                candidate=dict(body["candidate"]),
                callback_uri=body["callback"]["uri"],
                callback_username=credentials["username"],
                callback_password=credentials["password"],
                last_stamp=at,
            )
            self._by_reference[reference] = screening_id
            if self.auto_script:
                self._schedule_script(screening_id, 0)
            return 201, json.loads(json.dumps(payload))

    def cancel_via_api(self, screening_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            record = self._get(screening_id)
            status = record.payload["status"]
            if status == "Completed":
                return 409, {
                    "code": "INVALID_STATE",
                    "message": "A completed screening cannot be canceled.",
                }
            if status != "Canceled":  # cancelling twice changes nothing
                self.step(screening_id, "cancel")
            return 200, self.screening(screening_id)

    # --- named steps ----------------------------------------------------------------------------

    def step(self, screening_id: str, name: str, *args: str) -> dict[str, Any]:
        """Apply one named step; returns the screening object afterwards."""
        with self._lock:
            record = self._get(screening_id)
            if name == "stop-callbacks":
                record.callbacks_stopped = True
            elif name == "duplicate-last":
                if record.last_body is None:
                    raise ControlError(409, "No callback has been sent for this screening yet.")
                self._send(screening_id, record, record.last_body)
            elif name == "send-stale":
                if len(record.snapshots) < 2:
                    raise ControlError(409, "This screening has no older snapshot to send.")
                self._send(screening_id, record, _encode(callback_body(record.snapshots[-2])))
            elif name not in STATE_STEPS:
                steps = ", ".join(STATE_STEPS + DELIVERY_STEPS)
                raise ControlError(400, f"Unknown step {name!r}; the steps are: {steps}.")
            else:
                try:
                    payload = apply_step(
                        record.payload,
                        name,
                        args,
                        at=self._stamp(record),
                        report_base_url=self.report_base_url,
                    )
                except StepError as exc:
                    raise ControlError(400, str(exc)) from None
                record.payload = payload
                record.snapshots.append(payload)
                record.last_stamp = _parse_ts(payload["updatedAt"])
                body = _encode(callback_body(payload))
                record.last_body = body
                self._send(screening_id, record, body)
            return self.screening(screening_id)

    def consent(self, screening_id: str) -> dict[str, Any]:
        return self.step(screening_id, "consent")

    def complete_service(self, screening_id: str, name: str, score: str) -> dict[str, Any]:
        return self.step(screening_id, "complete-service", name, score)

    def complete(self, screening_id: str, score: str) -> dict[str, Any]:
        return self.step(screening_id, "complete", score)

    def error(self, screening_id: str, message: str) -> dict[str, Any]:
        return self.step(screening_id, "error", message)

    def cancel(self, screening_id: str) -> dict[str, Any]:
        return self.step(screening_id, "cancel")

    def stop_callbacks(self, screening_id: str) -> dict[str, Any]:
        """No callback for later changes of this screening and no more retries of failed ones
        (the portal's reconcile has to find changes by polling)."""
        return self.step(screening_id, "stop-callbacks")

    def duplicate_last(self, screening_id: str) -> dict[str, Any]:
        """POST the last callback body again, byte for byte."""
        return self.step(screening_id, "duplicate-last")

    def send_stale(self, screening_id: str) -> dict[str, Any]:
        """POST the snapshot before the current one (an out-of-order delivery)."""
        return self.step(screening_id, "send-stale")

    def run_standard_script(self, screening_id: str) -> None:
        """Start the timed standard script: one step every `step_seconds` from now."""
        with self._lock:
            self._get(screening_id)
            self._schedule_script(screening_id, 0)

    def _schedule_script(self, screening_id: str, index: int) -> None:
        if index >= len(STANDARD_SCRIPT):
            return

        def run() -> None:
            name, args = STANDARD_SCRIPT[index]
            try:
                self.step(screening_id, name, *args)
            finally:
                with self._lock:
                    self._schedule_script(screening_id, index + 1)

        self._schedule(self.step_seconds, run)

    # --- callbacks ------------------------------------------------------------------------------

    def _send(self, screening_id: str, record: _Screening, body: bytes) -> None:
        if not record.callbacks_stopped:
            self._schedule(0, lambda: self._deliver(screening_id, body, 0))

    def _deliver(self, screening_id: str, body: bytes, retry: int) -> None:
        with self._lock:
            record = self._screenings[screening_id]
            if record.callbacks_stopped and retry > 0:
                # A change made before the stop still goes out once; its retries do not.
                return
            uri = record.callback_uri
            auth = (record.callback_username, record.callback_password)
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            response = self._sender.request(
                "POST",
                uri,
                data=body,
                headers={"Content-Type": "application/json"},
                auth=auth,
            )
            status = response.status
        except HttpError as exc:
            status, error = exc.status, str(exc)
        with self._lock:
            self.callbacks.append(
                {
                    "screening_id": screening_id,
                    "url": uri,
                    "attempt": retry + 1,
                    "status": status,
                    "error": error,
                    "delivered": error is None,
                    "at": datetime.now(UTC).isoformat(),
                    "duration_ms": int((time.monotonic() - started) * 1000),
                    "body": body.decode(),
                }
            )
            if error is not None and retry < CALLBACK_MAX_RETRIES:
                self._schedule(
                    self.callback_retry_seconds,
                    lambda: self._deliver(screening_id, body, retry + 1),
                )

    def delivered_callbacks(self, screening_id: str | None = None) -> list[dict[str, Any]]:
        """Bodies (parsed) of the callbacks the receiver accepted, in delivery order."""
        with self._lock:
            return [
                json.loads(entry["body"])
                for entry in self.callbacks
                if entry["delivered"]
                and (screening_id is None or entry["screening_id"] == screening_id)
            ]

    def wait_for_callbacks(
        self, count: int, *, screening_id: str | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Block until `count` callbacks were delivered; their bodies."""
        deadline = time.monotonic() + timeout
        while True:
            delivered = self.delivered_callbacks(screening_id)
            if len(delivered) >= count:
                return delivered
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(delivered)} of {count} callbacks delivered in {timeout}s")
            time.sleep(0.01)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Block until no step or callback is scheduled or running."""
        deadline = time.monotonic() + timeout
        with self._jobs_cv:
            while self._jobs or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"fake Backcheck still busy after {timeout}s")
                self._jobs_cv.wait(remaining)

    # --- dispatcher -----------------------------------------------------------------------------

    def _schedule(self, delay_s: float, run: Callable[[], None]) -> None:
        with self._jobs_cv:
            heapq.heappush(self._jobs, _Job(time.monotonic() + delay_s, next(self._job_seq), run))
            self._jobs_cv.notify_all()

    def _dispatch(self) -> None:
        while True:
            with self._jobs_cv:
                while not self._stopping:
                    if self._jobs:
                        wait = self._jobs[0].due - time.monotonic()
                        if wait <= 0:
                            break
                        self._jobs_cv.wait(wait)
                    else:
                        self._jobs_cv.wait()
                if self._stopping:
                    return
                job = heapq.heappop(self._jobs)
                self._busy += 1
            try:
                job.run()
            except Exception:  # a broken job must not stop every later callback
                logger.exception("fake Backcheck job failed")
            finally:
                with self._jobs_cv:
                    self._busy -= 1
                    self._jobs_cv.notify_all()


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _validate_create(body: Any, packages: Mapping[str, Any]) -> str | None:
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


_SCREENING = re.compile(r"^/screenings/([^/]+)$")
_CANCEL = re.compile(r"^/screenings/([^/]+)/cancel$")
_CONTROL = re.compile(r"^/_control/screenings/([^/]+)(?:/(step|script))?$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The handler writes the headers and the body separately; with Nagle's algorithm on, the body
    # waited for the client's delayed ACK (~40 ms) on every kept-alive request, which made each
    # call to the fake cost ~44 ms instead of ~1 ms. Real servers send without that wait.
    disable_nagle_algorithm = True
    server_version = "FakeBackcheck/1.0"
    # Headers and body go out in separate writes; with Nagle on, every keep-alive answer waits
    # for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True

    @property
    def fake(self) -> FakeBackcheck:
        return self.server.fake  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        logger.debug("fake Backcheck: " + format, *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        started = time.monotonic()
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True  # the unread rest would corrupt the next request
        raw = self.rfile.read(min(length, MAX_BODY)) if length else b""
        headers: dict[str, str] = {}
        try:
            if path.startswith("/_control/"):
                status, body = self._control(method, path, raw)
            else:
                latency, fault, fault_status, retry_after = self.fake._take_fault()
                if latency:
                    time.sleep(latency)
                if fault == "drop":
                    self.fake.log_request(method, path, 0, started)
                    self.close_connection = True
                    return
                if fault == "fail":
                    status = fault_status
                    headers = {"Retry-After": str(retry_after)} if retry_after else {}
                    body = {"code": "SERVICE_UNAVAILABLE", "message": "Injected fault."}
                else:
                    status, body = self._api(method, path, raw)
        except ControlError as exc:
            status = exc.status
            body = {"code": HTTPStatus(status).name, "message": exc.message}
        # Logged before answering, so a test that got its answer also sees the entry.
        self.fake.log_request(method, path, status, started)
        self._reply(status, body, headers)

    def _reply(self, status: int, body: Any, headers: Mapping[str, str]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout tests): nothing to answer
            self.close_connection = True

    def _json(self, raw: bytes) -> Any:
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise ControlError(400, "The body is not JSON.") from None

    # --- the Backcheck API ----------------------------------------------------------------------

    def _api(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        fake = self.fake
        if method == "POST" and path == "/oauth/token":
            return self._token(raw)
        authorization = self.headers.get("Authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not fake._token_valid(token.strip()):
            return 401, {"code": "UNAUTHORIZED", "message": "Missing, unknown or expired token."}
        if method == "GET" and path == "/packages":
            return 200, [{"id": code, "name": name} for code, (name, _) in fake.packages.items()]
        if method == "POST" and path == "/screenings":
            return fake.create(self._json(raw))
        if method == "GET" and (match := _SCREENING.match(path)):
            return 200, fake.screening(unquote(match.group(1)))
        if method == "POST" and (match := _CANCEL.match(path)):
            return fake.cancel_via_api(unquote(match.group(1)))
        return 404, {"code": "NOT_FOUND", "message": f"No route for {method} {path}."}

    def _token(self, raw: bytes) -> tuple[int, Any]:
        fake = self.fake
        form = dict(parse_qsl(raw.decode(errors="replace")))
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        scheme, _, encoded = self.headers.get("Authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, ValueError):
            client_id = secret = ""
        if (
            scheme.lower() != "basic"
            or not secrets.compare_digest(client_id.encode(), fake.client_id.encode())
            or not secrets.compare_digest(secret.encode(), fake.client_secret.encode())
        ):
            return 401, {"error": "invalid_client", "error_description": "Bad client credentials."}
        return 200, {
            "access_token": fake.issue_token(),
            "token_type": "Bearer",
            "expires_in": fake.token_ttl_s,
        }

    # --- control --------------------------------------------------------------------------------

    def _control(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        fake = self.fake
        if method == "GET" and path == "/_control/requests":
            with fake._lock:
                return 200, list(fake.requests)
        if method == "GET" and path == "/_control/callbacks":
            with fake._lock:
                return 200, list(fake.callbacks)
        if method == "POST" and path == "/_control/tokens/revoke":
            fake.revoke_tokens()
            return 200, {"status": "revoked"}
        if method == "POST" and path == "/_control/faults":
            return 200, self._faults(self._json(raw) or {})
        match = _CONTROL.match(path)
        if match is None:
            raise ControlError(404, f"No control route for {method} {path}.")
        screening_id, action = unquote(match.group(1)), match.group(2)
        if method == "GET" and action is None:
            return 200, {
                "screening": fake.screening(screening_id),
                "candidate": fake.candidate(screening_id),
                "callback_uri": fake.callback_target(screening_id)[0],
            }
        if method == "POST" and action == "script":
            fake.run_standard_script(screening_id)
            return 200, {"status": "scheduled", "step_seconds": fake.step_seconds}
        if method == "POST" and action == "step":
            body = self._json(raw)
            if not isinstance(body, dict) or not isinstance(body.get("step"), str):
                raise ControlError(400, 'Expected {"step": "<name>", "args": [...]}.')
            args = body.get("args") or []
            if isinstance(args, str):
                args = [args]
            if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
                raise ControlError(400, "args must be a list of strings.")
            return 200, fake.step(screening_id, body["step"], *args)
        raise ControlError(405, f"{method} is not allowed on {path}.")

    def _faults(self, body: dict[str, Any]) -> dict[str, Any]:
        fake = self.fake
        if body.get("clear"):
            fake.clear_faults()
        if body.get("fail_next"):
            fake.fail_next(
                int(body["fail_next"]),
                status=int(body.get("status", 503)),
                retry_after=body.get("retry_after"),
            )
        if "latency_s" in body:
            count = body.get("count")
            fake.set_latency(float(body["latency_s"]), count=int(count) if count else None)
        if body.get("drop_next"):
            fake.drop_next(int(body["drop_next"]))
        with fake._lock:
            return dict(fake._faults)


def _parse_packages(spec: str) -> dict[str, str]:
    packages = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        code, sep, name = entry.partition(":")
        if not sep or not code or not name:
            raise argparse.ArgumentTypeError(f"expected code:name, got {entry!r}")
        packages[code] = name
    return packages


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the fake Backcheck API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    # The fake's own made-up credential, so argv is acceptable here (never a real secret).
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--packages", type=_parse_packages, default=None, help="code:name,...")
    parser.add_argument("--auto-script", action="store_true")
    parser.add_argument("--step-seconds", type=float, default=5.0)
    parser.add_argument("--callback-retry-seconds", type=float, default=900.0)
    parser.add_argument("--token-ttl-seconds", type=int, default=3600)
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    fake = FakeBackcheck(
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        packages=args.packages,
        auto_script=args.auto_script,
        step_seconds=args.step_seconds,
        callback_retry_seconds=args.callback_retry_seconds,
        token_ttl_s=args.token_ttl_seconds,
    ).start()
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(f"Fake Backcheck listening on {fake.url} (Ctrl-C stops)", flush=True)
    done.wait()
    fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
