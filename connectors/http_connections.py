"""Outbound connections: every one vetted against the address rule, kept alive per process.

`connectors.http.HttpClient` sends every request through `shared_adapter()`. A new connection
resolves its host once and connects only to an address connectors/outbound.py allows; an idle one
is reused for a short while (docs/PERFORMANCE.md §2, docs/SECURITY.md).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection
from urllib3.util.retry import Retry

from connectors import outbound

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


def shared_adapter() -> GuardedAdapter:
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
