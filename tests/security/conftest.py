"""The security sweeps' two-tenant world (tests/support/security.py). The process-level fixtures
(`stack`, `fakes`, `rel_services`) come from tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.support.security import World, build_world


@pytest.fixture
def world(db, account_manager, other_account_manager, super_admin) -> World:
    return build_world(account_manager, other_account_manager)
