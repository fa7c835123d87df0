"""With DJANGO_DEBUG off the portal refuses to start without its secrets or with a malformed
key list, naming the variable; each case in a fresh process."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
GOOD_KEY = "p1:" + base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")


def start(tmp_path: Path, **overrides: str | None) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DJANGO_", "DATABASE_URL", "REDIS_URL", "CELERY_", "FIELD_", "CALL", "METRICS_")
        )
    }
    env.update(
        DJANGO_SETTINGS_MODULE="integration_portal.settings",
        PORTAL_ENV_FILE=os.devnull,
        PORTAL_VAR_DIR=str(tmp_path),
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="s" * 50,
        FIELD_ENCRYPTION_KEYS=GOOD_KEY,
        CALLBACK_HMAC_KEY="c" * 40,
        METRICS_TOKEN="m" * 40,
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_complete_production_configuration_starts(tmp_path):
    proc = start(tmp_path)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("p1:short", "must be 32 bytes"),
        ("no-separator", "expected '<key id>:<key>'"),
        ("UPPER:" + GOOD_KEY.split(":")[1], "expected '<key id>:<key>'"),
        (f"{GOOD_KEY},{GOOD_KEY}", "twice"),
    ],
)
def test_a_malformed_encryption_key_list_stops_start_up_naming_the_variable(
    tmp_path, value, problem
):
    proc = start(tmp_path, FIELD_ENCRYPTION_KEYS=value)
    assert proc.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in proc.stderr and problem in proc.stderr
    assert GOOD_KEY.split(":")[1] not in proc.stderr


def test_a_malformed_encryption_key_list_stops_start_up_in_debug_too(tmp_path):
    proc = start(tmp_path, DJANGO_DEBUG="true", FIELD_ENCRYPTION_KEYS="p1:short")
    assert proc.returncode != 0 and "FIELD_ENCRYPTION_KEYS" in proc.stderr


def test_production_without_a_callback_hmac_key_refuses_to_start_and_says_what_to_set(tmp_path):
    proc = start(tmp_path, CALLBACK_HMAC_KEY=None)
    assert proc.returncode != 0
    assert "CALLBACK_HMAC_KEY" in proc.stderr
    # An existing installation keeps its open orders' callbacks by setting the old fallback.
    assert "current DJANGO_SECRET_KEY value" in proc.stderr


def test_production_without_any_secret_refuses_to_start_naming_each(tmp_path):
    proc = start(
        tmp_path, DJANGO_SECRET_KEY=None, FIELD_ENCRYPTION_KEYS=None, CALLBACK_HMAC_KEY=None
    )
    assert proc.returncode != 0 and "ImproperlyConfigured" in proc.stderr
    for name in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "CALLBACK_HMAC_KEY"):
        assert name in proc.stderr


def test_production_names_only_the_missing_secret(tmp_path):
    proc = start(tmp_path, FIELD_ENCRYPTION_KEYS=None)
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert "FIELD_ENCRYPTION_KEYS" in message
    assert "DJANGO_SECRET_KEY" not in message and "CALLBACK_HMAC_KEY" not in message


def test_production_without_a_metrics_token_refuses_to_start_naming_it(tmp_path):
    proc = start(tmp_path, METRICS_TOKEN=None)
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert "METRICS_TOKEN" in message and "METRICS_ENABLED=false" in message


def test_production_with_metrics_off_needs_no_metrics_token(tmp_path):
    proc = start(tmp_path, METRICS_TOKEN=None, METRICS_ENABLED="false")
    assert proc.returncode == 0, proc.stderr


def test_a_payload_retention_shorter_than_the_webhook_max_age_refuses_to_start(tmp_path):
    proc = start(tmp_path, PAYLOAD_RETENTION_DAYS="13")
    assert proc.returncode != 0
    message = proc.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in message and "PAYLOAD_RETENTION_DAYS=13" in message
    assert start(tmp_path, PAYLOAD_RETENTION_DAYS="14").returncode == 0


def test_an_empty_metrics_folder_setting_means_in_process_metrics_not_files_in_the_cwd(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="integration_portal.settings",
        PORTAL_ENV_FILE=os.devnull,
        PORTAL_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(ROOT),
        PROMETHEUS_MULTIPROC_DIR="",
    )
    probe = (
        "import django; django.setup(); from prometheus_client import Counter; "
        "Counter('probe_total', 'probe').inc()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob("*.db"))
