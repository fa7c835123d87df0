"""Shared test helpers.

Tests that need a real service (PostgreSQL, Redis, a browser) call `service_unavailable(...)`
when it is missing: on a developer's machine that is a skip with the reason; in CI
(`REQUIRE_ALL_TESTS=1`) it is a failure, so nothing silently stops being tested.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_ALL_TESTS = os.environ.get("REQUIRE_ALL_TESTS", "") not in ("", "0", "false", "False")


def service_unavailable(reason: str) -> None:
    if REQUIRE_ALL_TESTS:
        pytest.fail(f"REQUIRE_ALL_TESTS is set but {reason}", pytrace=False)
    pytest.skip(reason)


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
def super_admin(db, django_user_model):
    return django_user_model.objects.create_superuser(
        "root-admin", "root@example.test", "pw-root-admin-1"
    )


@pytest.fixture
def account_manager(db, django_user_model):
    return django_user_model.objects.create_user("am-alice", "alice@example.test", "pw-alice-1")


@pytest.fixture
def other_account_manager(db, django_user_model):
    return django_user_model.objects.create_user("am-bob", "bob@example.test", "pw-bob-1")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Nothing a test leaves in the cache (throttles, counters) leaks into the next test."""
    yield
    from django.conf import settings

    from connectors.webhook_tenants import webhook_tenant_forget
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
