"""Which address a request is counted under: the socket's peer, unless a
trusted proxy forwarded it."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from adapters.http.middleware.client_address import TrustedProxies, client_address

PROXIES = TrustedProxies([ipaddress.ip_network("10.0.0.0/8"),
                          ipaddress.ip_network("2001:db8:aaaa::/48")])


def _scope(peer: str | None, *forwarded: str) -> Any:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return {"type": "http", "client": (peer, 443) if peer else None, "headers": headers}


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.5", (), "203.0.113.5"),
        # An untrusted peer's X-Forwarded-For is the client's own words.
        ("203.0.113.5", ("192.0.2.1",), "203.0.113.5"),
        # A trusted proxy: the right-most hop that is not a trusted proxy.
        ("10.0.0.2", ("192.0.2.1",), "192.0.2.1"),
        ("10.0.0.2", ("198.51.100.9, 192.0.2.1",), "192.0.2.1"),
        ("10.0.0.2", ("198.51.100.9, 192.0.2.1, 10.1.1.1",), "192.0.2.1"),
        ("10.0.0.2", ("198.51.100.9", "192.0.2.1"), "192.0.2.1"),
        ("10.0.0.2", ("192.0.2.1:5555",), "192.0.2.1"),
        ("10.0.0.2", ("[2001:db8:1:2::5]:443",), "2001:db8:1:2::/64"),
        # Nothing usable forwarded: the proxy is the client.
        ("10.0.0.2", (), "10.0.0.2"),
        ("10.0.0.2", ("not-an-address",), "10.0.0.2"),
        ("10.0.0.2", ("10.3.3.3",), "10.0.0.2"),
        # IPv6 clients by their /64; IPv4 written as IPv6 as IPv4.
        ("2001:db8:1:2:3:4:5:6", (), "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", (), "192.0.2.7"),
        ("2001:db8:aaaa::1", ("192.0.2.1",), "192.0.2.1"),
        # Not an IP address at all (a test client, a Unix socket).
        ("testclient", ("192.0.2.1",), "testclient"),
        (None, (), "unknown"),
    ],
)
def test_client_address(peer: str | None, forwarded: tuple[str, ...], expected: str) -> None:
    assert client_address(_scope(peer, *forwarded), PROXIES) == expected


def test_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    assert client_address(_scope("10.0.0.2", "192.0.2.1"), TrustedProxies()) == "10.0.0.2"
