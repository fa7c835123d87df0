"""The whole flow over real HTTP with a real worker: Lever stage change → order at Backcheck →
callbacks → status history → notes on the candidate in (fake) Lever."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
import requests

from orders.models import InboundEvent, LeverNote, Order
from tests.support.harness import wait_until

pytestmark = [pytest.mark.e2e]
ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((ROOT / "orders/tests/fixtures/standard_script_notes.json").read_text())


def _normalize(text: str, order: Order) -> str:
    """Make a live note comparable with the golden one: ids, dates and report host differ."""
    text = text.replace(order.screening_id, "scr_golden").replace(
        order.order_number, "BC-2026-000123"
    )
    return re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", text)


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_the_standard_script_posts_exactly_the_golden_notes(wired, case):
    w = wired(piecemeal=case["piecemeal"], cma=case["cma"])
    w.trigger("ada")
    order = w.wait_order("ada", lambda o: o.screening_id)
    w.wait_notes("ada", 1)
    w.backcheck.run_standard_script(order.screening_id)
    expected = [_normalize(n["text"], order) for n in case["notes"]]
    notes = w.wait_notes("ada", len(expected))
    order.refresh_from_db()
    assert [_normalize(n, order) for n in notes] == expected
    assert order.status == "Completed" and order.score == "Green" and not order.is_active
    # The fake has the note a moment before the worker records the delivery.
    wait_until(
        lambda: not LeverNote.objects.filter(order=order).exclude(state="delivered").exists(),
        message="every note recorded as delivered",
    )


def test_the_error_flow_posts_the_providers_message(wired):
    w = wired()
    w.trigger("ada")
    order = w.wait_order("ada", lambda o: o.screening_id)
    w.backcheck.error(order.screening_id, "The candidate did not complete the consent form.")
    notes = w.wait_notes("ada", 2)
    assert notes[-1].splitlines()[1] == "Status: Error"
    assert notes[-1].splitlines()[-1] == ("Error: The candidate did not complete the consent form.")
    order.refresh_from_db()
    assert order.status == "Error" and not order.is_active


def test_a_new_trigger_after_an_error_creates_a_new_order(wired):
    w = wired()
    w.trigger("ada")
    first = w.wait_order("ada", lambda o: o.screening_id)
    w.backcheck.error(first.screening_id, "Expired.")
    w.wait_order("ada", lambda o: o.status == "Error")
    w.trigger("ada")
    second = w.wait_order("ada", lambda o: o.pk != first.pk and o.screening_id)
    assert second.screening_id != first.screening_id and second.is_active


def test_the_cancel_flow_goes_through_backcheck(wired, admin_client):
    w = wired()
    w.trigger("ada")
    order = w.wait_order("ada", lambda o: o.screening_id)
    w.wait_notes("ada", 1)
    response = admin_client.post(f"/api/v1/orders/{order.pk}/cancel/")
    assert response.status_code == 202 and response.json() == {"status": "queued"}
    w.wait_order("ada", lambda o: o.status == "Canceled")
    notes = w.wait_notes("ada", 2)
    assert notes[-1].splitlines()[1] == "Status: Canceled"
    again = admin_client.post(f"/api/v1/orders/{order.pk}/cancel/")
    assert again.status_code == 409 and again.json()["error"] == "invalid_state"


def test_a_candidate_without_email_gets_the_fix_note_and_an_error_case(wired):
    w = wired()
    w.trigger("prince")
    notes = w.wait_notes("prince", 1)
    assert notes == [
        "Sterling Backcheck background check\nStatus: Error\n"
        "Error: The candidate has no email address in Lever. Add one, then move the candidate "
        'to "Background Check" again.'
    ]
    # The case shows in the portal, in Error with the note's words; Backcheck never hears of it.
    case = Order.objects.get(tenant=w.tenant)
    assert case.status == "Error" and case.cannot_order == "no_email"
    assert notes[0].endswith(f"Error: {case.error_message}")
    assert w.backcheck.requests_to("/screenings", "POST") == []


def test_no_matching_package_and_no_default_gets_the_fix_note(wired):
    w = wired(default_package=False)
    w.trigger("mary")
    notes = w.wait_notes("mary", 1)
    assert notes[0].endswith(
        "Error: No screening package matches this candidate's tags or job posting, and no "
        "default package is set. Add one of these tags: standard-ca, then move the candidate to "
        '"Background Check" again.'
    )
    event = InboundEvent.objects.get(tenant=w.tenant, opportunity_id=w.candidate("mary"))
    assert event.outcome == "no_package"


def test_the_same_webhook_twenty_times_concurrently_makes_one_order_and_one_note(wired):
    w = wired()
    body = w.lever.move_to_stage(w.api_key, w.candidate("ada"), w.tenant.trigger_stage_ids[0])
    answers: list[dict] = []

    def post() -> None:
        answers.append(requests.post(w.webhook_url, json=body, timeout=10).json())

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a["status"] for a in answers) == ["accepted"] + ["duplicate"] * 19
    w.wait_notes("ada", 1)
    w.wait_order("ada", lambda o: o.screening_id)
    replay = dict(body, id="a-new-id")
    assert requests.post(w.webhook_url, json=replay, timeout=10).json() == {"status": "duplicate"}
    wait_until(lambda: LeverNote.objects.filter(tenant=w.tenant, state="delivered").count() == 1)
    assert Order.objects.filter(tenant=w.tenant).count() == 1
    assert len(w.notes("ada")) == 1
    assert len(w.backcheck.requests_to("/screenings", "POST")) == 1


def test_the_same_callback_twice_posts_one_note(wired):
    w = wired()
    w.trigger("ada")
    order = w.wait_order("ada", lambda o: o.screening_id)
    w.wait_notes("ada", 1)
    w.backcheck.consent(order.screening_id)
    w.wait_notes("ada", 2)
    w.backcheck.duplicate_last(order.screening_id)
    w.backcheck.wait_for_callbacks(2, screening_id=order.screening_id)
    wait_until(lambda: InboundEvent.objects.filter(order=order, outcome="duplicate").exists())
    assert len(w.notes("ada")) == 2
