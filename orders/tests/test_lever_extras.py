"""Per-tenant Lever extras through the note outbox, against the fake Lever on 127.0.0.1:
status tags, auto-advance with PUT /opportunities/{id}/stage, notifyFollowers."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError

from connectors.crypto import Secret
from connectors.lever.fake import FakeLever
from connectors.models import Tenant
from connectors.tenants import packages, services
from orders.models import LeverNote, NoteAttempt
from orders.services.delivery import notes_deliver
from tests.support.history import apply, dashboard_tenant, make_order

pytestmark = pytest.mark.django_db

COMPLETED = {
    "status": "Completed",
    "updatedAt": "2026-01-03T10:00:00Z",
    "completedAt": "2026-01-03T10:00:00Z",
    "reportUrl": "https://backcheck.example.test/r/1",
}


@pytest.fixture
def lever() -> Iterator[FakeLever]:
    with FakeLever() as fake:
        yield fake


@pytest.fixture
def setup(lever) -> tuple[Tenant, str, str]:
    """A tenant on the fake Lever (a key of its own per test) and one candidate in stage-bg."""
    key = "lever-key-" + secrets.token_hex(16)
    lever.add_account(
        key,
        stages=[{"id": "stage-bg", "text": "Background Check"}, {"id": "offer", "text": "Offer"}],
    )
    tenant = dashboard_tenant("acme")
    Tenant.objects.filter(pk=tenant.pk).update(
        lever_base_url=lever.base_url, lever_api_key=Secret(key)
    )
    opp = lever.add_opportunity(
        key, name="Ada Lovelace", emails=["ada@example.com"], stage="stage-bg"
    )
    return Tenant.objects.get(pk=tenant.pk), key, opp


def configure(tenant: Tenant, **settings) -> Tenant:
    services.tenant_update(tenant=tenant, actor="cli", **settings)
    return Tenant.objects.get(pk=tenant.pk)


def deliver_all(tenant: Tenant) -> None:
    """Work the tenant's queue as the worker's tasks do, waiting for booked rate-limit slots.

    The limiter lets a short burst through at once; a test that sends more than that must wait
    for its slot like a task would, or it sees rows still pending. A row waiting out a retry's
    back-off stays pending: that is for the test to see.
    """
    deadline = time.monotonic() + 10
    result = None
    while time.monotonic() < deadline:
        if result is None:
            head = LeverNote.objects.filter(tenant=tenant, state=LeverNote.State.PENDING).first()
            if head is None:
                return
            result = notes_deliver(note_id=head.pk)
        elif result.booked_at is None and result.countdown > 0:
            return  # a back-off, not a booked slot
        else:
            time.sleep(result.countdown)
            result = notes_deliver(note_id=result.note_id, booked_at=result.booked_at)
    raise AssertionError("the tenant's Lever rows were still pending after 10 s")


def rows(order) -> list[tuple[str, str, str]]:
    """(kind, what it says, state) per outbox row: a note's status line, an extra's text."""
    result = []
    for note in order.notes.order_by("created_at", "id"):
        lines = note.text.splitlines()
        said = lines[1] if note.kind == "order" else lines[0]
        result.append((note.kind, said, note.state))
    return result


def test_everything_is_off_by_default(setup, lever):
    tenant, key, opp = setup
    order = make_order(tenant, opportunity_id=opp)

    apply(order, **COMPLETED, score="Green")
    deliver_all(tenant)

    assert [n.kind for n in order.notes.all()] == ["order"]
    assert {r["method"] for r in lever.requests_for(key)} == {"POST"}
    assert "notifyFollowers" not in lever.notes(key, opp)[0]


def test_status_tags_follow_the_status_and_the_previous_one_is_removed(setup, lever):
    tenant, key, opp = setup
    tenant = configure(tenant, status_tag_prefix="BGC")
    order = make_order(tenant, opportunity_id=opp, status="Initiated")
    lever.accounts[key]["opportunities"][opp]["tags"] = ["Finance"]

    apply(order, status="In Progress", updatedAt="2026-01-02T10:00:00Z")
    deliver_all(tenant)
    assert lever.opportunity(key, opp)["tags"] == ["Finance", "BGC: In Progress"]

    apply(order, **COMPLETED, score="Green")
    deliver_all(tenant)

    assert lever.opportunity(key, opp)["tags"] == ["Finance", "BGC: Completed"]
    assert rows(order)[-3:] == [
        ("order", "Status: Completed", "delivered"),
        ("tag_add", "Add tag: BGC: Completed", "delivered"),
        ("tag_remove", "Remove tag: BGC: In Progress", "delivered"),
    ]
    # Every row is an attempt in the case's timeline, like a note.
    tag_row = order.notes.filter(kind="tag_remove").last()
    assert tag_row.attempts_log.get().outcome == NoteAttempt.Outcome.DELIVERED


@pytest.mark.parametrize(("score", "moved"), [("Green", True), ("Red", False)])
def test_auto_advance_moves_a_completed_candidate_once_green_only_if_asked(
    setup, lever, score, moved
):
    tenant, key, opp = setup
    tenant = configure(tenant, advance_stage_id="offer", advance_only_green=True)
    order = make_order(tenant, opportunity_id=opp)

    apply(order, **COMPLETED, score=score)
    deliver_all(tenant)
    deliver_all(tenant)  # nothing is sent twice

    puts = [r for r in lever.requests_for(key) if r["method"] == "PUT"]
    assert len(puts) == (1 if moved else 0)
    assert lever.opportunity(key, opp)["stage"] == ("offer" if moved else "stage-bg")
    if moved:
        assert puts[0]["path"] == f"/v1/opportunities/{opp}/stage"
        assert order.notes.get(kind="stage").state == LeverNote.State.DELIVERED


def test_a_stage_move_whose_answer_was_lost_is_not_made_twice(setup, lever):
    tenant, key, opp = setup
    tenant = configure(tenant, advance_stage_id="offer")
    order = make_order(tenant, opportunity_id=opp)
    apply(order, **COMPLETED, score="Green")
    lever.inject_fault(method="PUT", drop_after_apply=True)

    deliver_all(tenant)
    row = order.notes.get(kind="stage")
    assert row.state == LeverNote.State.PENDING and row.check_before_send_since is not None
    LeverNote.objects.filter(pk=row.pk).update(next_attempt_at=None)  # the back-off has passed
    deliver_all(tenant)

    row.refresh_from_db()
    assert row.state == LeverNote.State.DELIVERED
    moves = [c for c in lever.opportunity(key, opp)["stageChanges"] if c["toStageId"] == "offer"]
    assert len(moves) == 1


def test_completed_and_error_notes_notify_followers_when_asked(setup, lever):
    tenant, key, opp = setup
    tenant = configure(tenant, notify_followers=True)
    order = make_order(tenant, opportunity_id=opp, status="Initiated")

    apply(order, status="In Progress", updatedAt="2026-01-02T10:00:00Z")
    apply(order, **COMPLETED, score="Green")
    deliver_all(tenant)

    LeverNote.objects.create(
        tenant=tenant,
        opportunity_id=opp,
        kind="error",
        text="Sterling Backcheck background check\nStatus: Error\nError: no email",
    )
    deliver_all(tenant)

    flags = [(n["value"].splitlines()[1], n.get("notifyFollowers")) for n in lever.notes(key, opp)]
    assert flags == [
        ("Status: In Progress", None),
        ("Status: Completed", True),
        ("Status: Error", True),
    ]


def test_extras_that_would_order_again_or_pick_a_package_are_refused_at_save(setup):
    tenant, _, _ = setup
    with pytest.raises(ValidationError) as trigger:
        configure(tenant, advance_stage_id="stage-bg")
    assert "trigger stage" in str(trigger.value)
    packages.package_add(tenant=tenant, actor="cli", code="bgc", name="BGC", lever_tag="BGC: done")
    with pytest.raises(ValidationError) as clash:
        configure(tenant, status_tag_prefix="bgc:")
    assert "BGC: done" in str(clash.value)
    tenant = configure(tenant, status_tag_prefix="Screening")
    with pytest.raises(ValidationError) as package:
        packages.package_add(
            tenant=tenant, actor="cli", code="scr", name="S", lever_tag="screening: new"
        )
    assert "status tag" in str(package.value)
    tenant.refresh_from_db()
    assert tenant.advance_stage_id == "" and tenant.status_tag_prefix == "Screening"


def test_the_admin_refuses_an_auto_advance_into_a_trigger_stage_with_a_form_error(
    setup, admin_client
):
    tenant, _, _ = setup
    package = tenant.packages.get(code="acme-std")
    response = admin_client.post(
        f"/admin/connectors/tenant/{tenant.pk}/change/",
        {
            "name": tenant.name,
            "is_active": "on",
            "lever_base_url": tenant.lever_base_url,
            "trigger_stage_ids": '["stage-bg"]',
            "advance_stage_id": "stage-bg",
            "packages-TOTAL_FORMS": "2",
            "packages-INITIAL_FORMS": "2",
            "packages-MIN_NUM_FORMS": "0",
            "packages-MAX_NUM_FORMS": "1000",
            "packages-0-id": str(package.pk),
            "packages-0-tenant": str(tenant.pk),
            "packages-1-id": str(tenant.packages.get(code="acme-exec").pk),
            "packages-1-tenant": str(tenant.pk),
        },
    )
    assert response.status_code == 200
    assert "would order another check" in response.content.decode()
    assert Tenant.objects.get(pk=tenant.pk).advance_stage_id == ""
