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
