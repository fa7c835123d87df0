"""The orders list at `/`: counts, filters, search, sorting, pagination, CSV export, chart."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from orders.case_rules import PAGE_SIZE
from orders.models import Order
from tests.support.history import (
    days_ago,
    failed_note,
    make_order,
)

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:
    return [o.pk for o in response.context["page"].object_list]


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_home_is_the_orders_list_and_needs_a_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert reverse("order-list") == "/"


def test_account_manager_sees_only_orders_of_assigned_tenants(alice, tenants):
    acme, globex = tenants
    mine = make_order(acme, name="Ada Lovelace")
    make_order(globex, name="Grace Hopper")
    response = alice.get("/")
    assert response.status_code == 200
    assert _ids(response) == [mine.pk]
    assert "Ada Lovelace" in response.content.decode()
    assert "Grace Hopper" not in response.content.decode()


def test_super_admin_sees_every_tenant(client, super_admin, tenants):
    acme, globex = tenants
    a, b = make_order(acme), make_order(globex)
    client.force_login(super_admin)
    assert set(_ids(client.get("/"))) == {a.pk, b.pk}


def test_status_counts_are_per_status_over_the_other_filters(alice, tenants):
    acme, _ = tenants
    make_order(acme, status="In Progress")
    make_order(acme, status="In Progress")
    make_order(acme, status="Completed", score="Green")
    make_order(acme, status="Error")
    response = alice.get("/", {"status": "Completed"})
    counts = dict((c["status"], c["count"]) for c in response.context["counts"])
    assert counts["In Progress"] == 2 and counts["Completed"] == 1 and counts["Error"] == 1
    assert response.context["listing"].total == 4
    assert len(_ids(response)) == 1
    page = response.content.decode()
    assert "Completed" in page and 'class="badge st st-completed"' in page


def test_badges_read_without_colour_label_and_shape(alice, tenants):
    acme, _ = tenants
    make_order(acme, status="Completed", score="Red")
    page = alice.get("/").content.decode()
    assert (
        '<span class="badge sc sc-red"><span class="shape" aria-hidden="true"></span>Red</span>'
        in page
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "Completed"}, {"done"}),
        ({"status": "pending"}, {"pending"}),
        ({"score": "Amber"}, {"done"}),
        ({"package": "acme-exec"}, {"exec"}),
        ({"created_from": "2020-01-01", "created_to": "2020-01-31"}, {"old"}),
        ({"tenant": "acme"}, {"done", "pending", "exec", "old", "running"}),
        ({"tenant": "globex"}, set()),
    ],
)
def test_filters_narrow_the_list(alice, tenants, params, expected):
    acme, _ = tenants
    orders = {
        "done": make_order(acme, status="Completed", score="Amber"),
        "pending": make_order(acme, status="", order_number=""),
        "exec": make_order(acme, package_code="acme-exec"),
        "old": make_order(acme, created_at=days_ago(365 * 7).replace(year=2020, month=1, day=15)),
        "running": make_order(acme, status="In Progress"),
    }
    got = set(_ids(alice.get("/", params)))
    assert got == {orders[k].pk for k in expected}


def test_needs_attention_filter_finds_errors_failed_notes_and_quiet_orders(alice, tenants):
    acme, _ = tenants
    error = make_order(acme, status="Error")
    with_failed_note = make_order(acme, status="Completed")
    failed_note(with_failed_note)
    quiet = make_order(acme, status="In Progress", last_heard_at=days_ago(5))
    quiet_never_heard = make_order(acme, status="Initiated", created_at=days_ago(4))
    make_order(acme, status="In Progress", last_heard_at=days_ago(1))
    make_order(acme, status="Completed")
    got = set(_ids(alice.get("/", {"attention": "on"})))
    assert got == {error.pk, with_failed_note.pk, quiet.pk, quiet_never_heard.pk}
    got = set(_ids(alice.get("/", {"attention": "on", "days": "10"})))
    assert got == {error.pk, with_failed_note.pk}


@pytest.mark.parametrize(
    "query",
    [
        "lovelace",
        "ADA.L@EXAMPLE",
        "BC-2026-777777",
        "opp-ada-1",
        "https://hire.lever.co/candidates/opp-ada-1",
    ],
)
def test_search_finds_by_name_email_reference_number_or_opportunity(alice, tenants, query):
    acme, _ = tenants
    ada = make_order(
        acme,
        name="Ada Lovelace",
        email="ada.l@example.com",
        order_number="BC-2026-777777",
        opportunity_id="opp-ada-1",
    )
    make_order(acme, name="Charles Babbage", email="cb@example.com")
    assert _ids(alice.get("/", {"q": query})) == [ada.pk]


def test_search_never_reaches_another_tenants_orders(alice, tenants):
    _, globex = tenants
    make_order(globex, name="Grace Hopper", order_number="BC-2026-999999")
    assert _ids(alice.get("/", {"q": "BC-2026-999999"})) == []


def test_sorting_by_candidate_both_ways(alice, tenants):
    acme, _ = tenants
    names = ["Bea", "Cal", "Abe"]
    by_name = {n: make_order(acme, name=n).pk for n in names}
    assert _ids(alice.get("/", {"sort": "candidate"})) == [by_name[n] for n in sorted(names)]
    assert _ids(alice.get("/", {"sort": "-candidate"})) == [
        by_name[n] for n in sorted(names, reverse=True)
    ]


def test_an_unknown_sort_or_page_falls_back_instead_of_failing(alice, tenants):
    acme, _ = tenants
    order = make_order(acme)
    response = alice.get("/", {"sort": "password", "page": "x", "days": "-4"})
    assert response.status_code == 200
    assert _ids(response) == [order.pk]


def test_an_unknown_or_hidden_tenant_filter_shows_nothing_rather_than_everything(alice, tenants):
    acme, _ = tenants
    make_order(acme)
    for slug in ("nope", "globex"):
        response = alice.get("/", {"tenant": slug})
        assert response.status_code == 200
        assert _ids(response) == []


def test_pagination_pages_of_fifty_with_page_links(alice, tenants):
    acme, _ = tenants
    for i in range(PAGE_SIZE + 3):
        make_order(acme, name=f"Cand {i:03d}")
    first = alice.get("/", {"sort": "candidate"})
    second = alice.get("/", {"sort": "candidate", "page": 2})
    assert len(_ids(first)) == PAGE_SIZE and len(_ids(second)) == 3
    assert set(_ids(first)).isdisjoint(_ids(second))
    assert "Page 1 of 2" in first.content.decode()
    assert "sort=candidate&amp;page=2" in first.content.decode()


def test_csv_export_holds_the_filtered_set_with_a_header(alice, tenants):
    acme, globex = tenants
    done = make_order(
        acme,
        name="Ada Lovelace",
        email="ada@example.com",
        status="Completed",
        score="Green",
        order_number="BC-2026-000123",
        opportunity_id="opp-ada",
        report_url="https://reports.example.test/r/1",
    )
    make_order(acme, status="In Progress")
    make_order(globex, status="Completed")
    response = alice.get(reverse("order-export"), {"status": "Completed"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:4] == ["id", "tenant", "reference number", "candidate"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["id"] == str(done.pk)
    assert row["tenant"] == "acme"
    assert row["reference number"] == "BC-2026-000123"
    assert row["email"] == "ada@example.com"
    assert row["lever opportunity id"] == "opp-ada"
    assert row["status"] == "Completed" and row["lever status"] == "Completed"
    assert row["score"] == "Green"
    assert row["report url"] == "https://reports.example.test/r/1"


def test_csv_export_defuses_spreadsheet_formulas_in_candidate_names(alice, tenants):
    acme, _ = tenants
    make_order(acme, name='=HYPERLINK("http://evil")')
    rows = _csv(alice.get(reverse("order-export")))
    assert rows[1][3] == '\'=HYPERLINK("http://evil")'


def test_chart_is_server_rendered_svg_with_a_table_of_the_same_numbers(alice, tenants):
    acme, _ = tenants
    make_order(acme, status="Completed")
    make_order(acme, status="In Progress")
    response = alice.get("/")
    page = response.content.decode()
    assert "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    chart = response.context["listing"].chart
    assert chart.max_total == 2 and {b.status for b in chart.bars} == {"Completed", "In Progress"}
    assert [row for _, row in chart.table] == [[1, 1]]


def test_list_page_has_no_inline_script_or_style(alice, tenants):
    acme, _ = tenants
    make_order(acme)
    page = alice.get("/").content.decode()
    assert "style=" not in page
    assert "<script>" not in page and "onclick" not in page


def test_tenant_health_on_the_dashboard_covers_assigned_tenants_only(alice, tenants):
    acme, globex = tenants
    health = alice.get("/").context["health"]
    assert [h.tenant.slug for h in health] == ["acme"]


def test_every_order_is_counted_once_even_with_several_failed_notes(alice, tenants):
    acme, _ = tenants
    order = make_order(acme, status="Error")
    failed_note(order)
    failed_note(order)
    response = alice.get("/", {"attention": "on"})
    assert _ids(response) == [order.pk]
    assert response.context["page"].paginator.count == 1
    assert Order.objects.count() == 1


def test_pages_past_the_middle_list_the_same_rows_as_a_plain_offset(alice, tenants):
    acme, _ = tenants
    for i in range(PAGE_SIZE * 3 + 7):
        make_order(acme, name=f"Cand {i % 40:03d}")  # ties on name: the id breaks them
    expected = list(Order.objects.order_by("candidate_name", "id").values_list("pk", flat=True))
    got = []
    for page in (1, 2, 3, 4):
        got += _ids(alice.get("/", {"sort": "candidate", "page": page}))
    assert got == expected
