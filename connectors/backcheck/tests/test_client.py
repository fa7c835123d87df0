"""The Backcheck client against the fake Backcheck over real HTTP on 127.0.0.1."""

import time

import pytest

from connectors.backcheck.client import BackcheckClient, PackageInfo
from connectors.backcheck.fake import FakeBackcheck
from connectors.http import HttpError
from tests.support.backcheck import ADA, create
from tests.support.harness import closed_port_url

TOKEN = "/oauth/token"


def test_several_requests_share_one_token_request(fake, client, receiver) -> None:
    client.list_packages()
    screening = create(client, receiver.url)
    client.get_screening(screening.id)
    # A second client instance for the same account reuses the process's token too.
    with BackcheckClient(
        base_url=fake.url, client_id=fake.client_id, client_secret=fake.client_secret
    ) as other:
        other.get_screening(screening.id)
    assert len(fake.requests_to(TOKEN)) == 1
    assert len(fake.requests_to(f"/screenings/{screening.id}", "GET")) == 2


def test_token_is_fetched_again_after_it_expires(receiver) -> None:
    with FakeBackcheck(token_ttl_s=1) as fake:
        with BackcheckClient(
            base_url=fake.url, client_id=fake.client_id, client_secret=fake.client_secret
        ) as client:
            client.list_packages()
            client.list_packages()
            assert len(fake.requests_to(TOKEN)) == 1
            time.sleep(1.0)  # the client refreshes a tenth of the lifetime before expiry
            client.list_packages()
            assert len(fake.requests_to(TOKEN)) == 2
            assert [entry["status"] for entry in fake.requests_to("/packages")] == [200] * 3


def test_a_revoked_token_is_replaced_once_on_401(fake, client) -> None:
    client.list_packages()
    fake.revoke_tokens()
    assert client.list_packages() == [PackageInfo(id="std-ca", name="Standard Canada")]
    assert [entry["status"] for entry in fake.requests_to("/packages")] == [200, 401, 200]
    assert len(fake.requests_to(TOKEN)) == 2


def test_wrong_client_secret_is_a_permanent_401_without_retries(fake) -> None:
    with BackcheckClient(
        base_url=fake.url, client_id=fake.client_id, client_secret="not-the-secret"
    ) as client:
        with pytest.raises(HttpError) as caught:
            client.list_packages()
    assert caught.value.kind == "permanent" and caught.value.status == 401
    assert "not-the-secret" not in str(caught.value)
    assert len(fake.requests_to(TOKEN)) == 1
    assert fake.requests_to("/packages") == []


def test_a_cached_token_is_not_reused_with_a_different_secret(fake, client) -> None:
    client.list_packages()
    with BackcheckClient(
        base_url=fake.url, client_id=fake.client_id, client_secret="a-mistyped-secret"
    ) as mistyped:
        with pytest.raises(HttpError) as caught:
            mistyped.list_packages()
    assert caught.value.status == 401


def test_create_returns_an_initiated_screening_and_sends_the_candidate(
    fake, client, receiver
) -> None:
    screening = create(client, receiver.url, reference="order-42")
    assert screening.id.startswith("scr_")
    assert screening.client_reference_id == "order-42"
    assert screening.status == "Initiated"
    assert screening.piecemeal_status is None and screening.score is None
    assert screening.order_number.startswith("BC-") and len(screening.order_number) == 14
    assert [service.status for service in screening.services] == ["Not Started"] * 2
    assert fake.candidate(screening.id) == ADA.as_api()
    assert fake.callback_target(screening.id) == (receiver.url, "cb-user")


def test_a_retried_create_returns_the_existing_screening(fake, client, receiver) -> None:
    first = create(client, receiver.url, reference="order-7")
    second = create(client, receiver.url, reference="order-7")
    assert second.id == first.id
    assert fake.screening_ids() == [first.id]
    assert [entry["status"] for entry in fake.requests_to("/screenings", "POST")] == [201, 409]
    assert fake.requests_to(f"/screenings/{first.id}", "GET")[0]["status"] == 200


