"""Invoices: one row per account and month. A closed invoice is never
rewritten; a draft (closed_at before period_end) is replaced when a newer
statement arrives: the invoice, or a draft of a later ledger entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from application.billing.invoices import CountryUsage, Invoice, InvoiceLine

_COLUMNS = (
    "id", "account_id", "month", "currency", "period_start", "period_end", "opening_micros",
    "purchases_micros", "refunds_micros", "adjustments_micros", "usage_micros",
    "closing_micros", "entry_hash", "closed_at",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)}, lines, usage_by_country FROM invoices"
_INSERT = (
    f"INSERT INTO invoices ({', '.join(_COLUMNS)}, lines, usage_by_country)"
    f" VALUES ({', '.join(['%s'] * (len(_COLUMNS) + 2))})"
    " ON CONFLICT (account_id, month) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in (*_COLUMNS[3:], "lines",
                                                         "usage_by_country"))
    + " WHERE invoices.closed_at < invoices.period_end"
    " AND (EXCLUDED.closed_at >= EXCLUDED.period_end"
    " OR EXCLUDED.entry_hash <> invoices.entry_hash)"
)


class _Line(msgspec.Struct):
    kind: str
    reference: str
    amount_micros: int
    occurred_at: datetime


class _Usage(msgspec.Struct):
    country: str
    messages: int
    cost_micros: int


_lines = msgspec.json.Decoder(list[_Line])
_usage = msgspec.json.Decoder(list[_Usage])
_encode = msgspec.json.Encoder().encode


class PostgresInvoices:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def save(self, invoice: Invoice) -> Invoice:
        values = [getattr(invoice, name) for name in _COLUMNS]
        lines = _encode([_Line(x.kind, x.reference, x.amount_micros, x.occurred_at)
                         for x in invoice.lines]).decode()
        usage = _encode([_Usage(u.country, u.messages, u.cost_micros)
                         for u in invoice.usage_by_country]).decode()
        with self._pool.connection() as conn:
            conn.execute(_INSERT, [*values, lines, usage])
        kept = self.get(invoice.account_id, invoice.id)
        assert kept is not None
        return kept

    def get(self, account_id: str, invoice_id: UUID) -> Invoice | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                f"{_SELECT} WHERE id = %s AND account_id = %s", (invoice_id, account_id)
            ).fetchone()
        return None if row is None else _invoice(row)

    def list(self, account_id: str, *, limit: int, before_month: str | None) -> list[Invoice]:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                f"{_SELECT} WHERE account_id = %s AND (%s::text IS NULL OR month < %s)"
                " ORDER BY month DESC LIMIT %s",
                (account_id, before_month, before_month, limit),
            ).fetchall()
        return [_invoice(row) for row in rows]

    def count(self, account_id: str) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM invoices WHERE account_id = %s", (account_id,)
            ).fetchone()
        return 0 if row is None else int(row[0])


def _invoice(row: dict[str, Any]) -> Invoice:
    lines = _lines.decode(_encode(row.pop("lines")))
    usage = _usage.decode(_encode(row.pop("usage_by_country")))
    return Invoice(
        **row,
        lines=tuple(InvoiceLine(x.kind, x.reference, x.amount_micros, x.occurred_at)
                    for x in lines),
        usage_by_country=tuple(CountryUsage(u.country, u.messages, u.cost_micros)
                               for u in usage),
    )
