"""The fake Backcheck's HTTP server: OAuth2 client credentials, the API, the control API."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from connectors.backcheck.fake.state import BackcheckState, ControlError

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


class FakeBackcheck(BackcheckState):
    """The fake Backcheck on a real port (0: a free one). Use as a context manager."""

    _server: _Server | None = None
    _threads: tuple[threading.Thread, ...] = ()

    def start(self) -> FakeBackcheck:
        server = _Server((self.host, self.port), self)
        self._server = server
        self.port = server.server_address[1]
        # A short poll interval keeps `stop()` (and so every test's teardown) fast.
        serve = lambda: server.serve_forever(poll_interval=0.05)  # noqa: E731
        self._threads = tuple(
            threading.Thread(target=target, name=f"fake-backcheck-{name}", daemon=True)
            for target, name in ((serve, "http"), (self._dispatch, "dispatch"))
        )
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop_dispatcher()
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeBackcheck) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


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

    server: _Server

    @property
    def fake(self) -> FakeBackcheck:
        return self.server.fake

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
