"""Request and response bodies of /v1/auth/*, /v1/settings/profile,
/v1/settings/api-keys and /v1/admin/*. Requests forbid unknown fields: nobody
registers themselves as a platform operator or sets a role, a balance or a
trusted mark this way."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from adapters.http.bodies import NO_NUL, Meta, Request
from adapters.http.middleware.credentials import MAX_CREDENTIAL_LENGTH
from domain.api_keys import MAX_KEY_NAME_LENGTH, PERMISSIONS

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=NO_NUL)]
# Bounded here too so that no request hashes a megabyte of password.
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
NewPassword = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=NO_NUL)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3, pattern="^[A-Za-z]{3}$")]
Country = Annotated[str, msgspec.Meta(min_length=2, max_length=2, pattern="^[A-Za-z]{2}$")]
Timezone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL)]
Micros = Annotated[int, msgspec.Meta(ge=0, le=10**15)]


class RegisterRequest(Request):
    email: Email
    password: NewPassword
    name: Name
    company_name: Name | None = None  # the account's name; the user's name if omitted
    currency: Currency = "GBP"
    country: Country | None = None  # the account's default country for national numbers
    timezone: Timezone = "UTC"


class LoginRequest(Request):
    email: Email
    password: Password


class RefreshRequest(Request):
    refresh_token: Token


class LogoutRequest(Request):
    refresh_token: Token | None = None


class ForgotPasswordRequest(Request):
    email: Email


class ResetPasswordRequest(Request):
    token: Token
    password: NewPassword


class ChangePasswordRequest(Request):
    current_password: Password
    new_password: NewPassword


class GoogleSignInRequest(Request):
    code: Annotated[str, msgspec.Meta(min_length=1, max_length=2048, pattern=NO_NUL)]
    state: Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=NO_NUL)]


class UserOut(msgspec.Struct):
    id: str
    email: str
    name: str
    role: str
    platform_admin: bool
    account_id: str
    created_at: datetime


class AccountSummaryOut(msgspec.Struct):
    id: str
    name: str
    currency: str
    default_country: str | None
    timezone: str


class MeOut(UserOut):
    """The signed-in user, with what they may do and their account."""

    permissions: list[str]
    account: AccountSummaryOut


class TokensOut(msgspec.Struct):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int  # seconds
    refresh_expires_in: int  # seconds
    user: UserOut


class DoneOut(msgspec.Struct):
    ok: bool
    message: str


class GoogleUrlOut(msgspec.Struct):
    url: str
    state: str


class ProfilePatch(Request):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    timezone: Timezone | msgspec.UnsetType = msgspec.UNSET
    default_country: Country | msgspec.UnsetType | None = msgspec.UNSET  # null clears it
    low_balance_threshold: Micros | msgspec.UnsetType = msgspec.UNSET  # minor units
    low_balance_threshold_micros: Micros | msgspec.UnsetType = msgspec.UNSET


class ProfileOut(msgspec.Struct):
    account_id: str
    name: str
    currency: str
    timezone: str
    default_country: str | None
    low_balance_threshold: int  # minor units of the currency
    low_balance_threshold_micros: int
    trusted: bool
    created_at: datetime


class AdminAccountOut(msgspec.Struct):
    id: str
    name: str
    currency: str
    default_country: str | None
    timezone: str
    trusted: bool
    created_at: datetime


class WalletOut(msgspec.Struct):
    sandbox: bool
    currency: str
    balance_micros: int
    reserved_micros: int
    available_micros: int
    credit_limit_micros: int


class RateOverrideOut(msgspec.Struct):
    country: str
    price_micros: int


class AdminAccountDetailOut(msgspec.Struct):
    id: str
    name: str
    currency: str
    default_country: str | None
    timezone: str
    trusted: bool
    created_at: datetime
    wallets: list[WalletOut]
    rate_overrides: list[RateOverrideOut]


class AdminAccountPatch(Request):
    trusted: bool


class AdjustmentRequest(Request):
    # Signed: a positive amount credits the wallet, a negative one debits it.
    amount_micros: Annotated[int, msgspec.Meta(ge=-(10**15), le=10**15)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
    reference: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] = ""
    sandbox: bool = False


class RateOverrideListResponse(msgspec.Struct):
    """Every override of the account at once: a short list, not paged."""

    data: list[RateOverrideOut]
    meta: Meta


class RateOverrideRequest(Request):
    price_micros: Micros


# API keys ------------------------------------------------------------------

Permission = Annotated[str, msgspec.Meta(max_length=40)]


class CreateApiKeyRequest(Request):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_KEY_NAME_LENGTH,
                                      pattern=NO_NUL)]
    permissions: Annotated[
        list[Permission],
        msgspec.Meta(min_length=1, max_length=len(PERMISSIONS),
                     description="Any of: " + ", ".join(PERMISSIONS)),
    ]
    mode: Literal["live", "test"] = "live"


class ApiKeyOut(msgspec.Struct):
    id: str
    name: str
    key: str
    mode: str
    sandbox: bool
    permissions: list[str]
    created_at: datetime


class CreatedApiKeyOut(msgspec.Struct):
    id: str
    name: str
    key: str
    secret: str  # shown this once
    mode: str
    sandbox: bool
    permissions: list[str]
    created_at: datetime


class RevokedApiKeyOut(msgspec.Struct):
    id: str
    revoked: bool


# OAuth 2.0 client credentials (seed 004): its own shapes, not the envelope.
Credential = Annotated[
    str, msgspec.Meta(min_length=1, max_length=MAX_CREDENTIAL_LENGTH, pattern=NO_NUL)
]


class AccessTokenRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    client_id: Credential
    client_secret: Credential
    grant_type: Literal["client_credentials"] = "client_credentials"


class AccessTokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
