"""The callback's username is compared with the constant-time helper, like its password."""

from __future__ import annotations

import base64
import json

import pytest

pytestmark = pytest.mark.django_db


def test_the_callback_compares_the_username_with_the_constant_time_helper(
    client, tenant, monkeypatch
):
    from orders.api import inbound as api
    from orders.tests.test_callback_api import FIXTURES, _make_order

    order, (username, password) = _make_order(tenant)
    seen: list[tuple[str, str]] = []
    real = api.verify_callback_credentials

    def spy(**kwargs):
        seen.append((kwargs["username"], kwargs["stored_username"]))
        return real(**kwargs)

    monkeypatch.setattr(api, "verify_callback_credentials", spy)
    body = json.loads((FIXTURES / "callback_completed.json").read_text())
    body["payload"]["clientReferenceId"] = str(order.reference)
    wrong = base64.b64encode(f"{username}x:{password}".encode()).decode()
    response = client.post(
        "/api/v1/callbacks/backcheck/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {wrong}",
    )
    assert response.status_code == 401
    assert seen == [(username + "x", order.callback_username)]
