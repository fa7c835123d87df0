"""Every URL in the URLconf, walked with get_resolver(): who may use it (docs/CONTRACT.md §4).

A view nobody classified here fails the sweep, so a new page cannot be added without deciding
who may use it. For each view: anonymous users are turned away; an account manager gets 404 for
another tenant's objects, 403 on a page their role may not use, and through on their own; every
POST form is CSRF-protected; every rendered form carries the token.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.security.conftest import Side, World

pytestmark = [pytest.mark.django_db]

# Intentionally reachable without a session: probes, sign-in, the signed inbound endpoints
# (authenticated by signature or per-order credentials), the API's description, and the intake
# page (authenticated by its single-use token).
PUBLIC = {
    "healthz",
    "readyz",
    "metrics",
    "login",
    "logout",
    "admin-login-throttled",
    "lever-webhook",
    "backcheck-callback",
    "api-schema",
    "api-docs",
    "intake-page",
}
# Super-admin only: an account manager gets 403 (docs/CONTRACT.md §4 table).
SUPER_ADMIN_ONLY = {
    "tenant-create",
    "tenant-edit",
    "tenant-secret",
    "tenant-packages",
    "tenant-managers",
}
# Account managers, on their assigned tenants only (another tenant's object → 404).
ACCOUNT_MANAGER = {
    "tenant-list",
    "tenant-detail",
    "tenant-check",
    "order-list",
    "order-export",
    "order-launch",
    "order-detail",
    "order-event",
    "order-resync",
    "order-cancel",
    "order-try-again",
    "note-replay",
    "note-skip",
    "attention",
    "attention-replay",
    "attention-dismiss",
    "profile",
    "intake-link-list",
    "intake-link-create",
    "intake-link-revoke",
    "intake-notice-dismiss",
    "api-order-list",
    "api-order-detail",
    "api-order-resync",
    "api-order-cancel",
    "two-factor",  # the signed-in user's own authenticator
}
# Views with no object of a tenant in their URL: isolation is checked on what they list.
UNSCOPED_URL = {
    "tenant-list",
    "order-list",
    "order-export",
    "order-launch",
    "attention",
    "attention-replay",
    "attention-dismiss",
    "profile",
    "intake-link-list",
    "api-order-list",
    "tenant-create",
    "two-factor",
}


def _walk(patterns, prefix: str = "", namespace: str | None = None) -> Iterator[tuple]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(
                pattern.url_patterns, prefix + str(pattern.pattern), pattern.namespace or namespace
            )
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), namespace, pattern.name


def _project_urls() -> list[tuple[str, str]]:
    return [
        (route, name)
        for route, namespace, name in _walk(get_resolver().url_patterns)
        if namespace != "admin"
    ]


def _path(route: str, side: Side) -> str:
    values = {
        "slug": side.tenant.slug,
        "order_id": side.order.pk,
        "event_id": side.event.pk,
        "note_id": side.note.pk,
        "link_id": side.link.pk,
        "name": "lever-api-key",
        "webhook_id": side.tenant.webhook_id,
        "token": side.token,
    }
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    return "/" + route


def _calls(client: Client, path: str) -> dict[str, int]:
    return {
        "GET": client.get(path).status_code,
        "POST": client.post(path, {}).status_code,
    }


def test_every_view_is_classified():
    names = {name for _, name in _project_urls()}
    unnamed = [route for route, name in _project_urls() if not name]
    assert not unnamed, f"unnamed views cannot be classified: {unnamed}"
    unknown = names - PUBLIC - SUPER_ADMIN_ONLY - ACCOUNT_MANAGER
    assert not unknown, f"classify these views in tests/security/test_access_sweep.py: {unknown}"
    assert not (PUBLIC & SUPER_ADMIN_ONLY) and not (PUBLIC & ACCOUNT_MANAGER)


def test_anonymous_users_are_turned_away_from_every_private_view(world: World):
    client = Client()
    for route, name in _project_urls():
        if name in PUBLIC:
            continue
        path = _path(route, world.a)
        for method, status in _calls(client, path).items():
            assert status in (302, 401, 403, 405), (name, method, status)
            if status == 302:
                response = getattr(client, method.lower())(path)
                assert response["Location"].startswith("/login/"), (name, response["Location"])


def test_an_account_manager_gets_404_for_another_tenants_objects(world: World, account_manager):
    client = Client()
    client.force_login(account_manager)
    checked = 0
    for route, name in _project_urls():
        if name in PUBLIC or name in UNSCOPED_URL:
            continue
        statuses = _calls(client, _path(route, world.b))
        expected = 403 if name in SUPER_ADMIN_ONLY else 404
        allowed = {m: s for m, s in statuses.items() if s != 405}
        assert allowed and set(allowed.values()) == {expected}, (name, statuses)
        checked += 1
    assert checked >= 15


def test_an_account_manager_gets_403_on_super_admin_pages_of_their_own_tenant(
    world: World, account_manager
):
    client = Client()
    client.force_login(account_manager)
    for route, name in _project_urls():
        if name in SUPER_ADMIN_ONLY:
            statuses = _calls(client, _path(route, world.a))
            assert {s for s in statuses.values() if s != 405} == {403}, (name, statuses)


def test_an_account_manager_can_use_their_own_tenants_views(world: World, account_manager):
    client = Client()
    client.force_login(account_manager)
    for route, name in _project_urls():
        if name in ACCOUNT_MANAGER:
            statuses = _calls(client, _path(route, world.a))
            assert not {403, 404} & set(statuses.values()), (name, statuses)
            assert {200, 202, 302, 409} & set(statuses.values()), (name, statuses)


def test_lists_show_only_the_managers_own_tenant(world: World, account_manager):
    client = Client()
    client.force_login(account_manager)
    for path in ("/", "/tenants/", "/attention/", "/intake/manage/", "/orders/export.csv"):
        response = client.get(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"tenant-b" not in body and b"BC-tenant-b" not in body, path
    api = client.get("/api/v1/orders/").json()
    assert [o["id"] for o in api["results"]] == [world.a.order.pk]


def test_every_post_view_refuses_a_request_without_a_csrf_token(world: World, super_admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(super_admin)
    checked = 0
    for route, name in _project_urls():
        if name in ("lever-webhook", "backcheck-callback"):
            continue  # server-to-server, authenticated by signature / per-order credentials
        path = _path(route, world.a)
        status = client.post(path, {}).status_code
        if status == 405:
            continue
        assert status == 403, (name, status)
        checked += 1
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/login/", {"username": "x", "password": "y"}).status_code == 403
    assert anonymous.post(f"/intake/{world.a.token}/", {}).status_code == 403
    assert checked >= 15


FORM = re.compile(rb"<form\b[^>]*>.*?</form>", re.S | re.I)


def test_every_rendered_post_form_carries_the_csrf_token(world: World, super_admin):
    client = Client()
    client.force_login(super_admin)
    forms = 0
    for route, name in _project_urls():
        if name in ("logout", "metrics"):
            continue
        response = client.get(_path(route, world.a))
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in FORM.findall(response.content):
            if re.search(rb'method=["\']?post', form, re.I):
                assert b"csrfmiddlewaretoken" in form, (name, form[:200])
                forms += 1
    assert forms >= 5


def test_the_admin_is_for_super_admins_only(world: World, account_manager):
    client = Client()
    client.force_login(account_manager)
    for route, namespace, name in _walk(get_resolver().url_patterns):
        if namespace != "admin" or "<" in route or name in ("login", "logout"):
            continue
        response = client.get("/" + route)
        assert response.status_code in (302, 404), (name, response.status_code)
        if response.status_code == 302:
            assert "/admin/login/" in response["Location"]
