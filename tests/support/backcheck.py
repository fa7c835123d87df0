"""Backcheck-side test support: a callback receiver, a stepping clock, screening creation."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from connectors.backcheck.client import BackcheckClient
from connectors.backcheck.mapping import Candidate

ADA = Candidate(given_name="Ada", family_name="Lovelace", email="ada@example.com", phone=None)


@dataclass
class ReceivedCallback:
    authorization: str
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers callbacks with the queued statuses (then 200) and records each one."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[ReceivedCallback] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict]:
        with self.lock:
            return [callback.json for callback in self.received]


def serve_receiver(state: Receiver) -> ThreadingHTTPServer:
    """Serve `state` on a free 127.0.0.1 port (sets `state.url`); shut the server down after."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.received.append(ReceivedCallback(self.headers["Authorization"], body))
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/v1/callbacks/backcheck/"
    return server


class SteppingClock:
    """`start`, then `start + step`, … one tick per call: the fake reads its clock once per change."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.next = start
        self.step = step

    def __call__(self) -> datetime:
        current, self.next = self.next, self.next + self.step
        return current


def create(
    client: BackcheckClient,
    receiver_url: str,
    *,
    reference: str = "order-1",
    package_id: str = "std-ca",
    username: str = "cb-user",
    password: str = "cb-password",
):
    return client.create_screening(
        client_reference_id=reference,
        package_id=package_id,
        candidate=ADA,
        callback_uri=receiver_url,
        callback_username=username,
        callback_password=password,
    )
