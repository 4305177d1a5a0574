"""GET /v1/billing/balance, /transactions and /usage, for the key's account:
the wallet of the key's mode (live or sandbox), its statement, and the
month's usage."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from adapters.http.billing.schemas import CountryUsageOut, TransactionOut, UsageOut
from adapters.http.bodies import Envelope, Page
from adapters.http.injected import RequestMeta, Service
from adapters.http.middleware.auth import require_permission
from adapters.http.pagination import (
    DEFAULT_PAGE_SIZE,
    PageCursor,
    PageSize,
    RangeEnd,
    RangeStart,
    date_range,
    page_of,
    run_query,
)
from adapters.http.sms.schemas import BalanceOut
from adapters.postgres.identity.accounts import PostgresAccounts
from adapters.postgres.read_models import ReadModels
from application.identity.principal import Principal
from application.ledger.wallets import WalletService
from domain import ids
from domain.money import micros_to_minor_units, micros_to_minor_units_ceiling
from projections.usage import usage
from projections.wallet_transactions import list_transactions

TypeFilter = Annotated[
    str | None,
    QueryParameter(
        name="type",
        description="PURCHASE, USAGE, REFUND, BONUS, ADJUSTMENT or RESERVATION",
    ),
]
AsOf = Annotated[
    str | None,
    QueryParameter(
        description="An ISO 8601 instant (UTC when it has no offset): the balance as it "
        "stood then, replayed from the ledger"
    ),
]
Month = Annotated[
    str | None, QueryParameter(description="YYYY-MM (UTC); the current month when omitted")
]


class BillingController(Controller):
    path = "/v1/billing"
    tags = ["Billing"]

    @get("/balance", operation_id="getBalance",
         summary="Get the wallet balance", sync_to_thread=True)
    def balance(
        self, meta: RequestMeta, principal: NamedDependency[Principal],
        wallets: Service[WalletService],
        as_of: AsOf = None,
    ) -> Envelope[BalanceOut]:
        require_permission(principal, "billing.read")
        wallet_id = ids.wallet_id(principal.account_id, sandbox=principal.sandbox)
        instant = None if as_of is None else date_range(as_of, None).start
        b = (
            wallets.balance(wallet_id) if instant is None
            else wallets.balance_as_of(wallet_id, instant)
        )

        def minor(amount_micros: int) -> int:
            return micros_to_minor_units(amount_micros, b.currency)

        return Envelope(
            data=BalanceOut(
                balance=minor(b.balance_micros),
                reserved=micros_to_minor_units_ceiling(b.reserved_micros, b.currency),
                credit_limit=minor(b.credit_limit_micros),
                available=minor(b.available_micros),
                low_balance_threshold=minor(b.low_balance_threshold_micros),
                balance_micros=b.balance_micros,
                reserved_micros=b.reserved_micros,
                credit_limit_micros=b.credit_limit_micros,
                available_micros=b.available_micros,
                low_balance_threshold_micros=b.low_balance_threshold_micros,
                currency=b.currency,
                sandbox=principal.sandbox,
                auto_topup_enabled=b.auto_topup_enabled,
                frozen=b.frozen,
                flagged=b.flagged,
                as_of=instant,
            ),
            meta=meta,
        )

    @get("/transactions", operation_id="listTransactions",
         summary="List wallet transactions", sync_to_thread=True)
    def transactions(
        self,
        meta: RequestMeta,
        principal: NamedDependency[Principal],
        read_models: Service[ReadModels], accounts: Service[PostgresAccounts],
        kind: TypeFilter = None,
        from_date: RangeStart = None,
        to_date: RangeEnd = None,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        cursor: PageCursor = None,
    ) -> Page[TransactionOut]:
        require_permission(principal, "billing.read")
        dates = date_range(from_date, to_date)
        result = run_query(read_models, list_transactions, principal.account_id,
            sandbox=principal.sandbox, type=kind, from_date=dates.start, to_date=dates.end,
            page_size=page_size, cursor_token=cursor,
        )
        currency = _currency(accounts, principal)
        return page_of(lambda row: transaction_out(row, currency), result, page_size, meta)

    @get("/usage", operation_id="getUsage", summary="Monthly usage by country", sync_to_thread=True)
    def monthly_usage(
        self,
        meta: RequestMeta,
        principal: NamedDependency[Principal],
        read_models: Service[ReadModels], accounts: Service[PostgresAccounts],
        month: Month = None,
    ) -> Envelope[UsageOut]:
        require_permission(principal, "billing.read")
        summary = run_query(read_models, usage, principal.account_id, month)
        if principal.sandbox:
            # Usage counts live messages only: sandbox sends are free and are
            # not usage, so a sandbox key's month is empty.
            summary = {**summary, "messages": 0, "segments": 0, "cost_micros": 0,
                       "by_country": []}
        return Envelope(
            data=usage_out(summary, _currency(accounts, principal), sandbox=principal.sandbox),
            meta=meta,
        )


def _currency(accounts: PostgresAccounts, principal: Principal) -> str:
    return accounts.profile(principal.account_id).currency


def transaction_out(row: dict[str, Any], default_currency: str) -> TransactionOut:
    currency = row["currency"] or default_currency
    return TransactionOut(
        id=row["id"],
        type=row["type"],
        amount=_line_amount(row["amount_micros"], currency),
        amount_micros=row["amount_micros"],
        balance_change_micros=row["balance_change_micros"],
        balance_after=micros_to_minor_units(row["balance_micros"], currency),
        balance_after_micros=row["balance_micros"],
        reserved_after_micros=row["reserved_micros"],
        currency=currency,
        reference=row["reference"],
        description=row["description"],
        created_at=row["occurred_at"],
    )


def _line_amount(amount_micros: int, currency: str) -> int:
    """A line's amount in minor units, its size rounded up either way: a
    message's reservation, its usage and its refund all show what the
    message costs in whole minor units, as its cost estimate did. The
    running balance is floored, as on /balance."""
    size = micros_to_minor_units_ceiling(abs(amount_micros), currency)
    return size if amount_micros >= 0 else -size


def usage_out(summary: dict[str, Any], currency: str, *, sandbox: bool) -> UsageOut:
    def cost(amount_micros: int) -> int:
        return micros_to_minor_units_ceiling(amount_micros, currency)

    return UsageOut(
        month=summary["month"],
        currency=currency,
        sandbox=sandbox,
        messages=summary["messages"],
        segments=summary["segments"],
        cost_micros=summary["cost_micros"],
        cost=cost(summary["cost_micros"]),
        by_country=[
            CountryUsageOut(
                country=row["country"],
                messages=row["messages"],
                segments=row["segments"],
                cost_micros=row["cost_micros"],
                cost=cost(row["cost_micros"]),
            )
            for row in summary["by_country"]
        ],
    )
