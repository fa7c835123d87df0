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


def wire_tenant(
    lever,
    backcheck,
    portal_url: str,
    *,
    key_prefix: str,
    name: str,
    slug: str,
    default_package: bool = True,
    **fields,
) -> Wired:
    """A tenant with its own Lever account on `lever` (the demo seed, SIGNATURE_TOKEN) and
    `backcheck`'s credentials, and a "std-ca" package tagged "standard-ca"."""
    import secrets

    from connectors.lever.fake import seed_account
    from connectors.management.demo_data import DEMO_SEED
    from connectors.models import Package, Tenant

    api_key = key_prefix + secrets.token_hex(12)
    seed_account(lever, api_key, SIGNATURE_TOKEN, DEMO_SEED)
    tenant = Tenant.objects.create(
        name=name,
        slug=slug,
        lever_base_url=lever.base_url,
        backcheck_base_url=backcheck.url,
        trigger_stage_ids=[DEMO_SEED["background_check_stage_id"]],
        lever_api_key=api_key,
        lever_signature_token=SIGNATURE_TOKEN,
        backcheck_client_id=backcheck.client_id,
        backcheck_client_secret=backcheck.client_secret,
        **fields,
    )
    Package.objects.create(
        tenant=tenant,
        code="std-ca",
        name="Standard Canada",
        lever_tag="standard-ca",
        is_default=default_package,
    )
    return Wired(tenant, lever, backcheck, api_key, portal_url)


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
            worker_argv(2, f"e2e-{os.getpid()}@%h"),
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


# Package scope, not session: the suite runs in random order, and a worker left running after
# the e2e tests would consume what other tests queue on the same broker (the browser tests check
# that a resync stays pending until they deliver it themselves).
@pytest.fixture(scope="package")
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


SIGNATURE_TOKEN = "e2e-signature-token-0123456789abcdef"


class Wired:
    """A tenant wired to fresh fakes, and helpers to drive and observe a case."""

    def __init__(self, tenant, lever, backcheck, api_key: str, live_server_url: str) -> None:
        self.tenant = tenant
        self.lever = lever
        self.backcheck = backcheck
        self.api_key = api_key
        self.webhook_url = f"{live_server_url}/api/v1/webhooks/lever/{tenant.webhook_id}/"

    def candidate(self, name: str) -> str:
        from connectors.management.demo_data import DEMO_SEED

        return DEMO_SEED["candidates"][name]["opportunity_id"]

    def trigger(self, name: str) -> dict:
        from connectors.management.demo_data import DEMO_SEED

        return self.lever.move_to_stage(
            self.api_key,
            self.candidate(name),
            DEMO_SEED["background_check_stage_id"],
            webhook_url=self.webhook_url,
        )

    def notes(self, name: str) -> list[str]:
        return [n["value"] for n in self.lever.notes(self.api_key, self.candidate(name))]

    def wait_notes(self, name: str, count: int, timeout: float = 20.0) -> list[str]:
        wait_until(
            lambda: len(self.notes(name)) >= count,
            timeout=timeout,
            message=f"{count} notes on {name} (have {self.notes(name)!r})",
        )
        return self.notes(name)

    def order(self, name: str):
        from orders.models import Order

        return (
            Order.objects.filter(tenant=self.tenant, opportunity_id=self.candidate(name))
            .order_by("-id")
            .first()
        )

    def wait_order(self, name: str, predicate=lambda o: o is not None, timeout: float = 20.0):
        def check():
            order = self.order(name)
            return order if order is not None and predicate(order) else None

        return wait_until(check, timeout=timeout, message=f"order of {name}")


@pytest.fixture
def wired(celery_worker_process, transactional_db, live_server):
    """Yield a `Wired` factory: wired(piecemeal=..., cma=...)."""
    import secrets

    from connectors.backcheck.fake import FakeBackcheck
    from connectors.lever.fake import FakeLever

    started = []

    def make(*, step_seconds: float = 0.3, **tenant_fields) -> Wired:
        lever = FakeLever(webhook_retry_gaps=(0.2, 0.4, 0.8, 1.0, 1.0)).start()
        backcheck = FakeBackcheck(
            step_seconds=step_seconds, callback_retry_seconds=0.5, first_order_number=123
        ).start()
        started.extend([lever, backcheck])
        return wire_tenant(
            lever,
            backcheck,
            live_server.url,
            key_prefix="e2e-lever-key-",
            name="E2E Corp",
            slug="e2e-" + secrets.token_hex(3),
            **tenant_fields,
        )

    yield make
    for fake in started:
        fake.stop()
