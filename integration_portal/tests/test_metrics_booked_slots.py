"""/metrics: booked rate-limit slots that passed unused because their task started too late."""

from __future__ import annotations

import secrets
import time

import pytest
from django.test import Client
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from connectors.models import Tenant
from integration_portal import metrics
from orders.models import LeverNote


@pytest.fixture
def redis_metrics(redis_url):
    import redis

    conn = redis.Redis.from_url(redis_url)
    conn.delete(metrics.LIMITER_HASH)
    metrics._redis_client = None
    yield conn
    conn.delete(metrics.LIMITER_HASH)
    metrics._redis_client = None


@pytest.fixture
def tenant(db) -> Tenant:
    return Tenant.objects.create(
        name="Slots Corp",
        slug="slots-" + secrets.token_hex(3),
        # Nothing listens there: a send would fail, so a test sees whether one was tried.
        lever_base_url="http://127.0.0.1:9/v1",
        lever_api_key="lever-key-slots-0123456789abcdef",
    )


def scrape() -> dict[tuple[str, tuple], float]:
    response = Client(HTTP_HOST="127.0.0.1").get("/metrics")
    assert response.status_code == 200, response.content
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


@pytest.mark.django_db
def test_missed_booked_slots_are_counted_per_tenant_through_redis(redis_metrics):
    metrics.booked_slot_missed(7)
    metrics.booked_slot_missed(7)
    metrics.booked_slot_missed(9)
    metrics.limiter_wait(7, 0.25)
    values = scrape()
    assert values[("portal_lever_booked_slots_missed_total", (("tenant_id", "7"),))] == 2
    assert values[("portal_lever_booked_slots_missed_total", (("tenant_id", "9"),))] == 1
    # The waits kept in the same Redis hash are still told apart.
    assert values[("portal_lever_limiter_waits_total", (("tenant_id", "7"),))] == 1
    assert values[("portal_lever_limiter_wait_seconds_total", (("tenant_id", "7"),))] == 0.25


@pytest.mark.django_db
def test_a_task_starting_past_its_booked_slot_counts_it_missed_and_books_again(tenant, settings):
    from connectors.lever.ratelimit import get_limiter
    from orders.services.notes import BOOKING_GRACE_S, BOOKING_HORIZON_S, notes_deliver

    settings.REDIS_URL = ""  # the in-process limiter and counter
    metrics._redis_client = None
    Tenant.objects.filter(pk=tenant.pk).update(lever_rate_per_s=0.01, lever_burst=1)
    tenant.refresh_from_db()
    limiter = get_limiter()
    while limiter.try_acquire(tenant.lever_api_key.reveal(), rate=0.01, burst=1) == 0.0:
        pass  # empty the bucket: a new booking lies ~100 s away
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
    from orders.services.notes import notes_deliver

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
