"""Lever extras as outbox rows: status tags and auto-advance (connectors/extras.py has the rules).

They travel in the order's note group, so they are sent in order after the note they follow,
limited by the same per-key rate limiter, retried, and recorded attempt by attempt like notes.
Each row is one Lever request; its text says what it does (and is what the case page shows).
"""

from __future__ import annotations

from connectors.extras import status_tag
from connectors.http import HttpError
from connectors.lever.client import LeverClient
from connectors.models import Tenant
from orders.models import LeverNote
from orders.state import LEVER_STATUS

EXTRA_KINDS = frozenset({LeverNote.Kind.TAG_ADD, LeverNote.Kind.TAG_REMOVE, LeverNote.Kind.STAGE})
_PREFIX: dict[str, str] = {
    LeverNote.Kind.TAG_ADD: "Add tag: ",
    LeverNote.Kind.TAG_REMOVE: "Remove tag: ",
    LeverNote.Kind.STAGE: "Move to stage: ",
}


def extra_rows(
    *, tenant: Tenant, old_status: str | None, new_status: str, score: str | None
) -> list[tuple[str, str]]:
    """The (kind, text) of the extras a status change asks for (none unless the tenant turned
    them on). orders.services.notes.extras_enqueue adds them to the order's note group."""
    if old_status == new_status:
        return []
    rows: list[tuple[str, str]] = []
    if tenant.status_tag_prefix:
        new_tag = status_tag(tenant.status_tag_prefix, LEVER_STATUS[new_status])
        rows.append((LeverNote.Kind.TAG_ADD, new_tag))
        if old_status is not None:
            old_tag = status_tag(tenant.status_tag_prefix, LEVER_STATUS[old_status])
            if old_tag != new_tag:
                rows.append((LeverNote.Kind.TAG_REMOVE, old_tag))
    if (
        tenant.advance_stage_id
        and new_status == "Completed"
        and (score == "Green" or not tenant.advance_only_green)
    ):
        rows.append((LeverNote.Kind.STAGE, tenant.advance_stage_id))
    return [(kind, _PREFIX[kind] + value) for kind, value in rows]


def extra_send(client: LeverClient, note: LeverNote) -> None:
    """Make the row's Lever request.

    Adding or removing a tag twice changes nothing, so a retry after a lost answer is safe. A
    stage move is looked up first after an ambiguous attempt: a candidate already in the stage
    is not moved again (a second move would add a second entry to the stage history).
    """
    value = note.text.removeprefix(_PREFIX[note.kind])
    if note.kind == LeverNote.Kind.TAG_ADD:
        client.add_tags(note.opportunity_id, [value])
        return
    if note.kind == LeverNote.Kind.TAG_REMOVE:
        client.remove_tags(note.opportunity_id, [value])
        return
    if note.check_before_send_since is not None:
        if client.get_opportunity(note.opportunity_id).stage == value:
            return
    tenant = note.tenant
    stage = client.move_to_stage(
        note.opportunity_id, value, perform_as=tenant.note_author_user_id or None
    )
    if stage != value:
        raise HttpError("permanent", f"Lever kept the candidate in stage {stage!r}")
