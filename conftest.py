"""Fixtures shared by every test package, built on tests/support (services, factories).

Tests that need a real service (PostgreSQL, Redis, a browser) call
`tests.support.services.service_unavailable(...)` when it is missing.
"""

from __future__ import annotations

import pytest

from tests.support.services import service_unavailable


@pytest.fixture
def redis_url() -> str:
    """URL of a reachable Redis (the shared one from REDIS_URL), flushed of portal test keys."""
    from django.conf import settings

    url = settings.REDIS_URL
    if not url:
        service_unavailable("REDIS_URL is not set (Redis-backed test)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis at REDIS_URL is unreachable ({type(exc).__name__})")
    return url


@pytest.fixture
def postgres(db) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        service_unavailable("DATABASE_URL does not point at PostgreSQL")


@pytest.fixture
def super_admin(db):
    from tests.support.factories import SuperAdminFactory

    return SuperAdminFactory(
        username="root-admin", email="root@example.test", password="pw-root-admin-1"
    )


@pytest.fixture
def account_manager(db):
    from tests.support.factories import AccountManagerFactory

    return AccountManagerFactory(
        username="am-alice", email="alice@example.test", password="pw-alice-1"
    )


@pytest.fixture
def other_account_manager(db):
    from tests.support.factories import AccountManagerFactory

    return AccountManagerFactory(username="am-bob", email="bob@example.test", password="pw-bob-1")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Nothing a test leaves in the cache (throttles, counters) leaks into the next test."""
    yield
    from django.conf import settings

    from connectors.tenants.webhook_tenants import webhook_tenant_forget
    from integration_portal.publishing import publish_deferred

    webhook_tenant_forget()  # tests change tenants with .update() too, which sends no signal
    publish_deferred()  # a response a test never closed must not hold back the next test's work
    config = settings.CACHES["default"]
    if "redis" not in config["BACKEND"].lower():
        from django.core.cache import cache

        cache.clear()
        return
    import redis

    try:
        client = redis.Redis.from_url(config["LOCATION"], socket_connect_timeout=1)
        keys = list(client.scan_iter(match=f"{config['KEY_PREFIX']}:*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass  # a test that stopped Redis on purpose; nothing to clear


# --- a tenant wired to both fakes over HTTP, for in-process tests (tests/support/wired.py) ----


@pytest.fixture
def wired_fakes():
    from connectors.backcheck.fake import FakeBackcheck
    from connectors.lever.fake import FakeLever

    lever = FakeLever(webhook_retry_gaps=(0.05,)).start()
    backcheck = FakeBackcheck(step_seconds=0.2, callback_retry_seconds=600).start()
    yield lever, backcheck
    lever.stop()
    backcheck.stop()


@pytest.fixture
def fast_retries(settings):
    settings.NOTE_RETRY_BASE_S = 0.01
    settings.NOTE_RETRY_MAX_S = 0.02
    settings.HTTP_CONNECT_TIMEOUT_S = 1


@pytest.fixture
def w(wired_fakes, fast_retries):
    import secrets

    from tests.support.wired import DEAD, wire_tenant

    lever, backcheck = wired_fakes
    return wire_tenant(
        lever,
        backcheck,
        DEAD,
        key_prefix="outbox-key-",
        name="Outbox Corp",
        slug="outbox-" + secrets.token_hex(3),
    )


@pytest.fixture
def manager_client(client, w):
    from tests.support.factories import AccountManagerFactory

    user = AccountManagerFactory(username="am-outbox", managed_tenants=[w.tenant])
    client.force_login(user)
    return client
