"""The order state machine (docs/CONTRACT.md §2): transitions, ordering, duplicates, corrections."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.backcheck.schema import Screening
from orders.state import (
    ACTIVE_STATUSES,
    ALLOWED_TRANSITIONS,
    LEVER_STATUS,
    STATUS_RANK,
    TERMINAL_STATUSES,
    OrderView,
    apply_snapshot,
    view_from_screening,
)
from orders.tests import ORDER_NUMBER, screening, service

CRIM = ("svc_crim", "Criminal Record Check")
EMP = ("svc_emp", "Employment Verification")
STATUSES = ["Initiated", "In Progress", "Error", "Completed", "Canceled"]

# docs/CONTRACT.md §2, written out by hand so the test does not just read the table back to itself.
ALLOWED = {
    ("Initiated", "In Progress"),
    ("Initiated", "Error"),
    ("Initiated", "Canceled"),
    ("Initiated", "Completed"),
    ("In Progress", "Error"),
    ("In Progress", "Canceled"),
    ("In Progress", "Completed"),
    ("Error", "In Progress"),
    ("Error", "Completed"),
    ("Error", "Canceled"),
}


def view_in(status: str, *, updated_at: str = "2026-11-24T09:00:00Z", **kwargs) -> OrderView:
    return view_from_screening(screening(status, updated_at=updated_at, **kwargs))


def later(status: str, **kwargs) -> Screening:
    return screening(status, updated_at="2026-11-25T09:00:00Z", **kwargs)


# --- vocabulary ---------------------------------------------------------------------------


def test_lever_names_follow_the_status_table():
    assert LEVER_STATUS == {
        "Initiated": "New",
        "In Progress": "In Progress",
        "Canceled": "Canceled",
        "Error": "Error",
        "Completed": "Completed",
    }


def test_status_rank_orders_initiated_in_progress_error_then_completed_equal_canceled():
    assert (
        STATUS_RANK["Initiated"]
        < STATUS_RANK["In Progress"]
        < STATUS_RANK["Error"]
        < STATUS_RANK["Completed"]
    )
    assert STATUS_RANK["Completed"] == STATUS_RANK["Canceled"]


def test_only_initiated_and_in_progress_are_active_and_completed_canceled_terminal():
    assert ACTIVE_STATUSES == {"Initiated", "In Progress"}
    assert TERMINAL_STATUSES == {"Completed", "Canceled"}
    assert ALLOWED_TRANSITIONS["Completed"] == frozenset()
    assert ALLOWED_TRANSITIONS["Canceled"] == frozenset()
    assert view_in("Error").is_active is False


# --- every transition of the table ----------------------------------------------------------


@pytest.mark.parametrize(
    ("old_status", "new_status"), [(a, b) for a in STATUSES for b in STATUSES if a != b]
)
def test_a_newer_status_change_is_applied_exactly_when_the_table_allows_it(old_status, new_status):
    current = view_in(old_status)
    decision = apply_snapshot(current, later(new_status), seen_hashes=set())
    if (old_status, new_status) in ALLOWED:
        assert decision.outcome == "applied"
        assert decision.reason == ""
        assert decision.new.status == new_status
        assert decision.old == current
    else:
        assert decision.outcome == "rejected"
        assert f"{old_status} → {new_status}" in decision.reason
        assert decision.new == current == decision.old


@pytest.mark.parametrize("status", STATUSES)
def test_a_newer_snapshot_in_the_same_status_is_applied(status):
    current = view_in(status)
    decision = apply_snapshot(current, later(status), seen_hashes=set())
    assert decision.outcome == "applied"
    assert decision.new.last_updated_at == datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_completed_is_final_and_the_reason_says_so():
    decision = apply_snapshot(view_in("Completed"), later("In Progress"), seen_hashes=set())
    assert decision.outcome == "rejected"
    assert decision.reason == (
        "Status change Completed → In Progress rejected: Completed is final; nothing changed."
    )


def test_in_progress_cannot_go_back_to_initiated():
    decision = apply_snapshot(view_in("In Progress"), later("Initiated"), seen_hashes=set())
    assert decision.outcome == "rejected"
    assert decision.reason == (
        "Status change In Progress → Initiated rejected: that transition is not allowed; "
        "nothing changed."
    )


def test_error_then_in_progress_is_applied_and_clears_the_error():
    current = view_in("Error", error={"code": "X", "message": "Consent expired."})
    assert current.error_message == "Consent expired."
    decision = apply_snapshot(current, later("In Progress"), seen_hashes=set())
    assert decision.outcome == "applied"
    assert decision.new.status == "In Progress"
    assert decision.new.error_message is None


# --- terminal corrections ---------------------------------------------------------------------


def test_a_newer_completed_snapshot_may_correct_score_and_report_url():
    current = view_in("Completed", score="Amber", report_url="https://r.example/old")
    decision = apply_snapshot(
        current,
        later("Completed", score="Red", report_url="https://r.example/new"),
        seen_hashes=set(),
    )
    assert decision.outcome == "applied"
    assert (decision.new.score, decision.new.report_url) == ("Red", "https://r.example/new")


def test_a_newer_canceled_snapshot_is_applied_but_cannot_leave_canceled():
    current = view_in("Canceled")
    assert apply_snapshot(current, later("Canceled"), seen_hashes=set()).outcome == "applied"
    assert apply_snapshot(current, later("Completed"), seen_hashes=set()).outcome == "rejected"


# --- ordering -------------------------------------------------------------------------------


def test_an_older_snapshot_is_stale_and_changes_nothing():
    current = view_in("In Progress", updated_at="2026-11-25T09:00:00Z")
    old = screening("Completed", updated_at="2026-11-24T09:00:00Z", score="Green")
    decision = apply_snapshot(current, old, seen_hashes=set())
    assert decision.outcome == "stale"
    assert decision.new == current
    assert decision.reason == (
        "Older than the newest applied update (Completed at 2026-11-24T09:00:00Z is before "
        "In Progress at 2026-11-25T09:00:00Z); nothing changed."
    )


def test_a_tie_on_updated_at_is_broken_by_status_rank():
    same_time = "2026-11-24T09:00:00Z"
    current = view_in("Error", updated_at=same_time)
    lower = apply_snapshot(current, screening("In Progress", updated_at=same_time), seen_hashes=())
    higher = apply_snapshot(current, screening("Completed", updated_at=same_time), seen_hashes=())
    assert lower.outcome == "stale"
    assert higher.outcome == "applied"


def test_a_tie_on_updated_at_and_rank_is_not_stale():
    same_time = "2026-11-24T09:00:00Z"
    current = view_in("In Progress", updated_at=same_time)
    snapshot = screening("In Progress", updated_at=same_time, piecemeal_status="In Production")
    assert apply_snapshot(current, snapshot, seen_hashes=()).outcome == "applied"


def test_ordering_compares_instants_whatever_the_offset():
    current = view_in("In Progress", updated_at="2026-11-24T10:00:00+01:00")
    assert current.last_updated_at == datetime(2026, 11, 24, 9, tzinfo=UTC)
    earlier = screening("Completed", updated_at="2026-11-24T03:59:59-05:00")
    assert apply_snapshot(current, earlier, seen_hashes=()).outcome == "stale"


def test_a_view_without_any_applied_snapshot_never_calls_a_snapshot_stale():
    current = OrderView.before_backcheck()
    snapshot = screening("In Progress", updated_at="2000-01-01T00:00:00Z")
    assert apply_snapshot(current, snapshot, seen_hashes=()).outcome == "applied"


# --- duplicates -----------------------------------------------------------------------------


def test_the_same_payload_twice_is_a_duplicate_checked_before_anything_else():
    current = view_in("Completed", updated_at="2026-11-25T09:00:00Z")
    # Older and a forbidden transition as well: duplicate still wins.
    snapshot = screening("In Progress", updated_at="2026-11-24T09:00:00Z")
    decision = apply_snapshot(current, snapshot, seen_hashes={snapshot.canonical_hash()})
    assert decision.outcome == "duplicate"
    assert decision.reason == "The same callback was already received; nothing changed."
    assert decision.new == current


def test_a_reordered_copy_of_a_payload_is_still_a_duplicate():
    first = later("In Progress", piecemeal_status="In Production")
    reordered = type(first)(**{**first.__dict__, "raw": dict(reversed(first.raw.items()))})
    assert reordered.canonical_hash() == first.canonical_hash()
    decision = apply_snapshot(
        view_in("In Progress"), reordered, seen_hashes={first.canonical_hash()}
    )
    assert decision.outcome == "duplicate"


# --- services -------------------------------------------------------------------------------


def test_a_service_going_from_complete_back_to_not_started_is_rejected():
    current = view_in(
        "In Progress",
        piecemeal_status="In Production",
        services=[service(*CRIM, "Complete", score="Green"), service(*EMP)],
    )
    snapshot = later(
        "In Progress", piecemeal_status="In Production", services=[service(*CRIM), service(*EMP)]
    )
    decision = apply_snapshot(current, snapshot, seen_hashes=())
    assert decision.outcome == "rejected"
    assert decision.reason == (
        "Service 'Criminal Record Check' cannot go from Complete back to Not Started; "
        "nothing changed."
    )
    assert decision.new == current


def test_an_error_snapshot_without_services_is_applied_and_drops_them():
    current = view_in(
        "In Progress",
        piecemeal_status="In Production",
        services=[service(*CRIM, "Complete", score="Green"), service(*EMP)],
    )
    snapshot = later("Error", error={"code": "EXPIRED", "message": "Invitation expired."})
    decision = apply_snapshot(current, snapshot, seen_hashes=())
    assert decision.outcome == "applied"
    assert decision.new.services == ()
    assert decision.new.piecemeal_status is None
    assert decision.new.error_message == "Invitation expired."


def test_a_service_completing_in_the_same_status_is_applied():
    current = view_in(
        "In Progress", piecemeal_status="In Production", services=[service(*CRIM), service(*EMP)]
    )
    snapshot = later(
        "In Progress",
        piecemeal_status="In Production",
        services=[service(*CRIM, "Complete", score="Green"), service(*EMP)],
    )
    decision = apply_snapshot(current, snapshot, seen_hashes=())
    assert decision.outcome == "applied"
    assert [s.status for s in decision.new.services] == ["Complete", "Not Started"]


def test_a_snapshot_without_order_number_keeps_the_known_one():
    decision = apply_snapshot(
        view_in("Initiated"), later("In Progress", order_number=None), seen_hashes=()
    )
    assert decision.new.order_number == ORDER_NUMBER


# --- the view -------------------------------------------------------------------------------


def test_view_from_the_create_response_is_initiated_with_its_ordering_key():
    view = view_in("Initiated", services=[service(*CRIM), service(*EMP)])
    assert view.status == "Initiated"
    assert view.lever_status == "New"
    assert view.is_active
    assert view.last_rank == 0
    assert view.last_updated_at == datetime(2026, 11, 24, 9, tzinfo=UTC)
    assert [s.name for s in view.services] == ["Criminal Record Check", "Employment Verification"]


def test_view_survives_a_json_round_trip_through_a_json_field():
    view = view_in(
        "Completed",
        piecemeal_status="Fulfilled",
        score="Green",
        report_url="https://r.example/full",
        completed_at="2026-11-25T08:30:00+02:00",
        services=[
            service(
                *CRIM,
                "Complete",
                score="Green",
                completed_at="2026-11-24T09:00:00Z",
                report_url="https://r.example/crim",
            )
        ],
    )
    stored = json.loads(json.dumps(view.to_json()))
    assert stored["completed_at"] == "2026-11-25T06:30:00+00:00"
    assert OrderView.from_json(stored) == view


# --- property: delivery order does not matter --------------------------------------------------

T0 = "2026-11-24T08:00:00Z"  # the create response


def _t(minute: int) -> str:
    return f"2026-11-24T09:{minute:02d}:00Z"


CONSENT = screening(
    "In Progress",
    updated_at=_t(0),
    piecemeal_status="In Production",
    services=[service(*CRIM), service(*EMP)],
)
ONE_DONE = screening(
    "In Progress",
    updated_at=_t(10),
    piecemeal_status="In Production",
    services=[
        service(*CRIM, "Complete", score="Green", completed_at=_t(9), report_url="https://r/c"),
        service(*EMP),
    ],
)
COMPLETE = screening(
    "Completed",
    updated_at=_t(20),
    piecemeal_status="Fulfilled",
    score="Green",
    report_url="https://r/full",
    completed_at=_t(20),
    services=[
        service(*CRIM, "Complete", score="Green", completed_at=_t(9), report_url="https://r/c"),
        service(*EMP, "Complete", score="Green", completed_at=_t(19), report_url="https://r/e"),
    ],
)
ERROR = screening("Error", updated_at=_t(5), error={"code": "EXPIRED", "message": "Expired."})
CANCEL = screening(
    "Canceled",
    updated_at=_t(5),
    piecemeal_status="In Production",
    services=[service(*CRIM), service(*EMP)],
)
RECONSENT = screening(
    "In Progress",
    updated_at=_t(8),
    piecemeal_status="In Production",
    services=[service(*CRIM), service(*EMP)],
)
SCRIPTS = {
    "standard": [CONSENT, ONE_DONE, COMPLETE],
    "error": [CONSENT, ERROR],
    "cancel": [CONSENT, CANCEL],
    "consent_error_consent_complete": [CONSENT, ERROR, RECONSENT, COMPLETE],
}
CREATED = view_from_screening(
    screening("Initiated", updated_at=T0, services=[service(*CRIM), service(*EMP)])
)


def _deliver(sequence: list[Screening]):
    """Feed callbacks like the endpoint does: every received payload's hash is recorded."""
    view, seen, decisions = CREATED, set(), []
    for snapshot in sequence:
        decision = apply_snapshot(view, snapshot, seen_hashes=seen)
        seen.add(snapshot.canonical_hash())
        decisions.append(decision)
        view = decision.new
    return view, decisions


