"""`manage.py tenants …`: every subcommand's success path and its bad input."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from connectors.models import Tenant, TenantAuditEntry
from tests.support.canaries import CANARY_API_KEY, CANARY_TOKEN, assert_no_canary

pytestmark = pytest.mark.django_db

NEW_TOKEN = "rotated-signature-token-000000000001"


def run(*args: str, stdin: str | None = None) -> str:
    out = io.StringIO()
    kwargs = {"stdout": out, "stderr": io.StringIO()}
    if stdin is not None:
        kwargs["stdin"] = io.StringIO(stdin)
    call_command("tenants", *args, **kwargs)
    return out.getvalue()


def test_add_creates_a_tenant_and_prints_its_webhook_url():
    out = run(
        "add",
        "initech",
        "--name",
        "Initech",
        "--lever-base-url",
        "sandbox",
        "--backcheck-base-url",
        "https://backcheck.example.test/v1",
        "--trigger-stage",
        "stage-a",
        "--trigger-stage",
        "stage-b",
        "--piecemeal",
        "--cma",
        "--notes-secret",
        "--note-author",
        "user-7",
    )
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.webhook_url in out
    assert tenant.lever_base_url == "https://api.sandbox.lever.co/v1"
    assert tenant.trigger_stage_ids == ["stage-a", "stage-b"]
    assert (tenant.piecemeal, tenant.cma, tenant.notes_secret) == (True, True, True)
    assert tenant.note_author_user_id == "user-7"
    assert TenantAuditEntry.objects.get(tenant=tenant).actor_label == "cli"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--lever-base-url", "production", "--backcheck-base-url", "not-a-url"],
            "Backcheck base URL",
        ),
        (
            ["--lever-base-url", "staging", "--backcheck-base-url", "https://b.example"],
            "Lever base URL",
        ),
    ],
)
def test_add_refuses_invalid_urls(args, message):
    with pytest.raises(CommandError, match=message):
        run("add", "initech", "--name", "Initech", "--trigger-stage", "s", *args)
    assert not Tenant.objects.exists()


def test_add_refuses_a_duplicate_slug(tenant):
    with pytest.raises(CommandError, match="already exists"):
        run(
            "add",
            "acme",
            "--name",
            "Again",
            "--lever-base-url",
            "production",
            "--backcheck-base-url",
            "https://b.example",
            "--trigger-stage",
            "s",
        )


def test_add_package_adds_to_the_catalog(tenant):
    out = run(
        "add-package", "acme", "exec", "--name", "Executive", "--lever-tag", "vip", "--default"
    )
    assert "Added package exec (default) to acme" in out
    package = tenant.packages.get(code="exec")
    assert package.is_default and package.lever_tag == "vip"
    assert not tenant.packages.get(code="std-ca").is_default


def test_add_package_refuses_a_duplicate_code(tenant):
    with pytest.raises(CommandError, match="already in use"):
        run("add-package", "acme", "std-ca", "--name", "Again")


def test_set_secret_reads_stdin_and_prints_only_the_mask(other_tenant):
    out = run("set-secret", "globex", "lever-api-key", stdin=CANARY_API_KEY + "\n")
    assert "••••" + CANARY_API_KEY[-4:] in out
    assert_no_canary(out)
    assert Tenant.objects.get(slug="globex").lever_api_key.reveal() == CANARY_API_KEY


def test_set_secret_refuses_empty_and_malformed_values(other_tenant):
    with pytest.raises(CommandError, match="empty"):
        run("set-secret", "globex", "lever-api-key", stdin="\n")
    with pytest.raises(CommandError, match="20-200"):
        run("set-secret", "globex", "lever-signature-token", stdin="too-short\n")
    with pytest.raises(CommandError, match="20-200"):
        run("set-secret", "globex", "lever-api-key", stdin="two lines\nof-key-material-here\n")
    assert Tenant.objects.get(slug="globex").lever_api_key is None


def test_set_secret_takes_no_value_on_the_command_line(other_tenant):
    with pytest.raises(CommandError):
        run("set-secret", "globex", "lever-api-key", CANARY_API_KEY)
    with pytest.raises(CommandError):
        run("set-secret", "globex", "password", stdin=CANARY_API_KEY)


def test_new_signature_token_keeps_the_old_one_until_retire_token(tenant):
    out = run("set-secret", "acme", "lever-signature-token", stdin=NEW_TOKEN)
    assert "stays valid until `manage.py tenants retire-token acme`" in out
    stored = Tenant.objects.get(slug="acme")
    assert stored.lever_signature_token_previous.reveal() == CANARY_TOKEN
    shown = run("show", "acme")
    assert "previous lever-signature-token (still accepted): ••••" + CANARY_TOKEN[-4:] in shown
    assert "Retired the previous signature token" in run("retire-token", "acme")
    assert Tenant.objects.get(slug="acme").lever_signature_token_previous is None
    assert "nothing to retire" in run("retire-token", "acme")


def test_list_shows_every_tenant_without_secrets(tenant, other_tenant):
    out = run("list")
    assert "acme" in out and "globex" in out and "4/4 set" in out and "0/4 set" in out
    assert_no_canary(out)


def test_show_prints_webhook_url_settings_and_masked_secrets(tenant):
    out = run("show", "acme")
    assert f"Webhook URL: {tenant.webhook_url}" in out
    assert "Trigger stages: stage-background-check" in out
    assert "lever-api-key: ••••" + CANARY_API_KEY[-4:] in out
    assert "std-ca: Standard Canada default" in out
    assert_no_canary(out)


@pytest.mark.parametrize("action", ["add-package", "set-secret", "retire-token", "show", "check"])
def test_unknown_slug_is_a_clear_error(action):
    extra = {"add-package": ["code", "--name", "N"], "set-secret": ["lever-api-key"]}
    with pytest.raises(CommandError, match="No tenant with the slug 'ghost'"):
        run(action, "ghost", *extra.get(action, []), stdin="x" * 30)


def test_check_of_an_unconfigured_tenant_exits_non_zero_and_stores_the_result(other_tenant):
    with pytest.raises(CommandError, match="failed"):
        run("check", "globex")
    stored = Tenant.objects.get(slug="globex")
    assert stored.last_check_result["status"] == "failed"
    assert stored.last_check_result["lever"]["status"] == "not_configured"
    assert stored.last_check_result["backcheck"]["status"] == "not_configured"
    assert stored.last_check_at is not None


def test_cli_output_and_logs_never_carry_a_secret(tenant, caplog):
    caplog.set_level("DEBUG")
    text = run("list") + run("show", "acme")
    text += run("set-secret", "acme", "lever-signature-token", stdin=NEW_TOKEN)
    text += run("retire-token", "acme")
    assert_no_canary(text + caplog.text)
    assert NEW_TOKEN not in text + caplog.text


@pytest.mark.django_db(transaction=True)
def test_set_secret_in_a_real_process_reads_a_pipe(postgres, other_tenant):
    # A second process needs a database it can share: the test SQLite database is in memory.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "integration_portal.test_settings",
        "DATABASE_URL": _database_url(),
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "tenants", "set-secret", "globex", "backcheck-client-secret"],
        input="piped-client-secret-value\n",
        capture_output=True,
        text=True,
        cwd=Path(settings.BASE_DIR),
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "piped-client-secret-value" not in proc.stdout + proc.stderr
    stored = Tenant.objects.get(slug="globex").backcheck_client_secret
    assert stored.reveal() == "piped-client-secret-value"
    empty = subprocess.run(
        [sys.executable, "manage.py", "tenants", "set-secret", "globex", "lever-api-key"],
        input="",
        capture_output=True,
        text=True,
        cwd=Path(settings.BASE_DIR),
        env=env,
        timeout=60,
    )
    assert empty.returncode == 1 and "empty" in empty.stderr


def _database_url() -> str:
    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
