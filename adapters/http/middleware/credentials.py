"""The forms an API credential can take in a request's headers.

- `X-API-Key: <key>` with `X-API-Secret: <secret>`;
- one combined token `<key>:<secret>`, either in `X-API-Key` alone or as
  `Authorization: Bearer <key>:<secret>`. Keys and secrets are URL-safe
  base64 behind their prefixes, so they never contain a colon, and the
  token holds no dot, so it is never mistaken for a JWT (exactly two dots);
- `Authorization: Bearer bsms_at_...`, an OAuth access token from
  POST /v1/oauth/access_token.

A Bearer token with exactly two dots is a JWT (a user's session): it is not
an API credential and is left to the session branch of `authenticate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from adapters.postgres.identity.access_tokens import ACCESS_TOKEN_PREFIX
from adapters.postgres.identity.accounts import PostgresAccounts
from adapters.postgres.identity.api_keys import KeyGrant

COMBINED_SEPARATOR = ":"
MAX_CREDENTIAL_LENGTH = 200
_BEARER = "bearer "


@dataclass(frozen=True, slots=True)
class KeyPair:
    api_key: str
    api_secret: str


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str


@dataclass(frozen=True, slots=True)
class Malformed:
    """Credentials were sent but in no form we accept; says what to send."""

    reason: str


Credentials = KeyPair | AccessToken | Malformed


def is_jwt(token: str) -> bool:
    return token.count(".") == 2


def bearer_token(authorization: str | None) -> str | None:
    if authorization is None or not authorization[:len(_BEARER)].lower() == _BEARER:
        return None
    return authorization[len(_BEARER):].strip()


def _combined(token: str) -> Credentials:
    api_key, _, api_secret = token.partition(COMBINED_SEPARATOR)
    if not api_key or not api_secret or COMBINED_SEPARATOR in api_secret:
        return Malformed("A combined token is <api_key>:<api_secret>")
    return KeyPair(api_key, api_secret)


def parse_credentials(
    api_key: str | None, api_secret: str | None, authorization: str | None
) -> Credentials | None:
    """The API credential in these header values, or None when there is
    none (no API-key header and no Bearer token other than a JWT)."""
    if api_key:
        return _from_key_header(api_key, api_secret)
    token = bearer_token(authorization)
    if not token or is_jwt(token):
        return None
    return _from_bearer(token)


def _from_key_header(api_key: str, api_secret: str | None) -> Credentials:
    too_long = len(api_key) > 2 * MAX_CREDENTIAL_LENGTH
    if too_long or len(api_secret or "") > MAX_CREDENTIAL_LENGTH:
        return Malformed("Invalid API credentials")
    if api_secret:
        return KeyPair(api_key, api_secret)
    if COMBINED_SEPARATOR in api_key:
        return _combined(api_key)
    return Malformed(
        "Send X-API-Secret with X-API-Key, or the combined token <api_key>:<api_secret>"
    )


def _from_bearer(token: str) -> Credentials:
    if len(token) > 2 * MAX_CREDENTIAL_LENGTH:
        return Malformed("Invalid API credentials")
    if COMBINED_SEPARATOR in token:
        return _combined(token)
    if token.startswith(ACCESS_TOKEN_PREFIX):
        return AccessToken(token)
    return Malformed("Unrecognised Bearer token")


def credentials_from_raw(raw_headers: Iterable[tuple[bytes, bytes]]) -> Credentials | None:
    """As parse_credentials, reading an ASGI scope's header list directly,
    which is cheaper on the hot path than building a headers mapping."""
    api_key = api_secret = authorization = None
    for name, value in raw_headers:
        if len(name) not in (9, 12, 13):  # the lengths of the three names below
            continue
        lowered = name.lower()
        if lowered == b"x-api-key":
            api_key = value.decode("latin-1")
        elif lowered == b"x-api-secret":
            api_secret = value.decode("latin-1")
        elif lowered == b"authorization":
            authorization = value.decode("latin-1")
    return parse_credentials(api_key, api_secret, authorization)


def cached_grant(
    accounts: PostgresAccounts, credentials: KeyPair | AccessToken
) -> KeyGrant | bool | None:
    """The verdict from the in-process caches alone; False if not cached."""
    if isinstance(credentials, KeyPair):
        return accounts.keys.cached(credentials.api_key, credentials.api_secret)
    return accounts.tokens.cached(credentials.token)


def verify_grant(accounts: PostgresAccounts, credentials: KeyPair | AccessToken) -> KeyGrant | None:
    """The verdict, asking the database on a cache miss (blocking)."""
    if isinstance(credentials, KeyPair):
        return accounts.keys.verify(credentials.api_key, credentials.api_secret)
    return accounts.tokens.verify(credentials.token)
