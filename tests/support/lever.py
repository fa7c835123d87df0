"""Lever-side test support: signed webhook bodies, a webhook receiver, the recorded fixtures."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from connectors.demo_data import BG_CHECK_STAGE_ID
from connectors.lever.signature import compute_signature

# Lever's documented example bodies (docs/LEVER.md), as recorded.
FIXTURES = Path(__file__).resolve().parents[2] / "connectors" / "lever" / "tests" / "fixtures"
SIGNATURE_TOKEN = "sig-token-current-0123456789abcdef"
PREVIOUS_TOKEN = "sig-token-previous-0123456789abcdef"
TRIGGER_STAGE = BG_CHECK_STAGE_ID


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def signed(
    *,
    token_secret: str = SIGNATURE_TOKEN,
    event: str = "candidateStageChange",
    data: dict | None = None,
    triggered_at: int | None = None,
    token: str | None = None,
    event_id: str | None = None,
) -> dict:
    token = token or secrets.token_hex(24)
    triggered_at = triggered_at if triggered_at is not None else int(time.time() * 1000)
    body = {
        "id": event_id or secrets.token_hex(8),
        "event": event,
        "triggeredAt": triggered_at,
        "token": token,
        "signature": compute_signature(token_secret, token, triggered_at),
        "data": data
        if data is not None
        else {
            "opportunityId": "opp-1",
            "candidateId": "opp-1",
            "contactId": "c-1",
            "toStageId": TRIGGER_STAGE,
            "fromStageId": "lead-new",
        },
    }
    return body


class Receiver:
    """A webhook endpoint on 127.0.0.1 answering a scripted list of statuses, then 200."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.bodies.append(json.loads(raw))
                receiver.headers.append(dict(self.headers))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
