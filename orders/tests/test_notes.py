"""Lever note texts (docs/CONTRACT.md §3), compared as full strings, and when each note is posted."""

from __future__ import annotations

import pytest

from orders.notes import (
    HEADER,
    notes_for_decision,
    render_missing_email_note,
    render_no_package_note,
    render_order_note,
    render_piecemeal_note,
)
from orders.state import Decision, apply_snapshot, view_from_screening
from orders.tests import screening, service

CRIM = ("svc_crim", "Criminal Record Check")
EMP = ("svc_emp", "Employment Verification")
CRIM_DONE = service(
    *CRIM,
    "Complete",
    score="Green",
    completed_at="2026-11-24T09:00:00Z",
    report_url="https://reports.backcheck.example/svc_crim",
)
EMP_DONE = service(
    *EMP,
    "Complete",
    score="Amber",
    completed_at="2026-11-25T08:00:00Z",
    report_url="https://reports.backcheck.example/svc_emp",
)


def view(status="Initiated", **kwargs):
    return view_from_screening(screening(status, **kwargs))


def decide(old, new_snapshot) -> Decision:
    return apply_snapshot(old, new_snapshot, seen_hashes=())


# --- order-level note -------------------------------------------------------------------------


def test_new_order_note_shows_new_reference_and_package():
    assert render_order_note(view("Initiated"), package_name="Standard Canada") == (
        "Sterling Backcheck background check\n"
        "Status: New\n"
        "Reference number: BC-2026-000123\n"
        "Package: Standard Canada"
    )


def test_in_progress_note():
    assert render_order_note(view("In Progress"), package_name="Standard Canada") == (
        "Sterling Backcheck background check\n"
        "Status: In Progress\n"
        "Reference number: BC-2026-000123\n"
        "Package: Standard Canada"
    )


def test_completed_note_matches_the_design_example_line_for_line():
    completed = view(
        "Completed",
        score="Green",
        report_url="https://reports.backcheck.example/full",
        completed_at="2026-11-25T08:30:00Z",
    )
    assert render_order_note(completed, package_name="Standard Canada") == (
        "Sterling Backcheck background check\n"
        "Status: Completed\n"
        "Reference number: BC-2026-000123\n"
        "Package: Standard Canada\n"
        "Results Score: Green\n"
        "Results Report: https://reports.backcheck.example/full\n"
        "Completed Date: 2026-11-25"
    )


def test_canceled_note_withholds_a_score_because_the_order_is_not_completed():
    canceled = view("Canceled", score="Red")
    assert render_order_note(canceled, package_name="Standard Canada") == (
        "Sterling Backcheck background check\n"
        "Status: Canceled\n"
        "Reference number: BC-2026-000123\n"
        "Package: Standard Canada"
    )


def test_in_progress_note_withholds_a_score_sent_early():
    note = render_order_note(view("In Progress", score="Amber"), package_name=None)
    assert "Score" not in note


def test_error_note_carries_the_providers_message():
    errored = view(
        "Error",
        error={
            "code": "INVITATION_EXPIRED",
            "message": "The candidate did not complete the consent form within 14 days.",
        },
    )
    assert render_order_note(errored, package_name="Standard Canada") == (
        "Sterling Backcheck background check\n"
        "Status: Error\n"
        "Reference number: BC-2026-000123\n"
        "Package: Standard Canada\n"
        "Error: The candidate did not complete the consent form within 14 days."
    )


def test_error_note_without_a_message_leaves_the_error_line_out():
    errored = view("Error", error={"code": "X", "message": ""})
    assert render_order_note(errored, package_name=None) == (
        "Sterling Backcheck background check\nStatus: Error\nReference number: BC-2026-000123"
    )


def test_unknown_reference_and_package_lines_are_left_out():
    assert render_order_note(view("Initiated", order_number=None), package_name=None) == (
        "Sterling Backcheck background check\nStatus: New"
    )


def test_completed_date_is_the_utc_date():
    late_evening_in_toronto = view("Completed", completed_at="2026-11-25T21:30:00-05:00")
    note = render_order_note(late_evening_in_toronto, package_name=None)
    assert note.endswith("Completed Date: 2026-11-26")


# --- piecemeal note -------------------------------------------------------------------------


IN_PRODUCTION = dict(piecemeal_status="In Production", services=[CRIM_DONE, service(*EMP)])
FULFILLED = dict(piecemeal_status="Fulfilled", services=[CRIM_DONE, EMP_DONE])


