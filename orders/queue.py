"""Publishing tasks without ever failing or hanging the request that stored the work.

The row is the source of truth (DESIGN.md §7): if the broker is down when a row commits, the
publish is logged and dropped, and the beat sweeper re-enqueues the row later. So an outage of
Redis costs latency, never an event.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

# After a failed publish, skip publishing for a short while: every request would otherwise pay
# the broker's connect timeout while Redis is down. The sweeper covers what is skipped.
_BREAKER_S = 5.0
SCHEDULED_QUEUE = "celery.scheduled"
_lock = threading.Lock()
_broken_until = 0.0


def _publish(task: Any, args: tuple, countdown: float | None) -> bool:
    global _broken_until
    if time.monotonic() < _broken_until:
        return False
    try:
        # Delayed work goes to its own queue: a backlog of fresh work in the default queue must
        # not hold up a task due at a booked rate-limit slot (workers consume both, round robin).
        queue = SCHEDULED_QUEUE if countdown else None
        task.apply_async(args=args, countdown=countdown, retry=False, queue=queue)
    except Exception as exc:  # any broker failure: the sweeper will pick the row up
        with _lock:
            _broken_until = time.monotonic() + _BREAKER_S
        logger.warning(
            "could not publish %s (%s); the sweeper will retry", task.name, type(exc).__name__
        )
        return False
    return True


def enqueue(task: Any, *args: Any, countdown: float | None = None) -> None:
    """Publish `task(*args)` once the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: _publish(task, args, countdown))


def reset_breaker() -> None:
    global _broken_until
    _broken_until = 0.0
