"""Needs attention (bulk replay), manual launch against the fake Lever, and tenant health."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.lever.fake import FakeLever
from orders.case_rules import PAGE_SIZE
from orders.models import InboundEvent, LeverNote, NoteAttempt, Order, OrderAction
from tests.support.history import (
    days_ago,
    failed_event,
    failed_note,
    make_order,
)

pytestmark = pytest.mark.django_db


# --- needs attention -----------------------------------------------------------------------------


def test_attention_lists_failed_and_blocked_notes_failed_events_and_quiet_orders(alice, tenants):
    acme, globex = tenants
    order = make_order(acme, name="Ada Lovelace")
    note = failed_note(order)
    blocked = LeverNote.objects.create(
        tenant=acme,
        order=order,
        opportunity_id=order.opportunity_id,
        kind="order",
        text="later",
        state="blocked",
    )
    event = failed_event(acme)
    quiet = make_order(acme, name="Quiet Quinn", status="In Progress", last_heard_at=days_ago(4))
    make_order(acme, name="Fresh Fay", status="In Progress", last_heard_at=days_ago(1))
    failed_note(make_order(globex, name="Grace Hopper"))
    failed_event(globex)
    response = alice.get(reverse("attention"))
    assert response.status_code == 200
    a = response.context["a"]
    assert [n.pk for n in a.failed_notes] == [note.pk]
    assert [n.pk for n in a.blocked_notes] == [blocked.pk]
    assert [e.pk for e in a.failed_events] == [event.pk]
    assert [o.pk for o in a.quiet_orders] == [quiet.pk]
    page = response.content.decode()
    assert "Grace Hopper" not in page and "Fresh Fay" not in page
    assert f'name="note" value="{note.pk}"' in page
    assert f'name="event" value="{event.pk}"' in page


def test_a_section_lists_one_page_of_rows_and_counts_them_all(alice, tenants):
    acme, _ = tenants
    events = [failed_event(acme) for _ in range(PAGE_SIZE + 1)]
    quiet = [
        make_order(acme, status="In Progress", last_heard_at=days_ago(4))
        for _ in range(PAGE_SIZE + 1)
    ]
    response = alice.get(reverse("attention"))
    a = response.context["a"]
    assert len(a.failed_events) == PAGE_SIZE and a.failed_events_total == PAGE_SIZE + 1
    assert events[0].pk not in {e.pk for e in a.failed_events}  # newest first
    assert len(a.quiet_orders) == PAGE_SIZE and a.quiet_orders_total == PAGE_SIZE + 1
    assert quiet[-1].pk not in {o.pk for o in a.quiet_orders}  # the longest quiet first
    page = response.content.decode()
    assert f"Showing the newest {PAGE_SIZE}." in page and f"Showing the oldest {PAGE_SIZE}." in page


def test_quiet_days_can_be_changed(alice, tenants):
    acme, _ = tenants
    make_order(acme, status="In Progress", last_heard_at=days_ago(4))
    assert len(alice.get(reverse("attention"), {"days": 7}).context["a"].quiet_orders) == 0
    assert len(alice.get(reverse("attention"), {"days": 2}).context["a"].quiet_orders) == 1


def test_bulk_replay_confirms_then_replays_notes_and_events(alice, tenants, account_manager):
    acme, _ = tenants
    order = make_order(acme)
    n1, n2 = failed_note(order), failed_note(make_order(acme))
    event = failed_event(acme)
    data = {"note": [n1.pk, n2.pk], "event": [event.pk]}
    confirm = alice.post(reverse("attention-replay"), data)
    assert confirm.status_code == 200
    assert "Replay 3 items?" in confirm.content.decode()
    assert LeverNote.objects.get(pk=n1.pk).state == "failed"  # nothing yet
    done = alice.post(reverse("attention-replay"), {**data, "confirm": "on"})
    assert done.status_code == 302
    assert set(LeverNote.objects.filter(pk__in=[n1.pk, n2.pk]).values_list("state", flat=True)) == {
        "pending"
    }
    event.refresh_from_db()
    assert event.state == InboundEvent.State.RECEIVED
    assert OrderAction.objects.filter(
        order=order, action="replay_note", actor=account_manager.username
    ).exists()


def test_bulk_replay_with_nothing_selected_says_so(alice, tenants):
    response = alice.post(reverse("attention-replay"), {}, follow=True)
    assert "Select at least one failed item to replay" in response.content.decode()


def test_bulk_replay_of_another_tenants_note_is_404_and_replays_nothing(alice, tenants):
    acme, globex = tenants
    mine = failed_note(make_order(acme))
    theirs = failed_note(make_order(globex))
    theirs_event = failed_event(globex)
    for data in ({"note": [mine.pk, theirs.pk], "confirm": "on"}, {"event": [theirs_event.pk]}):
        assert alice.post(reverse("attention-replay"), data).status_code == 404
    assert LeverNote.objects.get(pk=mine.pk).state == "failed"
    assert LeverNote.objects.get(pk=theirs.pk).state == "failed"


def test_attention_replay_is_post_only(alice):
    assert alice.get(reverse("attention-replay")).status_code == 405


# --- manual launch -------------------------------------------------------------------------------


@pytest.fixture
def fake_lever():
    with FakeLever() as fake:
        yield fake


def _point_at(tenant, fake: FakeLever) -> None:
    tenant.lever_base_url = fake.base_url
    tenant.save(update_fields=["lever_base_url"])
    fake.add_account(f"lever-key-{tenant.slug}-0123456789")


def test_launch_form_offers_only_visible_tenants_and_their_packages(alice, tenants):
    response = alice.get(reverse("order-launch"))
    assert response.status_code == 200
    form = response.context["form"]
    assert [t.slug for t in form.fields["tenant"].queryset] == ["acme"]
    assert {p.code for p in form.fields["package"].queryset} == {"acme-std", "acme-exec"}
    page = response.content.decode()
    assert 'data-tenant="' in page and "portal/launch.js" in page


def test_launch_opens_an_order_for_a_lever_candidate_url(
    alice, tenants, fake_lever, account_manager
):
    acme, _ = tenants
    _point_at(acme, fake_lever)
    opp = fake_lever.add_opportunity(
        "lever-key-acme-0123456789", name="Ada Lovelace", emails=["ada@example.com"]
    )
    package = acme.packages.get(code="acme-exec")
    response = alice.post(
        reverse("order-launch"),
        {
            "tenant": acme.pk,
            "reference": f"https://hire.lever.co/candidates/{opp}",
            "package": package.pk,
        },
    )
    order = Order.objects.get(opportunity_id=opp)
    assert response.status_code == 302
    assert response["Location"] == reverse("order-detail", args=[order.pk])
    assert order.tenant == acme and order.package_code == "acme-exec"
    assert order.candidate_email == "ada@example.com"
    assert order.launched_by == account_manager.username


def test_launch_shows_the_services_error_on_the_form(alice, tenants, fake_lever):
    acme, _ = tenants
    _point_at(acme, fake_lever)
    opp = fake_lever.add_opportunity("lever-key-acme-0123456789", name="No Mail", emails=[])
    response = alice.post(
        reverse("order-launch"),
        {"tenant": acme.pk, "reference": opp, "package": acme.packages.first().pk},
    )
    assert response.status_code == 200
    assert (
        "The candidate has no email address in Lever. Add one first." in response.content.decode()
    )
    assert not Order.objects.exists()


def test_launch_refuses_a_package_of_another_tenant(alice, tenants, super_admin, client):
    acme, globex = tenants
    client.force_login(super_admin)
    response = client.post(
        reverse("order-launch"),
        {"tenant": acme.pk, "reference": "opp-123456", "package": globex.packages.first().pk},
    )
    assert response.status_code == 200
    assert "not one of Acme Corp" in response.content.decode()
    assert not Order.objects.exists()


def test_launch_for_a_tenant_not_assigned_is_refused(alice, tenants):
    _, globex = tenants
    response = alice.post(
        reverse("order-launch"),
        {"tenant": globex.pk, "reference": "opp-123456", "package": globex.packages.first().pk},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["tenant"]
    assert not Order.objects.exists()


# --- tenant health -------------------------------------------------------------------------------


def test_tenant_health_reports_last_webhook_callback_note_and_error(alice, tenants):
    acme, _ = tenants
    acme.signature_token_confirmed_at = timezone.now()
    acme.last_check_at = timezone.now()
    acme.last_check_result = {"status": "ok"}
    acme.save()
    order = make_order(acme)
    webhook = InboundEvent.objects.create(
        source="lever",
        tenant=acme,
        event_type="candidateStageChange",
        lever_token="t1",
        raw_body="{}",
        state="processed",
    )
    cb = InboundEvent.objects.create(
        source="backcheck",
        tenant=acme,
        order=order,
        event_type="screening",
        raw_body="{}",
        state="processed",
    )
    delivered = LeverNote.objects.create(
        tenant=acme,
        order=order,
        opportunity_id=order.opportunity_id,
        kind="order",
        text="x",
        state="delivered",
        delivered_at=timezone.now(),
    )
    failed = failed_note(order, error="Lever answered 403: forbidden")
    health = alice.get("/").context["health"][0]
    assert health.last_webhook_at == InboundEvent.objects.get(pk=webhook.pk).received_at
    assert health.last_callback_at == InboundEvent.objects.get(pk=cb.pk).received_at
    assert health.last_note_delivered_at == LeverNote.objects.get(pk=delivered.pk).delivered_at
    assert health.last_error == "Lever answered 403: forbidden"
    assert health.last_error_at == NoteAttempt.objects.get(note=failed).started_at
    assert health.failed_notes == 1
    assert health.check_status == "ok"


def test_tenant_overview_page_includes_the_health_partial(alice, tenants):
    acme, _ = tenants
    page = alice.get(reverse("tenant-detail", args=[acme.slug])).content.decode()
    assert 'id="tenant-health"' in page
    assert "not confirmed" in page and "never tested" in page
