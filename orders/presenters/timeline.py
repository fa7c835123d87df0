"""A case's timeline: every webhook, callback, status change, note, delivery attempt and action
of one order, newest first, and the shorter "key events" story.

Pure functions of rows already read (orders/selectors/case.py reads them): no queries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from orders.case_rules import iso as _iso
from orders.case_rules import status_label
from orders.models import InboundEvent, LeverNote, NoteAttempt, OrderAction, StatusEvent


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # webhook | callback | status | note | attempt | action
    title: str
    outcome: str = ""
    detail: list[str] = field(default_factory=list)
    reason: str = ""
    actor: str = ""
    event_id: int | None = None
    note_id: int | None = None
    order: int = 0  # tie-break for entries at the same instant


# Timeline entries that are plumbing: every webhook and callback as it arrived, each delivery
# attempt, each note as queued. "Key events" shows what happened to the case instead.
_PLUMBING_KINDS = {"webhook", "callback", "attempt", "note"}
_PLUMBING_OUTCOMES = {StatusEvent.Outcome.STALE, StatusEvent.Outcome.DUPLICATE}


def key_events(entries: list[TimelineEntry], notes: list[LeverNote]) -> list[TimelineEntry]:
    """The case's story, newest first: status changes, actions, refusals and failures, and one
    row per Lever note (queued and delivered merged)."""
    key = []
    for e in entries:
        if e.kind == "callback" and e.outcome == StatusEvent.Outcome.APPLIED:
            key.append(dataclasses.replace(e, kind="status", detail=[]))
        elif e.kind in _PLUMBING_KINDS or e.outcome in _PLUMBING_OUTCOMES:
            if e.kind == "webhook" and e.outcome == InboundEvent.State.FAILED:
                key.append(e)
        else:
            key.append(dataclasses.replace(e, detail=[]) if e.kind == "status" else e)
    for n in notes:
        lines = n.text.splitlines()
        detail = [lines[1] if len(lines) > 1 else n.text]
        if n.state == LeverNote.State.DELIVERED and n.delivered_at:
            reason = f"Delivered to Lever {_iso(n.delivered_at)} UTC"
            reason += f" after {n.attempts} attempts." if n.attempts > 1 else "."
        elif n.state in (LeverNote.State.FAILED, LeverNote.State.BLOCKED):
            reason = n.last_error or "Waiting behind a failed note of this case."
        else:
            reason = ""
        key.append(
            TimelineEntry(
                at=n.created_at,
                kind="error" if n.state == LeverNote.State.FAILED else "note",
                title=f"Lever note #{n.pk} ({n.get_kind_display().lower()}"
                + (", resync" if n.is_resync else "")
                + ")",
                outcome=n.state,
                detail=detail,
                reason=reason,
                note_id=n.pk,
                order=2,
            )
        )
    key.sort(key=lambda e: (e.at, e.order), reverse=True)
    return key


def _event_title(event: InboundEvent) -> str:
    if event.source == InboundEvent.Source.LEVER:
        return (
            "Lever webhook: stage change"
            if event.event_type == "candidateStageChange"
            else f"Lever webhook: {event.event_type}"
        )
    return "Backcheck callback"


def build_timeline(
    events: Iterable[InboundEvent],
    history: Iterable[StatusEvent],
    notes: Iterable[LeverNote],
    attempts: Iterable[NoteAttempt],
    actions: Iterable[OrderAction],
) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    by_event = {e.pk: e for e in events}
    explained: set[int] = set()
    for s in history:
        event = by_event.get(s.inbound_event_id) if s.inbound_event_id else None
        change = (
            f"{status_label(s.from_status) if s.from_status else '—'} → {status_label(s.to_status)}"
            if s.to_status and s.from_status != s.to_status
            else ""
        )
        arrived = [
            f"{label}: {value}"
            for label, value in (
                ("Arrived status", s.arrived_status),
                ("Piecemeal", s.arrived_piecemeal_status),
                ("Score", s.arrived_score),
                ("Updated at", s.arrived_updated_at and _iso(s.arrived_updated_at) + " UTC"),
            )
            if value
        ]
        if event is not None and event.source == InboundEvent.Source.BACKCHECK:
            explained.add(event.pk)
            title = _event_title(event)
            if event.state == InboundEvent.State.FAILED:
                arrived.append(f"Processing failed: {event.last_error or event.reason}")
        else:
            title = s.get_source_display()
        refused = (
            s.source == StatusEvent.Source.CANCEL and s.outcome == StatusEvent.Outcome.REJECTED
        )
        if refused:
            title = "Cancellation refused" if "refused" in s.reason else "Cancellation not sent"
        entries.append(
            TimelineEntry(
                at=s.created_at,
                kind="error"
                if refused
                else ("callback" if title == "Backcheck callback" else "status"),
                title=title + (f": {change}" if change else ""),
                outcome=s.outcome,
                detail=arrived,
                reason=s.reason,
                actor=s.actor,
                event_id=s.inbound_event_id,
                order=1,
            )
        )
    for e in events:
        if e.pk in explained:
            continue
        detail = []
        if e.source == InboundEvent.Source.LEVER:
            if e.to_stage_id:
                detail.append(f"To stage: {e.to_stage_id}")
            if e.signature_verified is not None:
                detail.append(f"Signature verified: {'yes' if e.signature_verified else 'no'}")
        if e.attempts:
            detail.append(f"Processing attempts: {e.attempts}")
        if e.last_error and e.state == InboundEvent.State.FAILED:
            detail.append(f"Error: {e.last_error}")
        entries.append(
            TimelineEntry(
                at=e.received_at,
                kind="webhook" if e.source == InboundEvent.Source.LEVER else "callback",
                title=_event_title(e),
                outcome=e.outcome or e.state,
                detail=detail,
                reason=e.reason,
                event_id=e.pk,
                order=0,
            )
        )
    for n in notes:
        entries.append(
            TimelineEntry(
                at=n.created_at,
                kind="note",
                title=f"Lever note #{n.pk} queued ({n.get_kind_display().lower()}"
                + (", resync" if n.is_resync else "")
                + ")",
                outcome=n.state,
                detail=[n.text.splitlines()[1] if len(n.text.splitlines()) > 1 else n.text],
                note_id=n.pk,
                order=2,
            )
        )
    for a in attempts:
        detail = [f"HTTP status: {a.http_status or '—'}", f"Duration: {a.duration_ms} ms"]
        entries.append(
            TimelineEntry(
                at=a.started_at,
                kind="attempt",
                title=f"Lever note #{a.note_id} delivery attempt",
                outcome=a.outcome,
                detail=detail,
                reason=a.error,
                note_id=a.note_id,
                order=3,
            )
        )
    for act in actions:
        entries.append(
            TimelineEntry(
                at=act.created_at,
                kind="action",
                title=f"Action: {act.action.replace('_', ' ')}",
                outcome="recorded",
                reason=act.detail,
                actor=act.actor,
                order=4,
            )
        )
    entries.sort(key=lambda e: (e.at, e.order), reverse=True)
    return entries
