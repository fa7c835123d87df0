"""Publishing Celery tasks without ever failing or hanging the request that stored the work.

The row is the source of truth (docs/CONTRACT.md §7): if the broker is down when a row commits, the
publish is logged and dropped, and the beat sweeper re-enqueues the row later. So an outage of
Redis costs latency, never an event.

Inside a web request, publishing waits until the answer has been handed to the server (Django's
`request_finished`, sent when the WSGI server closes the response): Lever and Backcheck get their
200 a broker round trip sooner. The row is committed before the answer either way; a process
that dies in between leaves the row to the sweeper, exactly like a publish that failed.

Tasks are named, not imported: an app's services publish their own tasks through this module
without importing the module that defines them (the tasks import the services).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from django.core.signals import request_finished
from django.db import transaction

from integration_portal.celery import app as celery_app

if TYPE_CHECKING:
    from collections.abc import Callable

    from django.http import HttpRequest
    from django.http.response import HttpResponseBase

logger = logging.getLogger(__name__)

# After a failed publish, skip publishing for a short while: every request would otherwise pay
# the broker's connect timeout while Redis is down. The sweeper covers what is skipped.
_BREAKER_S = 5.0
SCHEDULED_QUEUE = "celery.scheduled"
_lock = threading.Lock()
_broken_until = 0.0


def _publish(task_name: str, args: tuple, countdown: float | None) -> bool:
    global _broken_until
    if time.monotonic() < _broken_until:
        return False
    try:
        # Delayed work goes to its own queue: a backlog of fresh work in the default queue must
        # not hold up a task due at a booked rate-limit slot (workers consume both, round robin).
        queue = SCHEDULED_QUEUE if countdown else None
        # A signature runs a task registered in this process through its own apply_async (so
        # CELERY_TASK_ALWAYS_EAGER keeps working) and sends any other by name.
        celery_app.signature(task_name).apply_async(
            args=args, countdown=countdown, retry=False, queue=queue
        )
    except Exception as exc:  # any broker failure: the sweeper will pick the row up
        with _lock:
            _broken_until = time.monotonic() + _BREAKER_S
        logger.warning(
            "could not publish %s (%s); the sweeper will retry", task_name, type(exc).__name__
        )
        return False
    return True


# The publishes a web request has committed and not yet sent; None outside a request.
_deferred = threading.local()


def _committed(task_name: str, args: tuple, countdown: float | None) -> None:
    pending = getattr(_deferred, "pending", None)
    if pending is None:
        _publish(task_name, args, countdown)
    else:
        # The context carries the request id into the task's headers (integration_portal.logging).
        pending.append((contextvars.copy_context(), task_name, args, countdown))


def enqueue(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Publish task `task_name(*args)` once the current transaction commits (now, outside one);
    in a web request, once its answer has been sent."""
    transaction.on_commit(lambda: _committed(task_name, args, countdown))


def defer_until_response_sent() -> None:
    """Start of a web request (PublishAfterResponseMiddleware)."""
    publish_deferred()  # a request whose close() never came must not keep its work back
    _deferred.pending = []


def publish_deferred(**_: Any) -> None:
    """End of a web request (`request_finished`): publish what it committed."""
    pending = getattr(_deferred, "pending", None)
    _deferred.pending = None
    for context, task_name, args, countdown in pending or ():
        context.run(_publish, task_name, args, countdown)


class PublishAfterResponseMiddleware:
    """Holds back the publishes of each request until its answer is sent.

    The middleware that starts holding them back also connects what ends it, so a process that
    serves requests always has both, and no app has to wire the signal.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        request_finished.connect(publish_deferred, dispatch_uid="portal-publish-deferred")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        defer_until_response_sent()
        return self.get_response(request)
