"""Request and response bodies of /v1/auth/*, /v1/settings/profile and
/v1/admin/*. Requests forbid unknown fields: nobody registers themselves as
a platform operator or sets a role, a balance or a trusted mark this way."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from adapters.http.messages.schemas import Pagination
from adapters.http.sms.schemas import NO_NUL, Meta

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


class In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class RegisterRequest(In):
    email: Email
    password: NewPassword
    name: Name
    company_name: Name | None = None  # the account's name; the user's name if omitted
    currency: Currency = "GBP"
    country: Country | None = None  # the account's default country for national numbers
    timezone: Timezone = "UTC"


class LoginRequest(In):
    email: Email
    password: Password


class RefreshRequest(In):
    refresh_token: Token


class LogoutRequest(In):
    refresh_token: Token | None = None


class ForgotPasswordRequest(In):
    email: Email


class ResetPasswordRequest(In):
    token: Token
    password: NewPassword


class ChangePasswordRequest(In):
    current_password: Password
    new_password: NewPassword


class GoogleSignInRequest(In):
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


class MeOut(msgspec.Struct):
    id: str
    email: str
    name: str
    role: str
    platform_admin: bool
    account_id: str
    created_at: datetime
    permissions: list[str]
    account: AccountSummaryOut


class MeResponse(msgspec.Struct):
    data: MeOut
    meta: Meta


class TokensOut(msgspec.Struct):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int  # seconds
    refresh_expires_in: int  # seconds
    user: UserOut


class TokensResponse(msgspec.Struct):
    data: TokensOut
    meta: Meta


class DoneOut(msgspec.Struct):
    ok: bool
    message: str


class DoneResponse(msgspec.Struct):
    data: DoneOut
    meta: Meta


class GoogleUrlOut(msgspec.Struct):
    url: str
    state: str


class GoogleUrlResponse(msgspec.Struct):
    data: GoogleUrlOut
    meta: Meta


class ProfilePatch(In):
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


class ProfileResponse(msgspec.Struct):
    data: ProfileOut
    meta: Meta


class AdminAccountOut(msgspec.Struct):
    id: str
    name: str
    currency: str
    default_country: str | None
    timezone: str
    trusted: bool
    created_at: datetime


class AdminAccountListResponse(msgspec.Struct):
    data: list[AdminAccountOut]
    pagination: Pagination
    meta: Meta


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


class AdminAccountResponse(msgspec.Struct):
    data: AdminAccountDetailOut
    meta: Meta


class AdminAccountPatch(In):
    trusted: bool


class AdjustmentRequest(In):
    # Signed: a positive amount credits the wallet, a negative one debits it.
    amount_micros: Annotated[int, msgspec.Meta(ge=-(10**15), le=10**15)]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=NO_NUL)]
    reference: Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)] = ""
    sandbox: bool = False


class WalletResponse(msgspec.Struct):
    data: WalletOut
    meta: Meta


class RateOverrideRequest(In):
    price_micros: Micros


class RateOverrideResponse(msgspec.Struct):
    data: RateOverrideOut
    meta: Meta


class RateOverrideListResponse(msgspec.Struct):
    data: list[RateOverrideOut]
    meta: Meta
