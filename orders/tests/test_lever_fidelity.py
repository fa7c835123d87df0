"""Stage changes processed against the fake Lever answering in the reference's other shapes.

Each test stores a signed webhook through the real endpoint, then runs the worker's service on it
with the tenant's Lever pointed at a fake Lever on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.lever.fake_server import FakeLever
from orders.models import InboundEvent, Order
from orders.services.inbound import inbound_process
from orders.tests.conftest import TRIGGER_STAGE, signed

pytestmark = pytest.mark.django_db

LEVER_KEY = "lever-key-acme-0123456789abcdef"  # the `tenant` fixture's key


@pytest.fixture
def lever(tenant) -> Iterator[FakeLever]:
    with FakeLever() as fake:
        tenant.lever_base_url = fake.base_url
        tenant.save(update_fields=["lever_base_url"])
        yield fake


def process_stage_change(post_webhook, opportunity_id: str) -> InboundEvent:
    data = {
        "opportunityId": opportunity_id,
        "candidateId": opportunity_id,
        "contactId": "c-1",
        "toStageId": TRIGGER_STAGE,
        "fromStageId": "applicant-new",
    }
    assert post_webhook(signed(data=data)).json()["status"] == "accepted"
    event = InboundEvent.objects.get(opportunity_id=opportunity_id)
    assert inbound_process(event_id=event.pk) is None
    event.refresh_from_db()
    return event


# --- archived opportunities ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["object", "top-level"])
def test_an_archived_opportunity_in_either_shape_gets_no_order_and_says_why(
    lever, post_webhook, shape
):
    lever.add_account(LEVER_KEY, archived_shape=shape)
    opp = lever.add_opportunity(
        LEVER_KEY,
        name="Ada Lovelace",
        emails=["ada@example.com"],
        stage=TRIGGER_STAGE,
        archived={"archivedAt": 1764496800000, "reason": "63dd55b2-a99f-4e7b-985f-22c7bf80ab42"},
    )

    event = process_stage_change(post_webhook, opp)

    assert event.state == InboundEvent.State.IGNORED and event.outcome == "archived"
    assert event.reason == (
        "The opportunity is archived in Lever (since 2025-11-30 10:00 UTC, archive reason "
        "63dd55b2-a99f-4e7b-985f-22c7bf80ab42); no order."
    )
    assert not Order.objects.exists()


def test_an_active_opportunity_in_the_top_level_shape_is_ordered(lever, post_webhook):
    lever.add_account(LEVER_KEY, archived_shape="top-level")
    opp = lever.add_opportunity(
        LEVER_KEY, name="Ada Lovelace", emails=["ada@example.com"], stage=TRIGGER_STAGE
    )

    event = process_stage_change(post_webhook, opp)

    assert event.outcome == "order_opened"
    assert Order.objects.get().opportunity_id == opp
