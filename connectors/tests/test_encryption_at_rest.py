"""Secrets are ciphertext in the database, decrypt back, and rotate between keys."""

from __future__ import annotations

import base64
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from connectors.crypto import DecryptionError, Keyring, encrypt, key_id_of
from connectors.models import Tenant
from tests.support.canaries import CANARIES, CANARY_API_KEY
from tests.support.factories import TenantFactory

OLD = "test-k1:dGVzdC1rZXktMS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ"  # the test settings' key
NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode().rstrip("=")
WRONG_KEY = base64.urlsafe_b64encode(b"w" * 32).decode().rstrip("=")
COLUMNS = (
    "lever_api_key",
    "lever_signature_token",
    "backcheck_client_id",
    "backcheck_client_secret",
)


def raw_secret_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT slug, {', '.join(COLUMNS)} FROM connectors_tenant ORDER BY slug")
        return cursor.fetchall()


def key_ids() -> set[str]:
    return {key_id_of(value) for row in raw_secret_rows() for value in row[1:] if value}


@pytest.mark.django_db
def test_database_column_holds_only_ciphertext_naming_its_key(tenant):
    (row,) = raw_secret_rows()
    stored = " ".join(row[1:])
    for canary in CANARIES:
        assert canary not in stored
    webhook_id = Tenant.objects.get(pk=tenant.pk).webhook_id
    for value in row[1:]:
        assert value.startswith(f"enc:v2:test-k1:{webhook_id}:")
    assert Tenant.objects.get(pk=tenant.pk).lever_api_key.reveal() == CANARY_API_KEY


@pytest.mark.django_db
def test_ciphertext_copied_into_another_column_does_not_decrypt(tenant):
    from connectors.crypto import DecryptionError

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connectors_tenant SET backcheck_client_id = lever_api_key WHERE id = %s",
            [tenant.pk],
        )
    with pytest.raises(DecryptionError):
        Tenant.objects.get(pk=tenant.pk)


@pytest.mark.django_db
def test_rotation_moves_every_row_to_the_newest_key_and_old_key_can_go(tenant, other_tenant):
    TenantFactory(slug="initech", name="Initech", canaries=True)
    with override_settings(FIELD_ENCRYPTION_KEYS=f"k2:{NEW_KEY},{OLD}"):
        with pytest.raises(CommandError, match="2 row"):
            call_command("rotate_encryption_keys", "--check", stdout=StringIO())
        out = StringIO()
        call_command("rotate_encryption_keys", stdout=out)
        # acme and initech have four secrets each; globex has none.
        assert "Re-encrypted 2 row(s) (8 value(s)) under key 'k2'" in out.getvalue()
        assert "1 row(s) were already current" in out.getvalue()
        assert key_ids() == {"k2"}
        check = StringIO()
        call_command("rotate_encryption_keys", "--check", stdout=check)
        assert "All rows are under the newest key 'k2'" in check.getvalue()
    with override_settings(FIELD_ENCRYPTION_KEYS=f"k2:{NEW_KEY}"):
        assert Tenant.objects.get(slug="acme").lever_api_key.reveal() == CANARY_API_KEY
        assert Tenant.objects.get(slug="initech").backcheck_client_secret is not None


@pytest.mark.django_db
def test_rotation_with_a_wrong_key_is_a_hard_error_and_changes_nothing(tenant):
    before = raw_secret_rows()
    with override_settings(FIELD_ENCRYPTION_KEYS=f"test-k1:{WRONG_KEY}"):
        with pytest.raises(CommandError, match="wrong key or tampered"):
            call_command("rotate_encryption_keys", stdout=StringIO())
    assert raw_secret_rows() == before


@pytest.mark.django_db
def test_rotation_with_a_missing_key_rolls_back_rows_already_rotated(tenant):
    TenantFactory(
        slug="zeta", name="Zeta", canaries=True
    )  # rotated after acme, so acme is already rewritten when it fails
    gone = Keyring((("gone", b"g" * 32),))
    token = encrypt("lost-secret-value", context="connectors.tenant.lever_api_key", ring=gone)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connectors_tenant SET lever_api_key = %s WHERE slug = 'zeta'", [token]
        )
    before = raw_secret_rows()
    with override_settings(FIELD_ENCRYPTION_KEYS=f"k2:{NEW_KEY},{OLD}"):
        with pytest.raises(CommandError, match="No key with id 'gone'"):
            call_command("rotate_encryption_keys", stdout=StringIO())
    assert raw_secret_rows() == before


@pytest.mark.django_db
def test_rotation_without_any_key_configured_is_a_hard_error(tenant):
    with override_settings(FIELD_ENCRYPTION_KEYS=""):
        with pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEYS is not set"):
            call_command("rotate_encryption_keys", stdout=StringIO())


@pytest.mark.django_db
def test_rotation_re_encrypts_the_readiness_canary_with_the_other_secrets(client):
    from connectors.models import EncryptionCanary

    assert client.get("/readyz").json()["encryption"] == "ok"  # first start writes it
    with override_settings(FIELD_ENCRYPTION_KEYS=f"k2:{NEW_KEY},{OLD}"):
        call_command("rotate_encryption_keys", stdout=StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM connectors_encryptioncanary")
        (stored,) = cursor.fetchone()
    assert key_id_of(stored) == "k2"
    with override_settings(FIELD_ENCRYPTION_KEYS=f"k2:{NEW_KEY}"):
        assert EncryptionCanary.objects.get().value
        assert client.get("/readyz").json()["encryption"] == "ok"


# --- enc:v2: bound to the row as well as the column -------------------------------------------


@pytest.mark.django_db
def test_ciphertext_copied_into_another_rows_column_does_not_decrypt(tenant, other_tenant):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connectors_tenant SET lever_api_key = "
            "(SELECT lever_api_key FROM connectors_tenant WHERE id = %s) WHERE id = %s",
            [tenant.pk, other_tenant.pk],
        )
    assert Tenant.objects.get(pk=tenant.pk).lever_api_key.reveal() == CANARY_API_KEY
    with pytest.raises(DecryptionError, match="another row"):
        Tenant.objects.get(pk=other_tenant.pk)


@pytest.mark.django_db
def test_a_v2_token_with_its_row_id_edited_does_not_decrypt(tenant, other_tenant):
    (row,) = [r for r in raw_secret_rows() if r[0] == "acme"]
    forged = row[1].replace(tenant.webhook_id, other_tenant.webhook_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connectors_tenant SET lever_api_key = %s WHERE id = %s",
            [forged, other_tenant.pk],
        )
    with pytest.raises(DecryptionError):
        Tenant.objects.get(pk=other_tenant.pk)


@pytest.mark.django_db
def test_v1_values_stay_readable_and_rotation_converts_them_to_v2(tenant):
    v1 = encrypt(CANARY_API_KEY, context="connectors.tenant.lever_api_key")
    assert v1.startswith("enc:v1:test-k1:")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE connectors_tenant SET lever_api_key = %s WHERE id = %s", [v1, tenant.pk]
        )
    assert Tenant.objects.get(pk=tenant.pk).lever_api_key.reveal() == CANARY_API_KEY
    with pytest.raises(CommandError, match="1 row"):
        call_command("rotate_encryption_keys", "--check", stdout=StringIO())
    out = StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "Re-encrypted 1 row(s) (1 value(s))" in out.getvalue()
    (row,) = raw_secret_rows()
    assert all(value.startswith("enc:v2:") for value in row[1:])
    assert Tenant.objects.get(pk=tenant.pk).lever_api_key.reveal() == CANARY_API_KEY
    call_command("rotate_encryption_keys", "--check", stdout=StringIO())
