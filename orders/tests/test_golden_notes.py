"""The standard script's callbacks, replayed through the state machine, post exactly the notes of
the hand-written oracle `fixtures/standard_script_notes.json` (docs/CONTRACT.md §3, §9).

The callbacks are the fake Backcheck's committed golden fixture, so the fake, the state machine and
the note texts cannot drift apart without this test failing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.backcheck.schema import parse_callback, parse_screening
from orders.notes import notes_for_decision, render_order_note
from orders.state import apply_snapshot, view_from_screening

REPO = Path(__file__).resolve().parents[2]
ORACLE = json.loads((Path(__file__).parent / "fixtures" / "standard_script_notes.json").read_text())
SCRIPT = json.loads((REPO / ORACLE["callbacks"]).read_text())
CASES = {case["name"]: case for case in ORACLE["cases"]}


def replay(*, piecemeal: bool, cma: bool, redeliver: bool = False) -> list[dict]:
    package_name = ORACLE["package_name"]
    view = view_from_screening(parse_screening(ORACLE["create_response"]))
    posted = [
        {
            "after": "create",
            "kind": "order",
            "text": render_order_note(view, package_name=package_name),
        }
    ]
    seen: set[str] = set()
    for index, body in enumerate(SCRIPT["callbacks"]):
        for _ in range(2 if redeliver else 1):
            snapshot = parse_callback(body)
            decision = apply_snapshot(view, snapshot, seen_hashes=seen)
            seen.add(snapshot.canonical_hash())
            view = decision.new
            for kind, text in notes_for_decision(
                decision, piecemeal=piecemeal, cma=cma, package_name=package_name
            ):
                posted.append({"after": index, "kind": kind, "text": text})
    return posted


def test_the_oracles_create_response_is_the_screening_the_script_starts_from():
    created = ORACLE["create_response"]
    assert created["id"] == SCRIPT["screening_id"]
    assert created["orderNumber"] == SCRIPT["order_number"]
    assert created["updatedAt"] == SCRIPT["start"]
    assert created["status"] == "Initiated"
    first = SCRIPT["callbacks"][0]["payload"]
    assert [s["id"] for s in created["services"]] == [s["id"] for s in first["services"]]


def test_the_script_has_the_three_standard_callbacks():
    statuses = [body["payload"]["status"] for body in SCRIPT["callbacks"]]
    assert statuses == ["In Progress", "In Progress", "Completed"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_standard_script_posts_exactly_the_oracle_notes_in_order(name):
    case = CASES[name]
    assert replay(piecemeal=case["piecemeal"], cma=case["cma"]) == case["notes"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_redelivered_callbacks_post_no_extra_notes(name):
    case = CASES[name]
    assert replay(piecemeal=case["piecemeal"], cma=case["cma"], redeliver=True) == case["notes"]