def _assert_lawful(decision) -> None:
    old, new = decision.old, decision.new
    if decision.outcome != "applied":
        assert new == old
        return
    assert new.status == old.status or (old.status, new.status) in ALLOWED
    was_complete = {s.id for s in old.services if s.is_complete}
    assert not any(s.id in was_complete and not s.is_complete for s in new.services)


@st.composite
def shuffled_with_duplicates(draw):
    name = draw(st.sampled_from(sorted(SCRIPTS)))
    script = SCRIPTS[name]
    extra = draw(st.lists(st.integers(0, len(script) - 1), max_size=4))
    order = draw(st.permutations(list(range(len(script))) + extra))
    return script, order


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_in_order_delivery_applies_every_callback(name):
    final, decisions = _deliver(SCRIPTS[name])
    assert [d.outcome for d in decisions] == ["applied"] * len(SCRIPTS[name])
    assert final == view_from_screening(SCRIPTS[name][-1])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shuffled_with_duplicates())
def test_any_delivery_order_with_duplicates_ends_in_the_in_order_state(case):
    script, order = case
    expected, _ = _deliver(script)
    final, decisions = _deliver([script[i] for i in order])
    assert final == expected

    delivered: set[int] = set()
    for index, decision in zip(order, decisions, strict=True):
        _assert_lawful(decision)
        if index in delivered:
            assert decision.outcome == "duplicate"
        else:
            assert decision.outcome in ("applied", "stale")
        delivered.add(index)
    # The newest callback is always applied, and only once.
    newest = len(script) - 1
    applied = [i for i, d in zip(order, decisions, strict=True) if d.outcome == "applied"]
    assert applied.count(newest) == 1
    assert applied == sorted(applied)  # whatever is applied is applied in script order


_services = st.lists(
    st.tuples(st.sampled_from([CRIM, EMP]), st.sampled_from(["Not Started", "Complete"])),
    max_size=2,
    unique_by=lambda item: item[0],
)


@st.composite
def arbitrary_snapshot(draw):
    return screening(
        draw(st.sampled_from(STATUSES)),
        updated_at=_t(draw(st.integers(0, 30))),
        score=draw(st.sampled_from([None, "Green", "Amber", "Red"])),
        services=[service(*svc, status) for svc, status in draw(_services)],
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(arbitrary_snapshot(), max_size=8))
def test_no_sequence_of_snapshots_applies_a_forbidden_transition(snapshots):
    final, decisions = _deliver(snapshots)
    for decision in decisions:
        _assert_lawful(decision)
        if decision.old.status in TERMINAL_STATUSES and decision.outcome == "applied":
            assert decision.new.status == decision.old.status
    assert final.last_updated_at is not None
