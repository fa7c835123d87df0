"""The standard script's golden callback sequence: committed, built, and played by the live fake."""

import json
from datetime import UTC, datetime, timedelta

import requests

from connectors.backcheck.client import BackcheckClient
from connectors.backcheck.fake import FakeBackcheck, standard_script_payloads
from connectors.backcheck.fake.script import (
    DEFAULT_REPORT_BASE_URL,
    GOLDEN_PATH,
    format_timestamp,
    golden_fixture,
)
from connectors.backcheck.schema import parse_callback
from tests.support.backcheck import SteppingClock, create

GOLDEN = json.loads(GOLDEN_PATH.read_text())
TIMESTAMP_KEYS = ("updatedAt", "completedAt")


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _shift(node, delta: timedelta):
    if isinstance(node, dict):
        return {
            key: format_timestamp(_parse_ts(value) + delta)
            if key in TIMESTAMP_KEYS and value is not None
            else _shift(value, delta)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_shift(item, delta) for item in node]
    return node


def golden_for(*, screening_id, order_number, reference, report_base, start) -> list[dict]:
    """The golden callbacks moved to another screening, report host and start time."""
    text = json.dumps(GOLDEN["callbacks"])
    for old, new in (
        (GOLDEN["screening_id"], screening_id),
        (GOLDEN["order_number"], order_number),
        (GOLDEN["client_reference_id"], reference),
        (DEFAULT_REPORT_BASE_URL, report_base),
    ):
        text = text.replace(old, new)
    return _shift(json.loads(text), start - _parse_ts(GOLDEN["start"]))


def test_golden_fixture_is_what_the_builder_produces() -> None:
    assert GOLDEN == golden_fixture()
    assert GOLDEN["start"] == "2026-11-24T09:00:00Z"
    assert (GOLDEN["screening_id"], GOLDEN["order_number"], GOLDEN["package_id"]) == (
        "scr_golden",
        "BC-2026-000123",
        "std-ca",
    )


def test_golden_sequence_is_consent_then_one_service_then_completion() -> None:
    callbacks = [parse_callback(body) for body in GOLDEN["callbacks"]]
    assert [(c.status, c.piecemeal_status, c.score) for c in callbacks] == [
        ("In Progress", "In Production", None),
        ("In Progress", "In Production", None),
        ("Completed", "Fulfilled", "Green"),
    ]
    assert [[s.status for s in c.services] for c in callbacks] == [
        ["Not Started", "Not Started"],
        ["Complete", "Not Started"],
        ["Complete", "Complete"],
    ]
    stamps = [c.updated_at for c in callbacks]
    assert stamps == sorted(set(stamps)) and stamps[0] > _parse_ts(GOLDEN["start"])


def test_builder_moves_with_its_inputs() -> None:
    start = datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC)
    built = standard_script_payloads(
        screening_id="scr_x",
        order_number="BC-2027-000009",
        client_reference_id="order-5",
        package_id="std-ca",
        services=["Criminal Record Check", "Employment Verification"],
        start=start,
        report_base_url="http://reports.test",
    )
    assert built == golden_for(
        screening_id="scr_x",
        order_number="BC-2027-000009",
        reference="order-5",
        report_base="http://reports.test",
        start=start,
    )


def test_live_fake_running_the_standard_script_posts_the_golden_sequence(receiver) -> None:
    live_start = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    with FakeBackcheck(
        auto_script=True,
        step_seconds=0.02,
        clock=SteppingClock(live_start, timedelta(seconds=60)),
        report_base_url="http://reports.test",
    ) as fake:
        with BackcheckClient(
            base_url=fake.url, client_id=fake.client_id, client_secret=fake.client_secret
        ) as client:
            screening = create(client, receiver.url, reference="order-golden")
        fake.wait_for_callbacks(3)
        fake.wait_idle()
    assert screening.updated_at == live_start
    assert receiver.bodies() == golden_for(
        screening_id=screening.id,
        order_number=screening.order_number,
        reference="order-golden",
        report_base="http://reports.test",
        start=live_start,
    )


def test_the_script_can_be_started_for_one_screening_through_the_control_endpoint(
    fake, client, receiver
) -> None:
    scripted = create(client, receiver.url, reference="scripted")
    create(client, receiver.url, reference="left-alone")
    answer = requests.post(f"{fake.url}/_control/screenings/{scripted.id}/script", timeout=5)
    assert answer.status_code == 200
    fake.wait_for_callbacks(3)
    fake.wait_idle()
    assert [body["payload"]["id"] for body in receiver.bodies()] == [scripted.id] * 3
    assert receiver.bodies()[-1]["payload"]["status"] == "Completed"
