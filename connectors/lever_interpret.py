"""How the services read Lever's answers: archived state, permission gaps, note text.

Small pure helpers (and one write with a fallback, which records a refused permission on the
tenant) so that the order and note services each call one function instead of repeating Lever's
quirks. It sits above both `connectors.lever` (the client) and `connectors.tenants` (where the
tenant's warnings are kept), so neither of those imports the other's side.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from connectors.http import HttpError
from connectors.lever.client import LeverClient
from connectors.lever.shapes import Opportunity
from connectors.tenants.health import tenant_lever_permission_clear, tenant_lever_permission_warn

if TYPE_CHECKING:
    from connectors.models import Tenant


def archived_reason(opportunity: Opportunity) -> str:
    """Why no order is opened for an archived opportunity, with what Lever says about it."""
    archived = opportunity.archived or {}
    details = []
    at = archived.get("archivedAt")
    if isinstance(at, int) and not isinstance(at, bool):
        details.append(
            "since " + datetime.fromtimestamp(at / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        )
    reason = archived.get("reason")
    if isinstance(reason, str) and reason:
        details.append(f"archive reason {reason[:100]}")
    suffix = f" ({', '.join(details)})" if details else ""
    return f"The opportunity is archived in Lever{suffix}; no order."


def stage_name_or_id(client: LeverClient, stage_id: str, *, tenant_id: int) -> str:
    """The stage's name for a note; its id when unknown or when the key may not read stages.

    Stages only word a note, so a key refused `GET /stages` (403) must not cost the note: the
    refusal is recorded on the tenant's health instead.
    """
    try:
        stages = client.list_stages()
    except HttpError as exc:
        if exc.status != 403:
            raise
        permission_refused(tenant_id=tenant_id, read="stages")
        return stage_id
    return next((stage.text for stage in stages if stage.id == stage_id), stage_id)


def create_note_as_author(
    client: LeverClient,
    opportunity_id: str,
    *,
    value: str,
    secret: bool,
    perform_as: str | None,
    tenant: Tenant,
    notify_followers: bool = False,
) -> str:
    """Post the note as the tenant's note author; without an author if Lever refuses that.

    A key may be refused (403) acting as a user while still allowed to post notes. Lever created
    nothing on a 403, so posting again without `perform_as` cannot make a second note; a key
    refused notes altogether is refused again and the note fails as before.
    """
    try:
        note_id = client.create_note(
            opportunity_id,
            value=value,
            secret=secret,
            perform_as=perform_as,
            notify_followers=notify_followers,
        )
    except HttpError as exc:
        if exc.status != 403 or not perform_as:
            raise
    else:
        if perform_as and "perform_as" in (tenant.lever_permission_warnings or {}):
            permission_restored(tenant_id=tenant.pk, read="perform_as")
        return note_id
    permission_refused(tenant_id=tenant.pk, read="perform_as")
    return client.create_note(
        opportunity_id,
        value=value,
        secret=secret,
        perform_as=None,
        notify_followers=notify_followers,
    )


def permission_refused(*, tenant_id: int, read: str) -> None:
    tenant_lever_permission_warn(tenant_id=tenant_id, read=read)


def permission_restored(*, tenant_id: int, read: str) -> None:
    """Lever allowed a read it had refused: the tenant's health warning goes."""
    tenant_lever_permission_clear(tenant_id=tenant_id, read=read)


# Tags, when Lever hands a note back as HTML; block-level ends and <br> become line breaks.
_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6])\s*/?\s*>", re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_WHITESPACE = re.compile(r"\s+")


def note_text_key(text: str) -> str:
    """`text` as Lever may store or return it, reduced to what a reader sees.

    Lever's notes are plain text, but nothing documented says a note is returned byte for byte:
    line endings, runs of spaces and surrounding blank lines may come back changed, or the text
    wrapped in HTML. The look-before-repost after an ambiguous send compares these keys, so that
    a note Lever did store is found rather than posted a second time.
    """
    if "<" in text and _TAG.search(text):
        text = _TAG.sub(" ", _BREAK.sub("\n", text))
    text = html.unescape(text).replace("\u00a0", " ")
    return _WHITESPACE.sub(" ", text).strip()


def same_note_text(posted: str, ours: str) -> bool:
    return note_text_key(posted) == note_text_key(ours)
