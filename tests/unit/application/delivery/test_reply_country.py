"""Which country a carrier's national numbers are read in: its routes'."""

from __future__ import annotations

from application.delivery.routing import ReceiptPolicy, Route, reply_country


def route(name: str, prefix: str, carrier: str) -> Route:
    return Route(name, prefix, carrier, 10.0, ReceiptPolicy.RECEIPTS, 60, False)


ROUTES = [
    route("default", "+", "simulated"),
    route("uk", "+44", "smpp-uk"),
    route("uk-mobile", "+447", "smpp-uk"),
    route("gh", "+233", "africa"),
    route("ng", "+234", "africa"),
    route("http-gh", "+233", "hub"),
]


def test_a_carrier_whose_routes_agree_gives_their_country() -> None:
    assert reply_country(ROUTES, "smpp-uk", None) == "GB"


def test_the_named_route_decides_for_a_carrier_of_several_countries() -> None:
    assert reply_country(ROUTES, "africa", None) is None
    assert reply_country(ROUTES, "africa", "ng") == "NG"
    assert reply_country(ROUTES, "hub", "http-gh") == "GH"


def test_no_country_where_the_routes_name_none() -> None:
    assert reply_country(ROUTES, "simulated", None) is None
    assert reply_country(ROUTES, "simulated", "default") is None
    assert reply_country(ROUTES, "unknown", None) is None
    assert reply_country(ROUTES, "smpp-uk", "no-such-route") == "GB"
