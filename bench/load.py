"""Load generators: a paced client (fixed rate, latency from the scheduled send time), a burst
client, `wrk` for saturation, and signed, unique Lever webhook bodies.

The paced client measures from when a request was *due*, not when it went out, so a slow server
cannot hide its queueing delay (no coordinated omission): the same thing wrk2 does.
"""

from __future__ import annotations

import http.client
import json
import queue
import re
import secrets
import shutil
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from connectors.lever.signature import compute_signature

WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_bodies.lua"


def signed_webhooks(n: int, *, signature_token: str, stage_id: str) -> list[str]:
    """`n` distinct, correctly signed candidateStageChange bodies (unique token and id)."""
    now = int(time.time() * 1000)
    bodies = []
    for _ in range(n):
        token = secrets.token_hex(24)
        opportunity = str(uuid.uuid4())
        bodies.append(
            json.dumps(
                {
                    "id": str(uuid.uuid4()),
                    "event": "candidateStageChange",
                    "triggeredAt": now,
                    "token": token,
                    "signature": compute_signature(signature_token, token, now),
                    "data": {
                        "opportunityId": opportunity,
                        "candidateId": opportunity,
                        "contactId": str(uuid.uuid4()),
                        "toStageId": stage_id,
                        "fromStageId": "applicant-new",
                    },
                },
                separators=(",", ":"),
            )
        )
    return bodies


@dataclass
class Result:
    latencies_s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)
    errors: int = 0
    elapsed_s: float = 0.0
    late_s: float = 0.0  # how far behind schedule the client itself fell (should be ~0)

    @property
    def count(self) -> int:
        return sum(self.statuses.values()) + self.errors


class _Sender:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: str) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(
                    "POST",
                    path,
                    body=body.encode(),
                    headers={"Content-Type": "application/json", "User-Agent": "Lever-Webhooks"},
                )
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                # A keep-alive connection the server closed between requests: reconnect once.
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def paced(
    port: int,
    path: str,
    bodies: Sequence[str],
    *,
    rate: float,
    threads: int = 16,
    keep_bodies: bool = False,
) -> Result:
    """POST every body at `rate` per second; latency counted from each request's due time."""
    due: queue.Queue = queue.Queue()
    result = Result()
    lock = threading.Lock()

    def work() -> None:
        sender = _Sender(port)
        while True:
            item = due.get()
            if item is None:
                return
            scheduled, body = item
            try:
                status, data = sender.post(path, body)
            except OSError:
                with lock:
                    result.errors += 1
                continue
            latency = time.perf_counter() - scheduled
            with lock:
                result.latencies_s.append(latency)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if keep_bodies:
                    result.bodies.append(data)

    pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    start = time.perf_counter() + 0.05
    for i, body in enumerate(bodies):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        else:
            result.late_s = max(result.late_s, -delay)
        due.put((scheduled, body))
    for _ in pool:
        due.put(None)
    for thread in pool:
        thread.join()
    result.elapsed_s = time.perf_counter() - start
    return result


def burst(port: int, path: str, bodies: Sequence[str], *, threads: int = 32) -> Result:
    """POST every body as fast as `threads` connections allow."""
    return paced(port, path, bodies, rate=1e9, threads=threads, keep_bodies=True)


@dataclass
class WrkResult:
    requests_per_s: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    wrapped: bool
    raw: str


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    def find(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, output)
        return match.group(1) if match else default

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return WrkResult(
        requests_per_s=float(find(r"Requests/sec:\s+([\d.]+)")),
        requests=int(find(r"(\d+) requests in")),
        non_2xx=int(find(r"Non-2xx or 3xx responses: (\d+)")),
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        p50_ms=_ms(find(r"\n\s+50%\s+(\S+)", "nan")),
        p99_ms=_ms(find(r"\n\s+99%\s+(\S+)", "nan")),
        wrapped="bodies wrapped" in output,
        raw=output,
    )


def wrk(
    port: int,
    path: str,
    bodies_file: Path,
    *,
    seconds: int,
    connections: int = 32,
    threads: int = 2,
) -> WrkResult:
    """Saturate `path` with wrk, each request the next body of `bodies_file` (one a line)."""
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (Debian: apt-get install -y wrk)")
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            str(WRK_SCRIPT),
            f"http://127.0.0.1:{port}{path}",
            "--",
            str(bodies_file),
            str(threads),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    return parse_wrk(out)


def combine(results: Sequence[WrkResult]) -> WrkResult:
    """Equal-length wrk runs of one path as one: mean rate, median p50, worst p99, sums."""
    return WrkResult(
        requests_per_s=statistics.fmean(r.requests_per_s for r in results),
        requests=sum(r.requests for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=max(r.p99_ms for r in results),
        wrapped=any(r.wrapped for r in results),
        raw="\n".join(r.raw for r in results),
    )
