"""With DJANGO_DEBUG off the portal refuses to start without its secrets, naming them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

SETUP = "import django; django.setup()"


def start(**overrides: str | None) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "DJANGO_SECRET_KEY",
            "FIELD_ENCRYPTION_KEYS",
            "DJANGO_DEBUG",
            "METRICS_TOKEN",
            "METRICS_ENABLED",
        )
    }
    env.update(
        DJANGO_DEBUG="0",
        METRICS_TOKEN="production-metrics-token-0123456789",
        PORTAL_ENV_FILE="/dev/null",
        DJANGO_SETTINGS_MODULE="integration_portal.settings",
    )
    env.update(overrides)
    env = {key: value for key, value in env.items() if value is not None}
    return subprocess.run(
        [sys.executable, "-c", SETUP],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_without_secrets_fail_naming_both():
    proc = start()
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "DJANGO_SECRET_KEY" in proc.stderr and "FIELD_ENCRYPTION_KEYS" in proc.stderr


def test_production_settings_name_only_the_missing_secret():
    proc = start(DJANGO_SECRET_KEY="a-production-secret-key-value-0123456789")
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert "FIELD_ENCRYPTION_KEYS" in message and "DJANGO_SECRET_KEY" not in message


def test_production_settings_with_both_secrets_start():
    proc = start(
        DJANGO_SECRET_KEY="a-production-secret-key-value-0123456789",
        FIELD_ENCRYPTION_KEYS="prod-1:dGVzdC1rZXktMS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ",
    )
    assert proc.returncode == 0, proc.stderr


SECRETS = {
    "DJANGO_SECRET_KEY": "a-production-secret-key-value-0123456789",
    "FIELD_ENCRYPTION_KEYS": "prod-1:dGVzdC1rZXktMS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ",
}


def test_production_settings_without_a_metrics_token_fail_naming_it():
    proc = start(**SECRETS, METRICS_TOKEN=None)
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert "METRICS_TOKEN" in message and "METRICS_ENABLED=false" in message


def test_production_settings_with_metrics_off_need_no_token():
    proc = start(**SECRETS, METRICS_TOKEN=None, METRICS_ENABLED="false")
    assert proc.returncode == 0, proc.stderr
