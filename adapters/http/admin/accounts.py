"""/v1/admin/accounts: platform operators list and inspect accounts, mark them
trusted, and adjust their balances with a reason. Only a signed-in platform
operator gets past `require_platform_admin`; an API key never does."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from adapters.bootstrap.identity import Identity
from adapters.http.bodies import Envelope, Page
from adapters.http.identity.schemas import (
    AdjustmentRequest,
    AdminAccountDetailOut,
    AdminAccountOut,
    AdminAccountPatch,
    RateOverrideOut,
    WalletOut,
)
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_platform_admin
from adapters.http.pagination import DEFAULT_PAGE_SIZE, PageCursor, PageSize, page_of
from application.errors import NotFound, ValidationFailed
from application.identity.principal import Principal
from application.ledger.wallets import Balance, WalletService
from application.settings.profile import AccountSettings
from domain import ids

AccountId = Annotated[str, PathParameter(max_length=64)]


def _account_out(s: AccountSettings) -> AdminAccountOut:
    return AdminAccountOut(
        id=s.account_id, name=s.name, currency=s.currency, default_country=s.default_country,
        timezone=s.timezone, trusted=s.trusted, created_at=s.created_at,
    )


def wallet_out(balance: Balance, *, sandbox: bool) -> WalletOut:
    return WalletOut(
        sandbox=sandbox, currency=balance.currency, balance_micros=balance.balance_micros,
        reserved_micros=balance.reserved_micros, available_micros=balance.available_micros,
        credit_limit_micros=balance.credit_limit_micros,
    )


class AdminAccountsController(Controller):
    path = "/v1/admin/accounts"
    tags = ["Admin"]

    @get("/", operation_id="adminListAccounts", summary="Admin: list accounts", sync_to_thread=True)
    def list_accounts(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        identity: Service[Identity],
        page_size: PageSize = DEFAULT_PAGE_SIZE, cursor: PageCursor = None,
    ) -> Page[AdminAccountOut]:
        require_platform_admin(principal)
        try:
            found = identity.account_settings.page(page_size, cursor)
        except ValueError as error:
            raise ValidationFailed(str(error)) from error
        return page_of(_account_out, found, page_size, meta)

    @get("/{account_id:str}", operation_id="adminGetAccount",
         summary="Admin: get an account", sync_to_thread=True)
    def get_account(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        identity: Service[Identity],
        account_id: AccountId, wallets: Service[WalletService],
    ) -> Envelope[AdminAccountDetailOut]:
        require_platform_admin(principal)
        return Envelope(
            data=_detail(identity, wallets, account_id), meta=meta
        )

    @patch("/{account_id:str}", operation_id="adminUpdateAccount",
           summary="Admin: update an account", sync_to_thread=True)
    def update_account(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        identity: Service[Identity],
        account_id: AccountId, data: JSONBody[AdminAccountPatch], wallets: Service[WalletService],
    ) -> Envelope[AdminAccountDetailOut]:
        require_platform_admin(principal)
        identity.account_admin.set_trusted(account_id, data.trusted)
        return Envelope(
            data=_detail(identity, wallets, account_id), meta=meta
        )

    @post(
        "/{account_id:str}/adjustments", operation_id="adminAdjustBalance",
        summary="Admin: adjust an account's balance", status_code=201,
        sync_to_thread=True,
    )
    def adjust_balance(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        identity: Service[Identity],
        account_id: AccountId, data: JSONBody[AdjustmentRequest],
    ) -> Envelope[WalletOut]:
        require_platform_admin(principal)
        # The reference names the operator, so the statement shows who did it.
        reference = data.reference or f"admin:{principal.user_id}"
        balance = identity.account_admin.adjust_balance(
            account_id, data.amount_micros, data.reason, reference, sandbox=data.sandbox
        )
        return Envelope(data=wallet_out(balance, sandbox=data.sandbox),
                              meta=meta)


def _detail(identity: Identity, wallets: WalletService, account_id: str) -> AdminAccountDetailOut:
    settings = identity.account_settings.get(account_id)
    if settings is None:
        raise NotFound("No such account", account_id=account_id)
    balances = [
        wallet_out(wallets.balance(ids.wallet_id(account_id, sandbox=sandbox)), sandbox=sandbox)
        for sandbox in (False, True)
    ]
    overrides = identity.account_admin.rate_overrides(account_id)
    return AdminAccountDetailOut(
        id=settings.account_id, name=settings.name, currency=settings.currency,
        default_country=settings.default_country, timezone=settings.timezone,
        trusted=settings.trusted, created_at=settings.created_at, wallets=balances,
        rate_overrides=[RateOverrideOut(country=c, price_micros=p) for c, p in overrides.items()],
    )
