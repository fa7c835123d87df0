"""Production settings (DJANGO_DEBUG off, secrets set), each in a fresh process: `check --deploy`
is clean at WARNING level, and the served responses carry HSTS, secure cookies and the CSP."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _production_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL", "CELERY_"))
    }
    env.update(
        DJANGO_DEBUG="0",
        PORTAL_ENV_FILE=os.devnull,
        DJANGO_SETTINGS_MODULE="integration_portal.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        FIELD_ENCRYPTION_KEYS="prod-1:dGVzdC1rZXktMS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ",
        CALLBACK_HMAC_KEY=secrets.token_urlsafe(32),
        DJANGO_ALLOWED_HOSTS="portal.example.com",
        METRICS_TOKEN=secrets.token_urlsafe(32),
        PORTAL_VAR_DIR=str(tmp_path),
    )
    return env


def test_check_deploy_is_clean_for_production_settings(tmp_path):
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout


PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="portal.example.com")
plain = client.get("/login/")
secure = client.get("/login/", secure=True)
import re
css = re.search(r'href="(/static/[^"]+[.]css)"', secure.content.decode()).group(1)
static = client.get(css, secure=True)
print(json.dumps({
    "redirect": [plain.status_code, plain.get("Location", "")],
    "hsts": secure.get("Strict-Transport-Security", ""),
    "csp": secure.get("Content-Security-Policy", ""),
    "nosniff": secure.get("X-Content-Type-Options", ""),
    "frame": secure.get("X-Frame-Options", ""),
    "csrf_cookie_secure": secure.cookies["csrftoken"]["secure"] if "csrftoken" in secure.cookies else None,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "session_httponly": settings.SESSION_COOKIE_HTTPONLY,
    "css": css,
    "css_status": static.status_code,
    "css_cache": static.get("Cache-Control", ""),
}))
"""


def test_production_responses_carry_hsts_secure_cookies_and_the_csp(tmp_path):
    env = _production_env(tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'probe.sqlite3'}"
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert collect.returncode == 0, collect.stderr
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["redirect"] == [301, "https://portal.example.com/login/"]
    assert "max-age=31536000" in seen["hsts"] and "includeSubDomains" in seen["hsts"]
    assert "default-src 'self'" in seen["csp"] and "frame-ancestors 'none'" in seen["csp"]
    assert seen["nosniff"] == "nosniff" and seen["frame"] == "DENY"
    assert seen["csrf_cookie_secure"] is True
    assert seen["session_cookie_secure"] is True and seen["session_httponly"] is True
    # Static files under hashed names (WhiteNoise's manifest storage), cached for good.
    assert re.fullmatch(r"/static/portal/portal\.[0-9a-f]{12}\.css", seen["css"]), seen["css"]
    assert seen["css_status"] == 200
    assert "max-age=315360000" in seen["css_cache"] and "immutable" in seen["css_cache"]
