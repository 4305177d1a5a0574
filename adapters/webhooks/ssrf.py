"""Where a webhook may be sent: https to public addresses only.

A URL is checked when an endpoint is created or changed, and again at every
attempt: its host is resolved, and the URL is refused if ANY resolved address
is loopback, private, link-local, CGNAT (100.64.0.0/10), multicast,
unspecified or reserved, or an IPv4-mapped (or 6to4 / Teredo / NAT64)
IPv6 form of one. The attempt then connects to the address that was checked
(see `Target`), so a DNS answer that changes between the check and the
connection (rebinding) cannot redirect it.

Hosts an operator allows for development (SMSLEDGER_WEBHOOK_ALLOW_HOSTS)
may use http, and their addresses are not checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import SplitResult, urlsplit

MAX_URL_LENGTH = 2048
MAX_ADDRESSES = 32

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(ValueError):
    """The URL may not receive webhooks; the message says why."""


class Resolver(Protocol):
    async def resolve(self, host: str, port: int) -> list[str]:
        """Every address `host` resolves to, as text."""
        ...


class SystemResolver:
    async def resolve(self, host: str, port: int) -> list[str]:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [str(info[4][0]) for info in infos][:MAX_ADDRESSES]


@dataclass(frozen=True, slots=True)
class Target:
    """Where one attempt goes: `address` is the checked IP to connect to;
    `host` is what the Host header and TLS (SNI and the certificate) name."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, as given
    address: str

    def connect_url(self) -> str:
        literal = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        literal = f"[{self.host}]" if ":" in self.host else self.host
        return literal if self.port == default else f"{literal}:{self.port}"


def forbidden_reason(address: IPAddress) -> str | None:
    """Why an address may not receive webhooks, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            return None if inner is None else f"an IPv6 form of {inner}"
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("CGNAT", isinstance(address, ipaddress.IPv4Address) and address in _CGNAT),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("not globally routable", not address.is_global),
    )
    for reason, matched in checks:
        if matched:
            return f"a {reason} address ({address})"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


class UrlGuard:
    def __init__(self, resolver: Resolver, allow_hosts: frozenset[str] = frozenset()) -> None:
        self._resolver = resolver
        self._allow_hosts = frozenset(h.lower() for h in allow_hosts)

    def check_syntax(self, url: str) -> SplitResult:
        """Refuse what no resolution can fix: length, scheme, credentials,
        a missing host. Cheap: no DNS."""
        if len(url) > MAX_URL_LENGTH:
            raise UrlRefused(f"The URL is longer than {MAX_URL_LENGTH} characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise UrlRefused(f"The URL cannot be read: {error}") from None
        if parts.scheme not in ("https", "http"):
            raise UrlRefused("The URL must start with https://")
        host = (parts.hostname or "").lower()
        if not host:
            raise UrlRefused("The URL has no host")
        if parts.username is not None or parts.password is not None:
            raise UrlRefused("The URL may not carry a user name or password")
        if parts.scheme == "http" and host not in self._allow_hosts:
            raise UrlRefused("The URL must use https")
        assert port is None or 0 < port < 65536
        return parts

    async def target(self, url: str) -> Target:
        """Resolve and check `url`; the Target to connect to, or UrlRefused."""
        parts = self.check_syntax(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        addresses = await self._addresses(host, port)
        if host not in self._allow_hosts:
            for address in addresses:
                reason = forbidden_reason(address)
                if reason is not None:
                    raise UrlRefused(f"{host} resolves to {reason}")
        return Target(parts.scheme, host, port, path, str(addresses[0]))

    async def _addresses(self, host: str, port: int) -> Sequence[IPAddress]:
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [literal]
        try:
            resolved = await self._resolver.resolve(host, port)
        except OSError as error:
            raise UrlRefused(f"{host} does not resolve: {error}") from None
        addresses = []
        for text in resolved[:MAX_ADDRESSES]:
            try:
                addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
            except ValueError:
                raise UrlRefused(f"{host} resolves to an unreadable address") from None
        if not addresses:
            raise UrlRefused(f"{host} resolves to no address")
        return addresses
