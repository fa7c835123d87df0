"""Kept-alive connections (connectors/http_connections.py): shared per process, never past the outbound rule.

Only DNS is stubbed (`connectors.outbound.resolve`): the listener is a real socket on 127.0.0.1
that keeps connections alive (HTTP/1.1) and records which connection each request came on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors import http_connections, outbound
from connectors.http import HttpClient


class KeepAliveListener:
    def __init__(self) -> None:
        self.connections: list[tuple[str, int]] = []  # the client end of each request's socket
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.connections.append(self.client_address)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[KeepAliveListener]:
    http_connections.close_connections()
    server = KeepAliveListener()
    yield server
    http_connections.close_connections()
    server.close()


@pytest.fixture
def resolver(monkeypatch):
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(outbound, "resolve", resolve)
    return calls


def test_clients_of_one_process_share_a_connection_per_host(listener, resolver, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    for _ in range(2):
        with HttpClient(f"http://pool.example.test:{listener.port}") as client:
            client.request("GET", "/a")
            client.request("GET", "/b")
    assert len(listener.connections) == 4
    assert len(set(listener.connections)) == 1
    assert resolver == ["pool.example.test"]  # resolved and checked once, when it was opened


def test_an_idle_connection_is_reopened_through_the_guard(
    listener, resolver, settings, monkeypatch
):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    monkeypatch.setattr(http_connections, "KEEPALIVE_IDLE_S", 0.0)
    with HttpClient(f"http://pool.example.test:{listener.port}") as client:
        client.request("GET", "/a")
        client.request("GET", "/b")
    assert len(set(listener.connections)) == 2
    assert resolver == ["pool.example.test", "pool.example.test"]


def test_connections_opened_under_one_outbound_rule_are_not_used_under_the_other(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True
    allowed = http_connections.shared_adapter()
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    refused = http_connections.shared_adapter()
    assert refused is not allowed
    assert http_connections.shared_adapter() is refused


def test_a_forked_child_starts_without_its_parents_connections():
    http_connections.shared_adapter()
    assert http_connections._adapters
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        os._exit(0 if not http_connections._adapters else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
