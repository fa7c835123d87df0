"""Stage changes processed against the fake Lever answering in the reference's other shapes.

Each test stores a signed webhook through the real endpoint, then runs the worker's service on it
with the tenant's Lever pointed at a fake Lever on 127.0.0.1.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.checks import tenant_check
from connectors.crypto import Secret
from connectors.lever.client import LeverClient
from connectors.lever.fake import FakeLever
from connectors.lever.ratelimit import LocalLimiter
from connectors.models import Tenant
from orders.models import InboundEvent, LeverNote, NoteAttempt, Order
from orders.services.delivery import notes_deliver
from orders.services.stage_change import inbound_process
from tests.support.lever import TRIGGER_STAGE, signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def lever(tenant) -> Iterator[FakeLever]:
    with FakeLever() as fake:
        tenant.lever_base_url = fake.base_url
        tenant.save(update_fields=["lever_base_url"])
        yield fake


@pytest.fixture
def lever_key(tenant) -> str:
    """A key of its own per test: the shared rate limiter must not carry over between tests."""
    key = "lever-key-" + secrets.token_hex(16)
    Tenant.objects.filter(pk=tenant.pk).update(lever_api_key=Secret(key))
    tenant.refresh_from_db()
    return key


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
    lever_key, lever, post_webhook, shape
):
    lever.add_account(lever_key, archived_shape=shape)
    opp = lever.add_opportunity(
        lever_key,
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


def test_an_active_opportunity_in_the_top_level_shape_is_ordered(lever_key, lever, post_webhook):
    lever.add_account(lever_key, archived_shape="top-level")
    opp = lever.add_opportunity(
        lever_key, name="Ada Lovelace", emails=["ada@example.com"], stage=TRIGGER_STAGE
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
    lever_key, lever, tenant, as_stored
):
    lever.add_account(lever_key)
    opp = lever.add_opportunity(lever_key, name="Ada Lovelace", emails=["ada@example.com"])
    stored = lever_client(lever, lever_key).create_note(opp, value=as_stored)
    note = ambiguous_note(tenant, opp, PIECEMEAL_TEXT)
    lever.clear_requests()

    assert notes_deliver(note_id=note.pk) is None

    note.refresh_from_db()
    assert note.state == LeverNote.State.DELIVERED and note.lever_note_id == stored
    assert note.attempts_log.get().outcome == NoteAttempt.Outcome.FOUND
    assert [r["method"] for r in lever.requests_for(lever_key)] == ["GET"]
    assert len(lever.notes(lever_key, opp)) == 1


def test_a_different_note_is_not_taken_for_ours(lever_key, lever, tenant):
    lever.add_account(lever_key)
    opp = lever.add_opportunity(lever_key, name="Ada Lovelace", emails=["ada@example.com"])
    lever_client(lever, lever_key).create_note(opp, value=PIECEMEAL_TEXT.replace("Green", "Red"))
    note = ambiguous_note(tenant, opp, PIECEMEAL_TEXT)

    notes_deliver(note_id=note.pk)

    note.refresh_from_db()
    assert note.state == LeverNote.State.DELIVERED
    assert [n["value"] for n in lever.notes(lever_key, opp)][-1] == PIECEMEAL_TEXT
    assert len(lever.notes(lever_key, opp)) == 2


def lever_client(fake: FakeLever, key: str) -> LeverClient:
    return LeverClient(base_url=fake.base_url, api_key=key, limiter=LocalLimiter())


# --- reads the key may not be allowed (403) ------------------------------------------------------


def warnings_of(tenant) -> dict:
    tenant.refresh_from_db()
    return tenant.lever_permission_warnings


def test_a_key_refused_stages_still_gets_the_no_email_note_naming_the_stage_id(
    lever_key, lever, tenant, post_webhook
):
    lever.add_account(lever_key, forbidden=["GET /stages"])
    opp = lever.add_opportunity(lever_key, name="Prince", emails=[], stage=TRIGGER_STAGE)

    event = process_stage_change(post_webhook, opp)

    assert event.state == InboundEvent.State.PROCESSED and event.outcome == "no_email"
    note = LeverNote.objects.get(inbound_event=event)
    assert f'move the candidate to "{TRIGGER_STAGE}" again' in note.text
    assert ("GET", 403) in {
        (r["method"], r["status"]) for r in lever.requests_for(lever_key) if "stages" in r["path"]
    }
    assert "cannot read stages" in warnings_of(tenant)["stages"]["detail"]


def test_a_key_refused_postings_gets_the_no_package_error_naming_the_cause_not_the_default(
    lever_key, lever, tenant, post_webhook
):
    assert tenant.packages.get().is_default  # the default package must not be guessed
    lever.add_account(lever_key, forbidden=["GET /postings/*"])
    opp = lever.add_opportunity(
        lever_key,
        name="José Núñez",
        emails=["jose@example.com"],
        tags=["Finance"],
        posting_tags=["executive-ca"],
        stage=TRIGGER_STAGE,
    )

    event = process_stage_change(post_webhook, opp)

    assert event.outcome == "no_package"
    assert "the Lever API key cannot read job postings" in event.reason
    # The case is an Error case that was never sent to Backcheck, not an order of the default.
    (case,) = Order.objects.all()
    assert case.status == "Error" and case.cannot_order == "no_package"
    assert case.screening_id == "" and case.package_code != tenant.packages.get().code
    assert "cannot read job postings" in case.error_message
    note = LeverNote.objects.get(inbound_event=event)
    assert note.kind == "error" and "cannot read job postings" in note.text
    assert '"Background Check" again' in note.text  # stages are still readable
    assert "postings" in warnings_of(tenant)


def test_a_key_refused_postings_still_orders_from_a_matching_opportunity_tag(
    lever_key, lever, tenant, post_webhook
):
    tenant.packages.update(lever_tag="standard-ca")
    lever.add_account(lever_key, forbidden=["GET /postings/*"])
    opp = lever.add_opportunity(
        lever_key,
        name="Ada Lovelace",
        emails=["ada@example.com"],
        tags=["standard-ca"],
        posting_tags=["executive-ca"],
        stage=TRIGGER_STAGE,
    )

    assert process_stage_change(post_webhook, opp).outcome == "order_opened"


def test_a_key_refused_acting_as_the_note_author_posts_the_note_without_one(
    lever_key, lever, tenant
):
    author = "8d3c2b1a-0000-4000-8000-0000000000a1"  # the fake's default user
    tenant.note_author_user_id = author
    tenant.save(update_fields=["note_author_user_id"])
    lever.add_account(lever_key, forbidden=["POST /opportunities/*/notes?perform_as"])
    opp = lever.add_opportunity(lever_key, name="Ada Lovelace", emails=["ada@example.com"])
    note = LeverNote.objects.create(
        tenant=tenant, opportunity_id=opp, kind="error", text="Sterling Backcheck\nStatus: New"
    )

    notes_deliver(note_id=note.pk)

    note.refresh_from_db()
    assert note.state == LeverNote.State.DELIVERED
    [posted] = lever.notes(lever_key, opp)
    assert posted["user"] is None and posted["value"] == note.text
    statuses = [r["status"] for r in lever.requests_for(lever_key) if r["method"] == "POST"]
    assert statuses == [403, 201]
    assert "without an author" in warnings_of(tenant)["perform_as"]["detail"]


def test_a_key_refused_notes_altogether_still_fails_the_note(lever_key, lever, tenant):
    tenant.note_author_user_id = "8d3c2b1a-0000-4000-8000-0000000000a1"
    tenant.save(update_fields=["note_author_user_id"])
    lever.add_account(lever_key, forbidden=["POST /opportunities/*/notes"])
    opp = lever.add_opportunity(lever_key, name="Ada Lovelace", emails=["ada@example.com"])
    note = LeverNote.objects.create(tenant=tenant, opportunity_id=opp, kind="error", text="x")

    notes_deliver(note_id=note.pk)

    note.refresh_from_db()
    assert note.state == LeverNote.State.FAILED and note.last_http_status == 403
    assert lever.notes(lever_key, opp) == []


def test_the_tenant_health_shows_the_warning_until_a_test_connection_clears_it(
    lever_key, lever, tenant, post_webhook, admin_client
):
    lever.add_account(lever_key, forbidden=["GET /stages"])
    opp = lever.add_opportunity(lever_key, name="Prince", emails=[], stage=TRIGGER_STAGE)
    process_stage_change(post_webhook, opp)

    page = admin_client.get(reverse("tenant-detail", args=[tenant.slug])).content.decode()
    assert "The Lever API key cannot read stages (403)" in page
    assert "The Lever API key cannot read stages (403)" in admin_client.get("/").content.decode()

    lever.accounts[lever_key]["forbidden"] = []  # the customer's key was given the permission
    lever_check_result = tenant_check(Tenant.objects.get(pk=tenant.pk))["lever"]
    assert lever_check_result["permissions"]["stages"] == "ok"
    assert "stages" not in warnings_of(tenant)
    page = admin_client.get(reverse("tenant-detail", args=[tenant.slug])).content.decode()
    assert "cannot read stages" not in page


def test_warnings_the_worker_cannot_test_again_clear_on_the_next_success(
    lever_key, lever, tenant, post_webhook
):
    """Test connection reads stages and users; postings and perform_as clear when they work."""
    author = "8d3c2b1a-0000-4000-8000-0000000000a1"
    Tenant.objects.filter(pk=tenant.pk).update(
        note_author_user_id=author,
        lever_permission_warnings={
            "postings": {"at": "2026-11-01T00:00:00+00:00", "detail": "postings refused"},
            "perform_as": {"at": "2026-11-01T00:00:00+00:00", "detail": "author refused"},
        },
    )
    tenant.packages.update(lever_tag="executive-ca")
    lever.add_account(lever_key)  # the customer's key may now do both
    opp = lever.add_opportunity(
        lever_key,
        name="José Núñez",
        emails=["jose@example.com"],
        posting_tags=["executive-ca"],
        stage=TRIGGER_STAGE,
    )

    assert process_stage_change(post_webhook, opp).outcome == "order_opened"
    assert "postings" not in warnings_of(tenant)

    note = LeverNote.objects.create(tenant=tenant, opportunity_id=opp, kind="error", text="x")
    notes_deliver(note_id=note.pk)
    assert lever.notes(lever_key, opp)[0]["user"] == author
    assert warnings_of(tenant) == {}
