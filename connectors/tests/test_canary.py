"""The encryption canary connectors registers with the base layer's readiness probe
(connectors/canary.py, integration_portal/health.py)."""

import pytest

from connectors.crypto import generate_key
from connectors.models import EncryptionCanary


@pytest.mark.django_db
def test_readyz_writes_the_encryption_canary_on_first_start(client):
    assert not EncryptionCanary.objects.exists()
    assert client.get("/readyz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert EncryptionCanary.objects.count() == 1


@pytest.mark.django_db
def test_readyz_is_not_ready_naming_encryption_when_the_key_is_wrong(client, settings):
    assert client.get("/readyz").status_code == 200  # the canary, under the test key
    # Same key id, other key material: what a mistyped or swapped key looks like.
    settings.FIELD_ENCRYPTION_KEYS = f"test-k1:{generate_key()}"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["encryption"] == "unavailable" and body["database"] == "ok"
    assert "encryption" in body["detail"]
    assert settings.FIELD_ENCRYPTION_KEYS.split(":")[1] not in response.content.decode()
