"""Injected faults and the request log of the fake Lever (see `FakeLever.inject_fault`)."""

from __future__ import annotations

import threading
from typing import Any

Json = dict[str, Any]
MAX_LOG = 100_000


class FaultsAndLog:
    """The next N matching API requests misbehave; every request is logged."""

    lock: threading.RLock
    faults: list[Json]
    requests: list[Json]

    def inject_fault(
        self,
        *,
        status: int | None = None,
        count: int = 1,
        latency_s: float = 0.0,
        hang: bool = False,
        drop_after_read: bool = False,
        drop_after_apply: bool = False,
        retry_after: float | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """The next `count` matching API requests misbehave.

        `status`: answer it with an error body (`retry_after` adds a Retry-After header);
        `latency_s`: answer late; `hang`: never answer; `drop_after_read`: read the request, then
        close the connection without acting; `drop_after_apply`: act, then close without
        answering (the ambiguous case: the note exists but the client never hears so).
        """
        with self.lock:
            self.faults.append(
                {
                    "status": status,
                    "count": int(count),
                    "latency_s": float(latency_s),
                    "hang": bool(hang),
                    "drop_after_read": bool(drop_after_read),
                    "drop_after_apply": bool(drop_after_apply),
                    "retry_after": retry_after,
                    "method": method.upper() if method else None,
                    "path_contains": path_contains,
                }
            )

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, method: str, path: str) -> Json | None:
        with self.lock:
            for fault in self.faults:
                if fault["method"] and fault["method"] != method:
                    continue
                if fault["path_contains"] and fault["path_contains"] not in path:
                    continue
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                return dict(fault)
        return None

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def _log(self, entry: Json) -> None:
        with self.lock:
            self.requests.append(entry)
            if len(self.requests) > MAX_LOG:  # a long demo run must not grow without bound
                del self.requests[: len(self.requests) - MAX_LOG]
