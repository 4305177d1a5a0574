"""Monthly invoices: statements closed from the ledger.

An invoice replays the account's live wallet from its first event to the
month's end: the balance at the month's start, each purchase, refund and
adjustment in it, the usage it captured (by destination country), and the
balance at its end, which must equal the opening plus the movements. It also
keeps the hash of the wallet's last ledger entry of the month, so finance can
show which chain the figures came from. Closing a month twice keeps the first
invoice: the month is over and its entries cannot change.

A month still in progress has no invoice yet, but it can have a draft: the
same statement to date, marked as a draft (its `closed_at`, when its figures
were taken, lies before the month's end). Drawing it up again keeps it as it
is unless the ledger moved on since (a new last entry); closing the month
replaces it with the invoice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from application.errors import NotFound, ValidationFailed
from application.ledger.app import LedgerApplication
from application.ledger.verification import LedgerVerifier
from domain import ids
from domain.message import Message
from domain.wallet import TopUpSource, Wallet

MESSAGE_LOOKUP_CHUNK = 1000

PURCHASE, REFUND, ADJUSTMENT = "PURCHASE", "REFUND", "ADJUSTMENT"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    kind: str
    reference: str
    amount_micros: int  # signed from the customer's side
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class CountryUsage:
    country: str
    messages: int
    cost_micros: int


@dataclass(frozen=True, slots=True)
class Invoice:
    id: UUID
    account_id: str
    month: str
    currency: str
    period_start: datetime
    period_end: datetime
    opening_micros: int
    purchases_micros: int
    refunds_micros: int
    adjustments_micros: int
    usage_micros: int
    closing_micros: int
    entry_hash: str
    closed_at: datetime
    lines: tuple[InvoiceLine, ...] = ()
    usage_by_country: tuple[CountryUsage, ...] = ()

    @property
    def draft(self) -> bool:
        """A statement of the month to date, not its invoice yet."""
        return self.closed_at < self.period_end


class InvoiceStore(Protocol):
    def save(self, invoice: Invoice) -> Invoice:
        """Keep the invoice and return it, unless the month's invoice is kept
        already, or a draft of the same last ledger entry: then return that."""
        ...

    def get(self, account_id: str, invoice_id: UUID) -> Invoice | None: ...

    def list(self, account_id: str, *, limit: int, before_month: str | None) -> list[Invoice]:
        """The account's invoices, newest month first."""
        ...

    def count(self, account_id: str) -> int: ...


def month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise ValidationFailed("month is YYYY-MM", month=month) from None
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else \
        start.replace(month=start.month + 1)
    return start, end


@dataclass
class _Statement:
    opening: int | None = None
    lines: list[InvoiceLine] = field(default_factory=list)
    captured_by_message: dict[UUID, int] = field(default_factory=dict)
    usage: int = 0


