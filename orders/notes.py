"""Texts of the notes posted to the candidate in Lever (docs/CONTRACT.md §3, exact), and when to post.

Pure functions of `OrderView`s: the outbox stores the rendered text, so what the dashboard shows,
what the golden fixture pins and what Lever receives are the same string.
Lines are `Label: value`; a line whose value is unknown or withheld is left out; dates are
`YYYY-MM-DD` in UTC; lines are joined with "\\n" with no trailing newline.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from connectors.backcheck.schema import http_url
from orders.state import LEVER_STATUS, Decision, OrderView, ServiceView

HEADER = "Sterling Backcheck background check"

NOTE_KIND_PIECEMEAL = "piecemeal"
NOTE_KIND_ORDER = "order"


def _date(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%d") if value is not None else None


def _line(label: str, value: str | None) -> list[str]:
    return [f"{label}: {value}"] if value else []


def render_order_note(view: OrderView, *, package_name: str | None) -> str:
    lines = [HEADER, f"Status: {LEVER_STATUS[view.status]}"]
    lines += _line("Reference number", view.order_number)
    lines += _line("Package", package_name)
    # The order's score is withheld until the order is Completed (docs/CONTRACT.md §2).
    lines += _line("Results Score", view.score if view.status == "Completed" else None)
    lines += _line("Results Report", http_url(view.report_url))
    lines += _line("Completed Date", _date(view.completed_at))
    if view.status == "Error":
        lines += _line("Error", view.error_message)
    return "\n".join(lines)


def _service_block(service: ServiceView, *, show_score: bool) -> list[str]:
    lines = [service.name, f"Status: {service.status}"]
    lines += _line("Score", service.score if show_score and service.is_complete else None)
    lines += _line("Completed Date", _date(service.completed_at))
    lines += _line("Results Report", http_url(service.report_url))
    return lines


def render_piecemeal_note(view: OrderView, *, cma: bool) -> str:
    lines = [HEADER]
    lines += _line("Status", view.piecemeal_status)
    lines += _line("Reference number", view.order_number)
    # With client matrix adjudication the client adjudicates the whole file, so no service score
    # may show until every service is complete (docs/CONTRACT.md §2).
    show_scores = not cma or all(service.is_complete for service in view.services)
    for service in view.services:
        lines.append("")
        lines += _service_block(service, show_score=show_scores)
    return "\n".join(lines)


def _error_note(message: str) -> str:
    return "\n".join([HEADER, "Status: Error", f"Error: {message}"])


def render_missing_email_note(*, stage_name: str) -> str:
    return _error_note(
        "The candidate has no email address in Lever. Add one, then move the candidate to "
        f'"{stage_name}" again.'
    )


def render_no_package_note(
    *, tags: Sequence[str], stage_name: str, postings_unreadable: bool = False
) -> str:
    unique_tags = list(dict.fromkeys(tag for tag in tags if tag))
    if postings_unreadable:
        # The default package is not offered: the posting, had it been readable, might have
        # named another package. The note names the cause so that someone can fix the key.
        fix = (
            f"Add one of these tags: {', '.join(unique_tags)}"
            if unique_tags
            else "Ask your Backcheck account manager to have the key's access to job postings fixed"
        )
        return _error_note(
            "No screening package matches this candidate's tags, and the job posting's tags "
            f"could not be checked because the Lever API key cannot read job postings. {fix}, "
            f'then move the candidate to "{stage_name}" again.'
        )
    if unique_tags:
        fix = f"Add one of these tags: {', '.join(unique_tags)}"
    else:
        # docs/CONTRACT.md §3 only words the case with tags; with none in the catalog there is nothing
        # for the recruiter to add, so point at the one thing that helps instead of an empty list.
        fix = "Ask your Backcheck account manager to set a default package"
    return _error_note(
        "No screening package matches this candidate's tags or job posting, and no default "
        f'package is set. {fix}, then move the candidate to "{stage_name}" again.'
    )


def notes_for_decision(
    decision: Decision, *, piecemeal: bool, cma: bool, package_name: str | None
) -> list[tuple[str, str]]:
    """The notes one decision posts, as [(kind, text)], piecemeal first (docs/CONTRACT.md §3).

    Stale, duplicate and rejected snapshots change nothing, so they post nothing.
    """
    if decision.outcome != "applied":
        return []
    old, new = decision.old, decision.new
    notes: list[tuple[str, str]] = []

    # Piecemeal note: only when the piecemeal part changed AND the new piecemealStatus is known.
    # An Error snapshot arrives with piecemealStatus null and no services; that "change" must not
    # post a piecemeal note with an empty body. A change the reader cannot see (a service score
    # still withheld under CMA) would repeat the previous text, so it posts nothing either.
    if piecemeal and new.piecemeal_status is not None:
        changed = new.piecemeal_status != old.piecemeal_status or new.services != old.services
        text = render_piecemeal_note(new, cma=cma)
        if changed and text != render_piecemeal_note(old, cma=cma):
            notes.append((NOTE_KIND_PIECEMEAL, text))

    # Order-level note: on a status change, and on a corrected score or report on a Completed
    # order (docs/CONTRACT.md §3).
    status_changed = new.status != old.status
    completed_corrected = new.status == "Completed" and (
        new.score != old.score or new.report_url != old.report_url
    )
    if status_changed or completed_corrected:
        notes.append((NOTE_KIND_ORDER, render_order_note(new, package_name=package_name)))
    return notes


def notifies_followers(kind: str, text: str) -> bool:
    """Whether a note is one a tenant may ask Lever to notify followers of: Completed or Error."""
    if kind == "error":
        return True
    if kind != NOTE_KIND_ORDER:
        return False
    lines = text.splitlines()
    return len(lines) > 1 and lines[1] in ("Status: Completed", "Status: Error")
