"""The screening lifecycle the fake Backcheck plays, as pure functions (docs/CONTRACT.md §2, §6).

`apply_step` is the one implementation of every named state step; the fake server runs it on its
live screenings and `standard_script_payloads` runs it on a fixed timeline, so the committed golden
fixture and the live fake cannot drift apart without the golden test noticing.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.backcheck.schema import SCORES

DEFAULT_SERVICES = ("Criminal Record Check", "Employment Verification")
# An example domain (RFC 2606): report links in tests and the demo point nowhere real.
DEFAULT_REPORT_BASE_URL = "https://reports.backcheck.example"

STATE_STEPS = ("consent", "complete-service", "complete", "error", "cancel")
# consent → one service → everything: exactly three callbacks.
STANDARD_SCRIPT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("consent", ()),
    ("complete-service", ("Criminal Record Check", "Green")),
    ("complete", ("Green",)),
)


class StepError(ValueError):
    """A step that cannot be applied (unknown name, missing argument, unknown service)."""


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def service_id(name: str) -> str:
    """Stable id per service name, so report URLs are predictable across runs."""
    return "svc_" + (re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "service")


def new_screening(
    *,
    screening_id: str,
    order_number: str,
    client_reference_id: str,
    package_id: str,
    services: Sequence[str],
    at: datetime,
) -> dict[str, Any]:
    """The object `POST /screenings` answers 201 with: Initiated, nothing started."""
    return {
        "id": screening_id,
        "orderNumber": order_number,
        "clientReferenceId": client_reference_id,
        "packageId": package_id,
        "status": "Initiated",
        "piecemealStatus": None,
        "score": None,
        "reportUrl": None,
        "updatedAt": format_timestamp(at),
        "completedAt": None,
        "error": None,
        "services": [
            {
                "id": service_id(name),
                "name": name,
                "status": "Not Started",
                "score": None,
                "completedAt": None,
                "reportUrl": None,
            }
            for name in services
        ],
    }


def _score(args: Sequence[str], position: int, step: str) -> str:
    if len(args) <= position or args[position] not in SCORES:
        raise StepError(f"{step} needs a score, one of: {', '.join(SCORES)}.")
    return args[position]


def _complete_service(service: dict[str, Any], *, score: str, stamp: str, report_base: str) -> None:
    service["status"] = "Complete"
    service["score"] = score
    service["completedAt"] = service["completedAt"] or stamp
    service["reportUrl"] = report_base + service["id"]


def apply_step(
    screening: dict[str, Any],
    step: str,
    args: Sequence[str] = (),
    *,
    at: datetime,
    report_base_url: str = DEFAULT_REPORT_BASE_URL,
) -> dict[str, Any]:
    """A new screening object after `step`, stamped `at`; the input is left untouched.

    Steps are applied whatever the current status: the fake must be able to send transitions the
    portal is supposed to refuse (e.g. `consent` after `cancel`).
    """
    state = copy.deepcopy(screening)
    stamp = format_timestamp(at)
    report_base = f"{report_base_url.rstrip('/')}/{state['id']}/"
    services = state["services"]
    if step == "consent":
        state["status"] = "In Progress"
        state["error"] = None
    elif step == "complete-service":
        if not args:
            raise StepError("complete-service needs a service name and a score.")
        name = args[0]
        matches = [service for service in services if service["name"] == name]
        if not matches:
            known = ", ".join(service["name"] for service in services) or "none"
            raise StepError(f"No service named {name!r} in this screening (services: {known}).")
        _complete_service(
            matches[0], score=_score(args, 1, step), stamp=stamp, report_base=report_base
        )
        state["status"] = "In Progress"
        state["error"] = None
    elif step == "complete":
        score = _score(args, 0, step)
        for service in services:
            if service["status"] != "Complete":
                _complete_service(service, score=score, stamp=stamp, report_base=report_base)
        state.update(
            status="Completed",
            score=score,
            reportUrl=report_base + "full",
            completedAt=stamp,
            error=None,
        )
    elif step == "error":
        message = " ".join(args).strip()
        if not message:
            raise StepError("error needs a message.")
        state["status"] = "Error"
        state["error"] = {"code": "PROVIDER_ERROR", "message": message}
    elif step == "cancel":
        state["status"] = "Canceled"
    else:
        raise StepError(f"Unknown step {step!r}; state steps are: {', '.join(STATE_STEPS)}.")
    if step in ("consent", "complete-service", "complete"):
        # docs/CONTRACT.md §2: In Production while any service is unfinished, Fulfilled when all are.
        done = step == "complete" or (
            bool(services) and all(service["status"] == "Complete" for service in services)
        )
        state["piecemealStatus"] = "Fulfilled" if done else "In Production"
    state["updatedAt"] = stamp
    return state


def callback_body(screening: dict[str, Any]) -> dict[str, Any]:
    return {"type": "screening", "payload": screening}


def standard_script_payloads(
    *,
    screening_id: str,
    order_number: str,
    client_reference_id: str,
    package_id: str,
    services: Sequence[str] = DEFAULT_SERVICES,
    start: datetime,
    report_base_url: str = DEFAULT_REPORT_BASE_URL,
    step_seconds: int = 60,
) -> list[dict[str, Any]]:
    """The callback bodies of the standard script for a screening created at `start`, one step
    every `step_seconds` (whole seconds: timestamps carry no fractions)."""
    state = new_screening(
        screening_id=screening_id,
        order_number=order_number,
        client_reference_id=client_reference_id,
        package_id=package_id,
        services=services,
        at=start,
    )
    bodies = []
    for index, (step, args) in enumerate(STANDARD_SCRIPT, start=1):
        at = start + timedelta(seconds=index * step_seconds)
        state = apply_step(state, step, args, at=at, report_base_url=report_base_url)
        bodies.append(callback_body(state))
    return bodies


# Beside the Backcheck client it checks: connectors/backcheck/fixtures/.
GOLDEN_PATH = Path(__file__).resolve().parent.parent / "fixtures" / "standard_script.json"
GOLDEN_START = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)


def golden_fixture() -> dict[str, Any]:
    """The committed golden fixture: the standard script's three callbacks for a fixed screening.

    The orders app derives its expected Lever notes from it; `clientReferenceId` is a placeholder
    that tests replace with their order id.
    """
    fixed = {
        "screening_id": "scr_golden",
        "order_number": "BC-2026-000123",
        "client_reference_id": "<our order id>",
        "package_id": "std-ca",
    }
    callbacks = standard_script_payloads(
        screening_id=fixed["screening_id"],
        order_number=fixed["order_number"],
        client_reference_id=fixed["client_reference_id"],
        package_id=fixed["package_id"],
        start=GOLDEN_START,
    )
    return {"start": format_timestamp(GOLDEN_START), **fixed, "callbacks": callbacks}


if __name__ == "__main__":
    # Regenerate the golden fixture: python -m connectors.backcheck.fake.script
    GOLDEN_PATH.write_text(json.dumps(golden_fixture(), indent=2) + "\n")
    print(f"wrote {GOLDEN_PATH}")
