"""Brute-force throttling on both password forms (integration_portal/auth.py)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from integration_portal.auth import LOGIN_FAILURE_LIMIT, THROTTLED_MESSAGE, _key

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _clean_counters(rf):
    """The counters live in the shared cache: start each test from zero, for its users only."""
    for username in ("am-alice", "am-bob", "root-admin"):
        for address in ("127.0.0.1", "10.9.9.9"):
            cache.delete(_key(username, rf.get("/", REMOTE_ADDR=address)))


def _fail(client: Client, path: str, username: str, times: int) -> None:
    for _ in range(times):
        response = client.post(path, {"username": username, "password": "wrong-guess"})
        assert response.status_code == 200  # the ordinary "did not match" form


def test_after_the_limit_the_right_password_is_refused_with_a_clear_message(account_manager):
    client = Client()
    _fail(client, "/login/", "am-alice", LOGIN_FAILURE_LIMIT)
    response = client.post("/login/", {"username": "am-alice", "password": "pw-alice-1"})
    assert response.status_code == 429
    assert THROTTLED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The username differs only in case: the same account, still throttled.
    again = client.post("/login/", {"username": "AM-Alice", "password": "pw-alice-1"})
    assert again.status_code == 429


def test_the_throttle_is_per_username_and_address(account_manager, other_account_manager):
    _fail(Client(), "/login/", "am-alice", LOGIN_FAILURE_LIMIT)
    other_user = Client().post("/login/", {"username": "am-bob", "password": "pw-bob-1"})
    assert other_user.status_code == 302
    other_address = Client(REMOTE_ADDR="10.9.9.9").post(
        "/login/", {"username": "am-alice", "password": "pw-alice-1"}
    )
    assert other_address.status_code == 302


def test_a_success_below_the_limit_resets_the_count(account_manager):
    client = Client()
    _fail(client, "/login/", "am-alice", LOGIN_FAILURE_LIMIT - 1)
    assert (
        client.post("/login/", {"username": "am-alice", "password": "pw-alice-1"}).status_code
        == 302
    )
    client.logout()
    _fail(client, "/login/", "am-alice", LOGIN_FAILURE_LIMIT - 1)
    assert (
        client.post("/login/", {"username": "am-alice", "password": "pw-alice-1"}).status_code
        == 302
    )


def test_the_admin_login_form_is_throttled_too(super_admin):
    client = Client()
    _fail(client, "/admin/login/", "root-admin", LOGIN_FAILURE_LIMIT)
    response = client.post(
        "/admin/login/", {"username": "root-admin", "password": "pw-root-admin-1"}
    )
    assert response.status_code == 429
    assert THROTTLED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session
