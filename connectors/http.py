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
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.util import connection as urllib3_connection
from urllib3.util.retry import Retry

from connectors import outbound

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


# --- connections that obey the outbound address rule (connectors/outbound.py) ----------------


class _GuardedConnectionMixin:
    """Resolve the host once, check every address, connect to a checked one.

    urllib3 would otherwise resolve the name itself at connect time, after any earlier check,
    so a name that answered with a public address once and a private one now (DNS rebinding)
    would slip through. TLS still verifies the certificate against the host name.
    """

    def _new_conn(self) -> socket.socket:
        host, port = self._dns_host, self.port  # type: ignore[attr-defined]
        if outbound.allow_private():
            try:
                addresses = outbound.resolve(host, port)
            except socket.gaierror as exc:
                raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[attr-defined,arg-type]
        else:
            addresses, problem = outbound.host_problem(host, port)
            if problem:
                if not addresses:
                    raise NameResolutionError(self.host, self, socket.gaierror(problem))  # type: ignore[attr-defined,arg-type]
                raise outbound.BlockedAddress(problem)
        last: OSError | None = None
        for address in addresses:
            try:
                sock = urllib3_connection.create_connection(
                    (address, port),
                    self.timeout,  # type: ignore[attr-defined]
                    source_address=self.source_address,  # type: ignore[attr-defined]
                    socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"connect timeout to {host}") from exc
            except OSError as exc:
                last = exc
                continue
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last}")  # type: ignore[arg-type]


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _IdleLimitMixin:
    """Reuse a kept-alive connection only while it has been idle less than KEEPALIVE_IDLE_S.

    Past that, the connection is closed and the next request opens a new one, which resolves and
    checks the host again (`_GuardedConnectionMixin`) and does not race a server closing its idle
    side. (urllib3 itself already drops a connection the server has visibly closed.)
    """

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        idle_since = getattr(conn, "idle_since", None)
        if idle_since is not None and time.monotonic() - idle_since > KEEPALIVE_IDLE_S:
            conn.close()  # reconnects, through the guard, on its next request
        return conn

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            conn.idle_since = time.monotonic()
        super()._put_conn(conn)  # type: ignore[misc]


class _GuardedHTTPPool(_IdleLimitMixin, HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(_IdleLimitMixin, HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _GuardedHTTPPool,
            "https": _GuardedHTTPSPool,
        }


# Connections are kept per process and reused by every client (docs/PERFORMANCE.md §2): a new
# TCP (and TLS) connection per call spends a handshake's CPU and round trips on every note. A
# pool holds connections of one scheme, host and port, each opened through the guard above. The
# pools are per process (a forked child starts with none, never sharing its parent's sockets) and
# per outbound rule, so a connection opened while private addresses were allowed is never used
# once they are not. Only connections are shared: cookies, auth and headers stay with each client
# and each request.
KEEPALIVE_IDLE_S = 10.0
POOL_HOSTS = 20  # hosts (scheme, host, port) kept per process
POOL_CONNECTIONS_PER_HOST = 32  # idle connections kept per host (threads of a web process)
_adapters: dict[tuple[int, bool], GuardedAdapter] = {}
_adapters_lock = threading.Lock()


def _shared_adapter() -> GuardedAdapter:
    key = (os.getpid(), outbound.allow_private())
    adapter = _adapters.get(key)
    if adapter is None:
        with _adapters_lock:
            adapter = _adapters.get(key)
            if adapter is None:
                # No automatic retries anywhere: a silently retried POST could create a second
                # note.
                adapter = GuardedAdapter(
                    max_retries=Retry(total=0, connect=0, read=0, redirect=0),
                    pool_connections=POOL_HOSTS,
                    pool_maxsize=POOL_CONNECTIONS_PER_HOST,
                )
                _adapters[key] = adapter
    return adapter


def close_connections() -> None:
    """Close this process's kept-alive connections (tests; a process about to exit)."""
    with _adapters_lock:
        adapters = list(_adapters.values())
        _adapters.clear()
    for adapter in adapters:
        adapter.close()


def _forget_parent_connections() -> None:
    # In a forked child the parent's sockets must not be used (both would read one stream); the
    # lock may have been held by another thread at fork time, so both are simply replaced.
    global _adapters_lock
    _adapters.clear()
    _adapters_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parent_connections)


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
        adapter = _shared_adapter()
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
