"""A generic OpenID Connect provider over HTTP: the authorization URL, the
code exchange at the token endpoint, and ID-token verification against the
provider's published keys (JWKS)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import jwt

from adapters.config.identity import OidcSettings
from application.identity.oidc import OidcIdentity, OidcProviderError

ID_TOKEN_ALGORITHMS = ["RS256"]
LEEWAY_S = 30
MAX_RESPONSE_BYTES = 64 * 1024
HTTP_TIMEOUT_S = 10.0
# The provider's keys are fetched once and kept this long; a token signed by a
# key we do not know triggers one refetch (PyJWKClient's behaviour).
JWKS_CACHE_S = 300


class HttpOidcProvider:
    def __init__(self, settings: OidcSettings) -> None:
        self._settings = settings
        self._jwks = jwt.PyJWKClient(
            settings.jwks_url, cache_jwk_set=True, lifespan=JWKS_CACHE_S,
            timeout=int(HTTP_TIMEOUT_S),
        )

    def authorization_url(self, state: str, nonce: str) -> str:
        s = self._settings
        query = urllib.parse.urlencode({
            "response_type": "code",
            "client_id": s.client_id,
            "redirect_uri": s.redirect_uri,
            "scope": s.scopes,
            "state": state,
            "nonce": nonce,
        })
        separator = "&" if "?" in s.authorize_url else "?"
        return f"{s.authorize_url}{separator}{query}"

    def identity(self, code: str, nonce: str) -> OidcIdentity:
        id_token = self._exchange(code)
        try:
            key = self._jwks.get_signing_key_from_jwt(id_token)
            claims = jwt.decode(
                id_token, key.key, algorithms=ID_TOKEN_ALGORITHMS,
                audience=self._settings.client_id, issuer=self._settings.issuer,
                leeway=LEEWAY_S, options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise OidcProviderError(f"ID token rejected: {error}") from error
        if claims.get("nonce") != nonce:
            raise OidcProviderError("ID token nonce does not match this sign-in")
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            raise OidcProviderError("ID token carries no email")
        return OidcIdentity(
            subject=str(claims["sub"]),
            email=email,
            email_verified=claims.get("email_verified") in (True, "true"),
            name=str(claims.get("name") or ""),
        )

    def _exchange(self, code: str) -> str:
        s = self._settings
        form = urllib.parse.urlencode({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": s.redirect_uri,
            "client_id": s.client_id,
            "client_secret": s.client_secret,
        }).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            s.token_url, data=form, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
                body: Any = json.loads(response.read(MAX_RESPONSE_BYTES))
        except urllib.error.HTTPError as error:
            raise OidcProviderError(f"token endpoint answered {error.code}") from error
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise OidcProviderError(f"token endpoint failed: {error}") from error
        id_token = body.get("id_token") if isinstance(body, dict) else None
        if not isinstance(id_token, str):
            raise OidcProviderError("token endpoint returned no id_token")
        return id_token