class InvoiceService:
    def __init__(self, app: LedgerApplication, store: InvoiceStore) -> None:
        self._app = app
        self._store = store

    def close_month(
        self, month: str, now: datetime, *, account_id: str | None = None,
        draft: bool = False,
    ) -> list[Invoice]:
        """Close the month for every account (or one); idempotent. With
        `draft`, a month in progress gets drafts of the month to date."""
        start, end = month_bounds(month)
        if start > now:
            raise ValidationFailed("The month has not begun", month=month)
        if end > now and not draft:
            raise ValidationFailed(
                "The month is not over yet; a draft of the month to date can be drawn up",
                month=month)
        wallet_ids: Iterator[UUID] | list[UUID] = (
            [ids.wallet_id(account_id, sandbox=False)] if account_id
            else LedgerVerifier(self._app).wallet_ids()
        )
        closed = []
        for wallet_id in wallet_ids:
            invoice = self.statement(wallet_id, month, now)
            if invoice is not None:
                closed.append(self._store.save(invoice))
        return closed

    def statement(self, wallet_id: UUID, month: str, now: datetime) -> Invoice | None:
        """The month's statement of a live wallet, replayed from its events;
        None for a sandbox wallet or one opened after the month."""
        start, end = month_bounds(month)
        wallet: Wallet | None = None
        statement = _Statement()
        for stored in self._app.events.get(wallet_id):
            event: Any = stored
            if event.timestamp >= end:
                break
            if event.timestamp >= start and statement.opening is None:
                statement.opening = 0 if wallet is None else wallet.balance_micros
            wallet = event.mutate(wallet)
            if event.timestamp >= start:
                _add(statement, event)
        if wallet is None or wallet.sandbox:
            return None
        if statement.opening is None:  # nothing happened in the month
            statement.opening = wallet.balance_micros
        return self._invoice(wallet, month, start, end, statement, now)

    def _invoice(
        self, wallet: Wallet, month: str, start: datetime, end: datetime,
        statement: _Statement, now: datetime,
    ) -> Invoice:
        sums: dict[str, int] = defaultdict(int)
        for line in statement.lines:
            sums[line.kind] += line.amount_micros
        closing = wallet.balance_micros
        opening = statement.opening or 0
        expected = opening + sums[PURCHASE] + sums[ADJUSTMENT] + sums[REFUND] \
            - statement.usage
        assert expected == closing, f"statement of {wallet.id} does not add up"
        return Invoice(
            id=ids.invoice_id(wallet.account_id, month), account_id=wallet.account_id,
            month=month, currency=wallet.currency, period_start=start, period_end=end,
            opening_micros=opening, purchases_micros=sums[PURCHASE],
            refunds_micros=-sums[REFUND], adjustments_micros=sums[ADJUSTMENT],
            usage_micros=statement.usage, closing_micros=closing,
            entry_hash=wallet.last_entry_hash, closed_at=now, lines=tuple(statement.lines),
            usage_by_country=self._by_country(statement.captured_by_message),
        )

    def _by_country(self, captured: dict[UUID, int]) -> tuple[CountryUsage, ...]:
        messages: dict[str, int] = defaultdict(int)
        costs: dict[str, int] = defaultdict(int)
        message_ids = list(captured)
        for offset in range(0, len(message_ids), MESSAGE_LOOKUP_CHUNK):
            chunk = message_ids[offset:offset + MESSAGE_LOOKUP_CHUNK]
            found = self._app.get_many(chunk)
            for message_id in chunk:
                message = found.get(message_id)
                country = message.country if isinstance(message, Message) else "unknown"
                messages[country] += 1
                costs[country] += captured[message_id]
        return tuple(CountryUsage(c, messages[c], costs[c]) for c in sorted(costs))

    def get(self, account_id: str, invoice_id: UUID) -> Invoice:
        invoice = self._store.get(account_id, invoice_id)
        if invoice is None:
            raise NotFound("No such invoice", id=str(invoice_id))
        return invoice

    def page(
        self, account_id: str, *, page_size: int, before_month: str | None
    ) -> tuple[Sequence[Invoice], bool, int]:
        """(invoices newest first, has_more, total)."""
        rows = self._store.list(account_id, limit=page_size + 1, before_month=before_month)
        return rows[:page_size], len(rows) > page_size, self._store.count(account_id)


def _add(statement: _Statement, event: Any) -> None:
    if isinstance(event, Wallet.ToppedUp):
        kind = PURCHASE if event.source == TopUpSource.STRIPE else ADJUSTMENT
        statement.lines.append(
            InvoiceLine(kind, event.external_ref, event.amount_micros, event.timestamp))
    elif isinstance(event, Wallet.Adjusted):
        statement.lines.append(
            InvoiceLine(ADJUSTMENT, event.reference, event.amount_micros, event.timestamp))
    elif isinstance(event, Wallet.Refunded):
        statement.lines.append(
            InvoiceLine(REFUND, event.charge_id, -event.amount_micros, event.timestamp))
    elif isinstance(event, Wallet.ReservationsSettled):
        for _reservation, message_id, captured, _released in event.settlements:
            if captured:
                key = UUID(str(message_id))
                statement.captured_by_message[key] = (
                    statement.captured_by_message.get(key, 0) + captured)
        statement.usage += event.captured_micros
