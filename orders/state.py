"""The order state machine (docs/CONTRACT.md §2), as pure functions over frozen values.

No database and no Django here on purpose: the callback service, the reconciler, the soak test's
reference model and the dashboard all decide with this one implementation, so "what would happen
to this snapshot" has a single answer everywhere.

`OrderView` is what we know of an order at Backcheck (the newest applied snapshot, plus the
ordering key of that snapshot). `apply_snapshot` decides what a new snapshot does to it.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from connectors.backcheck.schema import Screening, Service
from connectors.http import clean_provider_text

# Backcheck order status → the name shown in Lever (docs/CONTRACT.md §2).
LEVER_STATUS: dict[str, str] = {
    "Initiated": "New",
    "In Progress": "In Progress",
    "Canceled": "Canceled",
    "Error": "Error",
    "Completed": "Completed",
}

# Tie-break for two snapshots with the same `updatedAt` (docs/CONTRACT.md §2):
# Initiated < In Progress < Error < Completed = Canceled.
STATUS_RANK: dict[str, int] = {
    "Initiated": 0,
    "In Progress": 1,
    "Error": 2,
    "Completed": 3,
    "Canceled": 3,
}

# Status changes the provider may make (docs/CONTRACT.md §2). Staying in the same status is always
# allowed and is not listed; Completed and Canceled are terminal for the status.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "Initiated": frozenset({"In Progress", "Error", "Canceled", "Completed"}),
    "In Progress": frozenset({"Error", "Canceled", "Completed"}),
    "Error": frozenset({"In Progress", "Completed", "Canceled"}),
    "Completed": frozenset(),
    "Canceled": frozenset(),
}

TERMINAL_STATUSES = frozenset({"Completed", "Canceled"})
# Only these block a new order for the same opportunity (docs/CONTRACT.md §2, §4).
ACTIVE_STATUSES = frozenset({"Initiated", "In Progress"})

Outcome = Literal["applied", "stale", "duplicate", "rejected"]


def _utc(value: datetime | None) -> datetime | None:
    # Backcheck may send any offset; the view keeps UTC so equality, JSON and note dates
    # (which are UTC, docs/CONTRACT.md §3) never depend on the sender's offset.
    return value.astimezone(UTC) if value is not None else None


def _dt_to_json(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt_from_json(value: str | None) -> datetime | None:
    if value is None:
        return None
    return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


@dataclass(frozen=True)
class ServiceView:
    id: str
    name: str
    status: str
    score: str | None
    completed_at: datetime | None
    report_url: str | None

    @property
    def is_complete(self) -> bool:
        return self.status == "Complete"

    @classmethod
    def from_service(cls, service: Service) -> ServiceView:
        return cls(
            id=service.id,
            name=service.name,
            status=service.status,
            score=service.score,
            completed_at=_utc(service.completed_at),
            report_url=service.report_url,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "score": self.score,
            "completed_at": _dt_to_json(self.completed_at),
            "report_url": self.report_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServiceView:
        return cls(
            id=data["id"],
            name=data["name"],
            status=data["status"],
            score=data.get("score"),
            completed_at=_dt_from_json(data.get("completed_at")),
            report_url=data.get("report_url"),
        )


@dataclass(frozen=True)
class OrderView:
    status: str
    order_number: str | None
    piecemeal_status: str | None
    score: str | None
    report_url: str | None
    completed_at: datetime | None
    error_message: str | None
    services: tuple[ServiceView, ...]
    # Ordering key of the newest applied snapshot: (updatedAt, STATUS_RANK[status]).
    # None only for a view no snapshot has been applied to yet.
    last_updated_at: datetime | None
    last_rank: int | None

    @property
    def lever_status(self) -> str:
        return LEVER_STATUS[self.status]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict for a JSONField; `from_json(to_json())` gives an equal view."""
        return {
            "status": self.status,
            "order_number": self.order_number,
            "piecemeal_status": self.piecemeal_status,
            "score": self.score,
            "report_url": self.report_url,
            "completed_at": _dt_to_json(self.completed_at),
            "error_message": self.error_message,
            "services": [service.to_json() for service in self.services],
            "last_updated_at": _dt_to_json(self.last_updated_at),
            "last_rank": self.last_rank,
        }

    @classmethod
    def before_backcheck(cls) -> OrderView:
        """An order Backcheck has not answered yet: just Initiated, with nothing known."""
        return cls(
            status="Initiated",
            order_number=None,
            piecemeal_status=None,
            score=None,
            report_url=None,
            completed_at=None,
            error_message=None,
            services=(),
            last_updated_at=None,
            last_rank=None,
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrderView:
        return cls(
            status=data["status"],
            order_number=data.get("order_number"),
            piecemeal_status=data.get("piecemeal_status"),
            score=data.get("score"),
            report_url=data.get("report_url"),
            completed_at=_dt_from_json(data.get("completed_at")),
            error_message=data.get("error_message"),
            services=tuple(ServiceView.from_json(item) for item in data.get("services") or ()),
            last_updated_at=_dt_from_json(data.get("last_updated_at")),
            last_rank=data.get("last_rank"),
        )


def view_from_screening(screening: Screening) -> OrderView:
    """The view a screening object describes on its own (e.g. the 201 create response)."""
    error_message = screening.error.message if screening.error is not None else None
    if error_message:
        # Goes into the Lever note's Error line: 500 characters at most, no control characters.
        error_message = clean_provider_text(error_message)
    return OrderView(
        status=screening.status,
        order_number=screening.order_number,
        piecemeal_status=screening.piecemeal_status,
        score=screening.score,
        report_url=screening.report_url,
        completed_at=_utc(screening.completed_at),
        # An empty provider message is "unknown", so the note leaves the Error line out.
        error_message=error_message or None,
        services=tuple(ServiceView.from_service(service) for service in screening.services),
        last_updated_at=_utc(screening.updated_at),
        last_rank=STATUS_RANK[screening.status],
    )


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str  # "" when applied; otherwise a sentence for the dashboard and the history
    old: OrderView
    new: OrderView  # equal to `old` unless applied


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else "unknown"


def _regressed_service(current: OrderView, snapshot: Screening) -> Service | None:
    # Matched by service id. A service the snapshot leaves out is not a regression: Error
    # snapshots carry no services at all (see the provider's error callback fixture).
    complete_ids = {service.id for service in current.services if service.is_complete}
    for service in snapshot.services:
        if service.id in complete_ids and not service.is_complete:
            return service
    return None


def apply_snapshot(
    current: OrderView, snapshot: Screening, *, seen_hashes: Container[str]
) -> Decision:
    """Decide what one screening snapshot (callback or reconcile poll) does to the order.

    Checked in this order: duplicate (same canonical payload already recorded), stale (ordering
    key strictly older than the newest applied snapshot), rejected (a transition the table
    forbids, or a service going back from Complete), otherwise applied: the snapshot replaces the
    view, since Backcheck sends the whole object on every change (docs/CONTRACT.md §6).
    """
    if snapshot.canonical_hash() in seen_hashes:
        return Decision(
            outcome="duplicate",
            reason="The same callback was already received; nothing changed.",
            old=current,
            new=current,
        )

    rank = STATUS_RANK[snapshot.status]
    updated_at = _utc(snapshot.updated_at)
    assert updated_at is not None  # the schema requires updatedAt
    if current.last_updated_at is not None and current.last_rank is not None:
        if (updated_at, rank) < (current.last_updated_at, current.last_rank):
            return Decision(
                outcome="stale",
                reason=(
                    f"Older than the newest applied update ({snapshot.status} at "
                    f"{_fmt_time(updated_at)} is before {current.status} at "
                    f"{_fmt_time(current.last_updated_at)}); nothing changed."
                ),
                old=current,
                new=current,
            )

    if snapshot.status != current.status:
        if snapshot.status not in ALLOWED_TRANSITIONS[current.status]:
            if current.status in TERMINAL_STATUSES:
                why = f"{current.status} is final"
            else:
                why = "that transition is not allowed"
            return Decision(
                outcome="rejected",
                reason=(
                    f"Status change {current.status} → {snapshot.status} rejected: {why}; "
                    "nothing changed."
                ),
                old=current,
                new=current,
            )

    regressed = _regressed_service(current, snapshot)
    if regressed is not None:
        return Decision(
            outcome="rejected",
            reason=(
                f"Service {regressed.name!r} cannot go from Complete back to "
                f"{regressed.status}; nothing changed."
            ),
            old=current,
            new=current,
        )

    new = view_from_screening(snapshot)
    if new.order_number is None and current.order_number is not None:
        # A snapshot without orderNumber does not un-know the reference number we already have.
        new = replace(new, order_number=current.order_number)
    return Decision(outcome="applied", reason="", old=current, new=new)
