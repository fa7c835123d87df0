"""Webhooks the fake Lever sends: signed bodies and deliveries like Lever's (docs/LEVER.md)."""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from connectors.lever.signature import compute_signature

Json = dict[str, Any]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Lever counts a 3xx answer as a failed delivery (docs/LEVER.md, Delivery): never follow one.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def signed_body(
    event: str,
    data: Json,
    signature_token: str | None,
    *,
    triggered_at: int | None = None,
) -> Json:
    token = secrets.token_hex(24)
    triggered_at = triggered_at or int(time.time() * 1000)
    # Before the customer has a signature token (Verify Connection) the signature is one
    # nobody can check: sign with a throwaway token.
    key = signature_token or secrets.token_hex(16)
    return {
        "id": str(uuid.uuid4()),
        "event": event,
        "triggeredAt": triggered_at,
        "token": token,
        "signature": compute_signature(key, token, triggered_at),
        "data": data,
    }


def deliver(
    url: str,
    body: Json,
    *,
    retries: int,
    retry_gaps: Sequence[float],
    timeout_s: float,
    stop: threading.Event,
    record: Callable[[Json], None],
) -> int:
    """POST like Lever: JSON, `User-Agent: Lever-Webhooks`, any non-2xx retried.

    Each attempt is passed to `record`; returns the last status (0: no answer).
    """
    payload = json.dumps(body).encode()
    status = 0
    for attempt in range(retries + 1):
        if attempt:
            gap = retry_gaps[min(attempt - 1, len(retry_gaps) - 1)]
            if stop.wait(gap):
                break
        request = urllib.request.Request(  # noqa: S310 - the test's own URL
            url,
            data=payload,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "Lever-Webhooks"},
        )
        error = None
        try:
            with _opener.open(request, timeout=timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            status, error = 0, type(exc).__name__
        record(
            {
                "url": url,
                "event": body.get("event"),
                "token": body.get("token"),
                "attempt": attempt + 1,
                "status": status,
                "error": error,
                "time": time.time(),
            }
        )
        if 200 <= status < 300:
            break
    return status
