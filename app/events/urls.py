"""Which endpoint URLs events may be sent to: ``https`` on a public address, so an event
endpoint cannot be aimed at the service's own network (SSRF). Development and tests may
allow plain ``http`` and private addresses (``TOUCHBASE_EVENTS_ALLOW_PRIVATE_URLS``)."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def refused_address(address: IPAddress) -> str | None:
    """Why an address is not public, or None if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return refused_address(address.ipv4_mapped)
    checks = (
        (address.is_loopback, "a loopback"),
        (address.is_link_local, "a link-local"),
        (address.is_multicast, "a multicast"),
        (address.is_unspecified, "an unspecified"),
        (address.is_reserved, "a reserved"),
        (address.is_private, "a private"),
    )
    for hit, kind in checks:
        if hit:
            return f"{kind} address ({address})"
    if not address.is_global:  # shared (CGNAT), documentation, benchmarking ranges
        return f"a non-public address ({address})"
    return None


def ip_literal(host: str) -> IPAddress | None:
    """The address a host names literally, in any form a resolver takes (``127.1``,
    ``2130706433`` and ``0x7f.1`` are 127.0.0.1 too); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def refused_url(url: str, allow_private: bool) -> str | None:
    """Why a URL may not be an endpoint, judged without the network; None if it may."""
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return "must not contain spaces or control characters (percent-encode them)"
    try:
        parts = urlsplit(url)
        port = parts.port
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        return "is not a valid URL"
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        return "must be an https URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    if port == 0:
        return "must not name port 0"
    if allow_private:
        return None
    if parts.hostname == "localhost" or parts.hostname.endswith(".localhost"):
        return "must be on a public address, not localhost"
    if (address := ip_literal(parts.hostname)) is None:
        return None
    refusal = refused_address(address)
    return f"must be on a public address, not {refusal}" if refusal else None


async def refused_host(url: str, allow_private: bool) -> str | None:
    """Why a URL may not be an endpoint, its host resolved: every address it resolves to must
    be public (one private address among public ones would let a resolver choose)."""
    if (refusal := refused_url(url, allow_private)) is not None or allow_private:
        return refusal
    parts = urlsplit(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, parts.port or 443, type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        return f"names a host that does not resolve ({parts.hostname})"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if (why := refused_address(address)) is not None:
            return f"must be on a public address, not {why}"
    return None
