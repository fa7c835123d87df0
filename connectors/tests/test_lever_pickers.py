"""Trigger stages and the note author picked by name from Lever's own lists (fake Lever)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.urls import reverse

from connectors.lever.fake import BG_CHECK_STAGE_ID, DEFAULT_USERS, FakeLever
from connectors.models import Tenant
from connectors.tenants import credentials, services
from tests.support.canaries import CANARY_API_KEY, assert_no_canary

pytestmark = pytest.mark.django_db

RILEY = DEFAULT_USERS[0]


@pytest.fixture
def admin_client(client, super_admin):
    client.force_login(super_admin)
    return client


@pytest.fixture
def lever(tenant) -> Iterator[FakeLever]:
    with FakeLever() as fake:
        services.tenant_update(tenant=tenant, actor="cli", lever_base_url=fake.base_url)
        # A new base URL clears the key sent to it: set it again, as an operator must.
        credentials.tenant_set_secret(
            tenant=tenant, actor="cli", name="lever-api-key", value=CANARY_API_KEY
        )
        yield fake


def edit_url(refresh: bool = False) -> str:
    return reverse("tenant-edit", args=["acme"]) + ("?refresh=1" if refresh else "")


def settings_post(**fields) -> dict:
    return {
        "name": "Acme Corp",
        "is_active": "on",
        "lever_environment": "custom",  # keep the custom URL the fixture set
        **fields,
    }


def test_showing_the_form_never_calls_lever_and_types_ids_until_lists_are_read(admin_client, lever):
    lever.add_account(CANARY_API_KEY)
    page = admin_client.get(edit_url()).content.decode()
    assert '<textarea name="trigger_stage_ids"' in page
    assert "Read Lever's stages and users again" in page
    assert lever.requests == []


def test_stages_and_the_author_are_picked_by_name_and_shown_beside_their_ids(
    admin_client, lever, tenant
):
    lever.add_account(CANARY_API_KEY)
    page = admin_client.get(edit_url(refresh=True)).content.decode()
    assert 'type="checkbox" name="trigger_stage_ids"' in page
    assert f"Background Check ({BG_CHECK_STAGE_ID})" in page
    assert "stage-background-check (not in Lever&#x27;s list)" in page  # the current id stays
    assert f'<option value="{RILEY["id"]}">Riley Recruiter</option>' in page
    assert_no_canary(page)
    lever.clear_requests()

    response = admin_client.post(
        edit_url(),
        settings_post(
            pick_stages="1",
            pick_users="1",
            trigger_stage_ids=[BG_CHECK_STAGE_ID, "offer"],
            note_author_user_id=RILEY["id"],
        ),
    )

    assert response.status_code == 302
    assert lever.requests == []  # saving validated against the names read before
    tenant.refresh_from_db()
    assert tenant.trigger_stage_ids == [BG_CHECK_STAGE_ID, "offer"]
    assert tenant.note_author_user_id == RILEY["id"]
    detail = admin_client.get(reverse("tenant-detail", args=["acme"])).content.decode()
    assert f"Background Check ({BG_CHECK_STAGE_ID}), Offer (offer)" in detail
    assert f"Riley Recruiter ({RILEY['id']})" in detail


def test_a_stage_lever_does_not_list_cannot_be_picked(admin_client, lever, tenant):
    lever.add_account(CANARY_API_KEY)
    admin_client.get(edit_url(refresh=True))
    response = admin_client.post(
        edit_url(), settings_post(pick_stages="1", trigger_stage_ids=["made-up-stage"])
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.trigger_stage_ids == ["stage-background-check"]


def test_a_key_refused_users_picks_stages_by_name_and_types_the_author(admin_client, lever):
    lever.add_account(CANARY_API_KEY, forbidden=["GET /users"])
    page = admin_client.get(edit_url(refresh=True)).content.decode()
    assert 'type="checkbox" name="trigger_stage_ids"' in page
    assert '<input type="text" name="note_author_user_id"' in page
    assert "the key cannot read users (403)" in page and "Ids can be typed instead" in page


def test_test_connection_remembers_the_names_and_the_cli_shows_them_beside_raw_ids(lever, tenant):
    from connectors.checks import tenant_check

    lever.add_account(CANARY_API_KEY)
    services.tenant_update(tenant=tenant, actor="cli", trigger_stage_ids=[BG_CHECK_STAGE_ID])
    tenant_check(Tenant.objects.get(pk=tenant.pk))
    assert Tenant.objects.get(pk=tenant.pk).lever_names["stages"]["offer"] == "Offer"

    out = io.StringIO()
    call_command("tenants", "show", "acme", stdout=out)
    assert f"Background Check ({BG_CHECK_STAGE_ID})" in out.getvalue()
