"""Fixtures of the process-level tests (tests/reliability, tests/security): a throwaway Redis, a
PostgreSQL proxy and the portal's processes (tests/support/stack.py), and both fakes."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from django.db import connection

from tests.support.services import service_unavailable
from tests.support.stack import APP_NAME, PgProxy, Stack, ThrowawayRedis


@pytest.fixture(scope="session")
def rel_services(django_db_setup, django_db_blocker) -> None:
    from django.conf import settings

    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            service_unavailable("reliability tests need PostgreSQL (DATABASE_URL)")
    if not settings.REDIS_URL:
        service_unavailable("reliability tests need Redis (REDIS_URL)")
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        service_unavailable("reliability tests need the redis-server binary")


@pytest.fixture
def stack(rel_services, transactional_db, tmp_path) -> Iterator[Stack]:
    """A fresh throwaway Redis and PostgreSQL proxy; the test starts the processes it needs."""
    db = connection.settings_dict
    redis_server = ThrowawayRedis(tmp_path).start()
    proxy = PgProxy(db["HOST"] or "127.0.0.1", int(db["PORT"] or 5432))
    built = Stack(workdir=tmp_path, redis=redis_server, proxy=proxy)
    try:
        yield built
    finally:
        built.stop()
        proxy.close()
        redis_server.stop()
        # Sessions of SIGKILLed processes may linger; the flush after the test must not wait.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                [APP_NAME],
            )


@pytest.fixture
def fakes() -> Iterator[tuple]:
    from connectors.backcheck.fake import FakeBackcheck
    from connectors.lever.fake import FakeLever

    lever = FakeLever(webhook_retry_gaps=(0.3, 0.6, 1.0, 1.5, 2.0)).start()
    backcheck = FakeBackcheck(
        step_seconds=0.2, callback_retry_seconds=0.5, first_order_number=1000
    ).start()
    try:
        yield lever, backcheck
    finally:
        lever.stop()
        backcheck.stop()
