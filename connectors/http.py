"""The one place outbound HTTP happens (STYLE.md habit 2).

Every call has a connect and a read timeout, a User-Agent naming the portal, and turns failure into
one exception, `HttpError`, whose `kind` tells the caller what to do:

- ``permanent``: the other side refused the request (400/401/403/404/422, other 4xx): do not retry.
- ``transient``: nothing reached the other side, or it asked us to come back (connect errors,
  429, 5xx): retry with back-off.
- ``ambiguous``: the request bytes were written and the call then failed (read timeout, reset,
  disconnect): the other side may have acted. Callers of non-idempotent calls must check before
  trying again (docs/CONTRACT.md §7).

Nothing else in the project imports `requests`.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import requests
from urllib3.exceptions import (
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

from connectors import outbound
from connectors.http_connections import shared_adapter

USER_AGENT = "BackcheckLeverPortal/1.0 (+integration portal)"

Kind = Literal["transient", "permanent", "ambiguous"]


@dataclass
class HttpError(Exception):
    kind: Kind
    message: str
    status: int | None = None
    retry_after_s: float | None = None
    body: Any = None  # parsed JSON error body when there is one (never contains our secrets)
    duration_ms: int = 0

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        prefix = f"HTTP {self.status}: " if self.status else ""
        return f"{prefix}{self.message}"


class NotConfigured(Exception):
    """A tenant lacks a setting a connector needs. Permanent: retrying cannot help until someone
    sets it, so a job that meets it fails at once, visibly, and is replayed after the fix.

    `fix` says it in plain words for the people who can act on it.
    """

    service = ""

    def __init__(self, message: str, *, missing: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.missing = missing

    @property
    def fix(self) -> str:
        """E.g. "Lever API key missing — set it, then Replay."."""
        names = list(self.missing) or [f"{self.service} connection settings"]
        what = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        them = "it" if len(names) == 1 else "them"
        return f"{what} missing — set {them}, then Replay."


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: Any
    duration_ms: int
    text: str = field(repr=False, default="")


def _retry_after(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` (seconds or HTTP date) or `X-RateLimit-Reset`."""
    now = time.time() if now is None else now
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            number = float(reset)
        except ValueError:
            return None
        if number > 1e12:  # epoch milliseconds
            return max(0.0, number / 1000 - now)
        if number > 1e9:  # epoch seconds
            return max(0.0, number - now)
        return max(0.0, number)  # seconds from now
    return None


def _caused_by(
    exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]
) -> bool:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
        for linked in (getattr(current, "reason", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                stack.append(linked)
    return False


def _is_connect_failure(exc: BaseException) -> bool:
    """True when the failure happened before any request byte could be written."""
    return _caused_by(exc, (NewConnectionError, NameResolutionError, ConnectionRefusedError))


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
MAX_ERROR_MESSAGE = 500


def clean_provider_text(value: str) -> str:
    """A provider's error text made safe to store and show: control characters out, 500 max."""
    return _CONTROL.sub(" ", value).strip()[:MAX_ERROR_MESSAGE]


def _error_message(body: Any, text: str) -> str:
    if isinstance(body, dict):
        for key in ("message", "error_description", "detail", "error"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return clean_provider_text(value) or "no readable error message"
    return clean_provider_text(text or "") or "no response body"


class HttpClient:
    """A base URL, an auth, and timeouts. Subclass per outside system with one method per call."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: Any = None,
        connect_timeout: float | None = None,
        read_timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        from django.conf import settings

        self.base_url = base_url.rstrip("/")
        self.timeout = (
            connect_timeout if connect_timeout is not None else settings.HTTP_CONNECT_TIMEOUT_S,
            read_timeout if read_timeout is not None else settings.HTTP_READ_TIMEOUT_S,
        )
        self.session = requests.Session()
        adapter = shared_adapter()
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.trust_env = False  # no surprise proxies from the environment
        self.session.auth = auth
        self.session.headers.update(
            {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        )

    def close(self) -> None:
        # Not `session.close()`: that would close the process's shared connections too.
        self.session.cookies.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        ok_statuses: frozenset[int] | None = None,
    ) -> HttpResponse:
        started = time.monotonic()
        url = self.url(path)
        if not outbound.allow_private() and not url.startswith("https://"):
            raise HttpError("permanent", f"refused to call a plain http URL: {outbound.RULE}")
        kwargs: dict[str, Any] = {"params": params, "headers": headers, "timeout": self.timeout}
        if json_body is not None:
            kwargs["json"] = json_body
        if data is not None:
            kwargs["data"] = data
        if auth is not None:
            kwargs["auth"] = auth
        try:
            raw = self.session.request(method, url, allow_redirects=False, **kwargs)
        except outbound.BlockedAddress as exc:
            # Nothing was sent: the address is not one this portal may call.
            raise HttpError(
                "permanent", f"refused to connect: {exc}; {outbound.RULE}", duration_ms=_ms(started)
            ) from None
        except requests.exceptions.ConnectTimeout as exc:
            raise HttpError("transient", "connect timeout", duration_ms=_ms(started)) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise HttpError(
                "ambiguous", "read timeout after the request was sent", duration_ms=_ms(started)
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            if _caused_by(exc, ReadTimeoutError):
                # With retries off, requests reports a read timeout as a ConnectionError.
                raise HttpError(
                    "ambiguous", "read timeout after the request was sent", duration_ms=_ms(started)
                ) from exc
            if _is_connect_failure(exc):
                raise HttpError(
                    "transient", "connection refused or host unreachable", duration_ms=_ms(started)
                ) from exc
            raise HttpError(
                "ambiguous",
                "connection dropped after the request was sent",
                duration_ms=_ms(started),
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise HttpError("ambiguous", type(exc).__name__, duration_ms=_ms(started)) from exc

        duration = _ms(started)
        text = raw.text
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        status = raw.status_code
        ok = ok_statuses or frozenset()
        if 200 <= status < 300 or status in ok:
            return HttpResponse(status, dict(raw.headers), body, duration, text)
        message = _error_message(body, text)
        if status == 429:
            raise HttpError(
                "transient",
                message or "rate limited",
                status,
                _retry_after(raw.headers),
                body,
                duration,
            )
        if status >= 500:
            raise HttpError("transient", message, status, _retry_after(raw.headers), body, duration)
        if 300 <= status < 400:
            raise HttpError(
                "permanent", f"unexpected redirect ({message})", status, None, body, duration
            )
        if status == 408:
            raise HttpError("transient", message, status, None, body, duration)
        raise HttpError("permanent", message, status, None, body, duration)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
