"""Gunicorn's access log masks intake tokens and webhook ids, in the request line and the Referer.

The portal runs under the real gunicorn with the project's gunicorn.conf.py; its output is read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from integration_portal.redaction import mask_url_secrets
from tests.support.harness import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_mask_url_secrets_masks_tokens_and_webhook_ids_but_not_the_manage_pages():
    token = "A" * 30 + "b1c2d3e4f5g6h"
    line = f"GET /intake/{token}/ HTTP/1.1 https://portal.example.test/intake/{token}/?x=1"
    masked = mask_url_secrets(line)
    assert token not in masked and "/intake/••••" in masked
    assert mask_url_secrets("GET /intake/manage/acme/new/ HTTP/1.1").endswith("/new/ HTTP/1.1")
    hook = "POST /api/v1/webhooks/lever/Zx9-hook_id_0123456789abcdefghi/ HTTP/1.1"
    assert "Zx9-hook_id_0123456789abc" not in mask_url_secrets(hook)


def _get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.django_db(transaction=True)
def test_gunicorn_access_log_masks_intake_tokens_and_webhook_ids(postgres, tmp_path):
    from django.db import connection

    from connectors.tenants.intake_links import intake_link_create
    from tests.support.factories import TenantFactory

    tenant = TenantFactory(name="Acme", slug="acme", trigger_stage_ids=["s"], no_secrets=True)
    _, token = intake_link_create(tenant=tenant, actor="cli")
    referer_token = "R" * 25 + "referer-token-0000"
    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "integration_portal.test_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # one worker: in-process metrics, no files
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "integration_portal.wsgi", "-c", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(f"{base}/healthz", {}) == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        headers = {"Referer": f"{base}/intake/{referer_token}/"}
        assert _get(f"{base}/intake/{token}/", headers) == 200
        _get(f"{base}/api/v1/webhooks/lever/{tenant.webhook_id}/", headers)
        time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    text = log.read_text()
    assert f"/intake/••••{token[-4:]}/" in text  # the line is there, masked
    assert f"/webhooks/lever/••••{tenant.webhook_id[-4:]}/" in text
    for secret in (token, referer_token, tenant.webhook_id):
        assert secret not in text
        assert secret[:16] not in text
