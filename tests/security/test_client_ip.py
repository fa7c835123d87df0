"""The client IP behind the TLS proxy (integration_portal/proxies.py), and what counts on it.

Behind the proxy every request arrives from the proxy's address; X-Forwarded-For names the
client, but only a trusted proxy (FORWARDED_ALLOW_IPS) may say so.
"""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest
from django.test import Client

from integration_portal.auth import LOGIN_FAILURE_LIMIT
from integration_portal.proxies import DEFAULT_FORWARDED_ALLOW_IPS, client_ip

ROOT = Path(__file__).resolve().parents[2]
PROXY = "127.0.0.1"


def _meta(rf, remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return rf.get("/", **extra)


def test_forwarded_for_counts_only_from_a_trusted_proxy(rf, settings):
    settings.FORWARDED_ALLOW_IPS = "127.0.0.1,10.0.0.0/8"
    assert client_ip(_meta(rf, PROXY, "198.51.100.4")) == "198.51.100.4"
    # Right to left, past our own proxies; what the client prepended is ignored.
    assert client_ip(_meta(rf, PROXY, "6.6.6.6, 198.51.100.4, 10.1.2.3")) == "198.51.100.4"
    # A stranger's header is ignored.
    assert client_ip(_meta(rf, "203.0.113.5", "198.51.100.4")) == "203.0.113.5"
    assert client_ip(_meta(rf, PROXY)) == PROXY
    assert client_ip(_meta(rf, PROXY, "garbage")) == PROXY
    settings.FORWARDED_ALLOW_IPS = "*"
    assert client_ip(_meta(rf, "203.0.113.5", "198.51.100.4")) == "198.51.100.4"


def test_gunicorn_and_django_read_one_setting_with_default_127_0_0_1(settings, monkeypatch):
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["forwarded_allow_ips"] == "127.0.0.1"
    assert DEFAULT_FORWARDED_ALLOW_IPS == "127.0.0.1"
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.7")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["forwarded_allow_ips"] == "10.0.0.7"
    from integration_portal.proxies import forwarded_allow_ips

    assert forwarded_allow_ips(os.environ) == "10.0.0.7"


@pytest.mark.django_db
def test_a_stranger_behind_the_proxy_cannot_lock_a_named_super_admin_out(super_admin):
    stranger = Client(REMOTE_ADDR=PROXY, headers={"x-forwarded-for": "198.51.100.66"})
    for _ in range(LOGIN_FAILURE_LIMIT):
        stranger.post("/login/", {"username": "root-admin", "password": "wrong-guess"})
    assert (
        stranger.post("/login/", {"username": "root-admin", "password": "pw-root-admin-1"})
    ).status_code == 429
    owner = Client(REMOTE_ADDR=PROXY, headers={"x-forwarded-for": "192.0.2.10"})
    response = owner.post("/login/", {"username": "root-admin", "password": "pw-root-admin-1"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_escape_the_throttle(super_admin):
    for n in range(LOGIN_FAILURE_LIMIT):
        Client(REMOTE_ADDR="203.0.113.5", headers={"x-forwarded-for": f"192.0.2.{n}"}).post(
            "/login/", {"username": "root-admin", "password": "wrong-guess"}
        )
    forged = Client(REMOTE_ADDR="203.0.113.5", headers={"x-forwarded-for": "192.0.2.200"})
    response = forged.post("/login/", {"username": "root-admin", "password": "pw-root-admin-1"})
    assert response.status_code == 429
