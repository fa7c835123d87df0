"""A pure reference model of one order (docs/CONTRACT.md §2–3), for the soak test.

Given the screening Backcheck returned on create and the callback bodies in the order the portal
received them, it predicts the order's final view and the exact notes Lever must hold. It reuses
the pure decision functions (orders.state, orders.notes) but none of the database code, the
outbox, the workers or the HTTP edges, which are what the soak puts under fault; the soak also
checks hand-written expectations so the model is never only checking itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from connectors.backcheck.schema import parse_screening
from orders.notes import notes_for_decision, render_order_note
from orders.state import OrderView, apply_snapshot, view_from_screening


@dataclass
class ModelOrder:
    view: OrderView
    notes: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)


def _post(model: ModelOrder, text: str) -> None:
    # docs/CONTRACT.md §3: a note equal to the previous note of the same order is not posted.
    if not model.notes or model.notes[-1] != text:
        model.notes.append(text)


def predict(
    created: dict,
    arrivals: Iterable[dict],
    *,
    piecemeal: bool,
    cma: bool,
    package_name: str,
) -> ModelOrder:
    """`created`: the screening object of the 201; `arrivals`: callback bodies, in arrival order."""
    first = parse_screening(created)
    model = ModelOrder(view=view_from_screening(first))
    seen = {first.canonical_hash()}
    _post(model, render_order_note(model.view, package_name=package_name))
    for body in arrivals:
        snapshot = parse_screening(body["payload"])
        decision = apply_snapshot(model.view, snapshot, seen_hashes=seen)
        seen.add(snapshot.canonical_hash())
        model.outcomes.append(decision.outcome)
        for _kind, text in notes_for_decision(
            decision, piecemeal=piecemeal, cma=cma, package_name=package_name
        ):
            _post(model, text)
        model.view = decision.new
    return model
