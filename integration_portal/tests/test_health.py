import pytest


@pytest.mark.django_db
def test_healthz_answers_ok_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "database": "ok",
        "broker": "ok",
        "encryption": "ok",
        "status": "ready",
    }


@pytest.mark.django_db
def test_readyz_names_the_failing_part(client, monkeypatch):
    from integration_portal.celery import app

    # A broker URL nothing listens on: the probe must fail fast and say which part is down.
    monkeypatch.setitem(app.conf, "broker_url", "redis://127.0.0.1:9/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] == "unavailable" and body["database"] == "ok"
    assert body["error"] == "not_ready" and "broker" in body["detail"]


@pytest.mark.django_db
def test_readyz_writes_the_encryption_canary_on_first_start(client):
    from connectors.models import EncryptionCanary

    assert not EncryptionCanary.objects.exists()
    assert client.get("/readyz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert EncryptionCanary.objects.count() == 1


@pytest.mark.django_db
def test_readyz_is_not_ready_naming_encryption_when_the_key_is_wrong(client, settings):
    from connectors.crypto import generate_key

    assert client.get("/readyz").status_code == 200  # the canary, under the test key
    # Same key id, other key material: what a mistyped or swapped key looks like.
    settings.FIELD_ENCRYPTION_KEYS = f"test-k1:{generate_key()}"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["encryption"] == "unavailable" and body["database"] == "ok"
    assert "encryption" in body["detail"]
    assert settings.FIELD_ENCRYPTION_KEYS.split(":")[1] not in response.content.decode()
