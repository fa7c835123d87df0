"""Tests of the orders app.

`screening()` and `service()` build provider payloads the way Backcheck sends them (docs/CONTRACT.md §6)
and parse them with the real schema parser, so the state machine is tested on exactly what the
callback endpoint hands it.
"""

from __future__ import annotations

from typing import Any

from connectors.backcheck.schema import Screening, parse_screening

ORDER_NUMBER = "BC-2026-000123"
SCREENING_ID = "scr_4f9a1c2e7b10"


def service(
    service_id: str,
    name: str,
    status: str = "Not Started",
    *,
    score: str | None = None,
    completed_at: str | None = None,
    report_url: str | None = None,
) -> dict[str, Any]:
    return {
        "id": service_id,
        "name": name,
        "status": status,
        "score": score,
        "completedAt": completed_at,
        "reportUrl": report_url,
    }


def screening(
    status: str = "Initiated",
    *,
    updated_at: str = "2026-11-24T09:00:00Z",
    order_number: str | None = ORDER_NUMBER,
    piecemeal_status: str | None = None,
    score: str | None = None,
    report_url: str | None = None,
    completed_at: str | None = None,
    error: dict[str, str] | None = None,
    services: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
) -> Screening:
    payload = {
        "id": SCREENING_ID,
        "orderNumber": order_number,
        "clientReferenceId": "42",
        "packageId": "std-ca",
        "status": status,
        "piecemealStatus": piecemeal_status,
        "score": score,
        "reportUrl": report_url,
        "updatedAt": updated_at,
        "completedAt": completed_at,
        "error": error,
        "services": list(services),
    }
    return parse_screening(payload)
