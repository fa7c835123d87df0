"""API tokens are stored hashed and expire."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from integration_portal.api_tokens.models import ApiToken

pytestmark = pytest.mark.django_db


def _get(client, token: str):
    return client.get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Token {token}")


REFUSED = (401, 403)  # DRF answers 403 when session auth is listed first


def test_a_created_token_works_and_only_its_hash_is_stored(client, account_manager):
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", "create", "am-alice", "--days", "30", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert len(token) >= 40 and "only its hash is stored" in err.getvalue()
    assert _get(client, token).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_tokens_apitoken")
        dump = repr(cursor.fetchall())
    assert token not in dump and token[8:24] not in dump
    row = ApiToken.objects.get()
    assert timedelta(days=29) < row.expires_at - timezone.now() <= timedelta(days=30)
    assert row.last_used_at is not None


def test_an_expired_or_revoked_token_is_refused(client, account_manager):
    row, token = ApiToken.issue(user=account_manager)
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _get(client, token).status_code in REFUSED
    row2, token2 = ApiToken.issue(user=account_manager)
    assert _get(client, token2).status_code == 200
    call_command("api_token", "revoke", row2.prefix, stdout=io.StringIO())
    assert _get(client, token2).status_code in REFUSED
    assert _get(client, "not-a-token").status_code in REFUSED


def test_a_token_of_a_deactivated_user_is_refused(client, account_manager):
    _, token = ApiToken.issue(user=account_manager)
    account_manager.is_active = False
    account_manager.save()
    assert _get(client, token).status_code in REFUSED


def test_the_upgrade_turns_plain_text_tokens_into_hashed_expiring_ones(
    client, account_manager, postgres
):
    # PostgreSQL: the test builds the old token table inside its transaction, which SQLite's
    # schema editor refuses.
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "integration_portal.api_tokens.migrations.0002_convert_plaintext_tokens"
    )
    legacy = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, user_id integer, "
            "created timestamp with time zone)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            [legacy, account_manager.pk, timezone.now()],
        )
    with connection.schema_editor() as editor:
        migration.convert(apps, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
        cursor.execute("DROP TABLE authtoken_token")
    assert _get(client, legacy).status_code == 200  # the same value keeps working ...
    assert ApiToken.objects.get().expires_at < timezone.now() + timedelta(days=91)  # ... a while


def test_no_token_starts_with_a_dash_so_its_prefix_can_be_typed_after_revoke():
    from integration_portal.api_tokens.models import new_token

    # One urlsafe token in 64 started with "-": `api_token revoke -abc…` then failed to parse.
    assert not any(new_token().startswith("-") for _ in range(2000))
