"""The fake Backcheck's screenings, tokens, faults and logs, and its Python control API.

The HTTP server around it is `server.FakeBackcheck`; callbacks go out through `callbacks`.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.backcheck.fake.callbacks import CallbackDispatcher, _Screening
from connectors.backcheck.fake.script import (
    DEFAULT_REPORT_BASE_URL,
    DEFAULT_SERVICES,
    STANDARD_SCRIPT,
    STATE_STEPS,
    StepError,
    apply_step,
    callback_body,
    new_screening,
)
from connectors.backcheck.fake.validation import validate_create

DEFAULT_CLIENT_ID = "fake-backcheck-client"
DEFAULT_CLIENT_SECRET = "fake-backcheck-secret-do-not-use"  # the fake's own, never a real one
DEFAULT_PACKAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "std-ca": ("Standard Canada", DEFAULT_SERVICES),
}
CALLBACK_MAX_RETRIES = 10
DELIVERY_STEPS = ("stop-callbacks", "duplicate-last", "send-stale")

Clock = Callable[[], datetime]


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _normalize_packages(
    packages: Mapping[str, str | tuple[str, Sequence[str]]] | None,
) -> dict[str, tuple[str, tuple[str, ...]]]:
    if packages is None:
        return dict(DEFAULT_PACKAGES)
    normalized: dict[str, tuple[str, tuple[str, ...]]] = {}
    for code, spec in packages.items():
        if isinstance(spec, str):
            normalized[code] = (spec, DEFAULT_SERVICES)
        else:
            name, services = spec
            normalized[code] = (name, tuple(services))
    return normalized


class BackcheckState(CallbackDispatcher):
    """The fake's state and its Python control API; thread-safe. `server.FakeBackcheck` serves it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        packages: Mapping[str, str | tuple[str, Sequence[str]]] | None = None,
        auto_script: bool = False,
        step_seconds: float = 5.0,
        callback_retry_seconds: float = 900.0,
        callback_timeout_s: float = 10.0,
        token_ttl_s: int = 3600,
        report_base_url: str = DEFAULT_REPORT_BASE_URL,
        first_order_number: int = 1,
        clock: Clock | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.client_secret = client_secret
        self.packages = _normalize_packages(packages)
        self.auto_script = auto_script
        self.step_seconds = step_seconds
        self.callback_retry_seconds = callback_retry_seconds
        self.token_ttl_s = token_ttl_s
        self.report_base_url = report_base_url.rstrip("/")
        self.clock = clock or _wall_clock

        self.requests: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}  # token → monotonic expiry
        self._screenings: dict[str, _Screening] = {}
        self._by_reference: dict[str, str] = {}
        self._order_numbers = itertools.count(first_order_number)
        self._faults: dict[str, Any] = {}
        self._clear_faults()

        self._init_dispatcher(callback_timeout_s)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- state ----------------------------------------------------------------------------------

    def screening(self, screening_id: str) -> dict[str, Any]:
        """Current screening object (a copy)."""
        with self._lock:
            copy: dict[str, Any] = json.loads(json.dumps(self._get(screening_id).payload))
            return copy

    def screening_ids(self) -> list[str]:
        with self._lock:
            return list(self._screenings)

    def candidate(self, screening_id: str) -> dict[str, Any]:
        """The candidate as the portal sent it."""
        with self._lock:
            return dict(self._get(screening_id).candidate)

    def callback_target(self, screening_id: str) -> tuple[str, str]:
        """`(uri, username)` the portal registered; the password is only ever sent back."""
        with self._lock:
            record = self._get(screening_id)
            return record.callback_uri, record.callback_username

    def _get(self, screening_id: str) -> _Screening:
        record = self._screenings.get(screening_id)
        if record is None:
            raise ControlError(404, f"No screening {screening_id!r}.")
        return record

    def _stamp(self, record: _Screening | None) -> datetime:
        moment = self.clock().astimezone(UTC).replace(microsecond=0)
        if record is not None and moment <= record.last_stamp:
            moment = record.last_stamp + timedelta(seconds=1)
        return moment

    # --- tokens and faults ----------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl_s
        return token

    def revoke_tokens(self) -> None:
        """Every issued token becomes unknown: the next API call is a 401."""
        with self._lock:
            self._tokens.clear()

    def _token_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.get(token)
            return expiry is not None and time.monotonic() < expiry

    def fail_next(self, count: int, *, status: int = 503, retry_after: int | None = None) -> None:
        """The next `count` API requests (token requests included) answer `status`."""
        with self._lock:
            self._faults.update(fail_count=count, fail_status=status, retry_after=retry_after)

    def set_latency(self, seconds: float, *, count: int | None = None) -> None:
        """Delay API responses by `seconds` (the next `count` requests, or all until cleared)."""
        with self._lock:
            self._faults.update(latency_s=seconds, latency_count=count)

    def drop_next(self, count: int) -> None:
        """The next `count` API requests read the request, then close without an answer."""
        with self._lock:
            self._faults["drop_count"] = count

    def clear_faults(self) -> None:
        with self._lock:
            self._clear_faults()

    def _clear_faults(self) -> None:
        self._faults = {
            "fail_count": 0,
            "fail_status": 503,
            "retry_after": None,
            "latency_s": 0.0,
            "latency_count": None,
            "drop_count": 0,
        }

    def _take_fault(self) -> tuple[float, str | None, int, int | None]:
        """(latency, "fail"/"drop"/None, status, retry_after) for one API request."""
        with self._lock:
            faults = self._faults
            latency = faults["latency_s"]
            if latency and faults["latency_count"] is not None:
                faults["latency_count"] -= 1
                if faults["latency_count"] <= 0:
                    faults["latency_s"], faults["latency_count"] = 0.0, None
            if faults["drop_count"] > 0:
                faults["drop_count"] -= 1
                return latency, "drop", 0, None
            if faults["fail_count"] > 0:
                faults["fail_count"] -= 1
                return latency, "fail", faults["fail_status"], faults["retry_after"]
            return latency, None, 0, None

    def log_request(self, method: str, path: str, status: int, started: float) -> None:
        with self._lock:
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "status": status,
                    "at": datetime.now(UTC).isoformat(),
                    "duration_ms": int((time.monotonic() - started) * 1000),
                }
            )

    def requests_to(self, path: str, method: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                entry
                for entry in self.requests
                if entry["path"] == path and (method is None or entry["method"] == method)
            ]

    # --- API behaviour --------------------------------------------------------------------------

    def create(self, body: Any) -> tuple[int, dict[str, Any]]:
        """`POST /screenings`: validate, then 201 with the new screening or 409 with the old."""
        problem = validate_create(body, self.packages)
        if problem:
            return 400, {"code": "VALIDATION_ERROR", "message": problem}
        reference = body["clientReferenceId"]
        with self._lock:
            existing = self._by_reference.get(reference)
            if existing is not None:
                return 409, {"id": existing}
            screening_id = "scr_" + secrets.token_hex(6)
            at = self._stamp(None)
            package_id = body["packageId"]
            payload = new_screening(
                screening_id=screening_id,
                order_number=f"BC-{at.year}-{next(self._order_numbers):06d}",
                client_reference_id=reference,
                package_id=package_id,
                services=self.packages[package_id][1],
                at=at,
            )
            credentials = body["callback"]["credentials"]["basicAuth"]
            self._screenings[screening_id] = _Screening(
                payload=payload,
                snapshots=[payload],
                candidate=dict(body["candidate"]),
                callback_uri=body["callback"]["uri"],
                callback_username=credentials["username"],
                callback_password=credentials["password"],
                last_stamp=at,
            )
            self._by_reference[reference] = screening_id
            if self.auto_script:
                self._schedule_script(screening_id, 0)
            return 201, json.loads(json.dumps(payload))

    def cancel_via_api(self, screening_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            record = self._get(screening_id)
            status = record.payload["status"]
            if status == "Completed":
                return 409, {
                    "code": "INVALID_STATE",
                    "message": "A completed screening cannot be canceled.",
                }
            if status != "Canceled":  # cancelling twice changes nothing
                self.step(screening_id, "cancel")
            return 200, self.screening(screening_id)

    # --- named steps ----------------------------------------------------------------------------

    def step(self, screening_id: str, name: str, *args: str) -> dict[str, Any]:
        """Apply one named step; returns the screening object afterwards."""
        with self._lock:
            record = self._get(screening_id)
            if name == "stop-callbacks":
                record.callbacks_stopped = True
            elif name == "duplicate-last":
                if record.last_body is None:
                    raise ControlError(409, "No callback has been sent for this screening yet.")
                self._send(screening_id, record, record.last_body)
            elif name == "send-stale":
                if len(record.snapshots) < 2:
                    raise ControlError(409, "This screening has no older snapshot to send.")
                self._send(screening_id, record, _encode(callback_body(record.snapshots[-2])))
            elif name not in STATE_STEPS:
                steps = ", ".join(STATE_STEPS + DELIVERY_STEPS)
                raise ControlError(400, f"Unknown step {name!r}; the steps are: {steps}.")
            else:
                try:
                    payload = apply_step(
                        record.payload,
                        name,
                        args,
                        at=self._stamp(record),
                        report_base_url=self.report_base_url,
                    )
                except StepError as exc:
                    raise ControlError(400, str(exc)) from None
                record.payload = payload
                record.snapshots.append(payload)
                record.last_stamp = _parse_ts(payload["updatedAt"])
                body = _encode(callback_body(payload))
                record.last_body = body
                self._send(screening_id, record, body)
            return self.screening(screening_id)

    def consent(self, screening_id: str) -> dict[str, Any]:
        return self.step(screening_id, "consent")

    def complete_service(self, screening_id: str, name: str, score: str) -> dict[str, Any]:
        return self.step(screening_id, "complete-service", name, score)

    def complete(self, screening_id: str, score: str) -> dict[str, Any]:
        return self.step(screening_id, "complete", score)

    def error(self, screening_id: str, message: str) -> dict[str, Any]:
        return self.step(screening_id, "error", message)

    def cancel(self, screening_id: str) -> dict[str, Any]:
        return self.step(screening_id, "cancel")

    def stop_callbacks(self, screening_id: str) -> dict[str, Any]:
        """No callback for later changes of this screening and no more retries of failed ones
        (the portal's reconcile has to find changes by polling)."""
        return self.step(screening_id, "stop-callbacks")

    def duplicate_last(self, screening_id: str) -> dict[str, Any]:
        """POST the last callback body again, byte for byte."""
        return self.step(screening_id, "duplicate-last")

    def send_stale(self, screening_id: str) -> dict[str, Any]:
        """POST the snapshot before the current one (an out-of-order delivery)."""
        return self.step(screening_id, "send-stale")

    def run_standard_script(self, screening_id: str) -> None:
        """Start the timed standard script: one step every `step_seconds` from now."""
        with self._lock:
            self._get(screening_id)
            self._schedule_script(screening_id, 0)

    def _schedule_script(self, screening_id: str, index: int) -> None:
        if index >= len(STANDARD_SCRIPT):
            return

        def run() -> None:
            name, args = STANDARD_SCRIPT[index]
            try:
                self.step(screening_id, name, *args)
            finally:
                with self._lock:
                    self._schedule_script(screening_id, index + 1)

        self._schedule(self.step_seconds, run)


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
