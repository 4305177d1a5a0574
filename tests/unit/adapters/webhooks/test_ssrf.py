"""The address rules, with a resolver stub standing in for DNS."""

from __future__ import annotations

import asyncio

import pytest

from adapters.webhooks.ssrf import Target, UrlGuard, UrlRefused

PUBLIC = "93.184.216.34"


class StubResolver:
    """Answers from a table; each host may answer differently on each call."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        sequence = self.answers[host]
        return sequence[0] if len(sequence) == 1 else sequence.pop(0)


def target(guard: UrlGuard, url: str) -> Target:
    return asyncio.run(guard.target(url))


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.5", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:100.64.1.1", "CGNAT"),
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
])
def test_every_forbidden_range_is_refused_by_name_and_by_literal(address: str, kind: str) -> None:
    guard = UrlGuard(StubResolver({"hooks.example.com": [[address]]}))
    with pytest.raises(UrlRefused, match=kind):
        target(guard, "https://hooks.example.com/in")
    literal = f"[{address}]" if ":" in address else address
    with pytest.raises(UrlRefused):
        target(guard, f"https://{literal}/in")


def test_one_bad_address_among_good_ones_refuses_the_url() -> None:
    guard = UrlGuard(StubResolver({"hooks.example.com": [[PUBLIC, "10.0.0.7"]]}))
    with pytest.raises(UrlRefused, match="private"):
        target(guard, "https://hooks.example.com/in")


def test_a_public_host_is_pinned_to_the_address_that_was_checked() -> None:
    guard = UrlGuard(StubResolver({"hooks.example.com": [[PUBLIC, "2606:2800:220:1::1"]]}))
    found = target(guard, "https://Hooks.Example.com:8443/in?x=1")
    assert found.address == PUBLIC
    assert found.connect_url() == f"https://{PUBLIC}:8443/in?x=1"
    assert found.host_header() == "hooks.example.com:8443"
    assert found.host == "hooks.example.com"


def test_dns_rebinding_is_caught_at_the_next_attempt() -> None:
    # Public when the endpoint is created, loopback when the webhook is sent.
    resolver = StubResolver({"rebind.example.com": [[PUBLIC], ["127.0.0.1"]]})
    guard = UrlGuard(resolver)
    assert target(guard, "https://rebind.example.com/").address == PUBLIC
    with pytest.raises(UrlRefused, match="loopback"):
        target(guard, "https://rebind.example.com/")
    assert resolver.calls == ["rebind.example.com", "rebind.example.com"]


@pytest.mark.parametrize(("url", "reason"), [
    ("http://hooks.example.com/", "https"),
    ("ftp://hooks.example.com/", "https://"),
    ("https://user:pw@hooks.example.com/", "user name"),
    ("https:///nohost", "no host"),
    ("https://hooks.example.com:99999/", "cannot be read"),
    ("https://" + "a" * 2050 + ".com/", "longer"),
])
def test_urls_refused_before_any_lookup(url: str, reason: str) -> None:
    resolver = StubResolver({})
    with pytest.raises(UrlRefused, match=reason):
        target(UrlGuard(resolver), url)
    assert resolver.calls == []


def test_allowed_development_hosts_take_http_and_skip_the_address_checks() -> None:
    guard = UrlGuard(StubResolver({"localhost": [["127.0.0.1"]]}),
                     allow_hosts=frozenset({"localhost", "127.0.0.1"}))
    assert target(guard, "http://localhost:8080/x").address == "127.0.0.1"
    assert target(guard, "http://127.0.0.1:9/x").address == "127.0.0.1"
    with pytest.raises(UrlRefused):
        target(guard, "http://127.0.0.2/x")


def test_a_name_that_does_not_resolve_is_refused() -> None:
    class Failing:
        async def resolve(self, host: str, port: int) -> list[str]:
            raise OSError("Name or service not known")

    with pytest.raises(UrlRefused, match="does not resolve"):
        target(UrlGuard(Failing()), "https://nowhere.invalid/")
