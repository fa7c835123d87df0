"""Fault 1: Redis (broker, cache and limiter) stopped while Lever and Backcheck keep calling.

Every webhook and callback must still be answered 2xx quickly and stored (publishing never
blocks a request, integration_portal/publishing.py); once Redis is back, the beat sweeper and the
workers finish everything, and no note is posted twice.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from orders.models import InboundEvent, LeverNote, Order
from tests.support.harness import percentile, record, wait_until
from tests.support.stack import wire_stack_tenant
from tests.support.wired import stage_body

pytestmark = [pytest.mark.e2e]

TENANTS = 4
OPEN_ORDERS_PER_TENANT = 10  # opened before the outage; 2 callbacks each during it
NEW_WEBHOOKS_PER_TENANT = 30  # stage changes during the outage


def _post(url: str, body: dict) -> tuple[int, float]:
    started = time.monotonic()
    response = requests.post(url, json=body, timeout=30)
    return response.status_code, time.monotonic() - started


def _states() -> dict[str, Counter]:
    """Where every row stands: what a timeout reports, so a slow recovery can be told from a lost row."""
    return {
        "notes": Counter(LeverNote.objects.values_list("state", flat=True)),
        "events": Counter(InboundEvent.objects.values_list("state", flat=True)),
        "orders": Counter(Order.objects.values_list("submit_state", flat=True)),
    }


def test_with_redis_down_200_requests_are_answered_fast_and_all_processed_once_it_returns(
    stack, fakes
):
    lever, backcheck = fakes
    stack.up(concurrency=4)
    tenants = [
        wire_stack_tenant(
            stack,
            lever,
            backcheck,
            candidates=OPEN_ORDERS_PER_TENANT + NEW_WEBHOOKS_PER_TENANT,
            slug=f"redis-{i}",
        )
        for i in range(TENANTS)
    ]

    # Before the outage: some open orders, each with its first note delivered.
    with ThreadPoolExecutor(8) as pool:
        for w in tenants:
            for opp in w.extra[:OPEN_ORDERS_PER_TENANT]:
                pool.submit(lambda w=w, opp=opp: _post(w.webhook_url, stage_body(w, opp)))
    open_count = TENANTS * OPEN_ORDERS_PER_TENANT
    wait_until(
        lambda: LeverNote.objects.filter(state="delivered").count() == open_count,
        timeout=60,
        message="the first note of every open order",
    )
    orders = list(Order.objects.exclude(screening_id=""))
    assert len(orders) == open_count

    stack.redis.stop()
    outage_started = time.monotonic()

    # During the outage: new stage changes (concurrently) and two callbacks per open order.
    latencies: list[float] = []
    statuses: list[int] = []
    with ThreadPoolExecutor(16) as pool:
        futures = [
            pool.submit(_post, w.webhook_url, stage_body(w, opp))
            for w in tenants
            for opp in w.extra[OPEN_ORDERS_PER_TENANT:]
        ]
        for order in orders:
            backcheck.consent(order.screening_id)
            backcheck.complete(order.screening_id, "Green")
        for future in futures:
            status, seconds = future.result()
            statuses.append(status)
            latencies.append(seconds)
    backcheck.wait_for_callbacks(2 * open_count, timeout=60)
    callbacks = [c for c in backcheck.callbacks if c["attempt"] == 1]
    statuses += [c["status"] for c in callbacks]
    latencies += [c["duration_ms"] / 1000 for c in callbacks]
    assert len(statuses) == TENANTS * NEW_WEBHOOKS_PER_TENANT + 2 * open_count == 200
    assert all(200 <= s < 300 for s in statuses), sorted(set(statuses))
    p99 = percentile(latencies, 99)
    assert p99 < 1.0, p99
    assert max(latencies) < 5.0, max(latencies)  # nothing hung on an enqueue
    # Stored: every stage change as a waiting event, every callback applied in the request.
    assert InboundEvent.objects.filter(source="lever", state="received").count() == 120
    assert InboundEvent.objects.filter(source="backcheck", outcome="applied").count() == 80
    assert not stack.redis.ping()
    outage_s = time.monotonic() - outage_started

    stack.redis.start()
    back = time.monotonic()
    expected_notes = open_count * 3 + TENANTS * NEW_WEBHOOKS_PER_TENANT
    wait_until(
        lambda: LeverNote.objects.filter(state="delivered").count() == expected_notes,
        timeout=60,
        interval=0.25,
        message=f"{expected_notes} delivered notes",
        detail=_states,
    )
    recovered_s = time.monotonic() - back
    assert recovered_s <= 60

    assert LeverNote.objects.exclude(state="delivered").count() == 0
    assert Order.objects.filter(submit_state="submitted").count() == open_count + 120
    posted = 0
    for w in tenants:
        for opp in w.extra:
            texts = [n["value"] for n in lever.notes(w.api_key, opp)]
            assert len(texts) == len(set(texts)), f"a note was posted twice on {opp}: {texts}"
            posted += len(texts)
    assert posted == expected_notes
    # Backcheck got exactly one screening per order, never a second one for a retried create.
    assert len(backcheck.screening_ids()) == open_count + 120
    assert "could not publish" in stack.procs[0].output()
    record(
        "redis-outage",
        requests=len(statuses),
        p50_s=percentile(latencies, 50),
        p99_s=p99,
        max_s=max(latencies),
        outage_s=outage_s,
        recovery_s=recovered_s,
        notes=expected_notes,
    )
