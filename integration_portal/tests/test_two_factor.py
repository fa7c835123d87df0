"""Two-factor sign-in: TOTP for super-admins (required with debug off), recovery codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from integration_portal.auth import LOGIN_FAILURE_LIMIT

pytestmark = pytest.mark.django_db
PASSWORD = "pw-root-admin-1"


@pytest.fixture(autouse=True)
def _required(settings):
    settings.TWO_FACTOR_REQUIRED_FOR_SUPER_ADMINS = True


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def confirmed_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def sign_in(client: Client, username: str, password: str, otp: str = ""):
    return client.post("/login/", {"username": username, "password": password, "otp_token": otp})


@pytest.fixture
def no_backoff(settings):
    # django-otp also makes a device wait a little after a wrong code; these tests retry at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.mark.usefixtures("no_backoff")
def test_a_super_admin_without_an_authenticator_must_set_one_up_first(client, super_admin):
    assert sign_in(client, "root-admin", PASSWORD).status_code == 302
    response = client.get("/tenants/")
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    assert client.get("/admin/").status_code == 302
    page = client.get("/account/two-factor/")
    assert page.status_code == 200 and "Super-admins must set up" in page.content.decode()
    device = TOTPDevice.objects.get(user=super_admin, confirmed=False)
    wrong = client.post("/account/two-factor/", {"code": "000000"})
    assert "did not match" in wrong.content.decode()
    done = client.post("/account/two-factor/", {"code": code(device)})
    codes = re.findall(r"<li>([a-z0-9]{8})</li>", done.content.decode())
    assert len(codes) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/tenants/").status_code == 200  # this session is verified now


@pytest.mark.usefixtures("no_backoff")
def test_with_an_authenticator_the_password_alone_does_not_sign_in(client, super_admin):
    device = confirmed_device(super_admin)
    refused = sign_in(client, "root-admin", PASSWORD)
    assert refused.status_code == 200 and "6-digit code" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert sign_in(client, "root-admin", PASSWORD, "123456").status_code == 200
    assert sign_in(client, "root-admin", "wrong", code(device)).status_code == 200
    assert sign_in(client, "root-admin", PASSWORD, code(device)).status_code == 302
    assert client.get("/tenants/").status_code == 200


def test_a_recovery_code_signs_in_once(client, super_admin):
    confirmed_device(super_admin)
    from integration_portal.two_factor import _new_recovery_codes

    recovery = _new_recovery_codes(super_admin)[0]
    assert sign_in(client, "root-admin", PASSWORD, recovery).status_code == 302
    assert client.get("/tenants/").status_code == 200
    client.logout()
    assert sign_in(client, "root-admin", PASSWORD, recovery).status_code == 200
    assert StaticToken.objects.filter(device__user=super_admin).count() == 9


def test_wrong_codes_count_against_the_login_throttle(client, super_admin):
    device = confirmed_device(super_admin)
    for _ in range(LOGIN_FAILURE_LIMIT):
        sign_in(client, "root-admin", PASSWORD, "000000")
    assert sign_in(client, "root-admin", PASSWORD, code(device)).status_code == 429


def test_a_password_only_session_of_a_user_with_an_authenticator_is_ended(client, super_admin):
    confirmed_device(super_admin)
    # The admin's own login form checks the password only.
    client.post("/admin/login/", {"username": "root-admin", "password": PASSWORD})
    response = client.get("/tenants/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert "_auth_user_id" not in client.session


def test_two_factor_is_optional_for_account_managers(client, account_manager):
    assert sign_in(client, "am-alice", "pw-alice-1").status_code == 302
    assert client.get("/").status_code == 200
    page = client.get("/account/two-factor/")
    assert page.status_code == 200 and "Super-admins must" not in page.content.decode()
    device = TOTPDevice.objects.get(user=account_manager)
    client.post("/account/two-factor/", {"code": code(device)})
    client.logout()
    # Once set up, it is asked for.
    assert sign_in(client, "am-alice", "pw-alice-1").status_code == 200
    assert sign_in(client, "am-alice", "pw-alice-1", code(device, 1)).status_code == 302


def test_production_settings_require_two_factor_for_super_admins():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_DEBUG="0",
        PORTAL_ENV_FILE=os.devnull,
        DJANGO_SETTINGS_MODULE="integration_portal.settings",
        DJANGO_SECRET_KEY="a-production-secret-key-value-0123456789",
        METRICS_TOKEN="production-metrics-token-0123456789",
    )
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.TWO_FACTOR_REQUIRED_FOR_SUPER_ADMINS)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "True", proc.stderr


def test_the_admin_never_shows_a_totp_key_or_a_recovery_code(client, super_admin):
    from integration_portal.two_factor import _new_recovery_codes

    device = confirmed_device(super_admin)
    codes = _new_recovery_codes(super_admin)
    static = super_admin.staticdevice_set.get()
    sign_in(client, "root-admin", PASSWORD, code(device))
    text = ""
    for path in (
        "/admin/otp_totp/totpdevice/",
        f"/admin/otp_totp/totpdevice/{device.pk}/change/",
        "/admin/otp_static/staticdevice/",
        f"/admin/otp_static/staticdevice/{static.pk}/change/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        text += response.content.decode()
    assert device.key not in text
    assert not any(c in text for c in codes)
