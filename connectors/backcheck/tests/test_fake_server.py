"""The fake Backcheck itself: named steps, callbacks and their retries, control endpoint, process."""

import base64
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
import requests

from connectors.backcheck.client import BackcheckClient
from connectors.backcheck.fake import FakeBackcheck
from connectors.backcheck.schema import parse_callback
from connectors.http import HttpError
from tests.support.backcheck import create
from tests.support.harness import closed_port_url


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def _stamps(bodies: list[dict]) -> list[datetime]:
    return [parse_callback(body).updated_at for body in bodies]


def test_creation_answers_initiated_and_sends_no_callback(fake, client, receiver) -> None:
    screening = create(client, receiver.url)
    fake.wait_idle()
    assert screening.raw["status"] == "Initiated"
    assert screening.raw["piecemealStatus"] is None and screening.raw["score"] is None
    assert screening.raw["orderNumber"] == f"BC-{datetime.now(UTC).year}-000001"
    assert {service["status"] for service in screening.raw["services"]} == {"Not Started"}
    assert receiver.received == []


def test_order_numbers_count_up(client, receiver) -> None:
    first = create(client, receiver.url, reference="a")
    second = create(client, receiver.url, reference="b")
    assert int(second.order_number[-6:]) == int(first.order_number[-6:]) + 1


def test_each_change_posts_the_whole_screening_with_the_orders_credentials(
    fake, client, receiver
) -> None:
    screening = create(client, receiver.url, username="order-user", password="order-pass")
    fake.consent(screening.id)
    fake.complete_service(screening.id, "Criminal Record Check", "Amber")
    bodies = fake.wait_for_callbacks(2)
    fake.wait_idle()

    assert receiver.bodies() == bodies
    assert {callback.authorization for callback in receiver.received} == {
        _basic("order-user", "order-pass")
    }
    consent, service = (parse_callback(body) for body in bodies)
    assert (consent.status, consent.piecemeal_status) == ("In Progress", "In Production")
    assert (service.status, service.piecemeal_status) == ("In Progress", "In Production")
    crim, emp = service.services
    assert (crim.status, crim.score, crim.completed_at) == ("Complete", "Amber", service.updated_at)
    assert crim.report_url == f"https://reports.backcheck.example/{screening.id}/{crim.id}"
    assert (emp.status, emp.score) == ("Not Started", None)
    assert screening.updated_at < consent.updated_at < service.updated_at
    assert fake.screening(screening.id) == bodies[-1]["payload"]


def test_complete_finishes_every_remaining_service_and_the_order(fake, client, receiver) -> None:
    screening = create(client, receiver.url)
    fake.complete_service(screening.id, "Criminal Record Check", "Green")
    fake.complete(screening.id, "Red")
    done = parse_callback(fake.wait_for_callbacks(2)[-1])
    assert (done.status, done.piecemeal_status, done.score) == ("Completed", "Fulfilled", "Red")
    assert done.report_url.endswith(f"/{screening.id}/full")
    assert done.completed_at == done.updated_at
    assert [(s.status, s.score) for s in done.services] == [
        ("Complete", "Green"),
        ("Complete", "Red"),
    ]
    assert all(service.report_url and service.completed_at for service in done.services)


def test_error_and_cancel_steps(fake, client, receiver) -> None:
    screening = create(client, receiver.url)
    fake.error(screening.id, "Invitation expired")
    fake.cancel(screening.id)
    error, cancelled = (parse_callback(body) for body in fake.wait_for_callbacks(2))
    assert error.status == "Error"
    assert (error.error.code, error.error.message) == ("PROVIDER_ERROR", "Invitation expired")
    assert cancelled.status == "Canceled"


def test_updated_at_strictly_increases_even_within_one_second(fake, client, receiver) -> None:
    screening = create(client, receiver.url)
    for _ in range(4):
        fake.consent(screening.id)
    stamps = _stamps(fake.wait_for_callbacks(4))
    assert stamps == sorted(set(stamps)) and stamps[0] > screening.updated_at


def test_duplicate_last_posts_the_same_bytes_again(fake, client, receiver) -> None:
    screening = create(client, receiver.url)
    fake.consent(screening.id)
    fake.duplicate_last(screening.id)
    fake.wait_for_callbacks(2)
    fake.wait_idle()
    first, second = receiver.received
    assert first.body == second.body
    assert fake.screening(screening.id) == first.json["payload"]  # no change, no new stamp


def test_send_stale_posts_the_previous_snapshot(fake, client, receiver) -> None:
    screening = create(client, receiver.url)
    fake.consent(screening.id)
    fake.complete_service(screening.id, "Criminal Record Check", "Green")
    fake.send_stale(screening.id)
    consent, service, stale = fake.wait_for_callbacks(3)
    assert stale == consent
    assert _stamps([stale]) < _stamps([service])


def test_stop_callbacks_silences_later_changes_but_get_sees_them(fake, client, receiver) -> None:
    screening = create(client, receiver.url)
    fake.consent(screening.id)
    fake.wait_for_callbacks(1)
    fake.stop_callbacks(screening.id)
    fake.complete(screening.id, "Green")
    fake.wait_idle()
    assert len(receiver.received) == 1
    assert client.get_screening(screening.id).status == "Completed"


def test_stop_callbacks_also_ends_the_retries_of_a_failing_callback(fake, client, receiver) -> None:
    receiver.statuses = [500] * 20
    screening = create(client, receiver.url)
    fake.consent(screening.id)
    while not fake.callbacks:
        time.sleep(0.01)
    fake.stop_callbacks(screening.id)
    time.sleep(0.2)  # four retry intervals
    fake.wait_idle()
    assert len(fake.callbacks) <= 2  # at most one retry was already running when it stopped


