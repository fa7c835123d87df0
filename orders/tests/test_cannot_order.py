"""Cases that cannot be ordered (no email, no matching package) are cases: an Order in Error with
the reason and fix in the same words as the Lever note, in every list, count, export and API, and
in Needs attention with "Try again", which re-reads the candidate from Lever.

Archived opportunities and stages outside the trigger list stay as they were: no order, no note,
the reason on the event.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from connectors.demo_data import DEMO_SEED
from orders.models import InboundEvent, LeverNote, Order
from orders.tasks import deliver_notes, process_inbound, submit_order
from tests.support.wired import attention_page, stage_change

pytestmark = pytest.mark.django_db

NO_EMAIL = (
    "The candidate has no email address in Lever. Add one, then move the candidate to "
    '"Background Check" again.'
)
NO_PACKAGE = (
    "No screening package matches this candidate's tags or job posting, and no default package "
    'is set. Add one of these tags: standard-ca, then move the candidate to "Background Check" '
    "again."
)


def _opportunity(w, name: str) -> dict:
    return w.lever.accounts[w.api_key]["opportunities"][w.candidate(name)]


def _no_email_case(w) -> Order:
    event = stage_change(w, "prince")
    process_inbound(event.pk)
    event.refresh_from_db()
    assert event.state == "processed" and event.outcome == "no_email"
    return Order.objects.get(pk=event.order_id)


def test_a_candidate_without_email_is_an_error_case_and_lever_gets_the_same_note(w):
    case = _no_email_case(w)
    assert case.status == "Error" and case.cannot_order == "no_email"
    assert case.error_message == NO_EMAIL
    assert not case.is_active and case.submit_state == "not_sent" and not case.screening_id
    assert case.candidate_name == "Prince" and case.opportunity_id == w.candidate("prince")
    assert case.history.get().to_status == "Error"
    note = LeverNote.objects.get(order=case)
    deliver_notes(note.pk)
    assert [n["value"] for n in w.lever.notes(w.api_key, w.candidate("prince"))] == [
        f"Sterling Backcheck background check\nStatus: Error\nError: {NO_EMAIL}"
    ]
    assert w.backcheck.requests_to("/screenings", "POST") == []


def test_no_matching_package_is_an_error_case_with_the_notes_words(w):
    w.tenant.packages.update(is_default=False)
    event = stage_change(w, "mary")
    process_inbound(event.pk)
    event.refresh_from_db()
    case = Order.objects.get(pk=event.order_id)
    assert event.outcome == "no_package"
    assert case.status == "Error" and case.cannot_order == "no_package"
    assert case.error_message == NO_PACKAGE
    assert LeverNote.objects.get(order=case).text.endswith(f"Error: {NO_PACKAGE}")


def test_the_case_is_in_the_list_search_chips_tenant_filter_csv_api_and_attention(
    w, manager_client
):
    case = _no_email_case(w)
    listing = manager_client.get(reverse("order-list")).content.decode()
    assert reverse("order-detail", args=[case.pk]) in listing
    found = manager_client.get(reverse("order-list"), {"q": "Prince"}).content.decode()
    assert reverse("order-detail", args=[case.pk]) in found
    chips = manager_client.get(reverse("order-list")).context["counts"]
    assert {c["status"]: c["count"] for c in chips}["Error"] == 1
    by_tenant = manager_client.get(reverse("order-list"), {"tenant": w.tenant.slug})
    assert reverse("order-detail", args=[case.pk]) in by_tenant.content.decode()
    errors = manager_client.get(reverse("order-list"), {"status": "Error"}).content.decode()
    assert reverse("order-detail", args=[case.pk]) in errors

    export = manager_client.get(reverse("order-export"))
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert any("Prince" in row and "Error" in row for row in rows[1:])

    api = manager_client.get("/api/v1/orders/").json()["results"]
    assert [(o["id"], o["status"], o["cannot_order"]) for o in api] == [
        (case.pk, "Error", "no_email")
    ]
    assert api[0]["error_message"] == NO_EMAIL
    detail = manager_client.get(f"/api/v1/orders/{case.pk}/").json()
    assert detail["error_message"] == NO_EMAIL

    page = attention_page(manager_client)
    assert "Cases that cannot be ordered" in page and NO_EMAIL.replace('"', "&quot;") in page
    assert reverse("order-try-again", args=[case.pk]) in page
    detail_page = manager_client.get(reverse("order-detail", args=[case.pk])).content.decode()
    assert reverse("order-try-again", args=[case.pk]) in detail_page


def test_try_again_while_still_unfixed_changes_nothing_and_posts_nothing(w, manager_client):
    case = _no_email_case(w)
    response = manager_client.post(reverse("order-try-again", args=[case.pk]), follow=True)
    assert "still has no email address" in response.content.decode()
    case.refresh_from_db()
    assert case.status == "Error" and case.cannot_order == "no_email"
    assert LeverNote.objects.filter(order=case).count() == 1
    assert w.backcheck.requests_to("/screenings", "POST") == []


def test_try_again_after_the_email_is_added_orders_the_check(w, manager_client):
    case = _no_email_case(w)
    _opportunity(w, "prince")["emails"] = ["prince@example.com"]
    assert manager_client.get(reverse("order-try-again", args=[case.pk])).status_code == 200
    response = manager_client.post(reverse("order-try-again", args=[case.pk]))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.is_active and case.submit_state == "pending" and case.cannot_order == ""
    assert case.candidate_email == "prince@example.com" and case.package_code == "std-ca"
    submit_order(case.pk)
    case.refresh_from_db()
    assert case.status == "Initiated" and case.screening_id
    assert case.actions.filter(action="try_again").exists()
    # It has left Needs attention.
    assert reverse("order-try-again", args=[case.pk]) not in attention_page(manager_client)


def test_try_again_after_a_tag_is_added_orders_the_check(w, manager_client):
    w.tenant.packages.update(is_default=False)
    event = stage_change(w, "mary")
    process_inbound(event.pk)
    case = Order.objects.get(pk=InboundEvent.objects.get(pk=event.pk).order_id)
    _opportunity(w, "mary")["tags"].append("standard-ca")
    manager_client.post(reverse("order-try-again", args=[case.pk]))
    case.refresh_from_db()
    assert case.submit_state == "pending" and case.package_code == "std-ca"


def test_try_again_is_refused_for_an_ordinary_order(w, manager_client):
    event = stage_change(w, "ada")
    process_inbound(event.pk)
    order = Order.objects.get(tenant=w.tenant)
    response = manager_client.post(reverse("order-try-again", args=[order.pk]), follow=True)
    assert "Only a case that could not be ordered" in response.content.decode()


def test_archived_and_non_trigger_stages_make_no_case_and_no_note(w):
    _opportunity(w, "ada")["archived"] = {"reason": "hired", "archivedAt": 1}
    archived = stage_change(w, "ada")
    process_inbound(archived.pk)
    other_stage = next(
        s["id"] for s in DEMO_SEED["stages"] if s["id"] != DEMO_SEED["background_check_stage_id"]
    )
    ignored = stage_change(w, "jose", stage=other_stage)
    process_inbound(ignored.pk)
    archived.refresh_from_db()
    ignored.refresh_from_db()
    assert archived.outcome == "archived" and "archived" in archived.reason
    assert not Order.objects.exists() and not LeverNote.objects.exists()
