"""The client's address, behind the TLS-terminating proxy.

`FORWARDED_ALLOW_IPS` lists the proxies whose `X-Forwarded-For` (and, for gunicorn,
`X-Forwarded-Proto`) is believed: comma-separated addresses or networks, `*` for any, default
`127.0.0.1`. It is the one source for gunicorn (gunicorn.conf.py reads `forwarded_allow_ips()`)
and for Django (`client_ip`), so the two never disagree about whom to trust.

A request from anywhere else is taken at its socket address (`REMOTE_ADDR`), whatever headers it
sends: a client-supplied `X-Forwarded-For` would let anyone pick the address that login and
intake throttles count against. From a trusted proxy, the header is read right to left, skipping
trusted proxies; the first other address is the client's.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

DEFAULT_FORWARDED_ALLOW_IPS = "127.0.0.1"


def forwarded_allow_ips(environ: Any = None) -> str:
    """The raw setting, as gunicorn wants it."""
    value = (environ if environ is not None else os.environ).get("FORWARDED_ALLOW_IPS", "")
    return value.strip() or DEFAULT_FORWARDED_ALLOW_IPS


@lru_cache(maxsize=8)
def _trusted(raw: str) -> tuple[bool, tuple]:
    items = [item.strip() for item in raw.split(",") if item.strip()]
    if "*" in items:
        return True, ()
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue  # gunicorn ignores what it cannot parse, and so does this
    return False, tuple(networks)


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_trusted_proxy(address: str, raw: str | None = None) -> bool:
    from django.conf import settings

    any_proxy, networks = _trusted(raw if raw is not None else settings.FORWARDED_ALLOW_IPS)
    ip = _ip(address or "")
    if ip is None:
        return False
    return any_proxy or any(ip in net for net in networks if net.version == ip.version)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address as text, or None when it cannot be told."""
    remote = _ip(request.META.get("REMOTE_ADDR") or "")
    if remote is None:
        return None
    if not is_trusted_proxy(str(remote)):
        return str(remote)
    forwarded = request.headers.get("x-forwarded-for") or ""
    hops = [hop for hop in (h.strip() for h in forwarded.split(",")) if hop]
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            # A malformed entry: what lies left of it is the client's own claim.
            return str(remote)
        if not is_trusted_proxy(str(ip)):
            return str(ip)
    return str(_ip(hops[0])) if hops else str(remote)
