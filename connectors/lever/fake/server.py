"""The fake Lever's HTTP server: Basic-auth API keys, faults, rate limits, routes (see __init__)."""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connectors.lever.fake import control, routes
from connectors.lever.fake.errors import ApiError
from connectors.lever.fake.state import Json, LeverState, Query, key_hash

MAX_BODY = 1024 * 1024
HANG_MAX_S = 60.0


class FakeLever(LeverState):
    """The fake Lever on a real port (0: a free one). Use as a context manager, or start()/stop()."""

    _server: _Server | None = None
    _thread: threading.Thread | None = None

    def start(self) -> FakeLever:
        server = _Server((self.host, self.port), self)
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: FakeLever) -> None:
        self.fake = fake
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The handler writes the headers and the body separately; with Nagle's algorithm on, the body
    # waited for the client's delayed ACK (~40 ms) on every kept-alive request, which made each
    # call to the fake cost ~44 ms instead of ~1 ms. Real servers send without that wait.
    disable_nagle_algorithm = True
    server_version = "FakeLever/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the fake keeps its own log
        pass

    server: _Server

    @property
    def fake(self) -> FakeLever:
        return self.server.fake

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
            status, payload, ctype = control.control(self.fake, self.command, path, query, body)
            entry["status"] = status
            self.fake._log(entry)
            self._send(status, payload, content_type=ctype)
            return
        self._api(path, query, body, entry)
        entry["duration_ms"] = int((time.time() - arrived) * 1000)

    def _api(self, path: str, query: Query, body: bytes, entry: Json) -> None:
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
                headers: dict[str, str] = {}
                if fault["retry_after"] is not None:
                    headers["Retry-After"] = str(int(math.ceil(fault["retry_after"])))
                entry["status"] = fault["status"]
                fake._log(entry)
                code = "TooManyRequests" if fault["status"] == 429 else "ServiceUnavailable"
                self._send(fault["status"], {"code": code, "message": "injected fault"}, headers)
                return
        api_key = self._api_key()
        account = fake.accounts.get(api_key) if api_key else None
        if api_key is None or account is None:
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
            status, payload = routes.api(fake, account, self.command, path, query, body)
        except ApiError as exc:
            status, payload = exc.status, {"code": exc.code, "message": exc.message}
        entry["status"] = status
        fake._log(entry)
        if fault and fault["drop_after_apply"]:
            entry["status"] = f"dropped-after-{status}"
            self._drop()
            return
        self._send(status, payload if status != 204 else None)
