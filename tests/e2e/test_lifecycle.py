"""Erasure of a candidate deleted in Lever, through the real worker and both fakes over HTTP: the
beat task reads Lever's deleted list, the order is cancelled at Backcheck, the personal data is
erased, and the case's timeline says so."""

from __future__ import annotations

import pytest

from orders.models import InboundEvent, LeverNote
from orders.services.lifecycle import ERASED_REASON
from orders.tasks import erase_lever_deleted
from tests.support.harness import wait_until

pytestmark = [pytest.mark.e2e]


def test_a_candidate_deleted_in_lever_is_cancelled_and_erased_by_the_worker(wired, admin_client):
    w = wired()
    w.trigger("ada")
    order = w.wait_order("ada", lambda o: o.screening_id)
    w.wait_notes("ada", 1)
    assert order.candidate_email == "ada.lovelace@example.com"
    w.lever.delete_opportunity(w.api_key, order.opportunity_id)

    erase_lever_deleted.apply_async(retry=False)
    erased = w.wait_order("ada", lambda o: o.personal_data_erased_at and o.status == "Canceled")
    assert (erased.candidate_name, erased.candidate_email, erased.candidate_phone) == ("", "", "")
    assert erased.screening_id == order.screening_id and not erased.is_active
    assert w.backcheck.requests_to(f"/screenings/{order.screening_id}/cancel", "POST")
    page = admin_client.get(f"/orders/{order.pk}/").content.decode()
    assert ERASED_REASON in page and "ada.lovelace@example.com" not in page

    # The callback and the note of the cancellation Backcheck confirmed after the erasure are
    # erased and skipped by the next run (the note may have met Lever's 404 meanwhile).
    erase_lever_deleted.apply_async(retry=False)
    events = InboundEvent.objects.filter(tenant=w.tenant)
    wait_until(
        lambda: events.count() >= 2 and not events.exclude(raw_body="").exists(),
        message="every raw body erased",
    )
    wait_until(
        lambda: (
            not LeverNote.objects.filter(order=order)
            .exclude(state__in=["delivered", "skipped"])
            .exists()
        ),
        message="no note left to send",
    )
