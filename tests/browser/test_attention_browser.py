"""Failures surface where people look, in Debian's chromium (issue 14, items 3–7).

An account manager finds a candidate who cannot be ordered as a case in Error (list, Needs
attention), tries again while it is unfixed (error banner) and after the fix (success banner);
sees "Lever not updated" on a row whose note failed and a count on the Needs attention link;
cancels a case, sees "Cancel pending", then Backcheck's refusal in error colours on the header,
the timeline and Needs attention, and dismisses it (information banner); switches the timeline
between Key events and All; gets the portal's own 404 and 403 pages; and turns the attention
emails off on their profile. Every page passes axe-core (no
serious or critical violations) and has no CSP violation.

The worker's part is played by calling the tasks in the test, against the fakes over HTTP.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.models import LeverNote, Order
from orders.tasks import cancel_order, deliver_notes, process_inbound
from tests.support.browser import axe_violations, login
from tests.support.wired import stage_change, submitted_order, unset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALICE_PASSWORD = "pw-alice-1"  # the root conftest's account_manager


@pytest.fixture
def alice_on(w, account_manager):
    # PostgreSQL: these tests write from the test thread while the live server's thread reads
    # and writes, which SQLite's shared in-memory test database answers with "table is locked".
    from django.db import connection

    from tests.support.services import service_unavailable

    if connection.vendor != "postgresql":
        service_unavailable("the attention browser tests need PostgreSQL (DATABASE_URL)")
    w.tenant.account_managers.add(account_manager)
    return w


def _axe(page, problems: dict, name: str) -> None:
    problems[name] = axe_violations(page)


def test_a_case_that_cannot_be_ordered_is_found_tried_again_and_ordered(
    dash_page, dash_portal, alice_on
):
    w, page, problems = alice_on, dash_page, {}
    event = stage_change(w, "prince")
    process_inbound(event.pk)
    case = Order.objects.get(tenant=w.tenant)
    deliver_notes(LeverNote.objects.get(order=case).pk)
    login(page, dash_portal, "am-alice", ALICE_PASSWORD)

    row = page.locator("table.orders tbody tr", has_text="Prince")
    expect(row).to_contain_text("Error")
    nav = page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile("Needs attention")
    )
    expect(nav).to_contain_text("1")
    nav.click()
    section = page.locator(
        "section", has=page.get_by_role("heading", name=re.compile("Cases that cannot be ordered"))
    )
    expect(section).to_contain_text("The candidate has no email address in Lever.")
    _axe(page, problems, "attention")

    section.get_by_role("link", name=re.compile("Try again")).click()
    page.get_by_role("button", name="Try again").click()
    banner = page.get_by_role("status")
    expect(banner.locator("li.msg-error")).to_contain_text("Error: Lever still has no email")
    _axe(page, problems, "case with an error banner")

    w.lever.accounts[w.api_key]["opportunities"][w.candidate("prince")]["emails"] = [
        "prince@example.com"
    ]
    page.get_by_role("link", name="Try again…").click()
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("status").locator("li.msg-success")).to_contain_text("Done: Ordered")
    _axe(page, problems, "case with a success banner")
    case.refresh_from_db()
    assert case.submit_state == "pending" and case.is_active
    assert {k: v for k, v in problems.items() if v} == {}
    assert page.csp_violations == []


def test_a_failed_note_marks_the_row_and_a_refused_cancel_is_shown_in_error_colours(
    dash_page, dash_portal, alice_on
):
    w, page, problems = alice_on, dash_page, {}
    failing = submitted_order(w, "jose")
    unset(w.tenant, lever_api_key=None)
    deliver_notes(LeverNote.objects.get(order=failing).pk)
    unset(w.tenant, lever_api_key=w.api_key)
    order = submitted_order(w, "ada")
    deliver_notes(LeverNote.objects.get(order=order).pk)
    login(page, dash_portal, "am-alice", ALICE_PASSWORD)

    expect(page.locator("table.orders tbody tr", has_text="José")).to_contain_text(
        "Lever not updated — 1 failed note"
    )
    expect(page.locator("table.orders tbody tr", has_text="Ada Lovelace")).not_to_contain_text(
        "Lever not updated"
    )
    _axe(page, problems, "list")

    page.get_by_role("link", name="Ada Lovelace").click()
    page.get_by_role("link", name="Cancel order…").click()
    page.get_by_role("button", name="Cancel the order").click()
    expect(page.get_by_role("status").locator("li.msg-success")).to_contain_text(
        "Cancellation requested"
    )
    expect(page.locator("p.flag-pending")).to_contain_text("Cancel pending")

    w.backcheck.complete(order.screening_id, "Green")
    cancel_order(order.pk)
    page.reload()
    header = page.locator("p.flag-error")
    expect(header).to_contain_text("Cancel refused by Backcheck")
    expect(header).to_have_css("color", "rgb(179, 38, 30)")
    refused = page.locator("ol.timeline li.tl-error")
    expect(refused).to_contain_text("Cancellation refused")
    expect(page.locator("#case-h").locator("..").locator("..")).to_contain_text("Completed")
    _axe(page, problems, "case with a refused cancel")

    # Key events by default; the plumbing under All.
    timeline = page.locator("ol.timeline")
    expect(timeline).not_to_contain_text("delivery attempt")
    page.get_by_role("link", name="All", exact=True).click()
    expect(timeline).to_contain_text("delivery attempt")
    expect(page.get_by_role("link", name="All", exact=True)).to_have_attribute(
        "aria-current", "true"
    )
    _axe(page, problems, "timeline: all")

    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name=re.compile("Needs attention")
    ).click()
    section = page.locator(
        "section", has=page.get_by_role("heading", name=re.compile("Cancellations refused"))
    )
    expect(section).to_contain_text("A completed screening cannot be canceled.")
    section.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_role("status").locator("li.msg-info")).to_contain_text("Note: Refused")
    expect(section).to_contain_text("None.")
    _axe(page, problems, "attention with an information banner")

    response = page.goto(f"{dash_portal}/orders/999999/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="Needs attention")).to_be_visible()
    _axe(page, problems, "404")
    response = page.goto(f"{dash_portal}/tenants/new/")  # super-admins only
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    _axe(page, problems, "403")

    # Item 8's setting: on the user's profile, reached from the user name, on by default.
    page.get_by_role("link", name=re.compile("am-alice")).click()
    box = page.get_by_label("Email me when a case of my tenants needs attention")
    expect(box).to_be_checked()
    box.uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").locator("li.msg-success")).to_contain_text(
        "Attention emails are off."
    )
    _axe(page, problems, "profile")
    assert {k: v for k, v in problems.items() if v} == {}
    assert page.csp_violations == []
