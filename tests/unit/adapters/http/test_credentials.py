"""Which header values make which credential, and that none is JWT-shaped."""

from __future__ import annotations

import pytest

from adapters.http.middleware.credentials import (
    AccessToken,
    KeyPair,
    Malformed,
    credentials_from_raw,
    parse_credentials,
)
from adapters.http.middleware.rate_limit import lease_size

KEY = "bsms_live_Ab-_c1"
SECRET = "sk_live_Zz-_9"


@pytest.mark.parametrize(
    ("api_key", "api_secret", "authorization", "expected"),
    [
        (KEY, SECRET, None, KeyPair(KEY, SECRET)),
        (f"{KEY}:{SECRET}", None, None, KeyPair(KEY, SECRET)),
        (None, None, f"Bearer {KEY}:{SECRET}", KeyPair(KEY, SECRET)),
        (None, None, f"BEARER {KEY}:{SECRET}", KeyPair(KEY, SECRET)),
        (None, None, "Bearer bsms_at_xyz", AccessToken("bsms_at_xyz")),
        (KEY, SECRET, "Bearer bsms_at_xyz", KeyPair(KEY, SECRET)),  # the key headers win
        (None, None, "Bearer a.b.c", None),  # a JWT: a user's session, not ours
        (None, None, "Basic abc", None),
        (None, None, None, None),
        (KEY, None, None, Malformed(
            "Send X-API-Secret with X-API-Key, or the combined token <api_key>:<api_secret>")),
        (None, None, f"Bearer {KEY}:", Malformed("A combined token is <api_key>:<api_secret>")),
        (None, None, f"Bearer :{SECRET}", Malformed("A combined token is <api_key>:<api_secret>")),
        (None, None, "Bearer k:s:t", Malformed("A combined token is <api_key>:<api_secret>")),
        (None, None, "Bearer opaque", Malformed("Unrecognised Bearer token")),
        ("k" * 401, None, None, Malformed("Invalid API credentials")),
    ],
)
def test_parse(
    api_key: str | None, api_secret: str | None, authorization: str | None, expected: object
) -> None:
    assert parse_credentials(api_key, api_secret, authorization) == expected


def test_raw_headers_are_read_case_insensitively() -> None:
    raw = [(b"X-Api-Key", KEY.encode()), (b"accept", b"*/*"), (b"x-api-secret", SECRET.encode())]
    assert credentials_from_raw(raw) == KeyPair(KEY, SECRET)
    assert credentials_from_raw([(b"authorization", b"Bearer bsms_at_1")]) == AccessToken(
        "bsms_at_1")


@pytest.mark.parametrize(("limit", "lease"), [(1, 1), (5, 1), (40, 4), (100, 10), (10**6, 100)])
def test_leases_are_a_tenth_of_the_limit_within_bounds(limit: int, lease: int) -> None:
    assert lease_size(limit) == lease
