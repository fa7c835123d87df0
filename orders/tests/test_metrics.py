"""/metrics: inbound outcomes, note deliveries, backlog, retries and limiter waits."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from connectors.lever.signature import compute_signature
from connectors.models import Tenant
from integration_portal import metrics
from orders.models import LeverNote, NoteAttempt, Order
from tests.support.factories import TenantFactory

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-sig-token-0123456789abcdef"
STAGE = "stage-bg-check"


@pytest.fixture(autouse=True)
def fresh_outbox_aggregates():
    metrics._database_collector._cached = None
    yield
    metrics._database_collector._cached = None


@pytest.fixture
def client() -> Client:
    return Client(headers={"host": "127.0.0.1"})


@pytest.fixture
def tenant(db) -> Tenant:
    return TenantFactory(
        name="Metrics Corp",
        slug="metrics-" + secrets.token_hex(3),
        lever_base_url="http://127.0.0.1:9/v1",
        trigger_stage_ids=[STAGE],
        lever_api_key="lever-key-metrics-0123456789abcdef",
        lever_signature_token=TOKEN,
        packages=[{"code": "std", "name": "Standard", "is_default": True}],
    )


def scrape(client: Client, **headers) -> dict[tuple[str, tuple], float]:
    from django.conf import settings

    headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {settings.METRICS_TOKEN}")
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def counted(endpoint: str, code: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "portal_inbound_requests_total", {"endpoint": endpoint, "code": code, "outcome": outcome}
    )
    return value or 0.0


def webhook(token: str | None = None, **data) -> str:
    token = token or secrets.token_hex(16)
    triggered = int(time.time() * 1000)
    return json.dumps(
        {
            "id": secrets.token_hex(8),
            "event": "candidateStageChange",
            "triggeredAt": triggered,
            "token": token,
            "signature": compute_signature(TOKEN, token, triggered),
            "data": {"opportunityId": "opp-1", "toStageId": STAGE, "fromStageId": None, **data},
        }
    )


@pytest.mark.django_db
def test_metrics_are_served_to_the_bearer_token_in_prometheus_text(client):
    values = scrape(client)
    assert values[("portal_metrics_database_up", ())] == 1
    assert ("portal_outbox_notes", (("state", "pending"),)) in values


@pytest.mark.django_db
def test_metrics_answer_404_when_disabled(client, settings):
    settings.METRICS_ENABLED = False
    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_metrics_require_the_bearer_token_when_one_is_set(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    assert scrape(client, HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")


@pytest.mark.django_db(transaction=True)
def test_webhook_answers_are_counted_by_status_and_outcome(client, tenant):
    url = f"/api/v1/webhooks/lever/{tenant.webhook_id}/"
    before = {
        key: counted("lever_webhook", *key)
        for key in [
            ("200", "accepted"),
            ("200", "duplicate"),
            ("401", "invalid_signature"),
            ("404", "not_found"),
            ("400", "invalid_json"),
        ]
    }
    body = webhook(token="tok-" + secrets.token_hex(8))
    assert client.post(url, body, content_type="application/json").json() == {"status": "accepted"}
    assert client.post(url, body, content_type="application/json").json() == {"status": "duplicate"}
    forged = json.loads(webhook())
    forged["signature"] = "0" * 64
    assert client.post(url, forged, content_type="application/json").status_code == 401
    assert client.post(url, "[1]", content_type="application/json").status_code == 400
    unknown = client.post("/api/v1/webhooks/lever/nope/", body, content_type="application/json")
    assert unknown.status_code == 404
    for key, old in before.items():
        assert counted("lever_webhook", *key) == old + 1, key
    values = scrape(client)
    assert (
        values[
            (
                "portal_inbound_requests_total",
                (("code", "404"), ("endpoint", "lever_webhook"), ("outcome", "not_found")),
            )
        ]
        >= 1
    )
    assert values[("portal_inbound_request_seconds_count", (("endpoint", "lever_webhook"),))] >= 5


@pytest.mark.django_db
def test_callback_without_credentials_is_counted_as_a_401(client):
    before = counted("backcheck_callback", "401", "unauthorized")
    response = client.post("/api/v1/callbacks/backcheck/", "{}", content_type="application/json")
    assert response.status_code == 401
    assert counted("backcheck_callback", "401", "unauthorized") == before + 1


@pytest.mark.django_db
def test_other_pages_are_not_counted_as_inbound(client):
    before = (
        REGISTRY.get_sample_value(
            "portal_inbound_request_seconds_count", {"endpoint": "lever_webhook"}
        )
        or 0.0
    )
    client.get("/healthz")
    after = (
        REGISTRY.get_sample_value(
            "portal_inbound_request_seconds_count", {"endpoint": "lever_webhook"}
        )
        or 0.0
    )
    assert after == before


def _order(tenant: Tenant, n: int) -> Order:
    return Order.objects.create(
        tenant=tenant,
        opportunity_id=f"opp-{n}",
        package_code="std",
        package_name="Standard",
        callback_username=f"cb-{secrets.token_hex(6)}",
        callback_password_hash="x",
    )


@pytest.mark.django_db
def test_deliveries_retries_and_backlog_are_read_from_the_outbox_tables(client, tenant):
    order = _order(tenant, 1)
    now = timezone.now()

    def note(state: str, **fields) -> LeverNote:
        return LeverNote.objects.create(
            tenant=tenant,
            order=order,
            opportunity_id="opp-1",
            kind="order",
            text=state,
            state=state,
            **fields,
        )

    delivered = note("delivered", delivered_at=now)
    retried = note("delivered", delivered_at=now)
    note("failed")
    note("blocked")
    pending = note("pending")
    LeverNote.objects.filter(pk=pending.pk).update(created_at=now - timedelta(seconds=120))
    for target, outcome, ms in [
        (delivered, "delivered", 40),
        (retried, "transient", 3000),
        (retried, "transient", 30000),
        (retried, "delivered", 180),
    ]:
        NoteAttempt.objects.create(note=target, started_at=now, duration_ms=ms, outcome=outcome)

    values = scrape(client)
    outcome = lambda name: (name, (("outcome", "delivered"),))  # noqa: E731
    assert values[outcome("portal_note_deliveries_total")] == 2
    assert values[("portal_note_deliveries_total", (("outcome", "transient"),))] == 2
    assert values[outcome("portal_note_delivery_seconds_count")] == 2
    assert values[outcome("portal_note_delivery_seconds_sum")] == pytest.approx(0.22)
    assert (
        values[("portal_note_delivery_seconds_bucket", (("le", "0.05"), ("outcome", "delivered")))]
        == 1
    )
    assert (
        values[("portal_note_delivery_seconds_bucket", (("le", "0.25"), ("outcome", "delivered")))]
        == 2
    )
    assert (
        values[("portal_note_delivery_seconds_bucket", (("le", "20.0"), ("outcome", "transient")))]
        == 1
    )
    # Four attempts on two notes: two of them were retries.
    assert values[("portal_note_retries_total", ())] == 2
    for state, count in [
        ("delivered", 2),
        ("failed", 1),
        ("blocked", 1),
        ("pending", 1),
        ("sending", 0),
        ("skipped", 0),
    ]:
        assert values[("portal_outbox_notes", (("state", state),))] == count, state
    assert 115 <= values[("portal_outbox_oldest_pending_seconds", ())] <= 600
    assert values[("portal_note_last_delivered_timestamp_seconds", ())] == pytest.approx(
        now.timestamp(), abs=1
    )


@pytest.mark.django_db
def test_outbox_aggregates_are_reused_within_the_cache_window(client, tenant, settings):
    metrics._database_collector.cache_s = 60
    try:
        first = scrape(client)[("portal_outbox_notes", (("state", "pending"),))]
        LeverNote.objects.create(tenant=tenant, opportunity_id="o", kind="error", text="t")
        assert scrape(client)[("portal_outbox_notes", (("state", "pending"),))] == first
        metrics._database_collector._cached = None
        assert scrape(client)[("portal_outbox_notes", (("state", "pending"),))] == first + 1
    finally:
        metrics._database_collector.cache_s = 5.0


@pytest.fixture
def redis_metrics(redis_url):
    import redis

    conn = redis.Redis.from_url(redis_url)
    conn.delete(metrics.LIMITER_HASH)
    metrics._redis_client = None
    yield conn
    conn.delete(metrics.LIMITER_HASH)
    metrics._redis_client = None


@pytest.mark.django_db
def test_limiter_waits_are_counted_per_tenant_through_redis(client, redis_metrics):
    metrics.limiter_wait(7, 0.25)
    metrics.limiter_wait(7, 0.5)
    metrics.limiter_wait(9, 1.0)
    values = scrape(client)
    assert values[("portal_lever_limiter_waits_total", (("tenant_id", "7"),))] == 2
    assert values[("portal_lever_limiter_wait_seconds_total", (("tenant_id", "7"),))] == 0.75
    assert values[("portal_lever_limiter_waits_total", (("tenant_id", "9"),))] == 1


def _exhaust_limiter(tenant: Tenant, settings) -> None:
    """In-process limiter and counters; the tenant's bucket empty, its next slot ~100 s away."""
    from connectors.lever.ratelimit import get_limiter

    settings.REDIS_URL = ""
    metrics._redis_client = None
    Tenant.objects.filter(pk=tenant.pk).update(lever_rate_per_s=0.01, lever_burst=1)
    tenant.refresh_from_db()
    limiter = get_limiter()
    while limiter.try_acquire(tenant.lever_api_key.reveal(), rate=0.01, burst=1) == 0.0:
        pass


