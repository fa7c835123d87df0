"""Links from outside: only absolute http(s) report URLs are accepted, rendered or sent to Lever."""

from __future__ import annotations

import dataclasses

import pytest

from connectors.backcheck.schema import SchemaError, parse_screening
from orders.models import Order, ScreeningService
from orders.notes import render_order_note
from orders.tests import screening, service
from orders.tests.test_callback_api import _make_order, _payload, post  # noqa: F401

BAD_URLS = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/relative/report",
    "//no-scheme.example/report",
    "https://",
    "https://reports.example/a b",
    "https://reports.example/\nInjected: yes",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", BAD_URLS)
def test_a_callback_with_a_bad_report_url_is_a_400_naming_the_field(post, tenant, url):  # noqa: F811
    order, creds = _make_order(tenant)
    body = _payload("callback_completed.json", order)
    body["payload"]["reportUrl"] = url
    response = post(body, creds)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid"
    assert "payload.reportUrl" in response.json()["fields"]
    order.refresh_from_db()
    assert order.report_url == ""


@pytest.mark.django_db
def test_a_bad_service_report_url_is_a_400_naming_the_service_field(post, tenant):  # noqa: F811
    order, creds = _make_order(tenant)
    body = _payload("callback_completed.json", order)
    body["payload"]["services"][0]["reportUrl"] = "javascript:alert(1)"
    response = post(body, creds)
    assert response.status_code == 400
    assert "payload.services[0].reportUrl" in response.json()["fields"]


def test_http_and_https_report_urls_are_accepted():
    for url in ("https://reports.backcheck.example/r/1?x=2", "http://reports.example:8080/r"):
        assert screening("Completed", report_url=url).report_url == url


def test_a_polled_screening_drops_a_bad_report_url_and_keeps_the_rest():
    payload = screening("Completed", report_url="https://ok.example/r").raw
    payload = {**payload, "reportUrl": "javascript:alert(1)"}
    with pytest.raises(SchemaError):
        parse_screening(payload)
    polled = parse_screening(payload, drop_bad_urls=True)
    assert polled.report_url is None and polled.status == "Completed"


def test_a_stored_bad_url_is_never_posted_to_lever():
    good = dataclasses.replace(
        parse_view(), report_url="https://reports.backcheck.example/r/1", status="Completed"
    )
    assert "Results Report: https://reports.backcheck.example/r/1" in render_order_note(
        good, package_name="Standard"
    )
    bad = dataclasses.replace(good, report_url="javascript:alert(1)")
    assert "Results Report" not in render_order_note(bad, package_name="Standard")
    assert "javascript" not in render_order_note(bad, package_name="Standard")


def parse_view():
    from orders.state import view_from_screening

    return view_from_screening(
        screening("In Progress", services=[service("svc_1", "Criminal Record Check")])
    )


@pytest.mark.django_db
def test_the_case_page_never_renders_a_stored_bad_url_as_a_link(client, super_admin, tenant):
    order, _ = _make_order(tenant)
    Order.objects.filter(pk=order.pk).update(report_url="javascript:alert(document.cookie)")
    ScreeningService.objects.create(
        order=order,
        position=0,
        service_id="svc_1",
        name="Criminal Record Check",
        status="Complete",
        report_url="javascript:alert(2)",
    )
    client.force_login(super_admin)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "Criminal Record Check" in page
    assert "javascript:" not in page.lower()
    Order.objects.filter(pk=order.pk).update(report_url="https://reports.backcheck.example/r/9")
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'href="https://reports.backcheck.example/r/9"' in page


def test_a_provider_error_message_reaches_the_note_cut_to_500_characters_without_controls():
    message = "Candidate\x1b[2J address\r\nInjected: line " + "x" * 2000
    view = parse_view_with_error(message)
    note = render_order_note(view, package_name="Standard")
    (line,) = [ln for ln in note.splitlines() if ln.startswith("Error: ")]
    assert line.startswith("Error: Candidate")
    assert len(line) <= len("Error: ") + 500
    assert "Injected: line" in line  # kept, on the same line: no injected line break
    assert not any(ord(ch) < 32 for ch in line)


def parse_view_with_error(message: str):
    from orders.state import view_from_screening

    return view_from_screening(screening("Error", error={"code": "E1", "message": message}))
