"""Wallet transactions: the customer's statement, one line per money movement.

A wallet's balance is the sum of its `wallet:` and `holds:` postings, and
`reserved_micros` the sum of its `holds:` postings; both are carried as
running figures in a small wallets table, so every line states the balance
after it without summing history.

Amounts, by type (what the customer reads, signed from their side):
- PURCHASE, BONUS, ADJUSTMENT: the credit or debit; the balance moves by it.
- RESERVATION: minus the amount set aside for messages in flight. The balance
  does not move (money only goes from `wallet:` to `holds:`), so the line's
  `balance_change_micros` is 0; the amount is shown because it is what the
  customer can no longer spend.
- USAGE: minus the captured price; the balance moves by it.
- REFUND: plus the released part of a reservation, returned to spendable
  funds; like the reservation it moves nothing between balance and revenue,
  so `balance_change_micros` is 0. A card payment refunded through the
  processor is a REFUND too, of minus the refunded amount: the balance
  moves by it (reference: the charge id).
So `balance_micros` is always the sum of `balance_change_micros`, and equals
the sum of the wallet's postings. One settlement event gives a USAGE line
(line 0) and a REFUND line (line 1) when both parts are non-zero; every
other event gives line 0. A line's id is (event_id, line).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from domain.published import CONTRACTS, Envelope
from domain.wallet import Wallet
from projections.common import (
    AnyCursor,
    check_page_size,
    decode_cursor,
    encode_cursor,
    keyset_page,
    reader,
    unnest_upsert,
    write_rows,
)

WALLETS = "rm_wallets"
TRANSACTIONS = "rm_wallet_transactions"

OPENED = CONTRACTS[Wallet.Opened].type
TOPPED_UP = CONTRACTS[Wallet.ToppedUp].type
RESERVED = CONTRACTS[Wallet.FundsReserved].type
SETTLED = CONTRACTS[Wallet.ReservationsSettled].type
ADJUSTED = CONTRACTS[Wallet.Adjusted].type
REFUNDED = CONTRACTS[Wallet.Refunded].type

TYPES = ("PURCHASE", "BONUS", "ADJUSTMENT", "RESERVATION", "USAGE", "REFUND")
_TOP_UP_TYPES = {"stripe": "PURCHASE", "bonus": "BONUS", "adjustment": "ADJUSTMENT"}
_TOP_UP_DESCRIPTIONS = {
    "PURCHASE": "Top-up",
    "BONUS": "Bonus credit",
    "ADJUSTMENT": "Credit adjustment",
}

WALLET_COLUMNS: tuple[tuple[str, str], ...] = (
    ("wallet_id", "uuid"),
    ("account_id", "text"),
    ("currency", "text"),
    ("sandbox", "boolean"),
    ("balance_micros", "bigint"),
    ("reserved_micros", "bigint"),
    ("last_event_id", "bigint"),
)
_WALLET_NAMES = [name for name, _ in WALLET_COLUMNS]
LINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "bigint"),
    ("line", "smallint"),
    ("account_id", "text"),
    ("wallet_id", "uuid"),
    ("sandbox", "boolean"),
    ("type", "text"),
    ("amount_micros", "bigint"),
    ("balance_change_micros", "bigint"),
    ("balance_micros", "bigint"),
    ("reserved_micros", "bigint"),
    ("currency", "text"),
    ("reference", "text"),
    ("description", "text"),
    ("occurred_at", "timestamptz"),
)
_WALLET_UPSERT = unnest_upsert(WALLETS, WALLET_COLUMNS, ("wallet_id",))
# A plain insert: the runner hands each envelope over once, and a line seen
# twice would mean balances counted twice, which must fail loudly.
_LINE_INSERT = unnest_upsert(TRANSACTIONS, LINE_COLUMNS, None)
_SELECT_WALLETS = sql.SQL("SELECT {} FROM rm_wallets WHERE wallet_id = ANY(%s)").format(
    sql.SQL(", ").join(sql.Identifier(name) for name in _WALLET_NAMES)
)

_DDL = """
CREATE TABLE IF NOT EXISTS rm_wallets (
    wallet_id uuid PRIMARY KEY,
    account_id text NOT NULL,
    currency text,
    sandbox boolean NOT NULL,
    balance_micros bigint NOT NULL,
    reserved_micros bigint NOT NULL,
    last_event_id bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS rm_wallet_transactions (
    event_id bigint NOT NULL,
    line smallint NOT NULL,
    account_id text NOT NULL,
    wallet_id uuid NOT NULL,
    sandbox boolean NOT NULL,
    type text NOT NULL,
    amount_micros bigint NOT NULL,
    balance_change_micros bigint NOT NULL,
    balance_micros bigint NOT NULL,
    reserved_micros bigint NOT NULL,
    currency text,
    reference text NOT NULL,
    description text NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (event_id, line)
);
-- Statements are read newest first per account and mode, optionally by type.
CREATE INDEX IF NOT EXISTS rm_wallet_transactions_account_idx
    ON rm_wallet_transactions (account_id, sandbox, event_id DESC, line DESC);
CREATE INDEX IF NOT EXISTS rm_wallet_transactions_type_idx
    ON rm_wallet_transactions (account_id, sandbox, type, event_id DESC, line DESC);
"""

Row = dict[str, Any]


class WalletTransactions:
    name = "wallet_transactions"
    tables: tuple[str, ...] = (TRANSACTIONS, WALLETS)
    event_types = frozenset({OPENED, TOPPED_UP, RESERVED, SETTLED, ADJUSTED, REFUNDED})
    schema_version = 1

    def ddl(self) -> str:
        return _DDL

    def apply(self, cursor: AnyCursor, envelopes: Sequence[Envelope]) -> None:
        wallets = _load_wallets(cursor, envelopes)
        lines: list[Row] = []
        for envelope in envelopes:
            wallet = wallets.get(envelope.aggregate_id)
            if wallet is None:
                # Opened, or (if its opening was lost) treated as opened empty
                # so that later lines still carry correct movements.
                wallet = wallets[envelope.aggregate_id] = _new_wallet(envelope)
            wallet["last_event_id"] = envelope.id
            if envelope.type != OPENED:
                lines += _lines(wallet, envelope)
        write_rows(cursor, _LINE_INSERT, LINE_COLUMNS, lines)
        write_rows(cursor, _WALLET_UPSERT, WALLET_COLUMNS, list(wallets.values()))


def _load_wallets(cursor: AnyCursor, envelopes: Sequence[Envelope]) -> dict[UUID, Row]:
    wanted = list({e.aggregate_id for e in envelopes if e.type != OPENED})
    rows: dict[UUID, Row] = {}
    if wanted:
        with reader(cursor) as read:
            for values in read.execute(_SELECT_WALLETS, (wanted,)):
                row = dict(zip(_WALLET_NAMES, values, strict=True))
                rows[row["wallet_id"]] = row
    return rows


def _new_wallet(envelope: Envelope) -> Row:
    opened = envelope.type == OPENED
    return {
        "wallet_id": envelope.aggregate_id,
        "account_id": envelope.account_id,
        "currency": envelope.data["currency"] if opened else None,
        "sandbox": bool(envelope.data["sandbox"]) if opened else False,
        "balance_micros": 0,
        "reserved_micros": 0,
        "last_event_id": envelope.id,
    }


def _posting_changes(wallet: Row, envelope: Envelope) -> tuple[int, int]:
    """(balance change, reserved change): the sums of the event's postings to
    this account's `wallet:` and `holds:` ledger accounts."""
    own_wallet, own_holds = f"wallet:{wallet['account_id']}", f"holds:{wallet['account_id']}"
    balance = reserved = 0
    for ledger_account, amount_micros in envelope.data["postings"]:
        if ledger_account == own_holds:
            reserved += amount_micros
            balance += amount_micros
        elif ledger_account == own_wallet:
            balance += amount_micros
    return balance, reserved


def _lines(wallet: Row, envelope: Envelope) -> list[Row]:
    """The statement lines of a money event; moves the wallet's running figures."""
    data = envelope.data
    balance_change, reserved_change = _posting_changes(wallet, envelope)
    if envelope.type == SETTLED:
        return _settlement_lines(wallet, envelope, balance_change, reserved_change)
    if envelope.type == TOPPED_UP:
        kind = _TOP_UP_TYPES.get(data["source"], "ADJUSTMENT")
        amount, reference, description = balance_change, data["external_ref"], (
            f"{_TOP_UP_DESCRIPTIONS[kind]} ({data['source']})"
        )
    elif envelope.type == REFUNDED:
        kind, amount = "REFUND", balance_change
        reference, description = data["charge_id"], "Card payment refunded"
    elif envelope.type == RESERVED:
        kind, amount = "RESERVATION", -int(data["amount_micros"])
        reference, description = data["reservation_id"], f"Reserved for {data['reference']}"
    else:
        kind, amount = "ADJUSTMENT", balance_change
        reference, description = data["reference"], data["reason"]
    wallet["balance_micros"] += balance_change
    wallet["reserved_micros"] += reserved_change
    return [_line(wallet, envelope, 0, kind, amount, balance_change, reference, description)]


def _settlement_lines(
    wallet: Row, envelope: Envelope, balance_change: int, reserved_change: int
) -> list[Row]:
    data = envelope.data
    captured, released = int(data["captured_micros"]), int(data["released_micros"])
    items = data["settlements"]
    reservations = {item["reservation_id"] for item in items}
    # One reservation (a send or a bulk) is named; a batch across many is not.
    reference = next(iter(reservations)) if len(reservations) == 1 else ""
    messages = {"captured": 0, "released": 0}
    for item in items:
        messages["captured"] += item["captured_micros"] > 0
        messages["released"] += item["released_micros"] > 0
    lines = []
    if captured:
        wallet["balance_micros"] -= captured
        wallet["reserved_micros"] -= captured
        description = f"Messages sent: {messages['captured']}"
        lines.append(
            _line(wallet, envelope, 0, "USAGE", -captured, -captured, reference, description)
        )
    # The postings are the truth for the figures after the event; the USAGE
    # line above is the captured part of the same movement.
    wallet["balance_micros"] += balance_change + captured
    wallet["reserved_micros"] += reserved_change + captured
    if released:
        description = f"Released for messages not delivered: {messages['released']}"
        lines.append(
            _line(wallet, envelope, 1, "REFUND", released, 0, reference, description)
        )
    return lines


def _line(
    wallet: Row, envelope: Envelope, line: int, kind: str, amount_micros: int,
    balance_change_micros: int, reference: str, description: str,
) -> Row:
    return {
        "event_id": envelope.id,
        "line": line,
        "account_id": wallet["account_id"],
        "wallet_id": wallet["wallet_id"],
        "sandbox": wallet["sandbox"],
        "type": kind,
        "amount_micros": amount_micros,
        "balance_change_micros": balance_change_micros,
        "balance_micros": wallet["balance_micros"],
        "reserved_micros": wallet["reserved_micros"],
        "currency": wallet["currency"],
        "reference": reference,
        "description": description,
        "occurred_at": envelope.occurred_at,
    }


# Query for the HTTP layer --------------------------------------------------

_PUBLIC = sql.SQL(", ").join(
    sql.SQL("{c}::text AS {c}" if name == "wallet_id" else "{c}").format(c=sql.Identifier(name))
    for name, _ in LINE_COLUMNS
    if name != "account_id"
)


def list_transactions(
    cursor: AnyCursor,
    account_id: str,
    *,
    sandbox: bool = False,
    type: str | None = None,  # the API's own parameter name
    from_date: datetime | None = None,
    to_date: datetime | None = None,
    page_size: int = 50,
    cursor_token: str | None = None,
) -> tuple[list[dict[str, Any]], str | None, bool, int]:
    """A page of the statement, newest first: (rows, next cursor token or
    None, has_more, total matching the filters). Dates are inclusive bounds
    on occurred_at. Each row has "id" = "{event_id}-{line}"."""
    check_page_size(page_size)
    if type is not None and type not in TYPES:
        raise ValueError(f"type must be one of {', '.join(TYPES)}")
    conditions: list[sql.Composable] = [sql.SQL("account_id = %s"), sql.SQL("sandbox = %s")]
    params: list[Any] = [account_id, sandbox]
    for condition, value in (
        (sql.SQL("type = %s"), type),
        (sql.SQL("occurred_at >= %s"), from_date),
        (sql.SQL("occurred_at <= %s"), to_date),
    ):
        if value is not None:
            conditions.append(condition)
            params.append(value)
    after = None
    if cursor_token is not None:
        key = decode_cursor(cursor_token, ("e", "l"))
        after = [key["e"], key["l"]]
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in after):
            raise ValueError("invalid cursor")
    rows, has_more, total = keyset_page(
        cursor, table=TRANSACTIONS, columns=_PUBLIC, conditions=conditions, params=params,
        key=("event_id", "line"), after=after, page_size=page_size,
    )
    for row in rows:
        row["id"] = f"{row['event_id']}-{row['line']}"
    token = None
    if has_more:
        token = encode_cursor({"e": rows[-1]["event_id"], "l": rows[-1]["line"]})
    return rows, token, has_more, total
