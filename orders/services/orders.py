"""Writes on orders: open, submit to Backcheck, apply a screening snapshot, cancel, resync,
reconcile (docs/CONTRACT.md §2–§4, §6, §7).

The one import path for the order services; each job lives in a module of its own:
order_records.py (history lines, errors), order_snapshots.py (applying a snapshot),
order_opening.py, order_submission.py, order_cancellation.py and order_sync.py (resync,
reconcile).
"""

from __future__ import annotations

from orders.services.order_cancellation import (
    CANCEL_JOB,
    CANCELLABLE,
    cancel_dismiss,
    cancel_replay,
    cancels_sweep,
    order_cancel_submit,
    order_request_cancel,
)
from orders.services.order_opening import (
    order_open,
    order_record_cannot_order,
    order_reopen_for_submit,
)
from orders.services.order_records import (
    ActiveOrderExists,
    InvalidOrderState,
    active_order_for,
    order_record_fact,
)
from orders.services.order_snapshots import order_apply_screening
from orders.services.order_submission import (
    CALLBACK_PATH,
    SUBMIT_JOB,
    callback_uri,
    order_submit,
    order_submit_replay,
    orders_submit_sweep,
)
from orders.services.order_sync import order_reconcile, order_resync, orders_due_for_reconcile

__all__ = [
    "CALLBACK_PATH",
    "CANCELLABLE",
    "CANCEL_JOB",
    "SUBMIT_JOB",
    "ActiveOrderExists",
    "InvalidOrderState",
    "active_order_for",
    "callback_uri",
    "cancel_dismiss",
    "cancel_replay",
    "cancels_sweep",
    "order_apply_screening",
    "order_cancel_submit",
    "order_open",
    "order_reconcile",
    "order_record_cannot_order",
    "order_record_fact",
    "order_reopen_for_submit",
    "order_request_cancel",
    "order_resync",
    "order_submit",
    "order_submit_replay",
    "orders_due_for_reconcile",
    "orders_submit_sweep",
]
