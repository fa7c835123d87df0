"""Fixtures for the Lever connector: the fake Lever on 127.0.0.1, accounts, clients, limiters."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from connectors.lever.client import LeverClient
from connectors.lever.fake import FakeLever
from connectors.lever.ratelimit import LocalLimiter, RedisLimiter

FIXTURES = Path(__file__).parent / "fixtures"


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def fake() -> Iterator[FakeLever]:
    with FakeLever(webhook_retry_gaps=(0.05, 0.05, 0.05, 0.05, 0.05)) as server:
        yield server


@pytest.fixture
def api_key(fake: FakeLever) -> str:
    key = "lvr-test-" + secrets.token_hex(16)
    fake.add_account(key)
    return key


@pytest.fixture
def client(fake: FakeLever, api_key: str) -> Iterator[LeverClient]:
    with LeverClient(
        base_url=fake.base_url, api_key=api_key, limiter=LocalLimiter(), read_timeout=2.0
    ) as lever:
        yield lever


@pytest.fixture
def redis_limiter(redis_url: str) -> RedisLimiter:
    return RedisLimiter(redis_url)


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


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
