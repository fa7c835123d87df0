"""How the services read Lever's answers: archived state, permission gaps, note text.

Small pure helpers (and one read with a fallback) kept beside the client, so that the order and
note services each call one function instead of repeating Lever's quirks.
"""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.lever.client import Opportunity


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
