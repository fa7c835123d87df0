"""End-to-end harness: the portal served by pytest-django's live server, a real Celery worker
process on the real broker, PostgreSQL, Redis, and both fake servers over HTTP.

The worker is started once per session against the test database; each test gets fresh fakes
and a tenant wired to them. Settings that would make a test slow (back-off base) are shrunk for
the worker through its environment, exactly as an operator would set them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from conftest import service_unavailable

ROOT = Path(__file__).resolve().parents[2]
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
) -> object:
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def e2e_services(django_db_setup, django_db_blocker) -> None:
    """PostgreSQL and Redis are required: a worker process cannot share SQLite's memory DB."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            service_unavailable("end-to-end tests need PostgreSQL (DATABASE_URL)")
    if not settings.REDIS_URL:
        service_unavailable("end-to-end tests need Redis (REDIS_URL)")


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "integration_portal",
                "worker",
                "-l",
                "INFO",
                "-c",
                "2",
                "-P",
                "prefork",
                "-n",
                f"e2e-{os.getpid()}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(
            lambda: b"ready." in self.log_path.read_bytes(),
            timeout=60,
            message="the Celery worker to be ready",
        )

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def worker_env(live_server_url: str, **extra: str) -> dict[str, str]:
    db = connection.settings_dict
    env = {
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
    return env


@pytest.fixture(scope="session")
def celery_worker_process(
    e2e_services, live_server, django_db_blocker, tmp_path_factory
) -> Iterator[WorkerProcess]:
    from integration_portal.celery import app

    with django_db_blocker.unblock():
        env = worker_env(live_server.url)
    app.control.purge()  # messages left by earlier runs refer to rows that no longer exist
    log_dir = Path(os.environ.get("E2E_LOG_DIR", tmp_path_factory.mktemp("worker")))
    worker = WorkerProcess(env, log_dir / "worker.log")
    worker.start()
    yield worker
    worker.stop()
