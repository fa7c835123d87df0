"""Data lifecycle (orders/services/lifecycle.py): raw bodies past retention are blanked, and a
candidate deleted in Lever is cancelled at Backcheck and erased here, history kept."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.lever.client import LeverClient, RateLimited
from connectors.lever.fake.state import forbidden_rule
from connectors.models import Tenant
from orders.models import CancelRequest, InboundEvent, LeverNote, Order, StatusEvent
from orders.services import lifecycle
from orders.services.lifecycle import (
    ERASED_REASON,
    lever_deleted_erase,
    opportunity_erase,
    payloads_purge,
)
from orders.tasks import cancel_order, erase_lever_deleted, process_inbound, purge_payloads
from tests.support.wired import stage_change, submitted_order

pytestmark = pytest.mark.django_db


# --- retention -----------------------------------------------------------------------------------
def _event(tenant, *, days_old: float, state: str, source: str = "lever", body: str = "{}"):
    event = InboundEvent.objects.create(
        source=source,
        tenant=tenant,
        event_type="candidateStageChange" if source == "lever" else "screening",
        raw_body=body,
        payload_hash="h" * 64,
        lever_token=f"tok-{InboundEvent.objects.count()}" if source == "lever" else None,
        state=state,
    )
    InboundEvent.objects.filter(pk=event.pk).update(
        received_at=timezone.now() - timedelta(days=days_old)
    )
    return event


def test_bodies_past_retention_are_blanked_unless_the_event_may_still_be_replayed(tenant, settings):
    settings.PAYLOAD_RETENTION_DAYS = 30
    body = json.dumps({"data": {"candidate": "Ada Lovelace", "email": "ada@example.com"}})
    old = {
        "processed": _event(tenant, days_old=31, state="processed", body=body),
        "ignored": _event(tenant, days_old=31, state="ignored", body=body),
        "callback": _event(tenant, days_old=31, state="processed", source="backcheck", body=body),
        "failed callback": _event(
            tenant, days_old=31, state="failed", source="backcheck", body=body
        ),
    }
    kept = {
        "failed lever event (replayable)": _event(tenant, days_old=31, state="failed", body=body),
        "waiting": _event(tenant, days_old=31, state="received", body=body),
        "processing": _event(tenant, days_old=31, state="processing", body=body),
        "recent": _event(tenant, days_old=29, state="processed", body=body),
    }
    assert payloads_purge() == len(old)
    for name, event in old.items():
        event.refresh_from_db()
        assert (event.raw_body, event.body_erased_at is not None) == ("", True), name
        # The row, its state and its hash stay.
        assert event.payload_hash == "h" * 64 and event.state != "received"
    for name, event in kept.items():
        event.refresh_from_db()
        assert event.raw_body == body and event.body_erased_at is None, name
    assert payloads_purge() == 0


def test_retention_works_in_batches_until_none_is_left(tenant, settings):
    settings.PAYLOAD_RETENTION_DAYS = 14
    events = [_event(tenant, days_old=15 + i, state="processed") for i in range(5)]
    assert payloads_purge(batch=2) == 5
    assert not InboundEvent.objects.filter(pk__in=[e.pk for e in events], body_erased_at=None)


def test_the_retention_task_keeps_the_status_history(w, settings):
    order = submitted_order(w)
    history = list(order.history.values_list("pk", "to_status"))
    InboundEvent.objects.update(received_at=timezone.now() - timedelta(days=40))
    assert purge_payloads() >= 1
    assert list(order.history.values_list("pk", "to_status")) == history
    assert InboundEvent.objects.get(order=order).raw_body == ""


# --- erasure of candidates deleted in Lever ------------------------------------------------------
def test_a_candidate_deleted_in_lever_is_cancelled_at_backcheck_then_erased(w):
    order = submitted_order(w)
    assert order.candidate_name and order.candidate_email
    opportunity = order.opportunity_id
    w.lever.delete_opportunity(w.api_key, opportunity)
    assert lever_deleted_erase(tenant_id=w.tenant.pk) is None

    order.refresh_from_db()
    assert (order.candidate_name, order.candidate_email, order.candidate_phone) == ("", "", "")
    assert order.personal_data_erased_at is not None
    # The references stay, and the history says what happened.
    assert order.screening_id and order.order_number and order.opportunity_id == opportunity
    assert order.history.filter(reason=ERASED_REASON, source="system").count() == 1
    events = InboundEvent.objects.filter(opportunity_id=opportunity)
    assert events and all(e.raw_body == "" and e.body_erased_at for e in events)
    assert all(e.lever_token for e in events)
    # The New note for a candidate Lever no longer has is not sent.
    assert set(LeverNote.objects.filter(order=order).values_list("state", flat=True)) == {"skipped"}
    # The active order is cancelled through the ordinary cancel path.
    request = CancelRequest.objects.get(order=order)
    assert request.requested_by == lifecycle.ERASURE_ACTOR
    cancel_order(order.pk)
    order.refresh_from_db()
    assert order.status == "Canceled" and not order.is_active
    assert w.backcheck.requests_to(f"/screenings/{order.screening_id}/cancel", "POST")
    # The note of the confirmed cancel, and a callback that came after, are erased by the next
    # run, which erases the order nothing more.
    late = _event(w.tenant, days_old=0, state="processed", source="backcheck", body='{"a": 1}')
    InboundEvent.objects.filter(pk=late.pk).update(order=order)
    lever_deleted_erase(tenant_id=w.tenant.pk)
    late.refresh_from_db()
    assert late.raw_body == "" and late.body_erased_at is not None
    assert not LeverNote.objects.filter(order=order).exclude(state="skipped").exists()
    assert order.history.filter(reason=ERASED_REASON).count() == 1


def test_each_run_reads_from_the_watermark_and_moves_it(w):
    order = submitted_order(w)
    lever_deleted_erase(tenant_id=w.tenant.pk)
    first_mark = Tenant.objects.get(pk=w.tenant.pk).lever_deleted_checked_at
    assert first_mark is not None
    assert Order.objects.get(pk=order.pk).personal_data_erased_at is None  # nothing deleted yet
    w.lever.clear_requests()
    w.lever.delete_opportunity(w.api_key, order.opportunity_id)
    lever_deleted_erase(tenant_id=w.tenant.pk)
    (read,) = [e for e in w.lever.requests_for(w.api_key) if "deleted" in e["path"]]
    since = int(read["path"].split("deleted_at_start=")[1].split("&")[0])
    assert since == int((first_mark - lifecycle.DELETED_OVERLAP).timestamp() * 1000)
    assert Tenant.objects.get(pk=w.tenant.pk).lever_deleted_checked_at > first_mark
    assert Order.objects.get(pk=order.pk).personal_data_erased_at is not None


def test_an_order_not_yet_accepted_by_backcheck_is_never_sent_without_its_candidate(w):
    event = stage_change(w, "ada")
    process_inbound(event.pk)
    order = Order.objects.get(tenant=w.tenant, opportunity_id=w.candidate("ada"))
    assert order.submit_state == "pending"
    w.lever.delete_opportunity(w.api_key, order.opportunity_id)
    lever_deleted_erase(tenant_id=w.tenant.pk)
    order.refresh_from_db()
    assert order.submit_state == "failed" and not order.is_active
    assert order.candidate_name == "" and "deleted in Lever" in order.submit_error
    assert w.backcheck.requests_to("/screenings", "POST") == []
    assert not CancelRequest.objects.filter(order=order).exists()


def test_a_deletion_of_an_opportunity_the_portal_does_not_know_changes_nothing(w):
    order = submitted_order(w)
    other = w.lever.add_opportunity(w.api_key, name="Someone Else", emails=["e@example.com"])
    w.lever.delete_opportunity(w.api_key, other)
    assert opportunity_erase(tenant=w.tenant, opportunity_id=other) == 0
    lever_deleted_erase(tenant_id=w.tenant.pk)
    order.refresh_from_db()
    assert order.candidate_name and order.personal_data_erased_at is None


def test_a_key_without_the_permission_is_a_health_warning_and_the_watermark_stays(w):
    w.lever.accounts[w.api_key]["forbidden"] = [forbidden_rule("GET /opportunities/deleted")]
    assert lever_deleted_erase(tenant_id=w.tenant.pk) is None
    tenant = Tenant.objects.get(pk=w.tenant.pk)
    assert "deleted_opportunities" in tenant.lever_permission_warnings
    assert tenant.lever_deleted_checked_at is None
    # Allowed again: the warning goes.
    w.lever.accounts[w.api_key]["forbidden"] = []
    lever_deleted_erase(tenant_id=w.tenant.pk)
    tenant.refresh_from_db()
    assert "deleted_opportunities" not in tenant.lever_permission_warnings
    assert tenant.lever_deleted_checked_at is not None


def test_a_run_stopped_by_the_rate_limiter_resumes_at_its_page(w, monkeypatch):
    w.lever.max_page_size = 1
    orders = [submitted_order(w, name) for name in ("ada", "mary")]
    for order in orders:
        w.lever.delete_opportunity(w.api_key, order.opportunity_id)
    real = LeverClient.deleted_opportunities_page
    calls: list[str | None] = []

    def limited_second_call(self, **kwargs):
        calls.append(kwargs.get("offset"))
        if len(calls) == 2:
            raise RateLimited(1.5)
        return real(self, **kwargs)

    monkeypatch.setattr(LeverClient, "deleted_opportunities_page", limited_second_call)
    progress = lever_deleted_erase(tenant_id=w.tenant.pk)
    assert progress is not None and progress.countdown == 1.5 and progress.offset
    erased = Order.objects.filter(
        pk__in=[o.pk for o in orders], personal_data_erased_at__isnull=False
    )
    assert erased.count() == 1
    assert Tenant.objects.get(pk=w.tenant.pk).lever_deleted_checked_at is None
    assert (
        lever_deleted_erase(
            tenant_id=w.tenant.pk, offset=progress.offset, started_at=progress.started_at
        )
        is None
    )
    assert calls[-1] == progress.offset
    assert erased.count() == 2
    mark = Tenant.objects.get(pk=w.tenant.pk).lever_deleted_checked_at
    assert mark.timestamp() == pytest.approx(progress.started_at)


def test_the_beat_task_queues_one_job_per_active_tenant(
    w, tenant, django_capture_on_commit_callbacks
):
    Tenant.objects.filter(pk=tenant.pk).update(is_active=False)
    with django_capture_on_commit_callbacks() as callbacks:
        assert erase_lever_deleted() == 1
    assert len(callbacks) == 1


def test_a_history_row_is_written_with_the_erasure_not_instead_of_it(w):
    order = submitted_order(w)
    before = StatusEvent.objects.filter(order=order).count()
    w.lever.delete_opportunity(w.api_key, order.opportunity_id)
    lever_deleted_erase(tenant_id=w.tenant.pk)
    # Erased + the cancel requested (an action) — nothing removed.
    assert StatusEvent.objects.filter(order=order).count() == before + 2
