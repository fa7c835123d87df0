"""Fixtures for the Lever connector: the fake Lever on 127.0.0.1, accounts, clients, limiters,
a webhook receiver (tests/support/lever.py)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from connectors.lever.client import LeverClient
from connectors.lever.fake import FakeLever
from connectors.lever.ratelimit import LocalLimiter, RedisLimiter
from tests.support.lever import Receiver


@pytest.fixture
def fake() -> Iterator[FakeLever]:
    with FakeLever(webhook_retry_gaps=(0.05, 0.05, 0.05, 0.05, 0.05)) as server:
        yield server


@pytest.fixture
def api_key(fake: FakeLever) -> str:
    key = "lvr-test-" + secrets.token_hex(16)
    fake.add_account(key)
    return key


@pytest.fixture
def client(fake: FakeLever, api_key: str) -> Iterator[LeverClient]:
    with LeverClient(
        base_url=fake.base_url, api_key=api_key, limiter=LocalLimiter(), read_timeout=2.0
    ) as lever:
        yield lever


@pytest.fixture
def redis_limiter(redis_url: str) -> RedisLimiter:
    return RedisLimiter(redis_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
