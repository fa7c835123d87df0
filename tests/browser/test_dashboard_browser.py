"""The account managers' dashboard in Debian's chromium (issue 6).

An account manager logs in, filters and searches the orders list, opens a case, reads its
timeline, resyncs it to Lever (with the confirm step) and sees the new note, then delivered to
the fake Lever; a super-admin creates a tenant and sets a secret that is only ever shown masked;
another tenant's case is a 404. Every page passes axe-core (no serious or critical violations),
has no CSP violation (no inline script or style), and does not scroll sideways at 375 px.

Set DASHBOARD_SCREENSHOTS=1 to refresh docs/screenshots/ from this run.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from connectors.lever.fake import FakeLever
from orders.models import LeverNote, Order
from orders.services.delivery import notes_deliver
from tests.support.browser import (
    ROOT,
    authenticator_for,
    axe_violations,
    login,
    scroll_width_at_phone_size,
)
from tests.support.history import callback, dashboard_tenant, failed_note, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALICE_PASSWORD = "pw-alice-1"  # the root conftest's account_manager
ROOT_PASSWORD = "pw-root-admin-1"  # the root conftest's super_admin
SCREENSHOTS = ROOT / "docs" / "screenshots"
LEVER_KEY = "lever-key-acme-0123456789"  # make_tenant's key for "acme"


@pytest.fixture
def fake_lever():
    with FakeLever() as fake:
        fake.add_account(LEVER_KEY)
        yield fake


@pytest.fixture
def world(account_manager, other_account_manager, fake_lever):
    acme = dashboard_tenant("acme", name="Acme Corp", managers=(account_manager,))
    acme.lever_base_url = fake_lever.base_url
    acme.save(update_fields=["lever_base_url"])
    globex = dashboard_tenant("globex", name="Globex", managers=(other_account_manager,))
    opp = fake_lever.add_opportunity(LEVER_KEY, name="Ada Lovelace", emails=["ada@example.com"])
    ada = make_order(
        acme,
        name="Ada Lovelace",
        email="ada@example.com",
        status="Initiated",
        opportunity_id=opp,
        order_number="BC-2026-000123",
        lever_url=f"{fake_lever.root_url}/candidates/{opp}",
    )
    callback(ada, status="In Progress", updatedAt="2026-01-02T10:00:00Z")
    callback(ada, status="In Progress", updatedAt="2026-01-02T10:00:00Z")
    callback(
        ada,
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
    charles = make_order(acme, name="Charles Babbage", status="In Progress")
    failed_note(charles)
    make_order(acme, name="Mary Somerville", status="Error")
    make_order(acme, name="Emmy Noether", status="Completed", score="Amber")
    grace = make_order(globex, name="Grace Hopper", status="In Progress")
    return {"acme": acme, "ada": ada, "charles": charles, "grace": grace, "fake": fake_lever}


def _rows(page) -> list[str]:
    return page.locator("table.orders tbody tr").all_inner_texts()


def _shoot(page, name: str) -> None:
    if os.environ.get("DASHBOARD_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def test_account_manager_filters_opens_a_case_and_resyncs_it(dash_page, dash_portal, world):
    page = dash_page
    login(page, dash_portal, "am-alice", ALICE_PASSWORD)
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
    rows = "\n".join(_rows(page))
    assert "Ada Lovelace" in rows and "Charles Babbage" in rows
    assert "Grace Hopper" not in page.content()
    _shoot(page, "dashboard-list.png")

    page.locator("#id_status").select_option("Completed")
    page.get_by_role("button", name="Apply filters").click()
    rows = _rows(page)
    assert len(rows) == 2 and any("Ada Lovelace" in r for r in rows)

    page.locator("#id_q").fill("babbage")
    page.locator("#id_status").select_option("")
    page.get_by_role("button", name="Apply filters").click()
    rows = _rows(page)
    assert len(rows) == 1 and "Charles Babbage" in rows[0]

    page.get_by_role("link", name="Reset").click()
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page.get_by_role("heading", name=re.compile("Ada Lovelace"))).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Backcheck callback: In Progress → Completed")
    expect(timeline).not_to_contain_text("duplicate")  # key events leave the plumbing out
    page.get_by_role("link", name="All", exact=True).click()
    expect(timeline).to_contain_text("duplicate")
    expect(page.locator("pre.note-text").first).to_contain_text(
        "Sterling Backcheck background check"
    )
    _shoot(page, "dashboard-case.png")

    page.get_by_role("link", name="Resync to Lever…").click()
    expect(page.get_by_role("heading", name="Resync to Lever")).to_be_visible()
    page.get_by_role("button", name="Resync to Lever").click()
    expect(page.get_by_role("status")).to_contain_text("Resync queued")
    note = LeverNote.objects.get(order=world["ada"], is_resync=True)
    expect(timeline).to_contain_text(f"Lever note #{note.pk} (order status, resync)")
    expect(page.locator(f"#note-{note.pk}")).to_contain_text("pending")

    # A worker would now deliver the order's queue; do what the head note's task does, against
    # the fake Lever (this world's earlier notes were made pending, without tasks).
    head = LeverNote.objects.filter(order=world["ada"], state="pending").order_by(
        "created_at", "id"
    )
    notes_deliver(note_id=head.first().pk)
    note.refresh_from_db()
    assert note.state == "delivered"
    page.reload()
    expect(page.locator(f"#note-{note.pk}")).to_contain_text("delivered")
    expect(timeline).to_contain_text("Delivered to Lever")  # one row: queued and delivered
    page.get_by_role("link", name="All", exact=True).click()
    expect(timeline).to_contain_text(f"Lever note #{note.pk} delivery attempt")
    expect(timeline).to_contain_text("HTTP status: 201")
    posted = world["fake"].notes(LEVER_KEY, world["ada"].opportunity_id)
    assert note.text in [n.get("value", n.get("text")) for n in posted]
    assert page.csp_violations == []


def test_pages_pass_axe_have_no_csp_violations_and_fit_a_phone(dash_page, dash_portal, world):
    page = dash_page
    page.goto(f"{dash_portal}/login/")
    problems = {"login": axe_violations(page)}
    widths = {"login": scroll_width_at_phone_size(page)}
    login(page, dash_portal, "am-alice", ALICE_PASSWORD)
    for name, path in [
        ("list", "/"),
        ("case", f"/orders/{world['ada'].pk}/"),
        ("attention", "/attention/"),
        ("launch", "/orders/launch/"),
        ("tenant", f"/tenants/{world['acme'].slug}/"),
    ]:
        response = page.goto(f"{dash_portal}{path}")
        assert response.status == 200, path
        problems[name] = axe_violations(page)
        widths[name] = scroll_width_at_phone_size(page)
    assert {k: v for k, v in problems.items() if v} == {}
    assert {k: w for k, w in widths.items() if w > 375} == {}
    assert page.csp_violations == []


def test_account_manager_gets_404_on_another_tenants_case(dash_page, dash_portal, world):
    page = dash_page
    login(page, dash_portal, "am-alice", ALICE_PASSWORD)
    grace = world["grace"]
    for path in (f"/orders/{grace.pk}/", f"/orders/{grace.pk}/resync/"):
        response = page.goto(f"{dash_portal}{path}")
        assert response.status == 404, path
    assert Order.objects.get(pk=grace.pk).actions.count() == 0


def test_super_admin_creates_a_tenant_and_sees_its_secret_only_masked(
    dash_page, dash_portal, super_admin, settings
):
    # Super-admins sign in with their second factor, as in production.
    settings.TWO_FACTOR_REQUIRED_FOR_SUPER_ADMINS = True
    page = dash_page
    login(page, dash_portal, "root-admin", ROOT_PASSWORD, authenticator_for(super_admin))
    page.goto(f"{dash_portal}/tenants/new/")
    page.get_by_label("Name").fill("Initech")
    page.get_by_label("Slug").fill("initech")
    page.get_by_label("Trigger stage ids").fill("00922a60-7c15-422b-b086-f62000824fd7")
    page.get_by_role("button", name="Create tenant").click()
    expect(page.get_by_role("heading", name="Initech")).to_be_visible()
    secret = "SECRETleverKEY-initech-9f3a"
    page.locator("a[href$='/secrets/lever-api-key/']").click()
    page.get_by_label("New value").fill(secret)
    page.get_by_role("button", name="Store").click()
    expect(page.get_by_role("heading", name="Initech")).to_be_visible()
    content = page.content()
    assert "••••9f3a" in content
    assert secret not in content
    page.goto(f"{dash_portal}/admin/connectors/tenant/")
    assert secret not in page.content()