@pytest.mark.django_db
def test_a_note_put_off_by_the_limiter_counts_a_wait_for_its_tenant(tenant, settings):
    from orders.services.delivery import BOOKING_HORIZON_S, notes_deliver

    _exhaust_limiter(tenant, settings)
    note = LeverNote.objects.create(tenant=tenant, opportunity_id="o", kind="error", text="t")
    before = (
        REGISTRY.get_sample_value(
            "portal_lever_limiter_waits_local_total", {"tenant_id": str(tenant.pk)}
        )
        or 0.0
    )
    result = notes_deliver(note_id=note.pk)
    # The next slot is ~100 s away, past the booking horizon: come back after the horizon.
    assert result is not None and result.countdown >= BOOKING_HORIZON_S
    assert result.booked_at is None
    after = REGISTRY.get_sample_value(
        "portal_lever_limiter_waits_local_total", {"tenant_id": str(tenant.pk)}
    )
    assert after == before + 1
    note.refresh_from_db()
    assert note.state == LeverNote.State.PENDING and note.attempts == 0


@pytest.mark.django_db
def test_missed_booked_slots_are_counted_per_tenant_through_redis(client, redis_metrics):
    metrics.booked_slot_missed(7)
    metrics.booked_slot_missed(7)
    metrics.booked_slot_missed(9)
    metrics.limiter_wait(7, 0.25)
    values = scrape(client)
    assert values[("portal_lever_booked_slots_missed_total", (("tenant_id", "7"),))] == 2
    assert values[("portal_lever_booked_slots_missed_total", (("tenant_id", "9"),))] == 1
    # The waits kept in the same Redis hash are still told apart.
    assert values[("portal_lever_limiter_waits_total", (("tenant_id", "7"),))] == 1
    assert values[("portal_lever_limiter_wait_seconds_total", (("tenant_id", "7"),))] == 0.25