def test_a_failed_callback_is_retried_until_the_receiver_accepts(fake, client, receiver) -> None:
    receiver.statuses = [500, 503]
    screening = create(client, receiver.url)
    fake.consent(screening.id)
    [delivered] = fake.wait_for_callbacks(1)
    fake.wait_idle()
    assert [(entry["attempt"], entry["status"]) for entry in fake.callbacks] == [
        (1, 500),
        (2, 503),
        (3, 200),
    ]
    assert receiver.received[0].body == receiver.received[2].body
    assert delivered["payload"]["status"] == "In Progress"


def test_a_callback_is_given_up_after_ten_retries(receiver) -> None:
    receiver.statuses = [500] * 20
    with FakeBackcheck(callback_retry_seconds=0.005) as fake:
        with BackcheckClient(
            base_url=fake.url, client_id=fake.client_id, client_secret=fake.client_secret
        ) as own:
            screening = create(own, receiver.url)
        fake.consent(screening.id)
        fake.wait_idle()
        assert [entry["attempt"] for entry in fake.callbacks] == list(range(1, 12))
        assert not any(entry["delivered"] for entry in fake.callbacks)
    assert len(receiver.received) == 11


def test_an_unreachable_receiver_is_retried(fake, client, receiver) -> None:
    screening = create(client, closed_port_url() + "/callbacks/")
    fake.consent(screening.id)
    with pytest.raises(TimeoutError):
        fake.wait_for_callbacks(1, timeout=0.3)
    attempts = [entry for entry in fake.callbacks if entry["screening_id"] == screening.id]
    assert len(attempts) >= 2 and attempts[0]["status"] is None and attempts[0]["error"]


def test_control_endpoint_applies_named_steps(fake, client, receiver) -> None:
    screening = create(client, receiver.url)
    url = f"{fake.url}/_control/screenings/{screening.id}/step"
    answer = requests.post(url, json={"step": "consent"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["status"] == "In Progress"
    answer = requests.post(
        url,
        json={"step": "complete-service", "args": ["Employment Verification", "Green"]},
        timeout=5,
    )
    assert answer.json()["services"][1]["status"] == "Complete"
    for step, args in (
        ("error", ["Candidate unreachable"]),
        ("duplicate-last", []),
        ("send-stale", []),
        ("cancel", []),
        ("stop-callbacks", []),
    ):
        assert requests.post(url, json={"step": step, "args": args}, timeout=5).status_code == 200
    fake.wait_idle()
    statuses = [body["payload"]["status"] for body in receiver.bodies()]
    assert statuses == ["In Progress", "In Progress", "Error", "Error", "In Progress", "Canceled"]

    assert requests.post(url, json={"step": "teleport"}, timeout=5).status_code == 400
    assert (
        requests.post(
            url, json={"step": "complete-service", "args": ["Drug Test", "Green"]}, timeout=5
        ).status_code
        == 400
    )
    assert (
        requests.post(url, json={"step": "complete", "args": ["Purple"]}, timeout=5).status_code
        == 400
    )
    missing = f"{fake.url}/_control/screenings/scr_missing/step"
    assert requests.post(missing, json={"step": "consent"}, timeout=5).status_code == 404


def test_control_endpoint_injects_faults_and_shows_the_logs(fake, client, receiver) -> None:
    client.list_packages()
    answer = requests.post(f"{fake.url}/_control/faults", json={"fail_next": 1}, timeout=5)
    assert answer.json()["fail_count"] == 1
    with pytest.raises(HttpError):
        client.list_packages()
    requests.post(f"{fake.url}/_control/faults", json={"clear": True}, timeout=5)
    client.list_packages()
    log = requests.get(f"{fake.url}/_control/requests", timeout=5).json()
    assert [entry["status"] for entry in log if entry["path"] == "/packages"] == [200, 503, 200]
    assert requests.get(f"{fake.url}/_control/callbacks", timeout=5).json() == []


def test_api_requires_a_valid_bearer_token(fake) -> None:
    assert requests.get(f"{fake.url}/packages", timeout=5).status_code == 401
    bad = {"Authorization": "Bearer made-up"}
    assert requests.get(f"{fake.url}/packages", headers=bad, timeout=5).status_code == 401
    token = requests.post(
        f"{fake.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(fake.client_id, fake.client_secret),
        timeout=5,
    ).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    good = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(f"{fake.url}/packages", headers=good, timeout=5).json() == [
        {"id": "std-ca", "name": "Standard Canada"}
    ]
    refused = requests.post(
        f"{fake.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(fake.client_id, "wrong"),
        timeout=5,
    )
    assert refused.status_code == 401


def test_the_fake_runs_as_a_process() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "connectors.backcheck.fake",
            "--port",
            "0",
            "--client-id",
            "cli-id",
            "--client-secret",
            "cli-secret",
            "--packages",
            "std-ca:Standard Canada,exec:Executive",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        url = line.split(" on ")[1].split()[0]
        token = requests.post(
            f"{url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("cli-id", "cli-secret"),
            timeout=5,
        ).json()["access_token"]
        packages = requests.get(
            f"{url}/packages", headers={"Authorization": f"Bearer {token}"}, timeout=5
        ).json()
        assert [package["id"] for package in packages] == ["std-ca", "exec"]
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
