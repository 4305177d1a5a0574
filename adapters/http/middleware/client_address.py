"""The client address that per-address limits and lockouts count by.

By default it is the socket's peer. Behind a reverse proxy every request
comes from the proxy, so the proxies can be named (SMSLEDGER_TRUSTED_PROXIES):
a request from one of them is attributed to the address its proxy put in
X-Forwarded-For, read from the right, skipping further trusted proxies. A
client's own X-Forwarded-For is never believed: anyone can write one, and
would then pick a new address for every request.

IPv6 clients are counted by their /64 network: a single subscriber usually
holds a whole /64 and could otherwise rotate through it freely.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from litestar.types import Scope

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IPV6_CLIENT_PREFIX = 64
# A longer chain is not read further: the hops past this many are the
# client's own words anyway, and reading them costs time on every request.
MAX_FORWARDED_HOPS = 16
MAX_ADDRESS_CHARS = 64
UNKNOWN = "unknown"


class TrustedProxies:
    def __init__(self, networks: Sequence[IpNetwork] = ()) -> None:
        self._networks = tuple(networks)

    def __bool__(self) -> bool:
        return bool(self._networks)

    def trusts(self, address: IpAddress) -> bool:
        return any(address in network for network in self._networks)


def client_address(scope: Scope, trusted: TrustedProxies) -> str:
    """The address to count this request's attempts under."""
    client = scope.get("client")
    peer_text = str(client[0]) if client else UNKNOWN
    if not trusted and ":" not in peer_text:
        # The usual case, on every keyed request's path: an IPv4 peer as the
        # server wrote it, already in its one canonical form.
        return peer_text[:MAX_ADDRESS_CHARS]
    peer = _ip(peer_text)
    if peer is None:
        return peer_text[:MAX_ADDRESS_CHARS]  # not an IP (a test client, a socket)
    if trusted and trusted.trusts(peer):
        peer = _forwarded_client(scope, trusted) or peer
    return _key(peer)


def _forwarded_client(scope: Scope, trusted: TrustedProxies) -> IpAddress | None:
    """The right-most X-Forwarded-For hop that is not a trusted proxy; None
    when there is none that parses (the proxy itself is then the client)."""
    hops: list[str] = []
    for name, value in scope["headers"]:
        if name.lower() == b"x-forwarded-for":
            hops.extend(value.decode("latin-1").split(","))
    for hop in reversed(hops[-MAX_FORWARDED_HOPS:]):
        address = _ip(hop.strip())
        if address is None:
            return None
        if not trusted.trusts(address):
            return address
    return None


def _ip(text: str) -> IpAddress | None:
    """An address as proxies write it: bare, `[v6]:port` or `v4:port`."""
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _key(address: IpAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(address)
