"""Stage changes processed against the fake Lever answering in the reference's other shapes.

Each test stores a signed webhook through the real endpoint, then runs the worker's service on it
with the tenant's Lever pointed at a fake Lever on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.lever.client import LeverClient
from connectors.lever.fake_server import FakeLever
from connectors.lever.ratelimit import LocalLimiter
from orders.models import InboundEvent, LeverNote, NoteAttempt, Order
from orders.services.inbound import inbound_process
from orders.services.notes import notes_deliver
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


# --- look before reposting after an ambiguous send --------------------------------------------

PIECEMEAL_TEXT = (
    "Sterling Backcheck background check\nStatus: In Production\nReference number: BC-1\n\n"
    "Criminal Record Check\nStatus: Completed\nScore: Green"
)


def ambiguous_note(tenant, opportunity_id: str, text: str) -> LeverNote:
    """A note whose first send may have reached Lever (the answer was lost)."""
    started = timezone.now() - timedelta(seconds=5)
    return LeverNote.objects.create(
        tenant=tenant,
        opportunity_id=opportunity_id,
        kind="error",
        text=text,
        state=LeverNote.State.PENDING,
        attempts=1,
        check_before_send_since=started,
    )


@pytest.mark.parametrize(
    "as_stored",
    [
        PIECEMEAL_TEXT.replace("\n", "\r\n"),
        "  " + PIECEMEAL_TEXT.replace("\n\n", "\n").replace(": ", ":   ") + "\n\n",
        "<p>" + PIECEMEAL_TEXT.replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>",
        PIECEMEAL_TEXT.replace("Criminal Record Check", "Criminal&nbsp;Record&nbsp;Check"),
    ],
    ids=["crlf", "whitespace", "html", "html-entities"],
)
def test_a_note_lever_stored_with_normalised_text_is_found_not_posted_twice(
    lever, tenant, as_stored
):
    lever.add_account(LEVER_KEY)
    opp = lever.add_opportunity(LEVER_KEY, name="Ada Lovelace", emails=["ada@example.com"])
    stored = lever_client(lever).create_note(opp, value=as_stored)
    note = ambiguous_note(tenant, opp, PIECEMEAL_TEXT)
    lever.clear_requests()

    assert notes_deliver(note_id=note.pk) is None

    note.refresh_from_db()
    assert note.state == LeverNote.State.DELIVERED and note.lever_note_id == stored
    assert note.attempts_log.get().outcome == NoteAttempt.Outcome.FOUND
    assert [r["method"] for r in lever.requests_for(LEVER_KEY)] == ["GET"]
    assert len(lever.notes(LEVER_KEY, opp)) == 1


def test_a_different_note_is_not_taken_for_ours(lever, tenant):
    lever.add_account(LEVER_KEY)
    opp = lever.add_opportunity(LEVER_KEY, name="Ada Lovelace", emails=["ada@example.com"])
    lever_client(lever).create_note(opp, value=PIECEMEAL_TEXT.replace("Green", "Red"))
    note = ambiguous_note(tenant, opp, PIECEMEAL_TEXT)

    notes_deliver(note_id=note.pk)

    note.refresh_from_db()
    assert note.state == LeverNote.State.DELIVERED
    assert [n["value"] for n in lever.notes(LEVER_KEY, opp)][-1] == PIECEMEAL_TEXT
    assert len(lever.notes(LEVER_KEY, opp)) == 2


def lever_client(fake: FakeLever) -> LeverClient:
    return LeverClient(base_url=fake.base_url, api_key=LEVER_KEY, limiter=LocalLimiter())
