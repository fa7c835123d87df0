"""The benchmark tools measure what they claim: signed unique bodies, paced sends, wrk's Lua.

The benchmarks themselves run with `make bench-smoke` (CI) and `make bench`; these tests keep
their load generators honest in a second or two.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import harness, load
from conftest import service_unavailable
from connectors.lever.signature import signature_matches


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.bodies.append(body)
            self.server.times.append(time.perf_counter())
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # wrk drops its connections when it stops: not an error here


@pytest.fixture
def recorder():
    server = _Server(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    server.bodies, server.times, server.lock = [], [], threading.Lock()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_generated_webhooks_are_correctly_signed_and_unique():
    bodies = [
        json.loads(b)
        for b in load.signed_webhooks(50, signature_token="tok-123456", stage_id="stage-1")
    ]
    assert all(signature_matches(b, ["tok-123456"]) for b in bodies)
    assert not any(signature_matches(b, ["another-token"]) for b in bodies)
    assert len({b["token"] for b in bodies}) == len({b["id"] for b in bodies}) == 50
    assert {b["data"]["toStageId"] for b in bodies} == {"stage-1"}


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert harness.percentile(values, 50) == 50
    assert harness.percentile(values, 99) == 99
    assert harness.percentile(values, 100) == 100
    assert harness.percentile([7.0], 99) == 7.0


def test_paced_client_keeps_its_rate_and_times_from_the_due_time(recorder):
    port = recorder.server_address[1]
    result = load.paced(port, "/x", [f'{{"n": {i}}}' for i in range(40)], rate=100, threads=4)
    assert result.statuses == {200: 40}
    times = recorder.times
    # 40 requests at 100/s span ~0.39 s: neither bunched up nor dragging.
    assert 0.3 <= times[-1] - times[0] <= 0.6
    assert len(result.latencies_s) == 40 and max(result.latencies_s) < 0.5


def test_parse_wrk_reads_rate_errors_and_percentiles():
    output = """Running 3s test @ http://127.0.0.1:1/x
  Latency Distribution
     50%    4.20ms
     75%    6.00ms
     90%   10.00ms
     99%    1.20s
  1000 requests in 3.00s, 200.00KB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:    333.33
Transfer/sec:     66.00KB
bodies wrapped: some requests repeated an earlier body
"""
    parsed = load.parse_wrk(output)
    assert parsed.requests_per_s == 333.33 and parsed.requests == 1000
    assert (parsed.non_2xx, parsed.socket_errors) == (5, 3)
    assert (parsed.p50_ms, parsed.p99_ms) == (4.2, 1200.0)
    assert parsed.wrapped


def test_wrk_script_sends_each_pregenerated_body_once(recorder, tmp_path):
    if shutil.which("wrk") is None:
        service_unavailable("wrk is not installed (Debian package wrk)")
    bodies = [json.dumps({"n": i}) for i in range(100_000)]
    path = tmp_path / "bodies.txt"
    path.write_text("\n".join(bodies) + "\n")
    result = load.wrk(recorder.server_address[1], "/x", path, seconds=1, connections=4)
    sent = [json.loads(b)["n"] for b in recorder.bodies]
    assert result.requests > 50 and result.non_2xx == 0
    assert len(sent) == len(set(sent)), "a body was sent twice"
    assert not result.wrapped


def test_every_script_make_bench_runs_exists_and_has_a_smoke_mode():
    from pathlib import Path

    makefile = (harness.ROOT / "Makefile").read_text()
    line = next(x for x in makefile.splitlines() if x.startswith("BENCH_SCRIPTS"))
    names = line.split(":=", 1)[1].split()
    assert {"webhook_ingest", "webhook_cpu", "lever_egress", "e2e_latency"} <= set(names)
    for name in names:
        source = Path(harness.ROOT / "bench" / f"{name}.py").read_text()
        assert "def main(" in source and '"--smoke"' in source, name


def test_group_cpu_counts_the_cpu_a_process_group_spends():
    import os

    from bench.worker_throughput import _group_cpu_s

    before = _group_cpu_s(os.getpgid(0))
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    assert _group_cpu_s(os.getpgid(0)) - before >= 0.25
