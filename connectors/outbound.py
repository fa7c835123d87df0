"""Which addresses the portal may call: the guard against being turned on its own network.

A tenant's Lever and Backcheck base URLs are typed in by people, and the portal sends stored
credentials to them. With `OUTBOUND_ALLOW_PRIVATE_NETWORKS` false (the default), a base URL must
be https and its host must not be, or resolve to, a loopback, private (RFC 1918, shared address
space, IPv6 unique-local), link-local (cloud metadata at 169.254.169.254 included), multicast,
reserved or unspecified address. The rule is applied twice: when a URL is stored (`url_problem`)
and when a connection is opened (connectors/http_connections.py resolves the host once with
`resolve`, checks every address with `address_problem`, and connects to the checked address, so
a name that resolves differently the second time cannot redirect the call).

`resolve` is the module's one DNS lookup; tests replace it to stub the resolver.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from urllib.parse import urlsplit

# Ranges that `ipaddress`'s own flags do not cover the way this rule needs them.
_EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT, internal in most clouds
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",  # IPv6 unique local
    )
)


class BlockedAddress(Exception):
    """A connection was refused by the rule above (never an OSError: nothing may retry it)."""


def allow_private() -> bool:
    from django.conf import settings

    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        # A standalone tool with no Django settings (the fake servers' command line), not the
        # portal: the portal's processes always run with settings.
        return True
    return bool(getattr(settings, "OUTBOUND_ALLOW_PRIVATE_NETWORKS", False))


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, in the resolver's order (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])  # a str for the AF_INET and AF_INET6 results asked for
        if address not in seen:
            seen.append(address)
    return seen


def address_problem(address: str) -> str | None:
    """Why the portal must not connect to `address`, or None when it may."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return f"{ip} is an unspecified address"
    if ip.is_loopback:
        return f"{ip} is a loopback address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if any(ip in net for net in _EXTRA_BLOCKED if net.version == ip.version):
        return f"{ip} is a private-network address"
    if ip.is_reserved or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return f"{ip} is a reserved address"
    return None


def host_problem(host: str, port: int) -> tuple[list[str], str | None]:
    """Resolve `host` once; return its addresses and the first reason to refuse any of them."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return [], f"the host {host} could not be resolved"
    if not addresses:
        return [], f"the host {host} could not be resolved"
    for address in addresses:
        problem = address_problem(address)
        if problem:
            return addresses, f"the host {host} resolves to {problem}"
    return addresses, None


RULE = (
    "outside addresses over https only (OUTBOUND_ALLOW_PRIVATE_NETWORKS is false: loopback, "
    "private, link-local, multicast and unspecified addresses are refused)"
)


def url_problem(url: str) -> str | None:
    """Why a base URL may not be stored or called, or None (always None when private is allowed)."""
    if allow_private():
        return None
    parts = urlsplit(url)
    if parts.scheme != "https":
        return f"only https URLs are allowed: {RULE}"
    host = parts.hostname or ""
    try:
        port = parts.port or 443
    except ValueError:
        return "the URL's port is not a number"
    _, problem = host_problem(host, port)
    if problem:
        return f"{problem}; {RULE}"
    return None