@pytest.mark.django_db
def test_a_task_starting_past_its_booked_slot_counts_it_missed_and_books_again(tenant, settings):
    from orders.services.delivery import BOOKING_GRACE_S, BOOKING_HORIZON_S, notes_deliver

    _exhaust_limiter(tenant, settings)  # a new booking lies ~100 s away
    note = LeverNote.objects.create(tenant=tenant, opportunity_id="o", kind="error", text="t")
    labels = {"tenant_id": str(tenant.pk)}
    before = REGISTRY.get_sample_value("portal_lever_booked_slots_missed_local_total", labels)

    result = notes_deliver(note_id=note.pk, booked_at=time.time() - BOOKING_GRACE_S - 1.0)

    # Nothing was sent on the stale booking: the note booked again, past the horizon.
    assert result is not None and result.countdown >= BOOKING_HORIZON_S
    after = REGISTRY.get_sample_value("portal_lever_booked_slots_missed_local_total", labels)
    assert after == (before or 0.0) + 1
    note.refresh_from_db()
    assert note.state == LeverNote.State.PENDING and note.attempts == 0


@pytest.mark.django_db
def test_a_task_starting_on_its_booked_slot_counts_nothing_missed(tenant, settings):
    from orders.services.delivery import notes_deliver

    settings.REDIS_URL = ""
    metrics._redis_client = None
    note = LeverNote.objects.create(tenant=tenant, opportunity_id="o", kind="error", text="t")
    labels = {"tenant_id": str(tenant.pk)}
    before = REGISTRY.get_sample_value("portal_lever_booked_slots_missed_local_total", labels)
    notes_deliver(note_id=note.pk, booked_at=time.time())  # the send fails: nothing listens
    after = REGISTRY.get_sample_value("portal_lever_booked_slots_missed_local_total", labels)
    assert (after or 0.0) == (before or 0.0)
    note.refresh_from_db()
    assert note.attempts == 1  # the slot was used


def test_multiprocess_mode_adds_up_every_process(tmp_path):
    """Two processes count, a third scrapes: the sum of both, as with gunicorn workers."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
        "DJANGO_SETTINGS_MODULE": "integration_portal.test_settings",
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'none.sqlite3'}",
        "REDIS_URL": "",
    }
    (tmp_path / "prom").mkdir()
    count = (
        "import django; django.setup(); from integration_portal import metrics; "
        "metrics.INBOUND_REQUESTS.labels('lever_webhook', '200', 'accepted').inc(3)"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, cwd=ROOT, check=True, timeout=60)
    read = (
        "import django; django.setup(); from integration_portal import metrics; "
        "from prometheus_client import generate_latest; "
        "print(generate_latest(metrics.build_registry()).decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", read],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(out)
        for s in f.samples
    }
    key = (
        "portal_inbound_requests_total",
        (("code", "200"), ("endpoint", "lever_webhook"), ("outcome", "accepted")),
    )
    assert values[key] == 6
    # No tables in that database: the scrape still answers, and says so.
    assert values[("portal_metrics_database_up", ())] == 0
