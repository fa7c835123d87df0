"""Rows tell the truth, and cancel outcomes are explicit.

- A case whose Lever notes are failed or blocked says so on its row and in its header; the Needs
  attention link carries a count.
- A cancel is asynchronous (202 `queued`); until Backcheck answers the header says "cancel
  pending". A refused cancel marks the header and the timeline in error colours, is listed in
  Needs attention, and the screening is fetched from Backcheck so the status is Backcheck's.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from orders.models import LeverNote
from orders.services.notes import note_enqueue
from orders.services.order_cancellation import order_request_cancel
from orders.tasks import cancel_order, deliver_notes
from tests.support.wired import attention_page, submitted_order, unset

pytestmark = pytest.mark.django_db


def _page(client, order) -> str:
    return client.get(reverse("order-detail", args=[order.pk])).content.decode()


def _nav_count(page: str) -> int:
    match = re.search(
        r'href="/attention/"[^>]*>Needs attention <span class="count-pill">(\d+)', page
    )
    assert match, "the Needs attention link has no count"
    return int(match.group(1))


def test_a_failed_and_a_blocked_note_mark_the_row_and_the_header(w, manager_client):
    order = submitted_order(w)
    note_enqueue(
        tenant=w.tenant,
        order=order,
        opportunity_id=order.opportunity_id,
        kind="order",
        text="Sterling Backcheck background check\nStatus: In Progress",
    )
    listing = manager_client.get(reverse("order-list")).content.decode()
    assert "Lever not updated" not in listing
    assert _nav_count(listing) == 0

    unset(w.tenant, lever_api_key=None)
    deliver_notes(LeverNote.objects.filter(order=order).order_by("id").first().pk)
    listing = manager_client.get(reverse("order-list")).content.decode()
    assert "Lever not updated — 1 failed note, 1 blocked" in listing
    assert "Lever not updated — 1 failed note, 1 blocked" in _page(manager_client, order)
    assert _nav_count(listing) == 1
    assert _nav_count(attention_page(manager_client)) == 1


def test_a_cancel_is_pending_until_backcheck_answers(w, manager_client):
    order = submitted_order(w)
    response = manager_client.post(f"/api/v1/orders/{order.pk}/cancel/")
    assert response.status_code == 202 and response.json() == {"status": "queued"}
    page = _page(manager_client, order)
    assert "Cancel pending" in page
    assert reverse("order-cancel", args=[order.pk]) not in page  # asked already

    cancel_order(order.pk)
    page = _page(manager_client, order)
    assert "Cancel pending" not in page and "Cancel refused" not in page
    order.refresh_from_db()
    assert order.status == "Canceled"


def test_a_refused_cancel_is_shown_in_error_colours_listed_and_the_status_fetched(
    w, manager_client
):
    order = submitted_order(w)
    order_request_cancel(order=order, actor="am-outbox")
    # Backcheck finishes the screening before the cancel arrives; its callback is not heard.
    w.backcheck.complete(order.screening_id, "Green")

    cancel_order(order.pk)
    request = order.cancel_requests.get()
    assert request.state == "refused"
    assert request.last_error == (
        "Backcheck refused the cancel: A completed screening cannot be canceled."
    )
    order.refresh_from_db()
    assert order.status == "Completed"  # fetched from Backcheck straight away

    page = _page(manager_client, order)
    assert 'class="flag flag-error">Cancel refused by Backcheck' in page
    assert re.search(r'<li class="tl tl-error">.*?Cancellation refused', page)
    listed = attention_page(manager_client)
    assert "Cancellations refused by Backcheck" in listed
    assert "A completed screening cannot be canceled." in listed
    assert _nav_count(listed) == 1

    response = manager_client.post(reverse("attention-dismiss"), {"cancel": request.pk})
    assert response.status_code == 302
    assert "A completed screening cannot be canceled." not in attention_page(manager_client)
    # Still on the case: dismissing reads the refusal, it does not rewrite it.
    assert "Cancel refused by Backcheck" in _page(manager_client, order)
