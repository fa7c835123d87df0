"""lever_check(tenant) against the fake Lever."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from connectors.crypto import Secret
from connectors.lever.checks import lever_check
from connectors.lever.fake import BG_CHECK_STAGE_ID, DEFAULT_USERS
from connectors.models import Tenant
from tests.support.factories import TenantFactory


def make_tenant(fake, api_key, **fields) -> Tenant:
    """An unsaved tenant on the fake Lever with `api_key` (or none), as the check loads one."""
    fields.setdefault("trigger_stage_ids", [BG_CHECK_STAGE_ID])
    return TenantFactory.build(
        slug="acme",
        name="Acme",
        no_secrets=True,
        lever_base_url=fake.base_url,
        lever_api_key=Secret(api_key) if api_key else None,
        **fields,
    )


def assert_safe(result: dict, api_key: str) -> None:
    text = json.dumps(result)  # JSON-serializable ...
    assert api_key not in text  # ... and never holds the key
    datetime.fromisoformat(result["checked_at"])


def test_working_key_names_trigger_stages_and_finds_the_note_author(fake, api_key):
    author = DEFAULT_USERS[0]
    tenant = make_tenant(fake, api_key, note_author_user_id=author["id"])
    result = lever_check(tenant)
    assert result["status"] == "ok", result
    assert result["stages"] == [
        {"id": BG_CHECK_STAGE_ID, "name": "Background Check", "known": True}
    ]
    assert result["note_author"] == {"id": author["id"], "name": author["name"], "found": True}
    assert result["detail"] == "The Lever API key works."
    assert_safe(result, api_key)


def test_unknown_stage_and_missing_author_are_flagged(fake, api_key):
    tenant = make_tenant(
        fake,
        api_key,
        trigger_stage_ids=[BG_CHECK_STAGE_ID, "gone-stage"],
        note_author_user_id="no-such-user",
    )
    result = lever_check(tenant)
    assert result["status"] == "ok"
    assert result["stages"][1] == {"id": "gone-stage", "name": None, "known": False}
    assert result["note_author"] == {"id": "no-such-user", "name": None, "found": False}
    assert "gone-stage" in result["detail"] and "no-such-user" in result["detail"]


def test_without_note_author_users_are_not_read(fake, api_key):
    result = lever_check(make_tenant(fake, api_key))
    assert result["note_author"] is None
    assert [r["path"].split("?")[0] for r in fake.requests_for(api_key)] == ["/v1/stages"]


def test_rejected_key_is_invalid_key(fake, api_key):
    result = lever_check(make_tenant(fake, "wrong-key-abcdef123456"))
    assert result["status"] == "invalid_key"
    assert result["stages"] == [{"id": BG_CHECK_STAGE_ID, "name": None, "known": False}]
    assert_safe(result, "wrong-key-abcdef123456")


def test_a_key_refused_stages_and_users_works_with_warnings(fake):
    key = "lvr-limited-0123456789abcdef"
    fake.add_account(key, forbidden=["GET /stages", "GET /users"])
    tenant = make_tenant(fake, key, note_author_user_id=DEFAULT_USERS[0]["id"])

    result = lever_check(tenant)

    assert result["status"] == "ok"
    assert result["permissions"] == {"stages": "forbidden", "users": "forbidden"}
    assert result["warnings"] == [
        "the key cannot read stages (403), so trigger stages cannot be named and notes show "
        "stage ids",
        "the key cannot read users (403), so the note author cannot be checked",
    ]
    assert result["detail"].startswith("The Lever API key works. Warning: the key cannot read")
    # Nothing is claimed about what could not be read.
    assert result["stages"] == [{"id": BG_CHECK_STAGE_ID, "name": None, "known": False}]
    assert result["note_author"]["found"] is False and "not a Lever user" not in result["detail"]
    assert_safe(result, key)


def test_a_working_key_reports_its_optional_reads_as_ok(fake, api_key):
    result = lever_check(make_tenant(fake, api_key, note_author_user_id="anyone"))
    assert result["permissions"] == {"stages": "ok", "users": "ok"} and result["warnings"] == []


def test_lever_down_is_unreachable(fake, api_key):
    tenant = make_tenant(fake, api_key)
    fake.stop()
    result = lever_check(tenant)
    assert result["status"] == "unreachable"
    assert_safe(result, api_key)


def test_wrong_base_url_path_is_an_error_naming_the_base_url(fake, api_key):
    tenant = make_tenant(fake, api_key)
    tenant.lever_base_url = fake.root_url + "/v9"
    result = lever_check(tenant)
    assert result["status"] == "error" and "base URL" in result["detail"]


def test_no_stored_key_is_not_configured(fake):
    result = lever_check(make_tenant(fake, None))
    assert result["status"] == "not_configured"
    assert fake.requests == []


@pytest.mark.django_db
def test_check_reads_the_key_stored_encrypted_in_the_database(fake, api_key):
    make_tenant(fake, api_key).save()
    tenant = Tenant.objects.get(slug="acme")
    assert lever_check(tenant)["status"] == "ok"
