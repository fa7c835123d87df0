"""Fixtures for the Backcheck connector tests: the fake Backcheck and a callback receiver, both
real HTTP servers on 127.0.0.1 with random free ports (tests/support/backcheck.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.backcheck.client import BackcheckClient, clear_token_cache
from connectors.backcheck.fake import FakeBackcheck
from tests.support.backcheck import Receiver, serve_receiver


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture
def fake() -> Iterator[FakeBackcheck]:
    with FakeBackcheck(step_seconds=0.02, callback_retry_seconds=0.05) as server:
        yield server


@pytest.fixture
def client(fake: FakeBackcheck) -> Iterator[BackcheckClient]:
    with BackcheckClient(
        base_url=fake.url,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        read_timeout=2.0,
    ) as backcheck:
        yield backcheck


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    server = serve_receiver(state)
    yield state
    server.shutdown()
    server.server_close()