def test_piecemeal_note_matches_the_design_example_with_cma_off():
    assert render_piecemeal_note(view("In Progress", **IN_PRODUCTION), cma=False) == (
        "Sterling Backcheck background check\n"
        "Status: In Production\n"
        "Reference number: BC-2026-000123\n"
        "\n"
        "Criminal Record Check\n"
        "Status: Complete\n"
        "Score: Green\n"
        "Completed Date: 2026-11-24\n"
        "Results Report: https://reports.backcheck.example/svc_crim\n"
        "\n"
        "Employment Verification\n"
        "Status: Not Started"
    )


def test_piecemeal_note_with_cma_on_withholds_scores_until_every_service_is_complete():
    assert render_piecemeal_note(view("In Progress", **IN_PRODUCTION), cma=True) == (
        "Sterling Backcheck background check\n"
        "Status: In Production\n"
        "Reference number: BC-2026-000123\n"
        "\n"
        "Criminal Record Check\n"
        "Status: Complete\n"
        "Completed Date: 2026-11-24\n"
        "Results Report: https://reports.backcheck.example/svc_crim\n"
        "\n"
        "Employment Verification\n"
        "Status: Not Started"
    )


@pytest.mark.parametrize("cma", [False, True])
def test_fulfilled_piecemeal_note_shows_every_score_whatever_cma(cma):
    assert render_piecemeal_note(view("Completed", **FULFILLED), cma=cma) == (
        "Sterling Backcheck background check\n"
        "Status: Fulfilled\n"
        "Reference number: BC-2026-000123\n"
        "\n"
        "Criminal Record Check\n"
        "Status: Complete\n"
        "Score: Green\n"
        "Completed Date: 2026-11-24\n"
        "Results Report: https://reports.backcheck.example/svc_crim\n"
        "\n"
        "Employment Verification\n"
        "Status: Complete\n"
        "Score: Amber\n"
        "Completed Date: 2026-11-25\n"
        "Results Report: https://reports.backcheck.example/svc_emp"
    )


def test_piecemeal_note_keeps_the_callbacks_service_order():
    reversed_order = view(
        "In Progress", piecemeal_status="In Production", services=[service(*EMP), CRIM_DONE]
    )
    note = render_piecemeal_note(reversed_order, cma=False)
    assert note.index("Employment Verification") < note.index("Criminal Record Check")


# --- error notes for cases that cannot be ordered ------------------------------------------


def test_missing_email_note_names_the_trigger_stage():
    assert render_missing_email_note(stage_name="Background Check") == (
        "Sterling Backcheck background check\n"
        "Status: Error\n"
        "Error: The candidate has no email address in Lever. Add one, then move the candidate "
        'to "Background Check" again.'
    )


def test_no_package_note_lists_the_catalog_tags_and_the_stage():
    note = render_no_package_note(tags=["bc-standard", "bc-executive"], stage_name="Screening")
    assert note == (
        "Sterling Backcheck background check\n"
        "Status: Error\n"
        "Error: No screening package matches this candidate's tags or job posting, and no "
        "default package is set. Add one of these tags: bc-standard, bc-executive, then move "
        'the candidate to "Screening" again.'
    )


def test_no_package_note_lists_each_tag_once_and_skips_blank_ones():
    note = render_no_package_note(tags=["a", "", "b", "a"], stage_name="BC")
    assert "Add one of these tags: a, b, then move" in note


def test_no_package_note_without_any_tag_asks_for_a_default_package():
    assert render_no_package_note(tags=[], stage_name="Background Check") == (
        "Sterling Backcheck background check\n"
        "Status: Error\n"
        "Error: No screening package matches this candidate's tags or job posting, and no "
        "default package is set. Ask your Backcheck account manager to set a default package, "
        'then move the candidate to "Background Check" again.'
    )


@pytest.mark.parametrize(
    "text",
    [
        render_order_note(view("Initiated"), package_name="P"),
        render_piecemeal_note(view("In Progress", **IN_PRODUCTION), cma=False),
        render_missing_email_note(stage_name="S"),
    ],
)
def test_notes_start_with_the_header_and_have_no_trailing_newline(text):
    assert text.startswith(HEADER + "\n")
    assert not text.endswith("\n")


# --- when notes are posted -------------------------------------------------------------------


LATER = "2026-11-25T09:00:00Z"
LATEST = "2026-11-26T09:00:00Z"


def test_a_status_change_posts_one_order_note():
    decision = decide(view("Initiated"), screening("In Progress", updated_at=LATER))
    assert notes_for_decision(decision, piecemeal=False, cma=False, package_name="P") == [
        ("order", render_order_note(decision.new, package_name="P"))
    ]


def test_a_final_callback_posts_the_piecemeal_note_first_then_the_order_note():
    old = view("In Progress", **IN_PRODUCTION)
    decision = decide(old, screening("Completed", updated_at=LATER, score="Amber", **FULFILLED))
    notes = notes_for_decision(decision, piecemeal=True, cma=False, package_name="P")
    assert [kind for kind, _ in notes] == ["piecemeal", "order"]
    assert notes[0][1] == render_piecemeal_note(decision.new, cma=False)
    assert notes[1][1] == render_order_note(decision.new, package_name="P")


