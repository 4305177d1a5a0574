"""POST /v1/oauth/access_token: OAuth 2.0 client credentials (seed 004).

`client_id` is an API key and `client_secret` its secret, sent form-encoded
or as JSON. The answer is seed 004's shape, not the envelope:
`{"access_token", "token_type": "Bearer", "expires_in": 3600}`. The token is
then sent as `Authorization: Bearer <token>` and carries the key's
permissions, mode and rate limit; it dies with its key.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import Controller, Request, Response, post
from litestar.exceptions import NotAuthorizedException, ValidationException

from adapters.http.identity.schemas import AccessTokenRequest, AccessTokenResponse
from adapters.http.injected import Service
from adapters.http.middleware.address_limits import (
    FAILED_KEYS_MESSAGE,
    AddressLimits,
    TooManyAttempts,
    error_with_retry_after,
)
from adapters.postgres.identity.access_tokens import IssuedToken
from adapters.postgres.identity.accounts import PostgresAccounts
from domain.errors import DomainError

MAX_TOKEN_REQUEST_BYTES = 4096
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

def _decode(content_type: str, body: bytes) -> AccessTokenRequest:
    if len(body) > MAX_TOKEN_REQUEST_BYTES:
        raise ValidationException(f"The body is at most {MAX_TOKEN_REQUEST_BYTES} bytes")
    try:
        if content_type.split(";")[0].strip().lower() == FORM_CONTENT_TYPE:
            fields = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False,
                                    max_num_fields=10))
            return msgspec.convert(fields, AccessTokenRequest)
        return msgspec.json.decode(body, type=AccessTokenRequest)
    except (msgspec.ValidationError, msgspec.DecodeError, UnicodeDecodeError,
            ValueError) as error:
        raise ValidationException(
            f"Send client_id and client_secret, form-encoded or as JSON: {error}"
        ) from error


class OAuthController(Controller):
    path = "/v1/oauth"
    tags = ["Authentication"]
    exception_handlers = {DomainError: error_with_retry_after}

    @post("/access_token", operation_id="createAccessToken",
          summary="OAuth client credentials: get a bearer token", status_code=200)
    async def access_token(
        self, request: Request[Any, Any, Any], accounts: Service[PostgresAccounts],
        address_limits: Service[AddressLimits],
    ) -> Response[AccessTokenResponse]:
        """Exchange an API key and secret for a 1-hour Bearer token."""
        data = _decode(request.headers.get("content-type", ""), await request.body())
        # A wrong client_secret is a failed API credential like any other:
        # counted per client address, and refused once there are too many.
        limits = address_limits
        client = limits.client(request.scope)
        refused_s = limits.failed_key_refusal(client)
        if refused_s is not None:
            raise TooManyAttempts(FAILED_KEYS_MESSAGE, retry_after=refused_s)
        try:
            issued = await asyncio.to_thread(_issue, accounts, data)
        except NotAuthorizedException:
            decision = await limits.count_failed_key(client)
            if not decision.allowed:
                raise TooManyAttempts(
                    FAILED_KEYS_MESSAGE, retry_after=decision.retry_after_s
                ) from None
            raise
        return Response(
            AccessTokenResponse(issued.access_token, "Bearer", issued.expires_in_s),
            headers={"cache-control": "no-store", "pragma": "no-cache"},
        )


def _issue(accounts: PostgresAccounts, data: AccessTokenRequest) -> IssuedToken:
    grant = accounts.keys.verify(data.client_id, data.client_secret)
    if grant is None:
        raise NotAuthorizedException("Invalid client_id or client_secret")
    return accounts.tokens.issue(grant)
