"""The case page: timeline, services, notes as posted, and its confirmed, audited actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.models import InboundEvent, LeverNote, NoteAttempt, OrderAction, StatusEvent
from tests.support.history import (
    callback,
    failed_note,
    make_order,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(tenants):
    acme, _ = tenants
    order = make_order(
        acme,
        name="Ada Lovelace",
        status="Initiated",
        lever_url="https://hire.lever.co/candidates/opp-ada",
    )
    callback(order, status="In Progress", updatedAt="2026-01-02T10:00:00Z")
    callback(order, status="In Progress", updatedAt="2026-01-02T10:00:00Z")  # duplicate
    callback(order, status="Initiated", updatedAt="2026-01-01T09:00:00Z")  # stale
    callback(
        order,
        status="Completed",
        score="Green",
        reportUrl="https://reports.example.test/r/ada",
        completedAt="2026-01-03T10:00:00Z",
        updatedAt="2026-01-03T10:00:00Z",
        services=[
            {
                "id": "svc-crim",
                "name": "Criminal Record Check",
                "status": "Complete",
                "score": "Green",
                "completedAt": "2026-01-03T09:00:00Z",
                "reportUrl": "https://reports.example.test/r/ada/crim",
            }
        ],
    )
    callback(order, status="In Progress", updatedAt="2026-01-04T10:00:00Z")  # rejected
    order.refresh_from_db()
    return order


def test_case_page_shows_the_whole_history_with_outcomes_and_reasons(alice, case):
    response = alice.get(reverse("order-detail", args=[case.pk]), {"timeline": "all"})
    assert response.status_code == 200
    page = response.content.decode()
    outcomes = [e.outcome for e in response.context["case"].timeline if e.kind == "callback"]
    assert sorted(outcomes) == ["applied", "applied", "duplicate", "rejected", "stale"]
    rejected = StatusEvent.objects.get(order=case, outcome="rejected")
    assert rejected.reason and rejected.reason in page
    assert "Backcheck callback: In Progress → Completed" in page
    assert "Payload of event #" in page


def test_case_page_shows_services_links_and_notes_exactly_as_posted(alice, case):
    page = alice.get(reverse("order-detail", args=[case.pk])).content.decode()
    assert "Criminal Record Check" in page
    assert 'href="https://reports.example.test/r/ada/crim"' in page
    assert 'href="https://reports.example.test/r/ada"' in page
    assert 'href="https://hire.lever.co/candidates/opp-ada"' in page
    completed = LeverNote.objects.filter(order=case).order_by("-id").first()
    assert "Status: Completed" in completed.text
    assert f'<pre class="note-text">{completed.text}</pre>' in page


def test_case_page_shows_each_note_attempt_with_status_duration_and_error(alice, tenants):
    acme, _ = tenants
    order = make_order(acme)
    failed_note(order, error="Lever answered 401: invalid API key")
    response = alice.get(reverse("order-detail", args=[order.pk]))
    attempts = [e for e in response.context["case"].timeline if e.kind == "attempt"]
    assert len(attempts) == 1
    assert attempts[0].outcome == "permanent"
    assert "HTTP status: 401" in attempts[0].detail and "Duration: 42 ms" in attempts[0].detail
    assert "Lever answered 401: invalid API key" in response.content.decode()


def test_the_lever_trigger_webhook_is_on_the_timeline(alice, tenants):
    acme, _ = tenants
    order = make_order(acme)
    event = InboundEvent.objects.create(
        source="lever",
        tenant=acme,
        event_type="candidateStageChange",
        lever_token="tok-trigger",
        opportunity_id=order.opportunity_id,
        raw_body="{}",
        state="processed",
        outcome="order_opened",
        reason=f"Order {order.pk} opened.",
        order=order,
    )
    order.trigger_event = event
    order.save(update_fields=["trigger_event"])
    response = alice.get(reverse("order-detail", args=[order.pk]))
    webhooks = [e for e in response.context["case"].timeline if e.kind == "webhook"]
    assert [w.event_id for w in webhooks] == [event.pk]
    payload = alice.get(reverse("order-event", args=[order.pk, event.pk]))
    assert payload.status_code == 200 and "order_opened" in payload.content.decode().replace(
        " ", "_"
    )


def test_resync_asks_for_confirmation_first_and_changes_nothing_on_get(alice, case):
    before = LeverNote.objects.filter(order=case).count()
    response = alice.get(reverse("order-resync", args=[case.pk]))
    assert response.status_code == 200
    assert "Resync to Lever" in response.content.decode()
    assert LeverNote.objects.filter(order=case).count() == before
    assert not OrderAction.objects.filter(order=case).exists()


def test_resync_confirmed_queues_a_resync_note_audits_it_and_shows_it(alice, case, account_manager):
    response = alice.post(reverse("order-resync", args=[case.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("order-detail", args=[case.pk])
    note = LeverNote.objects.filter(order=case, is_resync=True).get()
    assert note.state == "pending" and "Status: Completed" in note.text
    action = OrderAction.objects.get(order=case)
    assert (action.actor, action.action) == (account_manager.username, "resync")
    page = alice.get(reverse("order-detail", args=[case.pk])).content.decode()
    assert f"Lever note #{note.pk} (order status, resync)" in page  # key events
    assert "Action: resync" in page
    everything = alice.get(reverse("order-detail", args=[case.pk]), {"timeline": "all"})
    assert f"Lever note #{note.pk} queued (order status, resync)" in everything.content.decode()


def test_cancel_confirmed_asks_backcheck_and_is_audited(alice, tenants):
    acme, _ = tenants
    order = make_order(acme, status="In Progress")
    page = alice.get(reverse("order-detail", args=[order.pk])).content.decode()
    assert reverse("order-cancel", args=[order.pk]) in page
    assert alice.get(reverse("order-cancel", args=[order.pk])).status_code == 200
    response = alice.post(reverse("order-cancel", args=[order.pk]))
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.cancel_requested_at is not None
    assert order.status == "In Progress"  # changes only when Backcheck confirms
    assert OrderAction.objects.filter(order=order, action="cancel").exists()
    assert StatusEvent.objects.filter(order=order, reason="Cancellation requested.").exists()


def test_cancel_of_a_completed_order_is_refused_with_a_message(alice, case):
    page = alice.get(reverse("order-detail", args=[case.pk])).content.decode()
    assert reverse("order-cancel", args=[case.pk]) not in page
    response = alice.post(reverse("order-cancel", args=[case.pk]), follow=True)
    assert "cannot be cancelled" in response.content.decode()
    assert not OrderAction.objects.filter(order=case, action="cancel").exists()


def test_replay_of_a_failed_note_releases_it_and_is_audited(alice, tenants):
    acme, _ = tenants
    order = make_order(acme)
    note = failed_note(order)
    blocked = LeverNote.objects.create(
        tenant=acme,
        order=order,
        opportunity_id=order.opportunity_id,
        kind="order",
        text="later",
        state="blocked",
    )
    assert alice.get(reverse("note-replay", args=[order.pk, note.pk])).status_code == 200
    response = alice.post(reverse("note-replay", args=[order.pk, note.pk]))
    assert response.status_code == 302
    note.refresh_from_db()
    blocked.refresh_from_db()
    assert note.state == "pending" and blocked.state == "pending"
    assert OrderAction.objects.filter(order=order, action="replay_note").exists()


def test_skip_of_a_failed_note_marks_it_skipped(alice, tenants):
    acme, _ = tenants
    order = make_order(acme)
    note = failed_note(order)
    alice.post(reverse("note-skip", args=[order.pk, note.pk]))
    note.refresh_from_db()
    assert note.state == "skipped"
    assert OrderAction.objects.filter(order=order, action="skip_note").exists()


def test_replaying_a_delivered_note_is_refused_with_a_message(alice, case):
    note = LeverNote.objects.filter(order=case).first()
    response = alice.post(reverse("note-replay", args=[case.pk, note.pk]), follow=True)
    assert "Only a failed note can be replayed." in response.content.decode()


def test_a_note_of_another_order_is_404_even_in_the_same_tenant(alice, tenants):
    acme, _ = tenants
    one, two = make_order(acme), make_order(acme)
    note = failed_note(two)
    assert alice.post(reverse("note-replay", args=[one.pk, note.pk])).status_code == 404
    note.refresh_from_db()
    assert note.state == "failed"


def test_another_tenants_case_is_404_on_every_view_and_action(client, other_account_manager, case):
    note = failed_note(case)
    event = InboundEvent.objects.filter(order=case).first()
    client.force_login(other_account_manager)
    urls = [
        reverse("order-detail", args=[case.pk]),
        reverse("order-event", args=[case.pk, event.pk]),
        reverse("order-resync", args=[case.pk]),
        reverse("order-cancel", args=[case.pk]),
        reverse("note-replay", args=[case.pk, note.pk]),
        reverse("note-skip", args=[case.pk, note.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    for url in urls[2:]:  # the actions
        assert client.post(url).status_code == 404, url
    note.refresh_from_db()
    assert note.state == "failed"
    assert not OrderAction.objects.filter(order=case).exists()


def test_pages_need_a_login(client, case):
    for url in (
        reverse("order-detail", args=[case.pk]),
        reverse("order-resync", args=[case.pk]),
        reverse("attention"),
        reverse("order-launch"),
        reverse("order-export"),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_super_admin_may_use_every_case_action(client, super_admin, case):
    client.force_login(super_admin)
    assert client.get(reverse("order-detail", args=[case.pk])).status_code == 200
    assert client.post(reverse("order-resync", args=[case.pk])).status_code == 302
    assert OrderAction.objects.filter(order=case, actor=super_admin.username).exists()


def test_key_events_show_one_row_per_note_and_leave_the_plumbing_to_all(alice, case):
    note = LeverNote.objects.filter(order=case).order_by("id").first()
    LeverNote.objects.filter(pk=note.pk).update(
        state="delivered", delivered_at=note.created_at, attempts=2
    )
    NoteAttempt.objects.create(
        note=note, started_at=note.created_at, outcome="delivered", http_status=201
    )
    key = alice.get(reverse("order-detail", args=[case.pk])).content.decode()
    assert f"Lever note #{note.pk} (order status)" in key
    assert "Delivered to Lever" in key and "after 2 attempts" in key
    assert "delivery attempt" not in key and "queued (" not in key
    assert "Backcheck callback: In Progress → Completed" in key
    assert "duplicate" not in key and "stale" not in key
    assert 'aria-current="true">Key events' in key
    everything = alice.get(reverse("order-detail", args=[case.pk]), {"timeline": "all"})
    page = everything.content.decode()
    assert f"Lever note #{note.pk} queued (order status)" in page
    assert f"Lever note #{note.pk} delivery attempt" in page
    assert "duplicate" in page and 'aria-current="true">All' in page
