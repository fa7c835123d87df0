"""End-to-end harness: the portal served by pytest-django's live server, a real Celery worker
process on the real broker, PostgreSQL, Redis, and both fake servers over HTTP.

The worker is started once per session against the test database; each test gets fresh fakes
and a tenant wired to them (tests/support/wired.py). Settings that would make a test slow
(back-off base) are shrunk for the worker through its environment (tests/support/harness.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.support.harness import Proc, celery_worker, worker_env
from tests.support.services import service_unavailable
from tests.support.wired import Wired, wire_tenant


@pytest.fixture(scope="session")
def e2e_services(django_db_setup, django_db_blocker) -> None:
    """PostgreSQL and Redis are required: a worker process cannot share SQLite's memory DB."""
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            service_unavailable("end-to-end tests need PostgreSQL (DATABASE_URL)")
    if not settings.REDIS_URL:
        service_unavailable("end-to-end tests need Redis (REDIS_URL)")


# Package scope, not session: the suite runs in random order, and a worker left running after
# the e2e tests would consume what other tests queue on the same broker (the browser tests check
# that a resync stays pending until they deliver it themselves).
@pytest.fixture(scope="package")
def celery_worker_process(
    e2e_services, live_server, django_db_blocker, tmp_path_factory
) -> Iterator[Proc]:
    from integration_portal.celery import app

    with django_db_blocker.unblock():
        env = worker_env(live_server.url)
    app.control.purge()  # messages left by earlier runs refer to rows that no longer exist
    log_dir = Path(os.environ.get("E2E_LOG_DIR", tmp_path_factory.mktemp("worker")))
    worker = celery_worker(env, log_dir / "worker.log").start(ready=b"ready.")
    yield worker
    worker.stop()


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
