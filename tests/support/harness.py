"""The process harness of the end-to-end, reliability and security tests and the benches: waiting,
free ports, the Celery worker command and its environment, and figures in a stable form."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# What makes a test's worker quick to retry (the back-off base), set through its environment
# exactly as an operator would.
WORKER_ENV = {
    "NOTE_RETRY_BASE_S": "0.2",
    "NOTE_RETRY_MAX_S": "1.0",
    "HTTP_READ_TIMEOUT_S": "3",
}


def wait_until(
    predicate: Callable[[], object],
    *,
    timeout: float = 20.0,
    interval: float = 0.1,
    message: str = "condition",
    detail: Callable[[], object] | None = None,
) -> object:
    """Poll `predicate` until it is truthy; on timeout fail, naming `message` and, when given,
    what `detail()` says of the state at that moment (so a CI failure can be diagnosed)."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            found = f"; found {detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message}{found}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port_url() -> str:
    """A 127.0.0.1 URL nobody listens on: connection refused."""
    return f"http://127.0.0.1:{free_port()}"


def worker_argv(concurrency: int, name: str) -> list[str]:
    """The Celery worker command of the test harnesses (no gossip, mingle or heartbeat: a test's
    worker has no peers to talk to)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "integration_portal",
        "worker",
        "-l",
        "INFO",
        "-c",
        str(concurrency),
        "-P",
        "prefork",
        "-n",
        name,
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def worker_env(live_server_url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker (or portal) process on the test database and broker."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "integration_portal.test_settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PUBLIC_BASE_URL": live_server_url,
        "PYTHONUNBUFFERED": "1",
        **WORKER_ENV,
        **extra,
    }


class Proc:
    """A subprocess in its own session, its output in a log file that the caller can read."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log
        self.proc: subprocess.Popen | None = None
        self.ready_check: Callable[[], bool] | None = None

    def start(self, ready: bytes | None = None, wait: bool = True) -> Proc:
        """Start it; with `ready`, it is up once that text is in its log (`wait`: wait for it)."""
        self._log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if ready is not None:
            self.ready_check = lambda: ready in self.log_path.read_bytes()
            if wait:
                self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        check = self.ready_check or (lambda: True)
        wait_until(
            lambda: check() or self.proc.poll() is not None,
            timeout=timeout,
            interval=0.05,
            message=f"{self.name} to start",
        )
        assert self.proc.poll() is None, f"{self.name} exited:\n{self.output()[-3000:]}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=15)

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        if self.proc is not None:
            self._log.close()

    def __enter__(self) -> Proc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def celery_worker(env: dict[str, str], log_path: Path, name: str | None = None) -> Proc:
    """A two-process Celery worker of the end-to-end tests (not started)."""
    name = name or f"e2e-{os.getpid()}@%h"
    return Proc("the Celery worker", worker_argv(2, name), env, log_path)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def record(name: str, **figures) -> None:
    """Print a measured figure in a stable form (`-s` shows it; docs/RELIABILITY.md quotes it)."""
    parts = " ".join(
        f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
    )
    line = f"[reliability] {name}: {parts}"
    print(line)
    out = os.environ.get("RELIABILITY_FIGURES")
    if out:
        with open(out, "a") as fh:
            fh.write(line + "\n")