def test_piecemeal_changes_post_nothing_for_a_tenant_without_piecemeal():
    old = view("In Progress", piecemeal_status="In Production", services=[service(*CRIM)])
    decision = decide(
        old,
        screening("In Progress", updated_at=LATER, **{**IN_PRODUCTION, "services": [CRIM_DONE]}),
    )
    assert decision.outcome == "applied"
    assert notes_for_decision(decision, piecemeal=False, cma=False, package_name="P") == []


def test_a_service_completing_posts_only_a_piecemeal_note():
    old = view("In Progress", piecemeal_status="In Production", services=[service(*CRIM)])
    decision = decide(
        old,
        screening(
            "In Progress", updated_at=LATER, piecemeal_status="In Production", services=[CRIM_DONE]
        ),
    )
    notes = notes_for_decision(decision, piecemeal=True, cma=False, package_name="P")
    assert notes == [("piecemeal", render_piecemeal_note(decision.new, cma=False))]


def test_an_error_without_services_posts_no_empty_piecemeal_note():
    old = view("In Progress", **IN_PRODUCTION)
    decision = decide(
        old, screening("Error", updated_at=LATER, error={"code": "X", "message": "Expired."})
    )
    notes = notes_for_decision(decision, piecemeal=True, cma=False, package_name="P")
    assert [kind for kind, _ in notes] == ["order"]
    assert notes[0][1].endswith(
        "Status: Error\nReference number: BC-2026-000123\nPackage: P\nError: Expired."
    )


def test_a_score_correction_on_a_completed_order_posts_an_order_note():
    old = view("Completed", score="Amber", report_url="https://r/1", completed_at=LATER)
    decision = decide(
        old,
        screening(
            "Completed",
            updated_at=LATEST,
            score="Red",
            report_url="https://r/1",
            completed_at=LATER,
        ),
    )
    notes = notes_for_decision(decision, piecemeal=False, cma=False, package_name=None)
    assert len(notes) == 1 and notes[0][0] == "order"
    assert "Results Score: Red" in notes[0][1]


def test_a_report_url_correction_on_a_completed_order_posts_an_order_note():
    old = view("Completed", score="Green", report_url="https://r/1")
    decision = decide(
        old, screening("Completed", updated_at=LATEST, score="Green", report_url="https://r/2")
    )
    notes = notes_for_decision(decision, piecemeal=False, cma=False, package_name=None)
    assert notes == [("order", render_order_note(decision.new, package_name=None))]


def test_a_newer_identical_completed_snapshot_posts_nothing():
    old = view("Completed", score="Green", report_url="https://r/1", **FULFILLED)
    decision = decide(
        old,
        screening(
            "Completed", updated_at=LATEST, score="Green", report_url="https://r/1", **FULFILLED
        ),
    )
    assert decision.outcome == "applied"
    assert notes_for_decision(decision, piecemeal=True, cma=False, package_name="P") == []


def test_a_score_change_still_withheld_under_cma_posts_no_repeated_piecemeal_note():
    services_before = [CRIM_DONE, service(*EMP)]
    services_after = [{**CRIM_DONE, "score": "Red"}, service(*EMP)]
    old = view("In Progress", piecemeal_status="In Production", services=services_before)
    decision = decide(
        old,
        screening(
            "In Progress",
            updated_at=LATER,
            piecemeal_status="In Production",
            services=services_after,
        ),
    )
    assert notes_for_decision(decision, piecemeal=True, cma=True, package_name="P") == []
    # Without CMA the reader sees the new score, so it is posted.
    assert [
        k for k, _ in notes_for_decision(decision, piecemeal=True, cma=False, package_name="P")
    ] == ["piecemeal"]


@pytest.mark.parametrize(
    ("current", "snapshot", "seen"),
    [
        # stale
        (view("In Progress", updated_at=LATER), screening("Completed", score="Green"), False),
        # duplicate
        (view("Initiated"), screening("In Progress", updated_at=LATER), True),
        # rejected
        (view("Completed", updated_at=LATER), screening("In Progress", updated_at=LATEST), False),
    ],
    ids=["stale", "duplicate", "rejected"],
)
def test_stale_duplicate_and_rejected_snapshots_post_nothing(current, snapshot, seen):
    hashes = {snapshot.canonical_hash()} if seen else set()
    decision = apply_snapshot(current, snapshot, seen_hashes=hashes)
    assert decision.outcome != "applied"
    assert notes_for_decision(decision, piecemeal=True, cma=False, package_name="P") == []
