"""Outbound URLs cannot reach private networks (OUTBOUND_ALLOW_PRIVATE_NETWORKS false).

Only DNS is stubbed (`connectors.outbound.resolve`): the listeners are real sockets on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from connectors import outbound
from connectors.backcheck.checks import backcheck_check
from connectors.http import HttpClient, HttpError
from connectors.lever.checks import lever_check
from connectors.models import Tenant
from connectors.tenants import credentials, services
from tests.support.canaries import CANARY_API_KEY

PUBLIC = "203.0.113.9"  # documentation range: public for this rule, never routed here
BODY_MARKER = "internal-listener-banner-5c1f"


class Listener:
    """A real HTTP listener on 127.0.0.1 that answers every request with one fixed reply."""

    def __init__(self, status: int = 500, body: str = BODY_MARKER, ctype: str = "text/plain"):
        self.status, self.body, self.ctype = status, body, ctype
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self) -> None:
                outer.hits.append(f"{self.command} {self.path}")
                data = outer.body.encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", outer.ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _reply

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def private_refused(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False


@pytest.fixture
def resolver(monkeypatch):
    """Stub DNS: `answers[host]` is a list of address lists, one per lookup (the last repeats)."""
    answers: dict[str, list[list[str]]] = {}
    calls: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in answers:
            import socket

            raise socket.gaierror(f"stub resolver: unknown host {host}")
        queue = answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]

    monkeypatch.setattr(outbound, "resolve", resolve)
    resolve.answers = answers  # type: ignore[attr-defined]
    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


# --- the address rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "fd12:3456::1",
        "169.254.169.254",
        "fe80::1",
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",
        "::",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_loopback_private_link_local_multicast_and_unspecified_are_refused(address):
    assert outbound.address_problem(address)


@pytest.mark.parametrize("address", [PUBLIC, "198.51.100.20", "2001:db8::5", "172.32.0.1"])
def test_outside_addresses_pass(address):
    assert outbound.address_problem(address) is None


# --- stored URLs: services, `tenants add`, `tenants set-url` ----------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("private_refused")
def test_services_refuse_a_host_resolving_to_a_private_address(resolver):
    resolver.answers["intranet.example.test"] = [["10.0.0.7"]]
    with pytest.raises(ValidationError) as caught:
        services.tenant_create(
            actor="cli",
            name="X",
            slug="x",
            backcheck_base_url="https://intranet.example.test/v1",
        )
    message = caught.value.message_dict["backcheck_base_url"][0]
    assert "10.0.0.7" in message and "OUTBOUND_ALLOW_PRIVATE_NETWORKS" in message
    assert not Tenant.objects.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("private_refused")
def test_services_refuse_plain_http_and_ip_literals_when_private_is_refused(resolver):
    resolver.answers["bc.example.test"] = [[PUBLIC]]
    for url, needle in (
        ("http://bc.example.test/v1", "only https"),
        ("https://127.0.0.1:8443/v1", "loopback"),
        ("https://169.254.169.254/latest", "link-local"),
    ):
        with pytest.raises(ValidationError) as caught:
            services.tenant_create(actor="cli", name="X", slug="x", backcheck_base_url=url)
        assert needle in caught.value.message_dict["backcheck_base_url"][0], url
    tenant = services.tenant_create(
        actor="cli", name="X", slug="x", backcheck_base_url="https://bc.example.test/v1"
    )
    assert tenant.backcheck_base_url == "https://bc.example.test/v1"


@pytest.mark.django_db
@pytest.mark.usefixtures("private_refused")
def test_tenants_add_exits_non_zero_naming_the_rule(resolver):
    resolver.answers["lever.example.test"] = [["192.168.0.10"]]
    with pytest.raises(CommandError, match="OUTBOUND_ALLOW_PRIVATE_NETWORKS"):
        call_command(
            "tenants",
            "add",
            "x",
            "--name",
            "X",
            "--lever-base-url",
            "https://lever.example.test/v1",
            "--backcheck-base-url",
            "https://127.0.0.1/v1",
            "--trigger-stage",
            "s",
            stdout=io.StringIO(),
        )
    assert not Tenant.objects.exists()


@pytest.mark.django_db
def test_set_url_refuses_private_hosts_and_a_change_clears_bound_credentials(
    tenant, resolver, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    resolver.answers["lever.example.test"] = [["fd00::5"]]
    with pytest.raises(CommandError, match="private-network"):
        call_command(
            "tenants",
            "set-url",
            "acme",
            "lever",
            "https://lever.example.test/v1",
            stdout=io.StringIO(),
        )
    tenant.refresh_from_db()
    assert tenant.lever_api_key is not None  # a refused URL changes nothing

    resolver.answers["lever.example.test"] = [[PUBLIC]]
    out = io.StringIO()
    call_command("tenants", "set-url", "acme", "lever", "https://lever.example.test/v1", stdout=out)
    tenant.refresh_from_db()
    assert tenant.lever_base_url == "https://lever.example.test/v1"
    assert tenant.lever_api_key is None  # must be entered again for the new host
    assert tenant.lever_signature_token is not None  # never sent to the base URL: kept
    assert tenant.backcheck_client_secret is not None
    assert "lever-api-key" in out.getvalue()
    assert tenant.audit_entries.filter(action="secret_cleared", field="lever_api_key").exists()

    resolver.answers["bc2.example.test"] = [[PUBLIC]]
    call_command("tenants", "set-url", "acme", "backcheck", "https://bc2.example.test", stdout=out)
    tenant.refresh_from_db()
    assert tenant.backcheck_client_id is None and tenant.backcheck_client_secret is None


@pytest.mark.django_db
def test_an_unchanged_url_keeps_the_credentials(tenant):
    call_command("tenants", "set-url", "acme", "lever", "sandbox", stdout=io.StringIO())
    tenant.refresh_from_db()
    assert tenant.lever_api_key.reveal() == CANARY_API_KEY


# --- the set-up form: Lever presets only, a change clears the key -----------------------------


def test_the_form_offers_lever_presets_only():
    from connectors.forms import TenantForm

    form = TenantForm()
    assert [c for c, _ in form.fields["lever_environment"].choices] == [
        "production",
        "sandbox",
        "eu",
    ]
    assert "lever_base_url_custom" not in form.fields
    posted = TenantForm(
        {"name": "X", "slug": "x", "lever_environment": "custom", "trigger_stage_ids": ""}
    )
    assert not posted.is_valid() and "lever_environment" in posted.errors


@pytest.mark.django_db
def test_changing_the_lever_environment_in_the_form_clears_the_api_key(client, super_admin, tenant):
    client.force_login(super_admin)
    response = client.post(
        f"/tenants/{tenant.slug}/edit/",
        {
            "name": tenant.name,
            "is_active": "on",
            "lever_environment": "eu",
            "trigger_stage_ids": "stage-background-check",
            "note_author_user_id": "user-1",
            "backcheck_base_url": tenant.backcheck_base_url,
        },
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.lever_base_url == "https://api.eu.lever.co/v1"
    assert tenant.lever_api_key is None
    assert tenant.backcheck_client_secret is not None  # its URL did not change


@pytest.mark.django_db
def test_a_custom_lever_url_survives_an_edit_of_other_fields(client, super_admin, tenant, resolver):
    services.tenant_set_url(
        tenant=tenant, actor="cli", system="lever", url="https://lever.example.test/v1"
    )
    client.force_login(super_admin)
    page = client.get(f"/tenants/{tenant.slug}/edit/").content.decode()
    assert "https://lever.example.test/v1" in page and "set-url" in page
    response = client.post(
        f"/tenants/{tenant.slug}/edit/",
        {
            "name": "Renamed",
            "is_active": "on",
            "lever_environment": "custom",
            "trigger_stage_ids": "stage-background-check",
            "backcheck_base_url": tenant.backcheck_base_url,
        },
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.lever_base_url) == ("Renamed", "https://lever.example.test/v1")


# --- connect time: the checked address is the one connected to --------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("private_refused")
def test_dns_rebinding_is_refused_at_connect_time(resolver, listener):
    # The name looked public when it was stored, and now points at a listener on 127.0.0.1.
    resolver.answers["rebind.example.test"] = [[PUBLIC], ["127.0.0.1"]]
    tenant = services.tenant_create(
        actor="cli",
        name="X",
        slug="x",
        lever_base_url=f"https://rebind.example.test:{listener.port}/v1",
    )
    credentials.tenant_set_secret(
        tenant=tenant, actor="cli", name="lever-api-key", value=CANARY_API_KEY
    )
    result = lever_check(tenant)
    assert result["status"] == "unreachable"
    assert "127.0.0.1 is a loopback address" in result["detail"]
    assert listener.hits == []  # nothing was sent, the key least of all
    assert resolver.calls == ["rebind.example.test", "rebind.example.test"]


@pytest.mark.usefixtures("private_refused")
def test_plain_http_is_refused_before_any_connection(listener, settings):
    with HttpClient(f"http://127.0.0.1:{listener.port}") as http:
        with pytest.raises(HttpError) as caught:
            http.request("GET", "/x")
    assert caught.value.kind == "permanent" and "https" in caught.value.message
    assert listener.hits == []


@pytest.mark.usefixtures("private_refused")
def test_the_connection_goes_to_the_checked_address(resolver, monkeypatch):
    from connectors import http_connections

    resolver.answers["api.example.test"] = [[PUBLIC]]
    dialled: list[tuple] = []

    def create_connection(address, *args, **kwargs):
        dialled.append(address)
        raise ConnectionRefusedError("nothing listens there in the test")

    # The socket layer is the one thing replaced: no outside address is reachable here.
    monkeypatch.setattr(http_connections.urllib3_connection, "create_connection", create_connection)
    with HttpClient("https://api.example.test") as http:
        with pytest.raises(HttpError) as caught:
            http.request("GET", "/ping")
    assert caught.value.kind == "transient"
    assert dialled == [(PUBLIC, 443)]
    assert resolver.calls == ["api.example.test"]


def test_with_private_allowed_the_resolved_address_is_still_the_one_used(resolver, listener):
    # No system resolver knows this name: the request only arrives through the stub's answer.
    resolver.answers["fake-lever.example.test"] = [["127.0.0.1"]]
    with HttpClient(f"http://fake-lever.example.test:{listener.port}") as http:
        with pytest.raises(HttpError) as caught:
            http.request("GET", "/v1/stages")
    assert caught.value.status == 500
    assert listener.hits == ["GET /v1/stages"]


# --- bodies of answers to the portal's own checks are never shown or logged -----------------


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 418, 200])
def test_check_results_give_the_status_never_the_body(tenant, status, caplog):
    server = Listener(
        status=status, body=json.dumps({"message": BODY_MARKER}), ctype="application/json"
    )
    try:
        base = f"http://127.0.0.1:{server.port}"
        Tenant.objects.filter(pk=tenant.pk).update(lever_base_url=base, backcheck_base_url=base)
        tenant.refresh_from_db()
        with caplog.at_level(logging.DEBUG):
            lever = lever_check(tenant)
            backcheck = backcheck_check(tenant)
    finally:
        server.close()
    assert server.hits  # both checks did reach the listener
    for result in (lever, backcheck):
        assert result["status"] != "ok"
        assert str(status) in result["detail"]
        assert BODY_MARKER not in json.dumps(result)
    assert BODY_MARKER not in caplog.text


@pytest.mark.django_db
def test_test_connection_page_and_cli_never_show_the_body(client, super_admin, tenant, listener):
    base = f"http://127.0.0.1:{listener.port}"
    Tenant.objects.filter(pk=tenant.pk).update(lever_base_url=base, backcheck_base_url=base)
    client.force_login(super_admin)
    page = client.post(f"/tenants/{tenant.slug}/check/", follow=True).content.decode()
    assert "500" in page and BODY_MARKER not in page
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("tenants", "check", "acme", "--json", stdout=out)
    assert "500" in out.getvalue() and BODY_MARKER not in out.getvalue()


def test_provider_error_messages_are_cut_to_500_characters_without_control_characters():
    server = Listener(
        status=422,
        body=json.dumps({"message": "bad\x1b[31m field\r\nInjected: yes " + "x" * 2000}),
        ctype="application/json",
    )
    try:
        with HttpClient(f"http://127.0.0.1:{server.port}") as http:
            with pytest.raises(HttpError) as caught:
                http.request("POST", "/screenings", json_body={})
    finally:
        server.close()
    message = caught.value.message
    assert message.startswith("bad")
    assert len(message) <= 500
    assert not any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in message)


@pytest.mark.django_db
def test_the_django_admin_offers_lever_presets_only_and_a_change_clears_the_key(
    client, super_admin, tenant
):
    client.force_login(super_admin)
    url = f"/admin/connectors/tenant/{tenant.pk}/change/"

    def post(lever_base_url: str):
        return client.post(
            url,
            {
                "name": tenant.name,
                "is_active": "on",
                "lever_base_url": lever_base_url,
                "trigger_stage_ids": '["stage-background-check"]',
                "note_author_user_id": "user-1",
                "backcheck_base_url": tenant.backcheck_base_url,
                "packages-TOTAL_FORMS": "1",
                "packages-INITIAL_FORMS": "1",
                "packages-MIN_NUM_FORMS": "0",
                "packages-MAX_NUM_FORMS": "1000",
                "packages-0-id": str(tenant.packages.get().pk),
                "packages-0-tenant": str(tenant.pk),
            },
        )

    refused = post("https://lever.example.test/v1")
    assert refused.status_code == 200 and "tenants set-url" in refused.content.decode()
    tenant.refresh_from_db()
    assert tenant.lever_base_url == "https://api.sandbox.lever.co/v1"
    assert post("https://api.eu.lever.co/v1").status_code == 302
    tenant.refresh_from_db()
    assert tenant.lever_base_url == "https://api.eu.lever.co/v1"
    assert tenant.lever_api_key is None


def test_a_standalone_tool_without_django_settings_may_call_127_0_0_1():
    # The fake Backcheck's command line posts callbacks to a portal on 127.0.0.1 through
    # connectors/http.py with no Django settings at all (`make run` and the smoke run).
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc = subprocess.run(
        [sys.executable, "-c", "from connectors import outbound; print(outbound.allow_private())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "True", proc.stderr
