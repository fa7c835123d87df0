"""Orders and everything that happens to them (docs/CONTRACT.md §2, §3, §7).

- `inbound.py` `InboundEvent`: every Lever webhook and Backcheck callback, stored before it is
  acknowledged.
- `order.py` `Order`: one screening order for one Lever opportunity; `ScreeningService` its
  services; `StatusEvent` the append-only status history (what arrived, from → to, the outcome).
- `notes.py` `LeverNote` / `NoteAttempt`: the outbox of notes to post on the candidate, FIFO per
  order, and one row per delivery attempt; `NoteAttemptTally` their running totals for /metrics.
- `actions.py` `CancelRequest` / `OrderAction`: cancelling an order at Backcheck, and the audit
  trail of operator actions.
- `users.py` `UserProfile`: a portal user's own preferences.

History is never deleted: every foreign key into it is PROTECT, and the admin allows no delete.
What is erased is candidate personal data, never a row (orders/services/lifecycle.py): raw bodies
after PAYLOAD_RETENTION_DAYS, and names, emails, phones and bodies of candidates deleted in Lever.
"""

from orders.models.actions import CancelRequest, OrderAction
from orders.models.inbound import InboundEvent
from orders.models.notes import LeverNote, NoteAttempt, NoteAttemptTally
from orders.models.order import Order, ScreeningService, StatusEvent
from orders.models.users import UserProfile

__all__ = [
    "CancelRequest",
    "InboundEvent",
    "LeverNote",
    "NoteAttempt",
    "NoteAttemptTally",
    "Order",
    "OrderAction",
    "ScreeningService",
    "StatusEvent",
    "UserProfile",
]
