"""Canary secrets set on a tenant never come out: not in pages (admin included), API responses,
logs, error reports, exceptions, CLI output, nor in the task messages held in Redis."""

from __future__ import annotations

import base64
import io
import json
import logging
import subprocess
import sys

import pytest
import requests
from django.contrib import admin
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter

from tests.security.test_access_sweep import _path, _project_urls
from tests.support.harness import ROOT, wait_until
from tests.support.security import CANARY, World, leaked
from tests.support.wired import SIGNATURE_TOKEN, stage_body


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


@pytest.mark.django_db
def test_no_page_api_response_or_admin_page_shows_a_canary(
    world: World, super_admin, account_manager, caplog
):
    caplog.set_level(logging.DEBUG)
    pages = 0
    for user in (super_admin, account_manager):
        client = Client()
        client.force_login(user)
        for route, name in _project_urls():
            if name in ("logout",) or name == "lever-webhook":
                continue
            response = client.get(_path(route, world.a))
            assert not leaked(_body(response)), (user.username, name)
            pages += 1
    client = Client()
    client.force_login(super_admin)
    for model, _model_admin in admin.site._registry.items():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = client.get(changelist)
        assert response.status_code == 200 and not leaked(_body(response)), changelist
        pages += 1
        obj = model.objects.first()
        if obj is not None:
            change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            response = client.get(change)
            assert response.status_code == 200 and not leaked(_body(response)), change
            pages += 1
    api = client.get(f"/api/v1/orders/{world.a.order.pk}/")
    assert api.status_code == 200 and not leaked(_body(api))
    assert not leaked("\n".join(r.getMessage() for r in caplog.records))
    assert pages > 60


@pytest.mark.django_db
def test_the_cli_never_prints_a_canary(world: World):
    out, err = io.StringIO(), io.StringIO()
    call_command("tenants", "list", stdout=out, stderr=err)
    call_command("tenants", "show", world.a.tenant.slug, stdout=out, stderr=err)
    try:
        call_command("tenants", "check", world.a.tenant.slug, stdout=out, stderr=err)
    except (SystemExit, Exception) as exc:  # the hosts are unreachable: the failure is the point
        out.write(str(exc))
    assert world.a.tenant.slug in out.getvalue()
    assert not leaked(out.getvalue() + err.getvalue())


@pytest.mark.django_db
def test_an_error_report_for_a_crash_while_setting_a_secret_holds_no_canary(
    world: World, super_admin, monkeypatch, caplog
):
    """What an error e-mail (AdminEmailHandler) would carry: POST data and frame locals. The
    crash happens deep inside the real service, after it has the value in hand."""
    from connectors.tenants import credentials

    def crash(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(credentials, "record_tenant_action", crash)
    client = Client(raise_request_exception=False)
    client.force_login(super_admin)
    caplog.set_level(logging.ERROR, logger="django.request")
    response = client.post(
        f"/tenants/{world.a.tenant.slug}/secrets/lever-api-key/",
        {"value": CANARY["lever_api_key"] + "Z"},
    )  # a new value
    assert response.status_code == 500
    record = next(r for r in caplog.records if r.name == "django.request")
    report = ExceptionReporter(record.request, *record.exc_info, is_email=True)
    assert "the database went away" in report.get_traceback_text()
    assert not leaked(report.get_traceback_text()), "POST data or a frame local leaks the value"
    assert not leaked(report.get_traceback_html())
    assert not leaked(_body(response))


def _broker_messages(stack) -> list[str]:
    """Every message in the throwaway broker's queues, with kombu's base64 bodies decoded."""
    client = stack.redis.client()
    out = []
    for key in client.keys("*"):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            out.append(raw.decode(errors="replace"))
            message = json.loads(raw)
            if message.get("properties", {}).get("body_encoding") == "base64":
                out.append(base64.b64decode(message["body"]).decode(errors="replace"))
    return out


@pytest.mark.e2e
def test_canaries_stay_out_of_broker_messages_process_logs_and_the_cli(stack, fakes):
    from connectors.demo_data import DEMO_SEED
    from connectors.lever.fake import seed_account
    from orders.models import LeverNote
    from tests.support.factories import TenantFactory
    from tests.support.wired import Wired

    lever, backcheck = fakes
    backcheck.client_id, backcheck.client_secret = (
        CANARY["backcheck_client_id"],
        CANARY["backcheck_client_secret"],
    )
    stack.up(workers=0, beat=False)
    seed_account(lever, CANARY["lever_api_key"], CANARY["lever_signature_token"], DEMO_SEED)
    tenant = TenantFactory(
        name="Canary Corp",
        slug="canary",
        lever_base_url=lever.base_url,
        backcheck_base_url=backcheck.url,
        trigger_stage_ids=[DEMO_SEED["background_check_stage_id"]],
        packages=[
            {
                "code": "std-ca",
                "name": "Standard Canada",
                "lever_tag": "standard-ca",
                "is_default": True,
            }
        ],
        **CANARY,
    )
    w = Wired(tenant, lever, backcheck, CANARY["lever_api_key"], stack.portal_url)
    assert SIGNATURE_TOKEN != CANARY["lever_signature_token"]
    body = stage_body(w, w.candidate("ada"))
    answer = requests.post(w.webhook_url, json=body, timeout=10)
    assert answer.status_code == 200 and not leaked(answer.text)

    # The work is in Redis (published just after the answer is sent:
    # integration_portal/publishing.py).
    def queued() -> list[str] | None:
        messages = _broker_messages(stack)
        return messages if any("orders.process_inbound" in m for m in messages) else None

    messages = wait_until(queued, timeout=10, message="the stage change's task in the broker")
    assert not leaked("\n".join(messages))

    # A worker does the work (Lever and Backcheck calls with the canary credentials), and one
    # note fails at Lever: its error is stored, shown and logged — never with a key in it.
    lever.inject_fault(status=500, count=1, method="POST", path_contains="/notes")
    stack.start_worker()
    w.wait_notes("ada", 1, timeout=30)
    order = w.wait_order("ada", lambda o: o.screening_id)
    backcheck.consent(order.screening_id)
    w.wait_notes("ada", 2, timeout=30)
    wait_until(lambda: not LeverNote.objects.exclude(state="delivered").exists())
    assert not leaked("\n".join(_broker_messages(stack)))
    for note in LeverNote.objects.all():
        assert not leaked(note.last_error + note.text)
    cli = subprocess.run(
        [sys.executable, "manage.py", "tenants", "show", "canary"],
        cwd=ROOT,
        env=stack.base_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0 and "canary" in cli.stdout
    assert not leaked(cli.stdout + cli.stderr)
    logs = stack.logs()
    assert "orders.process_inbound" in logs and not leaked(logs)
