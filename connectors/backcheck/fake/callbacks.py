"""The fake Backcheck's callbacks: one dispatcher thread runs scheduled steps and deliveries in
order, through the project's HTTP choke point, retrying failed deliveries like the real service."""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.http import HttpClient, HttpError

logger = logging.getLogger(__name__)

CALLBACK_MAX_RETRIES = 10


@dataclass
class _Screening:
    payload: dict[str, Any]
    snapshots: list[dict[str, Any]]  # every state, the creation one first
    candidate: dict[str, Any]
    callback_uri: str
    callback_username: str
    callback_password: str
    last_stamp: datetime
    last_body: bytes | None = None
    callbacks_stopped: bool = False


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    run: Callable[[], None] = field(compare=False)


class CallbackDispatcher:
    """Scheduled jobs (steps, callbacks) run one at a time by `_dispatch`, oldest due first."""

    _lock: threading.RLock
    _screenings: dict[str, _Screening]
    callbacks: list[dict[str, Any]]
    callback_retry_seconds: float

    def _init_dispatcher(self, callback_timeout_s: float) -> None:
        self._jobs: list[_Job] = []
        self._job_seq = itertools.count()
        self._jobs_cv = threading.Condition(self._lock)
        self._busy = 0
        self._stopping = False
        self._sender = HttpClient(
            "",
            connect_timeout=min(5.0, callback_timeout_s),
            read_timeout=callback_timeout_s,
            headers={"User-Agent": "FakeBackcheck/1.0 (callbacks)"},
        )

    def _stop_dispatcher(self) -> None:
        with self._jobs_cv:
            self._stopping = True
            self._jobs_cv.notify_all()

    def _send(self, screening_id: str, record: _Screening, body: bytes) -> None:
        if not record.callbacks_stopped:
            self._schedule(0, lambda: self._deliver(screening_id, body, 0))

    def _deliver(self, screening_id: str, body: bytes, retry: int) -> None:
        with self._lock:
            record = self._screenings[screening_id]
            if record.callbacks_stopped and retry > 0:
                # A change made before the stop still goes out once; its retries do not.
                return
            uri = record.callback_uri
            auth = (record.callback_username, record.callback_password)
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            response = self._sender.request(
                "POST",
                uri,
                data=body,
                headers={"Content-Type": "application/json"},
                auth=auth,
            )
            status = response.status
        except HttpError as exc:
            status, error = exc.status, str(exc)
        with self._lock:
            self.callbacks.append(
                {
                    "screening_id": screening_id,
                    "url": uri,
                    "attempt": retry + 1,
                    "status": status,
                    "error": error,
                    "delivered": error is None,
                    "at": datetime.now(UTC).isoformat(),
                    "duration_ms": int((time.monotonic() - started) * 1000),
                    "body": body.decode(),
                }
            )
            if error is not None and retry < CALLBACK_MAX_RETRIES:
                self._schedule(
                    self.callback_retry_seconds,
                    lambda: self._deliver(screening_id, body, retry + 1),
                )

    def delivered_callbacks(self, screening_id: str | None = None) -> list[dict[str, Any]]:
        """Bodies (parsed) of the callbacks the receiver accepted, in delivery order."""
        with self._lock:
            return [
                json.loads(entry["body"])
                for entry in self.callbacks
                if entry["delivered"]
                and (screening_id is None or entry["screening_id"] == screening_id)
            ]

    def wait_for_callbacks(
        self, count: int, *, screening_id: str | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Block until `count` callbacks were delivered; their bodies."""
        deadline = time.monotonic() + timeout
        while True:
            delivered = self.delivered_callbacks(screening_id)
            if len(delivered) >= count:
                return delivered
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(delivered)} of {count} callbacks delivered in {timeout}s")
            time.sleep(0.01)

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Block until no step or callback is scheduled or running."""
        deadline = time.monotonic() + timeout
        with self._jobs_cv:
            while self._jobs or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"fake Backcheck still busy after {timeout}s")
                self._jobs_cv.wait(remaining)

    # --- dispatcher -----------------------------------------------------------------------------

    def _schedule(self, delay_s: float, run: Callable[[], None]) -> None:
        with self._jobs_cv:
            heapq.heappush(self._jobs, _Job(time.monotonic() + delay_s, next(self._job_seq), run))
            self._jobs_cv.notify_all()

    def _dispatch(self) -> None:
        while True:
            with self._jobs_cv:
                while not self._stopping:
                    if self._jobs:
                        wait = self._jobs[0].due - time.monotonic()
                        if wait <= 0:
                            break
                        self._jobs_cv.wait(wait)
                    else:
                        self._jobs_cv.wait()
                if self._stopping:
                    return
                job = heapq.heappop(self._jobs)
                self._busy += 1
            try:
                job.run()
            except Exception:  # a broken job must not stop every later callback
                logger.exception("fake Backcheck job failed")
            finally:
                with self._jobs_cv:
                    self._busy -= 1
                    self._jobs_cv.notify_all()