def test_get_and_cancel_a_screening(fake, client, receiver) -> None:
    created = create(client, receiver.url)
    fake.consent(created.id)
    assert client.get_screening(created.id).status == "In Progress"
    cancelled = client.cancel_screening(created.id)
    assert cancelled.status == "Canceled"
    assert client.get_screening(created.id).status == "Canceled"
    # Cancelling again is harmless: same answer, no second change.
    assert client.cancel_screening(created.id).updated_at == cancelled.updated_at


def test_cancelling_a_completed_screening_is_a_permanent_409(fake, client, receiver) -> None:
    created = create(client, receiver.url)
    fake.complete(created.id, "Green")
    with pytest.raises(HttpError) as caught:
        client.cancel_screening(created.id)
    assert caught.value.kind == "permanent" and caught.value.status == 409


def test_an_unknown_screening_is_a_permanent_404(client) -> None:
    with pytest.raises(HttpError) as caught:
        client.get_screening("scr_missing")
    assert caught.value.kind == "permanent" and caught.value.status == 404


def test_a_create_for_an_unknown_package_is_a_permanent_400(client, receiver) -> None:
    with pytest.raises(HttpError) as caught:
        create(client, receiver.url, package_id="nope")
    assert caught.value.kind == "permanent" and caught.value.status == 400
    assert "nope" in caught.value.message


def test_503_is_transient_and_the_next_request_succeeds(fake, client) -> None:
    client.list_packages()
    fake.fail_next(1, retry_after=7)
    with pytest.raises(HttpError) as caught:
        client.list_packages()
    assert caught.value.kind == "transient" and caught.value.status == 503
    assert caught.value.retry_after_s == 7
    assert client.list_packages()[0].id == "std-ca"


def test_503_from_the_token_endpoint_is_transient(fake, client) -> None:
    fake.fail_next(2)
    for _ in range(2):
        with pytest.raises(HttpError) as caught:
            client.get_screening("scr_any")
        assert caught.value.kind == "transient"
    assert len(fake.requests_to(TOKEN)) == 2


def test_a_read_timeout_on_a_read_is_transient(fake) -> None:
    with BackcheckClient(
        base_url=fake.url,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        read_timeout=0.2,
    ) as client:
        client.list_packages()
        fake.set_latency(0.5, count=1)
        with pytest.raises(HttpError) as caught:
            client.list_packages()
        assert caught.value.kind == "transient"
        assert client.list_packages()[0].id == "std-ca"


def test_a_dropped_create_is_ambiguous_and_the_retry_finds_the_screening(
    fake, client, receiver
) -> None:
    client.list_packages()
    fake.drop_next(1)
    with pytest.raises(HttpError) as caught:
        create(client, receiver.url, reference="order-9")
    assert caught.value.kind == "ambiguous"
    # The fake dropped the request before acting; retrying with the same reference is the check.
    screening = create(client, receiver.url, reference="order-9")
    again = create(client, receiver.url, reference="order-9")
    assert again.id == screening.id and len(fake.screening_ids()) == 1


def test_a_timed_out_create_retried_returns_the_screening_it_made(fake, receiver) -> None:
    with BackcheckClient(
        base_url=fake.url,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        read_timeout=0.2,
    ) as client:
        client.list_packages()
        fake.set_latency(0.4, count=1)
        with pytest.raises(HttpError) as caught:
            create(client, receiver.url, reference="order-10")
        assert caught.value.kind == "ambiguous"
        time.sleep(0.3)  # the fake finishes the slow create
        screening = create(client, receiver.url, reference="order-10")
    assert fake.screening_ids() == [screening.id]


def test_an_unreadable_screening_is_a_permanent_error_naming_the_field(
    fake, client, receiver
) -> None:
    created = create(client, receiver.url)
    with fake._lock:
        fake._screenings[created.id].payload["status"] = "On Hold"
    with pytest.raises(HttpError) as caught:
        client.get_screening(created.id)
    assert caught.value.kind == "permanent"
    assert "status" in caught.value.message and "On Hold" in caught.value.message


def test_connection_refused_is_transient() -> None:
    with BackcheckClient(
        base_url=closed_port_url(), client_id="id", client_secret="secret-value"
    ) as client:
        with pytest.raises(HttpError) as caught:
            client.list_packages()
    assert caught.value.kind == "transient"
