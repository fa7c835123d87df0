"""Gating tests on real services (PostgreSQL, Redis, a browser, a binary).

A test that needs a missing service calls `service_unavailable(reason)`: on a developer's machine
that is a skip with the reason; in CI (`REQUIRE_ALL_TESTS=1`) it is a failure, so nothing silently
stops being tested.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_ALL_TESTS = os.environ.get("REQUIRE_ALL_TESTS", "") not in ("", "0", "false", "False")


def service_unavailable(reason: str) -> None:
    if REQUIRE_ALL_TESTS:
        pytest.fail(f"REQUIRE_ALL_TESTS is set but {reason}", pytrace=False)
    pytest.skip(reason)
